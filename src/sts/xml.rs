//! The XML of STS and IAM answers: typed results through serde, and the `Code` and
//! `Message` of error documents in any of their shapes (`ErrorResponse/Error` with or
//! without a namespace, `Response/Errors/Error`, S3's bare `Error`).

use quick_xml::Reader;
use quick_xml::events::Event;
use serde::Deserialize;

use super::{CallerIdentity, MfaDevice, session_from_parts};
use crate::creds::Credentials;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct XmlCredentials {
    access_key_id: String,
    secret_access_key: String,
    session_token: String,
    expiration: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CredentialsResult {
    credentials: XmlCredentials,
}

/// `<…Response><{result}><Credentials>…` → credentials.
pub(crate) fn session_credentials(xml: &str, result: &str) -> Option<Credentials> {
    #[derive(Deserialize)]
    struct GetSessionToken {
        #[serde(rename = "GetSessionTokenResult")]
        result: CredentialsResult,
    }
    #[derive(Deserialize)]
    struct AssumeRole {
        #[serde(rename = "AssumeRoleResult")]
        result: CredentialsResult,
    }
    #[derive(Deserialize)]
    struct GetFederationToken {
        #[serde(rename = "GetFederationTokenResult")]
        result: CredentialsResult,
    }
    let creds = match result {
        "GetSessionTokenResult" => {
            quick_xml::de::from_str::<GetSessionToken>(xml)
                .ok()?
                .result
                .credentials
        }
        "AssumeRoleResult" => {
            quick_xml::de::from_str::<AssumeRole>(xml)
                .ok()?
                .result
                .credentials
        }
        "GetFederationTokenResult" => {
            quick_xml::de::from_str::<GetFederationToken>(xml)
                .ok()?
                .result
                .credentials
        }
        _ => return None,
    };
    session_from_parts(
        creds.access_key_id,
        creds.secret_access_key,
        creds.session_token,
        &creds.expiration,
    )
}

pub(crate) fn caller_identity(xml: &str) -> Option<CallerIdentity> {
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Result {
        arn: String,
        user_id: String,
        account: String,
    }
    #[derive(Deserialize)]
    struct Response {
        #[serde(rename = "GetCallerIdentityResult")]
        result: Result,
    }
    let r = quick_xml::de::from_str::<Response>(xml).ok()?.result;
    // An identity of another shape is no answer of STS's (DESIGN §7): it reaches the
    // vault index, the terminal and messages.
    let shape = crate::config::shape::arn_problem(&r.arn)
        .or_else(|| crate::config::shape::iam_name_problem(&r.user_id))
        .or_else(|| {
            (r.account.len() != 12 || !r.account.bytes().all(|b| b.is_ascii_digit()))
                .then_some("account")
        });
    if shape.is_some() {
        return None;
    }
    Some(CallerIdentity {
        account: r.account,
        arn: r.arn,
        user_id: r.user_id,
    })
}

pub(crate) fn new_device(xml: &str) -> Option<super::NewDevice> {
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Device {
        serial_number: String,
        base32_string_seed: String,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Result {
        #[serde(rename = "VirtualMFADevice")]
        device: Device,
    }
    #[derive(Deserialize)]
    struct Response {
        #[serde(rename = "CreateVirtualMFADeviceResult")]
        result: Result,
    }
    let d = quick_xml::de::from_str::<Response>(xml).ok()?.result.device;
    if crate::config::shape::mfa_serial_problem(&d.serial_number).is_some() {
        return None;
    }
    // The seed is a Blob in the IAM API: base64 of the base32 text.
    let seed = base64_decode(&d.base32_string_seed)?;
    let seed = String::from_utf8(seed.to_vec()).ok()?;
    // A seed of another shape is no answer of IAM's either: it becomes codes, a QR
    // code and, with `--show-secret`, text on the terminal (found by fuzz/sts_xml).
    if !seed_shaped(&seed) {
        return None;
    }
    Some(super::NewDevice {
        serial_number: d.serial_number,
        seed_base32: secrecy::SecretString::from(seed),
    })
}

/// IAM's `Base32StringSeed` text: 16 to 128 base32 letters and digits (IAM sends 64),
/// then at most the padding `=`.
fn seed_shaped(seed: &str) -> bool {
    let digits = seed.trim_end_matches('=');
    (16..=128).contains(&digits.len())
        && seed.len() - digits.len() < 8
        && digits
            .bytes()
            .all(|b| b.is_ascii_alphabetic() || (b'2'..=b'7').contains(&b))
}

/// The new key of a CreateAccessKey response, straight into [`Credentials`].
pub(crate) fn new_access_key(xml: &str) -> Option<Credentials> {
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Key {
        access_key_id: String,
        secret_access_key: String,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Result {
        access_key: Key,
    }
    #[derive(Deserialize)]
    struct Response {
        #[serde(rename = "CreateAccessKeyResult")]
        result: Result,
    }
    let key = quick_xml::de::from_str::<Response>(xml)
        .ok()?
        .result
        .access_key;
    let secret = zeroize::Zeroizing::new(key.secret_access_key);
    let creds = Credentials::long_term(&key.access_key_id, &secret);
    creds.problem().is_none().then_some(creds)
}

/// Standard base64 (with or without padding); `None` for anything else.
fn base64_decode(text: &str) -> Option<zeroize::Zeroizing<Vec<u8>>> {
    let mut out = zeroize::Zeroizing::new(Vec::with_capacity(text.len() * 3 / 4));
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in text
        .trim()
        .bytes()
        .filter(|c| *c != b'=' && !c.is_ascii_whitespace())
    {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        buffer = (buffer << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    Some(out)
}

pub(crate) struct MfaPage {
    pub devices: Vec<MfaDevice>,
    pub next_marker: Option<String>,
}

pub(crate) fn mfa_devices(xml: &str) -> Option<MfaPage> {
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Member {
        user_name: String,
        serial_number: String,
        enable_date: Option<String>,
    }
    #[derive(Deserialize, Default)]
    struct Members {
        #[serde(default)]
        member: Vec<Member>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Result {
        #[serde(rename = "MFADevices", default)]
        devices: Members,
        is_truncated: Option<bool>,
        marker: Option<String>,
    }
    #[derive(Deserialize)]
    struct Response {
        #[serde(rename = "ListMFADevicesResult")]
        result: Result,
    }
    let r = quick_xml::de::from_str::<Response>(xml).ok()?.result;
    // A serial of another shape is no answer of IAM's: `--save` writes it into the
    // config, where a line break would become a new section (DESIGN §7).
    let shaped = r.devices.member.iter().all(|m| {
        crate::config::shape::mfa_serial_problem(&m.serial_number).is_none()
            && crate::config::shape::iam_name_problem(&m.user_name).is_none()
            && m.enable_date
                .as_deref()
                .is_none_or(|d| crate::config::shape::file_value_problem(d).is_none())
    }) && r
        .marker
        .as_deref()
        .is_none_or(|m| m.bytes().all(|b| b.is_ascii_graphic()));
    if !shaped {
        return None;
    }
    Some(MfaPage {
        devices: r
            .devices
            .member
            .into_iter()
            .map(|m| MfaDevice {
                serial_number: m.serial_number,
                user_name: m.user_name,
                enable_date: m.enable_date,
            })
            .collect(),
        next_marker: if r.is_truncated == Some(true) {
            r.marker
        } else {
            None
        },
    })
}

/// The first `Code` and `Message` inside an `Error` element, whatever wraps it.
pub(crate) fn error_fields(xml: &str) -> Option<(String, String)> {
    let mut reader = Reader::from_str(xml);
    let mut in_error = 0usize;
    let mut current: Option<&'static str> = None;
    let (mut code, mut message) = (None::<String>, None::<String>);
    loop {
        match reader.read_event().ok()? {
            Event::Start(e) => match e.local_name().as_ref() {
                "Error" => in_error += 1,
                "Code" if in_error > 0 => current = Some("code"),
                "Message" if in_error > 0 => current = Some("message"),
                _ => current = None,
            },
            Event::Text(t) => {
                let text = t.xml10_content();
                match current {
                    Some("code") => code.get_or_insert_with(String::new).push_str(&text),
                    Some("message") => message.get_or_insert_with(String::new).push_str(&text),
                    _ => {}
                }
            }
            Event::GeneralRef(r) => {
                // Entities such as &amp; arrive apart from the text around them.
                let ch = match r.resolve_char_ref().ok().flatten() {
                    Some(c) => c.to_string(),
                    None => match r.xml10_content().as_ref() {
                        "amp" => "&",
                        "lt" => "<",
                        "gt" => ">",
                        "quot" => "\"",
                        "apos" => "'",
                        _ => "",
                    }
                    .to_string(),
                };
                if current == Some("message") {
                    message.get_or_insert_with(String::new).push_str(&ch);
                }
            }
            Event::End(e) => {
                if e.local_name().as_ref() == "Error" {
                    in_error = in_error.saturating_sub(1);
                    if code.is_some() {
                        break;
                    }
                }
                current = None;
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Some((code?, message.unwrap_or_default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_get_session_token() {
        let xml = r#"<GetSessionTokenResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <GetSessionTokenResult>
    <Credentials>
      <SessionToken>AQoEXAMPLEH4aoAH0gNCAPyJxz4BlCFFxWNE1OPTgk5TthT+FvwqnKwRcOIfrRh3c/LTo6UDdyJwOOvEVPvLXCrrrUtdnniCEXAMPLE/IvU1dYUg2RVAJBanLiHb4IgRmpRV3zrkuWJOgQs8IZZaIv2BXIa2R4OlgkBN9bkUDNCJiBeb/AXlzBBko7b15fjrBs2+cTQtpZ3CYWFXG8C5zqx37wnOE49mRl/+OtkIKGO7fAE</SessionToken>
      <SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY</SecretAccessKey>
      <Expiration>2011-07-11T19:55:29.611Z</Expiration>
      <AccessKeyId>AKIAIOSFODNN7EXAMPLE</AccessKeyId>
    </Credentials>
  </GetSessionTokenResult>
  <ResponseMetadata><RequestId>58c5dbae-abef-11e0-8cfe-09039844ac7d</RequestId></ResponseMetadata>
</GetSessionTokenResponse>"#;
        let c = session_credentials(xml, "GetSessionTokenResult").unwrap();
        assert_eq!(c.access_key_id, "AKIAIOSFODNN7EXAMPLE");
        assert_eq!(c.secret(), "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY");
        assert!(c.token().unwrap().starts_with("AQoEXAMPLEH4"));
        assert_eq!(c.expiration.unwrap().as_second(), 1310414129);
        assert!(session_credentials("<html/>", "GetSessionTokenResult").is_none());
    }

    #[test]
    fn new_devices_carry_a_base64_blob_seed() {
        let xml = r#"<CreateVirtualMFADeviceResponse><CreateVirtualMFADeviceResult><VirtualMFADevice><SerialNumber>arn:aws:iam::123456789012:mfa/d</SerialNumber><Base32StringSeed>R0VaREdOQlZHWTNUUU9KUQ==</Base32StringSeed></VirtualMFADevice></CreateVirtualMFADeviceResult></CreateVirtualMFADeviceResponse>"#;
        let d = new_device(xml).unwrap();
        use secrecy::ExposeSecret;
        assert_eq!(d.seed_base32.expose_secret(), "GEZDGNBVGY3TQOJQ");
        assert_eq!(base64_decode("aGk").unwrap().as_slice(), b"hi");
        assert!(base64_decode("*").is_none());
    }

    #[test]
    fn new_device_seeds_that_are_not_base32_are_no_answer() {
        // Found by fuzz/sts_xml: "…==A" decoded to a seed with a byte that is not
        // base32, which `mfa create` would draw as a QR code and print raw.
        let device = |blob: &str| {
            new_device(&format!(
                "<CreateVirtualMFADeviceResponse><CreateVirtualMFADeviceResult><VirtualMFADevice><SerialNumber>arn:aws:iam::123456789012:mfa/d</SerialNumber><Base32StringSeed>{blob}</Base32StringSeed></VirtualMFADevice></CreateVirtualMFADeviceResult></CreateVirtualMFADeviceResponse>"
            ))
        };
        // Base64 of "A" * (3n + 1) is "QUFB" * n + "QQ==".
        assert!(device(&format!("{}QQ==", "QUFB".repeat(21))).is_some());
        assert!(device("R0VaREdOQlZHWTNUUU9KUT09PT0=").is_some()); // GEZDGNBVGY3TQOJQ====
        for bad in [
            "R0VaREdOQlZHWTNUUU9KURtdMDtwd25lZAc=", // GEZDGNBVGY3TQOJQ\x1b]0;pwned\x07
            "R0VaREdOQlZHWTNUUU9KUcKF",             // GEZDGNBVGY3TQOJQ\u{85}
            "R0VaREdOQlZHWTNUUU9KUSZzZWNyZXQ9QUFBQUFBQUFBQUFBQUFBQQ==", // …&secret=AAAA…
            "R0VaRCBHTkJWIEdZM1QgUU9KUQ==",         // GEZD GNBV GY3T QOJQ
            "R0VaREdOQlY=",                         // GEZDGNBV
            &format!("{}QQ==", "QUFB".repeat(1333)), // "A" * 4000
        ] {
            assert!(device(bad).is_none(), "{bad}");
        }
        assert!(device("R0VaREdOQlZHWTNUUU9KUQ==A").is_none());
    }

    #[test]
    fn parses_create_access_key() {
        let xml = r#"<CreateAccessKeyResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><CreateAccessKeyResult><AccessKey><UserName>Bob</UserName><AccessKeyId>AKIAIOSFODNN7EXAMPLE</AccessKeyId><Status>Active</Status><SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY</SecretAccessKey></AccessKey></CreateAccessKeyResult></CreateAccessKeyResponse>"#;
        let k = new_access_key(xml).unwrap();
        assert_eq!(k.access_key_id, "AKIAIOSFODNN7EXAMPLE");
        assert_eq!(k.secret(), "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY");
        assert!(k.token().is_none());
        assert!(new_access_key("<CreateAccessKeyResponse/>").is_none());
    }

    #[test]
    fn parses_assume_role() {
        let xml = r#"<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><SourceIdentity>x</SourceIdentity><AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/demo/John</Arn><AssumedRoleId>ARO123EXAMPLE123:John</AssumedRoleId></AssumedRoleUser><Credentials><SessionToken>TOKEN</SessionToken><SecretAccessKey>SECRET</SecretAccessKey><Expiration>2019-11-09T13:34:41Z</Expiration><AccessKeyId>ASIAIOSFODNN7EXAMPLE</AccessKeyId></Credentials><PackedPolicySize>6</PackedPolicySize></AssumeRoleResult></AssumeRoleResponse>"#;
        let c = session_credentials(xml, "AssumeRoleResult").unwrap();
        assert_eq!(c.access_key_id, "ASIAIOSFODNN7EXAMPLE");
        assert_eq!(c.token(), Some("TOKEN"));
        assert!(session_credentials(xml, "GetSessionTokenResult").is_none());
    }

    #[test]
    fn parses_caller_identity_and_devices() {
        let xml = r#"<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/Alice</Arn><UserId>AIDAEXAMPLE</UserId><Account>123456789012</Account></GetCallerIdentityResult></GetCallerIdentityResponse>"#;
        let id = caller_identity(xml).unwrap();
        assert_eq!(id.arn, "arn:aws:iam::123456789012:user/Alice");
        let xml = r#"<ListMFADevicesResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><ListMFADevicesResult><IsTruncated>true</IsTruncated><Marker>m1</Marker><MFADevices><member><UserName>X</UserName><SerialNumber>arn:aws:iam::1:mfa/X</SerialNumber><EnableDate>2016-01-13T23:15:43Z</EnableDate></member></MFADevices></ListMFADevicesResult></ListMFADevicesResponse>"#;
        let page = mfa_devices(xml).unwrap();
        assert_eq!(page.devices[0].serial_number, "arn:aws:iam::1:mfa/X");
        assert_eq!(page.next_marker.as_deref(), Some("m1"));
        let empty = r#"<ListMFADevicesResponse><ListMFADevicesResult><IsTruncated>false</IsTruncated><MFADevices/></ListMFADevicesResult></ListMFADevicesResponse>"#;
        assert!(mfa_devices(empty).unwrap().devices.is_empty());
    }

    #[test]
    fn error_documents_in_every_shape() {
        let with_ns = r#"<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>MultiFactorAuthentication failed with invalid MFA one time pass code. </Message></Error><RequestId>x</RequestId></ErrorResponse>"#;
        assert_eq!(
            error_fields(with_ns).unwrap(),
            (
                "AccessDenied".to_string(),
                "MultiFactorAuthentication failed with invalid MFA one time pass code. "
                    .to_string()
            )
        );
        let bare = "<ErrorResponse><Error><Code>Throttling</Code><Message>Rate exceeded</Message></Error></ErrorResponse>";
        assert_eq!(error_fields(bare).unwrap().0, "Throttling");
        let ec2 = "<Response><Errors><Error><Code>AuthFailure</Code><Message>a &amp; b</Message></Error></Errors></Response>";
        assert_eq!(error_fields(ec2).unwrap().1, "a & b");
        assert!(error_fields("<html><body>502 Bad Gateway</body></html>").is_none());
        assert!(error_fields("").is_none());
        assert!(error_fields("\u{0}\u{1}garbage<<<").is_none());
    }
}
