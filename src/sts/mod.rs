//! A small SigV4-signed client for the STS and IAM Query APIs.
//!
//! Each call is a form-encoded POST (`Action=…&Version=…`) signed with AWS's own signer
//! (`aws-sigv4`), sent with `ureq` over rustls, and answered in XML. Adding an action is
//! a parameter list and a response struct. Errors come back typed ([`StsError`]) and are
//! shown as what a person can act on: a rejected MFA code, a device that is not the
//! user's, unknown keys, a clock that is off, throttling, a server that answers garbage
//! or nothing at all.

pub mod endpoint;
pub(crate) mod xml;

use std::io::Read;
use std::time::{Duration, SystemTime};

use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use jiff::Timestamp;
use secrecy::SecretString;
use zeroize::Zeroizing;

use crate::creds::Credentials;
pub use endpoint::{Endpoint, EndpointInputs, Service};

/// The identity behind a set of credentials (`GetCallerIdentity`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerIdentity {
    pub account: String,
    pub arn: String,
    pub user_id: String,
}

impl CallerIdentity {
    /// The IAM user name when the ARN is a user's (`…:user/path/NAME`).
    pub fn user_name(&self) -> Option<&str> {
        let (_, resource) = self.arn.split_once(":user/")?;
        resource.rsplit('/').next()
    }

    /// Whether these are the account root user's keys (shorter session bounds).
    pub fn is_root(&self) -> bool {
        self.arn.ends_with(":root")
    }
}

/// An MFA device of an IAM user (`ListMFADevices`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MfaDevice {
    pub serial_number: String,
    pub user_name: String,
    pub enable_date: Option<String>,
}

/// What `GetSessionToken` is asked for.
#[derive(Debug, Clone)]
pub struct SessionTokenRequest {
    pub duration_seconds: u32,
    pub serial_number: Option<String>,
    pub token_code: Option<String>,
}

/// What `AssumeRole` is asked for.
#[derive(Debug, Clone)]
pub struct AssumeRoleRequest {
    pub role_arn: String,
    pub session_name: String,
    pub duration_seconds: Option<u32>,
    pub external_id: Option<String>,
    pub serial_number: Option<String>,
    pub token_code: Option<String>,
}

/// The STS operations awsmfa uses. Implemented over HTTP by [`QueryClient`]; the core
/// takes it as a parameter so decisions can be tested without a network.
pub trait Sts {
    fn get_session_token(
        &self,
        keys: &Credentials,
        req: &SessionTokenRequest,
    ) -> Result<Credentials, StsError>;
    fn assume_role(
        &self,
        keys: &Credentials,
        req: &AssumeRoleRequest,
    ) -> Result<Credentials, StsError>;
    fn get_caller_identity(&self, keys: &Credentials) -> Result<CallerIdentity, StsError>;
}

/// The IAM operations awsmfa uses.
pub trait Iam {
    /// The MFA devices of `user`, or of the calling user when `None`.
    fn list_mfa_devices(
        &self,
        keys: &Credentials,
        user: Option<&str>,
    ) -> Result<Vec<MfaDevice>, StsError>;
}

/// What went wrong with a call. Never holds credentials.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StsError {
    /// AWS answered with an error document.
    #[error("{}", describe_service_error(*status, code, message, *clock_skew))]
    Service {
        status: u16,
        code: String,
        message: String,
        /// Seconds the server's clock (its `Date` header) is ahead of ours, when large.
        clock_skew: Option<i64>,
        endpoint: String,
    },
    /// Something answered, but not STS/IAM.
    #[error("unexpected answer from {endpoint} (HTTP {status}): {what}")]
    Unexpected {
        status: u16,
        endpoint: String,
        what: String,
    },
    /// The connection could not be made.
    #[error("cannot reach {endpoint}: {detail}")]
    Connect { endpoint: String, detail: String },
    /// No (complete) answer within the time limit.
    #[error("no answer from {endpoint} within {seconds} s")]
    Timeout { endpoint: String, seconds: u64 },
    /// The request could not be built or signed.
    #[error("cannot sign the request: {0}")]
    Signing(String),
    /// The proxy variable (named here) does not hold a proxy URL.
    #[error("{0} is not a proxy URL (scheme://host:port)")]
    Proxy(String),
}

/// What a service error means for the person at the keyboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// The MFA code is wrong, expired or already used.
    BadCode,
    /// The MFA serial is not a device of the user behind the keys.
    WrongDevice,
    /// The access key id is unknown to AWS (deleted, inactive, other partition).
    UnknownKey,
    /// The signature did not verify: wrong secret key, or a clock that is off.
    BadSignature,
    /// Session credentials that have run out.
    Expired,
    /// Any other access denial.
    Denied,
    /// Throttled, even after retries.
    Throttled,
    /// Invalid parameters (durations and the like).
    Invalid,
    /// A server-side failure.
    ServerFault,
    /// IAM's answer about the thing acted on: it exists already, does not exist, is in
    /// use, or a limit is reached (`EntityAlreadyExists`, `NoSuchEntity`,
    /// `DeleteConflict`, `LimitExceeded`, …).
    Entity,
}

impl StsError {
    pub fn rejection(&self) -> Option<Rejection> {
        let StsError::Service {
            status,
            code,
            message,
            ..
        } = self
        else {
            return None;
        };
        Some(classify(*status, code, message))
    }

    /// Whether AWS refused the credentials or the code (exit status 3).
    pub fn is_auth_rejection(&self) -> bool {
        matches!(
            self.rejection(),
            Some(
                Rejection::BadCode
                    | Rejection::WrongDevice
                    | Rejection::UnknownKey
                    | Rejection::BadSignature
                    | Rejection::Expired
                    | Rejection::Denied
            )
        )
    }

    /// A next step for the person, where one helps.
    pub fn hint(&self) -> Option<String> {
        match self {
            StsError::Service { clock_skew, .. } => match self.rejection()? {
                Rejection::BadCode => {
                    Some("wait for the next code on your device and run the command again".into())
                }
                Rejection::WrongDevice => Some(
                    "name this user's device (aws sts get-caller-identity), or drop mfa_serial"
                        .into(),
                ),
                Rejection::UnknownKey => Some(
                    "the key may be deleted, inactive, or of another cloud or partition".into(),
                ),
                Rejection::BadSignature if clock_skew.is_some() => {
                    Some("set this machine's clock right (enable NTP) and run again".into())
                }
                Rejection::BadSignature => {
                    Some("check the secret access key stored for this profile".into())
                }
                Rejection::Throttled => Some("wait a little and run again".into()),
                Rejection::Entity => match self {
                    StsError::Service { code, .. } if code == "EntityAlreadyExists" => Some(
                        "left from an earlier try? `awsmfa mfa delete NAME`, or choose another name".into(),
                    ),
                    StsError::Service { code, .. } if code == "NoSuchEntity" => {
                        Some("`awsmfa mfa list` shows the user's devices".into())
                    }
                    StsError::Service { code, .. } if code == "DeleteConflict" => Some(
                        "deactivate it first: `awsmfa mfa deactivate SERIAL`".into(),
                    ),
                    StsError::Service { code, .. } if code == "LimitExceeded" => Some(
                        "IAM limits MFA devices per user: delete one you no longer use".into(),
                    ),
                    _ => Some("wait a little and run again".into()),
                },
                _ => None,
            },
            StsError::Connect { .. } | StsError::Timeout { .. } => Some(
                "check the network and the endpoint (--endpoint-url, AWS_ENDPOINT_URL_STS)"
                    .into(),
            ),
            StsError::Unexpected { .. } => {
                Some("is the endpoint an STS/IAM endpoint? check the endpoint settings".into())
            }
            StsError::Signing(_) => None,
            StsError::Proxy(variable) => Some(format!(
                "fix {variable} (http://proxy.example:3128), or unset it"
            )),
        }
    }
}

fn classify(status: u16, code: &str, message: &str) -> Rejection {
    let lower = message.to_ascii_lowercase();
    match code {
        "AccessDenied" if lower.contains("one time pass code") => Rejection::BadCode,
        "AccessDenied" if lower.contains("unable to validate mfa code") => Rejection::WrongDevice,
        "InvalidClientTokenId" | "InvalidAccessKeyId" | "UnrecognizedClientException" => {
            Rejection::UnknownKey
        }
        "SignatureDoesNotMatch" | "IncompleteSignature" | "RequestTimeTooSkewed" => {
            Rejection::BadSignature
        }
        "ExpiredToken" | "ExpiredTokenException" | "TokenRefreshRequired" => Rejection::Expired,
        c if is_throttle_code(c) => Rejection::Throttled,
        "EntityAlreadyExists"
        | "NoSuchEntity"
        | "DeleteConflict"
        | "LimitExceeded"
        | "EntityTemporarilyUnmodifiable"
        | "ConcurrentModification" => Rejection::Entity,
        "ValidationError" | "InvalidParameterValue" | "MalformedInput" | "InvalidInput" => {
            Rejection::Invalid
        }
        _ if status >= 500 => Rejection::ServerFault,
        _ => Rejection::Denied,
    }
}

fn is_throttle_code(code: &str) -> bool {
    matches!(
        code,
        "Throttling"
            | "ThrottlingException"
            | "ThrottledException"
            | "RequestLimitExceeded"
            | "TooManyRequestsException"
            | "RequestThrottled"
            | "SlowDown"
    )
}

fn describe_service_error(
    status: u16,
    code: &str,
    message: &str,
    clock_skew: Option<i64>,
) -> String {
    let message = one_line(message);
    let kind = classify(status, code, &message);
    // The code is outside text as much as the message.
    let code = one_line(code);
    match kind {
        Rejection::BadCode => "AWS rejected the MFA code: it is wrong, expired, or was already used".into(),
        Rejection::WrongDevice => {
            "AWS could not validate the MFA code: the MFA device is not associated with the user behind these keys".into()
        }
        Rejection::UnknownKey => "AWS does not recognise the access key (InvalidClientTokenId)".into(),
        Rejection::BadSignature => match clock_skew {
            Some(skew) => format!(
                "AWS rejected the request signature: this machine's clock is {} {} the server's",
                human_seconds(skew.unsigned_abs()),
                if skew > 0 { "behind" } else { "ahead of" }
            ),
            None => format!("AWS rejected the request signature ({code}): {message}"),
        },
        Rejection::Expired => "the session credentials have expired (ExpiredToken)".into(),
        Rejection::Throttled => format!("AWS is throttling requests ({code}), even after retries"),
        Rejection::Invalid => format!("AWS rejected the request ({code}): {message}"),
        Rejection::ServerFault => format!("the service failed ({code}): {message}"),
        Rejection::Denied => format!("access denied ({code}): {message}"),
        Rejection::Entity => {
            let what = match code.as_str() {
                "EntityAlreadyExists" => "it already exists",
                "NoSuchEntity" => "there is no such thing",
                "DeleteConflict" => "it is still in use",
                "LimitExceeded" => "an IAM limit is reached",
                _ => "it is being changed right now",
            };
            format!("IAM says {what} ({code}): {message}")
        }
    }
}

fn human_seconds(secs: u64) -> String {
    if secs >= 120 {
        format!("{} minutes", secs / 60)
    } else {
        format!("{secs} seconds")
    }
}

/// Keeps server text to one printable line of bounded length.
fn one_line(text: &str) -> String {
    let clean: String = text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    if clean.chars().count() > 300 {
        let cut: String = clean.chars().take(300).collect();
        format!("{cut}…")
    } else {
        clean
    }
}

/// HTTP settings: time limits, trust roots.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    pub connect_timeout: Duration,
    pub total_timeout: Duration,
    /// PEM bytes of extra trust roots (`AWS_CA_BUNDLE` / `ca_bundle`); replaces the
    /// platform's roots, as in the AWS CLI.
    pub ca_bundle: Option<Vec<u8>>,
    /// Attempts for throttling and 5xx answers (1 = no retry).
    pub max_attempts: u32,
    pub retry_base: Duration,
    /// The proxies of the environment, chosen per endpoint as botocore chooses them.
    pub proxies: crate::config::Proxies,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            connect_timeout: Duration::from_secs(5),
            total_timeout: Duration::from_secs(30),
            ca_bundle: None,
            max_attempts: 4,
            retry_base: Duration::from_millis(200),
            proxies: Default::default(),
        }
    }
}

/// A Query API client for one endpoint (STS or IAM).
pub struct QueryClient {
    agent: ureq::Agent,
    endpoint: Endpoint,
    settings: HttpSettings,
    /// The `Date` header of the last answer, for clock checks.
    last_date: std::sync::Mutex<Option<Timestamp>>,
}

/// Tells the caller what the client is doing, for `-v`.
pub type Trace<'a> = &'a dyn Fn(&str);

impl QueryClient {
    pub fn new(endpoint: Endpoint, settings: HttpSettings) -> Result<QueryClient, StsError> {
        use ureq::tls::{RootCerts, TlsConfig};
        let roots = match &settings.ca_bundle {
            Some(pem) => {
                let certs: Vec<_> = ureq::tls::parse_pem(pem)
                    .filter_map(|item| match item {
                        Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
                        _ => None,
                    })
                    .collect();
                if certs.is_empty() {
                    return Err(StsError::Signing(
                        "the CA bundle holds no PEM certificate".into(),
                    ));
                }
                RootCerts::new_with_certs(&certs)
            }
            None => RootCerts::PlatformVerifier,
        };
        // The proxy for this endpoint's scheme (or none), never ureq's own choice from
        // the environment (it applies ALL_PROXY and HTTPS_PROXY to http:// as well).
        let proxy = match settings.proxies.for_url(&endpoint.url) {
            Some(p) => Some(ureq::Proxy::new(&p.url).map_err(|_| StsError::Proxy(p.variable))?),
            None => None,
        };
        let config = ureq::Agent::config_builder()
            .proxy(proxy)
            .http_status_as_error(false)
            .timeout_connect(Some(settings.connect_timeout))
            .timeout_global(Some(settings.total_timeout))
            .user_agent(concat!("awsmfa/", env!("CARGO_PKG_VERSION")))
            .max_redirects(0)
            .tls_config(TlsConfig::builder().root_certs(roots).build())
            .build();
        Ok(QueryClient {
            agent: config.new_agent(),
            endpoint,
            settings,
            last_date: std::sync::Mutex::new(None),
        })
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The server's clock, from the `Date` header of the last answer.
    pub fn server_date(&self) -> Option<Timestamp> {
        *self.last_date.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn api(&self) -> (&'static str, &'static str) {
        match self.endpoint.service {
            Service::Sts => ("2011-06-15", "sts"),
            Service::Iam => ("2010-05-08", "iam"),
        }
    }

    /// Calls `action` with `params`, retrying throttling and 5xx answers with backoff,
    /// and returns the XML body of a 2xx answer.
    pub fn call(
        &self,
        keys: &Credentials,
        action: &str,
        params: &[(&str, &str)],
    ) -> Result<Zeroizing<String>, StsError> {
        let (version, _) = self.api();
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.append_pair("Action", action)
            .append_pair("Version", version);
        for (k, v) in params {
            form.append_pair(k, v);
        }
        let body = Zeroizing::new(form.finish());
        // A silent endpoint: say what is being waited for after a few seconds.
        let _slow = crate::slow::Slow::after(
            Duration::from_secs(3),
            format!(
                "waiting for {} to answer {action} (at most {} s; AWSMFA_HTTP_TIMEOUT sets it)",
                self.endpoint.url,
                self.settings.total_timeout.as_secs()
            ),
        );
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result = self.send_once(keys, body.as_bytes());
            let retry = match &result {
                Err(StsError::Service { status, code, .. }) => {
                    is_throttle_code(code) || matches!(status, 500 | 502 | 503 | 504)
                }
                Err(StsError::Unexpected { status, .. }) => matches!(status, 502..=504),
                _ => false,
            };
            if !retry || attempt >= self.settings.max_attempts {
                return result;
            }
            let backoff = self.settings.retry_base * 2u32.pow(attempt - 1);
            let jitter = jitter_fraction(backoff);
            std::thread::sleep((backoff + jitter).min(Duration::from_secs(5)));
        }
    }

    fn send_once(&self, keys: &Credentials, body: &[u8]) -> Result<Zeroizing<String>, StsError> {
        let url = format!("{}/", self.endpoint.url);
        let endpoint = self.endpoint.url.clone();
        let content_type = "application/x-www-form-urlencoded; charset=utf-8";
        let signed = self.sign(keys, &url, content_type, body)?;
        let mut req = self.agent.post(&url).header("content-type", content_type);
        for (name, value) in signed.iter() {
            req = req.header(name.as_str(), value.as_str());
        }
        let mut resp = match req.send(body) {
            Ok(r) => r,
            Err(e) => return Err(transport_error(e, &endpoint, &self.settings)),
        };
        let status = resp.status().as_u16();
        let server_date = resp
            .headers()
            .get("date")
            .and_then(|v| v.to_str().ok())
            .and_then(parse_http_date);
        if server_date.is_some() {
            *self.last_date.lock().unwrap_or_else(|e| e.into_inner()) = server_date;
        }
        let mut text = Zeroizing::new(String::new());
        let read = resp
            .body_mut()
            .as_reader()
            .take(4 * 1024 * 1024)
            .read_to_string(&mut text);
        if let Err(e) = read {
            return Err(match e.kind() {
                std::io::ErrorKind::TimedOut => StsError::Timeout {
                    endpoint,
                    seconds: self.settings.total_timeout.as_secs(),
                },
                std::io::ErrorKind::InvalidData => StsError::Unexpected {
                    status,
                    endpoint,
                    what: "the body is not UTF-8 text".into(),
                },
                _ => StsError::Connect {
                    endpoint,
                    detail: format!("the answer broke off ({e})"),
                },
            });
        }
        if (200..300).contains(&status) {
            return Ok(text);
        }
        match xml::error_fields(&text) {
            Some((code, message)) => {
                let skew = server_date.and_then(|d| {
                    let diff = d.as_second() - Timestamp::now().as_second();
                    (diff.abs() >= 300).then_some(diff)
                });
                Err(StsError::Service {
                    status,
                    code,
                    message,
                    clock_skew: skew,
                    endpoint,
                })
            }
            None => Err(StsError::Unexpected {
                status,
                endpoint,
                what: if text.trim().is_empty() {
                    "an empty body".into()
                } else {
                    "not an AWS error document".into()
                },
            }),
        }
    }

    fn sign(
        &self,
        keys: &Credentials,
        url: &str,
        content_type: &str,
        body: &[u8],
    ) -> Result<Vec<(String, String)>, StsError> {
        let (_, service) = self.api();
        let identity = aws_credential_types::Credentials::new(
            keys.access_key_id.clone(),
            keys.secret().to_string(),
            keys.token().map(str::to_string),
            None,
            "awsmfa",
        )
        .into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.endpoint.signing_region)
            .name(service)
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| StsError::Signing(e.to_string()))?
            .into();
        let headers = [("content-type", content_type)];
        let signable =
            SignableRequest::new("POST", url, headers.into_iter(), SignableBody::Bytes(body))
                .map_err(|e| StsError::Signing(e.to_string()))?;
        let (instructions, _) = sign(signable, &params)
            .map_err(|e| StsError::Signing(e.to_string()))?
            .into_parts();
        let (headers, _) = instructions.into_parts();
        Ok(headers
            .into_iter()
            .map(|h| (h.name().to_string(), h.value().to_string()))
            .collect())
    }
}

fn jitter_fraction(base: Duration) -> Duration {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    base.mul_f64(f64::from(nanos % 1000) / 4000.0)
}

fn parse_http_date(value: &str) -> Option<Timestamp> {
    jiff::fmt::rfc2822::parse(value).ok().map(|z| z.timestamp())
}

fn transport_error(e: ureq::Error, endpoint: &str, settings: &HttpSettings) -> StsError {
    let endpoint = endpoint.to_string();
    match e {
        ureq::Error::Timeout(what) => {
            let seconds = if matches!(what, ureq::Timeout::Connect) {
                settings.connect_timeout.as_secs()
            } else {
                settings.total_timeout.as_secs()
            };
            StsError::Timeout { endpoint, seconds }
        }
        ureq::Error::Io(io) => {
            let detail = match io.kind() {
                std::io::ErrorKind::ConnectionRefused => "connection refused".to_string(),
                std::io::ErrorKind::ConnectionReset => "connection reset".to_string(),
                std::io::ErrorKind::TimedOut => {
                    return StsError::Timeout {
                        endpoint,
                        seconds: settings.total_timeout.as_secs(),
                    };
                }
                std::io::ErrorKind::UnexpectedEof => {
                    "the server closed the connection without answering".to_string()
                }
                _ => io.to_string(),
            };
            StsError::Connect { endpoint, detail }
        }
        ureq::Error::HostNotFound => StsError::Connect {
            endpoint,
            detail: "host name not found".into(),
        },
        ureq::Error::ConnectionFailed => StsError::Connect {
            endpoint,
            detail: "connection failed".into(),
        },
        ureq::Error::BadUri(u) => StsError::Connect {
            endpoint,
            detail: format!("not a valid URL ({})", one_line(&u)),
        },
        ureq::Error::Protocol(p) => StsError::Unexpected {
            status: 0,
            endpoint,
            what: format!("not HTTP ({p})"),
        },
        other => StsError::Connect {
            endpoint,
            detail: one_line(&other.to_string()),
        },
    }
}

impl Sts for QueryClient {
    fn get_session_token(
        &self,
        keys: &Credentials,
        req: &SessionTokenRequest,
    ) -> Result<Credentials, StsError> {
        let duration = req.duration_seconds.to_string();
        let mut params = vec![("DurationSeconds", duration.as_str())];
        if let (Some(serial), Some(code)) = (&req.serial_number, &req.token_code) {
            params.push(("SerialNumber", serial));
            params.push(("TokenCode", code));
        }
        let body = self.call(keys, "GetSessionToken", &params)?;
        xml::session_credentials(&body, "GetSessionTokenResult").ok_or_else(|| {
            StsError::Unexpected {
                status: 200,
                endpoint: self.endpoint.url.clone(),
                what:
                    "not a GetSessionToken response (or one with values of a shape AWS never sends)"
                        .into(),
            }
        })
    }

    fn assume_role(
        &self,
        keys: &Credentials,
        req: &AssumeRoleRequest,
    ) -> Result<Credentials, StsError> {
        let duration = req.duration_seconds.map(|d| d.to_string());
        let mut params = vec![
            ("RoleArn", req.role_arn.as_str()),
            ("RoleSessionName", req.session_name.as_str()),
        ];
        if let Some(d) = &duration {
            params.push(("DurationSeconds", d));
        }
        if let Some(e) = &req.external_id {
            params.push(("ExternalId", e));
        }
        if let (Some(serial), Some(code)) = (&req.serial_number, &req.token_code) {
            params.push(("SerialNumber", serial));
            params.push(("TokenCode", code));
        }
        let body = self.call(keys, "AssumeRole", &params)?;
        xml::session_credentials(&body, "AssumeRoleResult").ok_or_else(|| StsError::Unexpected {
            status: 200,
            endpoint: self.endpoint.url.clone(),
            what: "not an AssumeRole response".into(),
        })
    }

    fn get_caller_identity(&self, keys: &Credentials) -> Result<CallerIdentity, StsError> {
        let body = self.call(keys, "GetCallerIdentity", &[])?;
        xml::caller_identity(&body).ok_or_else(|| StsError::Unexpected {
            status: 200,
            endpoint: self.endpoint.url.clone(),
            what:
                "not a GetCallerIdentity response (or one with values of a shape AWS never sends)"
                    .into(),
        })
    }
}

impl Iam for QueryClient {
    fn list_mfa_devices(
        &self,
        keys: &Credentials,
        user: Option<&str>,
    ) -> Result<Vec<MfaDevice>, StsError> {
        let mut devices = Vec::new();
        let mut marker: Option<String> = None;
        for _ in 0..100 {
            let mut params = Vec::new();
            if let Some(u) = user {
                params.push(("UserName", u));
            }
            if let Some(m) = &marker {
                params.push(("Marker", m.as_str()));
            }
            let body = self.call(keys, "ListMFADevices", &params)?;
            let page = xml::mfa_devices(&body).ok_or_else(|| StsError::Unexpected {
                status: 200,
                endpoint: self.endpoint.url.clone(),
                what:
                    "not a ListMFADevices response (or one with values of a shape AWS never sends)"
                        .into(),
            })?;
            devices.extend(page.devices);
            match page.next_marker {
                Some(m) => marker = Some(m),
                None => break,
            }
        }
        Ok(devices)
    }
}

/// Console sign-in (`awsmfa console`): federation-token sessions and the sign-in
/// endpoint's token exchange.
impl QueryClient {
    /// Whether the endpoint answers at all, without credentials (STS answers an unsigned
    /// request with an error document), and its clock (`Date`).
    pub fn probe(&self) -> Result<Option<Timestamp>, StsError> {
        let endpoint = self.endpoint.url.clone();
        let resp = self
            .agent
            .get(format!("{endpoint}/"))
            .call()
            .map_err(|e| transport_error(e, &endpoint, &self.settings))?;
        Ok(resp
            .headers()
            .get("date")
            .and_then(|v| v.to_str().ok())
            .and_then(parse_http_date))
    }

    /// `GetFederationToken` with long-term keys: a session named `name` limited by
    /// `policy` (without one AWS grants the session nothing). It carries no MFA.
    pub fn get_federation_token(
        &self,
        keys: &Credentials,
        name: &str,
        duration_seconds: u32,
        policy: &str,
    ) -> Result<Credentials, StsError> {
        let duration = duration_seconds.to_string();
        let params = [
            ("Name", name),
            ("DurationSeconds", duration.as_str()),
            ("Policy", policy),
        ];
        let body = self.call(keys, "GetFederationToken", &params)?;
        xml::session_credentials(&body, "GetFederationTokenResult").ok_or_else(|| {
            StsError::Unexpected {
                status: 200,
                endpoint: self.endpoint.url.clone(),
                what: "not a GetFederationToken response".into(),
            }
        })
    }

    /// Exchanges session credentials for a console sign-in token at the federation
    /// endpoint `federation_url` (`…/federation`): `Action=getSigninToken`, the session
    /// as JSON, and a console session length when asked for. The token is a bearer
    /// credential for the console.
    pub fn signin_token(
        &self,
        federation_url: &str,
        session: &Credentials,
        session_duration: Option<u32>,
    ) -> Result<Zeroizing<String>, StsError> {
        #[derive(serde::Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Session<'a> {
            session_id: &'a str,
            session_key: &'a str,
            session_token: &'a str,
        }
        let json = Zeroizing::new(
            serde_json::to_string(&Session {
                session_id: &session.access_key_id,
                session_key: session.secret(),
                session_token: session.token().unwrap_or_default(),
            })
            .expect("serializable"),
        );
        let mut query = form_urlencoded::Serializer::new(String::new());
        query.append_pair("Action", "getSigninToken");
        if let Some(d) = session_duration {
            query.append_pair("SessionDuration", &d.to_string());
        }
        query.append_pair("Session", &json);
        let url = Zeroizing::new(format!("{federation_url}?{}", query.finish()));
        let endpoint = federation_url.to_string();
        let mut resp = self
            .agent
            .get(url.as_str())
            .call()
            .map_err(|e| transport_error(e, &endpoint, &self.settings))?;
        let status = resp.status().as_u16();
        let mut text = Zeroizing::new(String::new());
        let _ = resp
            .body_mut()
            .as_reader()
            .take(64 * 1024)
            .read_to_string(&mut text);
        #[derive(serde::Deserialize)]
        struct Answer {
            #[serde(rename = "SigninToken")]
            signin_token: String,
        }
        if status != 200 {
            return Err(StsError::Unexpected {
                status,
                endpoint,
                what: "the sign-in endpoint refused these credentials".into(),
            });
        }
        let token = serde_json::from_str::<Answer>(&text)
            .ok()
            .map(|a| Zeroizing::new(a.signin_token))
            .filter(|t| !t.is_empty() && t.len() <= 8192 && t.bytes().all(|b| b.is_ascii_graphic()))
            .ok_or_else(|| StsError::Unexpected {
                status,
                endpoint: endpoint.clone(),
                what: "no sign-in token in the answer".into(),
            })?;
        Ok(token)
    }
}

/// A virtual MFA device just created: its serial and its seed (a secret).
pub struct NewDevice {
    pub serial_number: String,
    pub seed_base32: SecretString,
}

/// Managing virtual MFA devices (`awsmfa mfa …`).
impl QueryClient {
    pub fn create_virtual_mfa_device(
        &self,
        keys: &Credentials,
        name: &str,
    ) -> Result<NewDevice, StsError> {
        let body = self.call(
            keys,
            "CreateVirtualMFADevice",
            &[("VirtualMFADeviceName", name)],
        )?;
        xml::new_device(&body).ok_or_else(|| StsError::Unexpected {
            status: 200,
            endpoint: self.endpoint.url.clone(),
            what: "not a CreateVirtualMFADevice response (or one with values of a shape AWS never sends)".into(),
        })
    }

    /// EnableMFADevice or ResyncMFADevice: two consecutive codes.
    pub fn device_codes(
        &self,
        keys: &Credentials,
        action: &str,
        user: &str,
        serial: &str,
        codes: (&str, &str),
    ) -> Result<(), StsError> {
        self.call(
            keys,
            action,
            &[
                ("UserName", user),
                ("SerialNumber", serial),
                ("AuthenticationCode1", codes.0),
                ("AuthenticationCode2", codes.1),
            ],
        )
        .map(|_| ())
    }

    pub fn deactivate_mfa_device(
        &self,
        keys: &Credentials,
        user: &str,
        serial: &str,
    ) -> Result<(), StsError> {
        self.call(
            keys,
            "DeactivateMFADevice",
            &[("UserName", user), ("SerialNumber", serial)],
        )
        .map(|_| ())
    }

    /// A new access key for the calling user (`CreateAccessKey` without `UserName`).
    pub fn create_access_key(&self, keys: &Credentials) -> Result<Credentials, StsError> {
        let body = self.call(keys, "CreateAccessKey", &[])?;
        xml::new_access_key(&body).ok_or_else(|| StsError::Unexpected {
            status: 200,
            endpoint: self.endpoint.url.clone(),
            what: "not a CreateAccessKey response (or one with values of a shape AWS never sends)"
                .into(),
        })
    }

    /// Deletes one of the calling user's access keys.
    pub fn delete_access_key(&self, keys: &Credentials, key_id: &str) -> Result<(), StsError> {
        self.call(keys, "DeleteAccessKey", &[("AccessKeyId", key_id)])
            .map(|_| ())
    }

    pub fn delete_virtual_mfa_device(
        &self,
        keys: &Credentials,
        serial: &str,
    ) -> Result<(), StsError> {
        self.call(keys, "DeleteVirtualMFADevice", &[("SerialNumber", serial)])
            .map(|_| ())
    }
}

/// Turns parsed XML credentials into [`Credentials`], moving the secrets straight into
/// secret types.
fn session_from_parts(
    access_key_id: String,
    secret: String,
    token: String,
    expiration: &str,
) -> Option<Credentials> {
    let expiration = parse_expiration(expiration)?;
    let creds = Credentials {
        access_key_id,
        secret_access_key: SecretString::from(secret),
        session_token: Some(SecretString::from(token)),
        expiration: Some(expiration),
    };
    // Credentials of another shape are no answer of STS's (DESIGN §7).
    creds.problem().is_none().then_some(creds)
}

/// RFC 3339 expiry, with or without fractional seconds, `Z` or an offset.
pub fn parse_expiration(text: &str) -> Option<Timestamp> {
    let text = text.trim();
    text.parse::<Timestamp>().ok().or_else(|| {
        // aws-mfa's form: `2026-12-03 06:35:30`, UTC without a zone.
        let civil = jiff::civil::DateTime::strptime(AWS_MFA_EXPIRATION, text).ok()?;
        civil
            .to_zoned(jiff::tz::TimeZone::UTC)
            .ok()
            .map(|z| z.timestamp())
    })
}

/// How aws-mfa writes `expiration` (UTC, no zone), and reads it back.
pub const AWS_MFA_EXPIRATION: &str = "%Y-%m-%d %H:%M:%S";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expirations_in_iso_and_aws_mfa_form() {
        let want: Timestamp = "2026-12-03T06:35:30Z".parse().unwrap();
        assert_eq!(parse_expiration("2026-12-03T06:35:30Z"), Some(want));
        assert_eq!(parse_expiration("2026-12-03T06:35:30+00:00"), Some(want));
        assert_eq!(parse_expiration(" 2026-12-03 06:35:30 "), Some(want));
        assert_eq!(parse_expiration("2026-12-03"), None);
        assert_eq!(parse_expiration("2026-12-03 25:00:00"), None);
    }

    #[test]
    fn iam_entity_errors_have_their_own_words_and_are_not_rejections() {
        for (code, words) in [
            ("EntityAlreadyExists", "already exists"),
            ("NoSuchEntity", "no such thing"),
            ("DeleteConflict", "still in use"),
            ("LimitExceeded", "limit is reached"),
        ] {
            let e = StsError::Service {
                status: 409,
                code: code.into(),
                message: "m".into(),
                clock_skew: None,
                endpoint: "e".into(),
            };
            assert_eq!(e.rejection(), Some(Rejection::Entity));
            assert!(!e.is_auth_rejection(), "{code} is not exit status 3");
            assert!(e.to_string().contains(words), "{code}: {e}");
            assert!(!e.to_string().contains("access denied"), "{code}: {e}");
            assert!(e.hint().is_some(), "{code}");
        }
    }

    #[test]
    fn classifies_aws_errors() {
        let cases = [
            (
                403,
                "AccessDenied",
                "MultiFactorAuthentication failed with invalid MFA one time pass code. ",
                Rejection::BadCode,
            ),
            (
                403,
                "AccessDenied",
                "MultiFactorAuthentication failed, unable to validate MFA code. Please verify your MFA serial number is valid and associated with this user.",
                Rejection::WrongDevice,
            ),
            (
                403,
                "InvalidClientTokenId",
                "The security token included in the request is invalid.",
                Rejection::UnknownKey,
            ),
            (403, "SignatureDoesNotMatch", "x", Rejection::BadSignature),
            (403, "ExpiredToken", "x", Rejection::Expired),
            (400, "Throttling", "Rate exceeded", Rejection::Throttled),
            (400, "ValidationError", "x", Rejection::Invalid),
            (500, "InternalFailure", "x", Rejection::ServerFault),
            (
                403,
                "AccessDenied",
                "User: x is not authorized",
                Rejection::Denied,
            ),
        ];
        for (status, code, message, want) in cases {
            assert_eq!(classify(status, code, message), want, "{code}");
        }
    }

    #[test]
    fn clock_skew_is_explained() {
        let e = StsError::Service {
            status: 403,
            code: "SignatureDoesNotMatch".into(),
            message: "Signature expired".into(),
            clock_skew: Some(1200),
            endpoint: "https://sts".into(),
        };
        assert_eq!(
            e.to_string(),
            "AWS rejected the request signature: this machine's clock is 20 minutes behind the server's"
        );
        assert!(e.hint().unwrap().contains("clock"));
    }

    #[test]
    fn expirations_parse_with_and_without_fractions() {
        for text in [
            "2011-07-11T19:55:29.611Z",
            "2011-07-11T19:55:29Z",
            "2011-07-11T19:55:29+00:00",
        ] {
            assert_eq!(
                parse_expiration(text).unwrap().as_second(),
                1310414129,
                "{text}"
            );
        }
        assert!(parse_expiration("tomorrow").is_none());
    }

    #[test]
    fn identity_user_names() {
        let id = CallerIdentity {
            account: "1".into(),
            arn: "arn:aws:iam::123:user/team/alice".into(),
            user_id: "AIDA".into(),
        };
        assert_eq!(id.user_name(), Some("alice"));
        assert!(!id.is_root());
        let root = CallerIdentity {
            arn: "arn:aws:iam::123:root".into(),
            ..id
        };
        assert!(root.is_root());
        assert_eq!(root.user_name(), None);
    }
}
