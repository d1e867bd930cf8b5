//! Turning a resolved profile into working credentials: the one place that decides
//! between an MFA session and the ways to a role, and that goes through the cache.
//!
//! Paths (DESIGN §4), logged at `-v`:
//! - MFA session: `GetSessionToken(SerialNumber, TokenCode)` with the long-term keys.
//! - Role, by default: from the cached MFA session of the source identity (one code per
//!   device serves every role behind it); AWS caps such chained sessions at 1 h, so they
//!   are re-assumed silently from the MFA session when they run out.
//! - Role asking for more than 1 h: `AssumeRole` with `SerialNumber`/`TokenCode` directly.
//! - Role without an MFA device: `AssumeRole` with the source credentials.
//! - Role whose source is a role: assumed from the source role's session (at most 1 h).
//!
//! Every session goes through [`Engine::single_flight`]: a fresh cache entry is returned
//! without a lock; otherwise the key's lock is taken, the cache read again, and only then
//! is STS called. Locks are always taken in the order role → MFA session → device, so
//! concurrent callers cannot deadlock. Codes pass the replay guard: a code that was just
//! sent for a device is never sent again (AWS rejects it); an automatic source waits for
//! the next one, a person is asked for it.

use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::cache::{Cache, Meta};
use crate::config::profile::{KeysFrom, KeysSource, Kind, Resolved, RoleSpec, Source};
use crate::creds::{Credentials, mask};
use crate::error::{Error, Exit};
use crate::lifetime::{DEFAULT_SESSION_SECS, human_remaining, remaining, renew_below};
use crate::sts::{AssumeRoleRequest, Iam, SessionTokenRequest, Sts, StsError};

/// AWS's cap on role sessions assumed with session credentials (role chaining).
pub const CHAINED_ROLE_MAX_SECS: u32 = 3_600;
/// How long a used code stays "just used": its 30 s step and the one after.
const REPLAY_WINDOW_SECS: i64 = 90;

/// A code and whether a program produced it (so waiting for the next one helps).
pub struct Code {
    pub value: String,
    pub automatic: bool,
}

/// What the engine needs from the outside world.
pub trait Effects {
    fn sts(&self) -> Result<&dyn Sts, Error>;
    fn iam(&self) -> Result<&dyn Iam, Error>;
    /// A code for `serial` from the configured sources.
    fn code(&self, serial: &str) -> Result<Code, Error>;
    fn now(&self) -> Timestamp;
    fn sleep(&self, d: Duration);
    /// Long-term keys kept outside the files: runs a source profile's
    /// `credential_process`, or opens the vault.
    fn long_term_keys(&self, keys: &KeysSource) -> Result<Credentials, Error>;
    /// A progress line for `-v`.
    fn log(&self, message: &str);
    /// A line the person should see (waiting, warnings).
    fn notice(&self, message: &str);
}

/// A request for credentials.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// A cached session with less than this many seconds left is not used.
    pub min_remaining: i64,
    /// `min_remaining` exactly as given, not capped at a quarter of a session's life
    /// (`login --min-remaining`: the person asked for that much).
    pub exact_min_remaining: bool,
    /// Make a new top-level session even if a cached one is fresh (`login --force`).
    pub force: bool,
    /// Length of a new MFA session (`login --duration`), else 12 h.
    pub session_duration: Option<u32>,
    /// Length of a new role session, overriding `duration_seconds`.
    pub role_duration: Option<u32>,
    /// The MFA device, overriding the profile (`--mfa-serial`).
    pub mfa_serial: Option<String>,
    /// Identifies the STS endpoint in cache keys.
    pub endpoint: String,
}

/// Credentials and how they were obtained.
#[derive(Debug, Clone)]
pub struct Served {
    pub creds: Credentials,
    pub from_cache: bool,
    /// The MFA device used or discovered, when one was involved.
    pub mfa_serial: Option<String>,
}

pub struct Engine<'a> {
    pub cache: &'a Cache,
    pub fx: &'a dyn Effects,
}

impl Engine<'_> {
    /// Serves the profile.
    pub fn serve(&self, r: &Resolved, req: &Request) -> Result<Served, Error> {
        match &r.kind {
            Kind::MfaSession(keys) => {
                let serial = req.mfa_serial.clone().or_else(|| r.mfa_serial.clone());
                self.mfa_session(&r.profile, keys, serial.as_deref(), req, req.force)
            }
            Kind::Role(role) => self.role(role, req, req.force, true),
        }
    }

    fn mfa_session(
        &self,
        profile: &str,
        keys: &KeysSource,
        serial: Option<&str>,
        req: &Request,
        force: bool,
    ) -> Result<Served, Error> {
        let key_for = |serial: &str| {
            Cache::key(&["mfa-session", &keys.cache_identity(), serial, &req.endpoint])
        };
        let key = key_for(serial.unwrap_or("(discover)"));
        let mut used_serial = serial.map(String::from);
        let served = self.single_flight(&key, req, force, "MFA session", |engine| {
            let long_term = engine.load_keys(keys)?;
            let serial = match serial {
                Some(s) => s.to_string(),
                None => engine.discover(&long_term)?,
            };
            let duration = req.session_duration.unwrap_or(DEFAULT_SESSION_SECS);
            engine.fx.log(&format!(
                "GetSessionToken for {duration} s with key {} and device {serial}",
                mask(&long_term.access_key_id)
            ));
            let sts = engine.fx.sts()?;
            let creds = engine.with_code(&serial, |code| {
                sts.get_session_token(
                    &long_term,
                    &SessionTokenRequest {
                        duration_seconds: duration,
                        serial_number: Some(serial.clone()),
                        token_code: Some(code.to_string()),
                    },
                )
            })?;
            let meta = Meta {
                kind: "mfa-session".into(),
                profile: profile.to_string(),
                detail: serial.clone(),
                keys: keys.cache_identity(),
                issued: None,
            };
            used_serial = Some(serial);
            Ok((creds, meta))
        })?;
        if let (None, Some(found), false) = (serial, used_serial.as_deref(), served.from_cache) {
            // Also under the device's own key: once the device is saved as mfa_serial
            // (`login --save`), the same session serves without another code.
            let meta = Meta {
                kind: "mfa-session".into(),
                profile: profile.to_string(),
                detail: found.to_string(),
                keys: keys.cache_identity(),
                issued: Some(self.fx.now().to_string()),
            };
            if let Err(e) = self.cache.store(&key_for(found), &meta, &served.creds) {
                self.fx.log(&format!(
                    "could not cache the session under its device: {e}"
                ));
            }
        }
        Ok(Served {
            mfa_serial: used_serial.or_else(|| serial.map(String::from)),
            ..served
        })
    }

    fn role(
        &self,
        role: &RoleSpec,
        req: &Request,
        force: bool,
        top: bool,
    ) -> Result<Served, Error> {
        let requested = if top {
            req.role_duration.or(role.duration_seconds)
        } else {
            role.duration_seconds
        };
        let serial = if top {
            req.mfa_serial.clone().or_else(|| role.mfa_serial.clone())
        } else {
            role.mfa_serial.clone()
        };
        let ext = role.external_id.clone().unwrap_or_default();
        let dur_text = requested.map(|d| d.to_string()).unwrap_or_default();
        let base = role.source.base_keys();
        let assume = |duration: Option<u32>, mfa: Option<(String, String)>| AssumeRoleRequest {
            role_arn: role.role_arn.clone(),
            session_name: role.session_name.clone(),
            duration_seconds: duration,
            external_id: role.external_id.clone(),
            serial_number: mfa.as_ref().map(|(s, _)| s.clone()),
            token_code: mfa.map(|(_, c)| c),
        };
        let meta = Meta {
            kind: "role".into(),
            profile: role.profile.clone(),
            detail: role.role_arn.clone(),
            keys: base.cache_identity(),
            issued: None,
        };
        let parts = |path: &str| {
            Cache::key(&[
                "role",
                &base.cache_identity(),
                &chain_of(&role.source),
                &role.role_arn,
                &ext,
                &role.session_name,
                &dur_text,
                serial.as_deref().unwrap_or(""),
                path,
                &req.endpoint,
            ])
        };
        match (&role.source, serial.as_deref()) {
            (Source::Role(inner), _) => {
                if requested.is_some_and(|d| d > CHAINED_ROLE_MAX_SECS) {
                    return Err(Error::new(
                        Exit::Config,
                        format!(
                            "profile {:?} asks for {} s, but a role assumed from another role lasts at most 1 h (AWS's role-chaining limit)",
                            role.profile,
                            requested.unwrap_or_default()
                        ),
                    ));
                }
                let key = parts("chained");
                self.single_flight(&key, req, force, "role session", |engine| {
                    engine.fx.log(&format!(
                        "assuming {} from the session of role profile {:?} (role chaining, at most 1 h)",
                        role.role_arn, inner.profile
                    ));
                    let source = engine.role(inner, req, false, false)?;
                    let creds = engine
                        .fx
                        .sts()?
                        .assume_role(&source.creds, &assume(requested, None))?;
                    Ok((creds, meta.clone()))
                })
            }
            (Source::Keys(keys), Some(serial))
                if requested.is_some_and(|d| d > CHAINED_ROLE_MAX_SECS) =>
            {
                let key = parts("direct-mfa");
                self.single_flight(&key, req, force, "role session", |engine| {
                    // Said to the person, not only at -v: this asks for a code even
                    // while an MFA session is cached.
                    engine.fx.notice(&format!(
                        "profile {:?} asks for {} s, more than the 1 h a role assumed from an MFA session may last: AssumeRole takes an MFA code directly",
                        role.profile,
                        requested.unwrap_or_default()
                    ));
                    let long_term = engine.load_keys(keys)?;
                    let sts = engine.fx.sts()?;
                    let creds = engine.with_code(serial, |code| {
                        sts.assume_role(
                            &long_term,
                            &assume(requested, Some((serial.to_string(), code.to_string()))),
                        )
                    })?;
                    Ok((creds, meta.clone()))
                })
                .map(|s| Served {
                    mfa_serial: Some(serial.to_string()),
                    ..s
                })
            }
            (Source::Keys(keys), Some(serial)) => {
                let key = parts("via-mfa-session");
                let source_profile = keys.profile.clone();
                self.single_flight(&key, req, force, "role session", |engine| {
                    engine.fx.log(&format!(
                        "assuming {} from the MFA session of device {serial} (one code serves every role behind it)",
                        role.role_arn
                    ));
                    let session =
                        engine.mfa_session(&source_profile, keys, Some(serial), req, false)?;
                    let creds = engine
                        .fx
                        .sts()?
                        .assume_role(&session.creds, &assume(requested, None))?;
                    Ok((creds, meta.clone()))
                })
                .map(|s| Served {
                    mfa_serial: Some(serial.to_string()),
                    ..s
                })
            }
            (Source::Keys(keys), None) => {
                let key = parts("no-mfa");
                self.single_flight(&key, req, force, "role session", |engine| {
                    let long_term = engine.load_keys(keys)?;
                    engine.fx.log(&format!(
                        "assuming {} with key {} (no MFA device configured)",
                        role.role_arn,
                        mask(&long_term.access_key_id)
                    ));
                    let creds = engine
                        .fx
                        .sts()?
                        .assume_role(&long_term, &assume(requested, None))?;
                    Ok((creds, meta.clone()))
                })
            }
        }
    }

    /// Returns the fresh cached entry of `key`, or creates one under the key's lock.
    fn single_flight(
        &self,
        key: &str,
        req: &Request,
        force: bool,
        what: &str,
        create: impl FnOnce(&Self) -> Result<(Credentials, Meta), Error>,
    ) -> Result<Served, Error> {
        let warn = |m: &str| self.fx.notice(&format!("warning: {m}"));
        if !force && let Some(hit) = self.fresh(key, req, &warn) {
            return Ok(hit);
        }
        self.cache.ensure_dir(&warn).map_err(cache_error)?;
        let waiting = |pid: Option<u32>| self.waiting(pid, &format!("to get the {what}"));
        let _lock = self.cache.lock(key, &waiting).map_err(cache_error)?;
        // Someone may have made it while we waited.
        if !force && let Some(hit) = self.fresh(key, req, &warn) {
            return Ok(hit);
        }
        let (creds, meta) = create(self)?;
        let meta = Meta {
            issued: Some(self.fx.now().to_string()),
            ..meta
        };
        if let Err(e) = self.cache.store(key, &meta, &creds) {
            // The credentials are good; only later callers lose the cache.
            warn(&format!("could not cache the session: {e}"));
        }
        if let Some(exp) = creds.expiration {
            self.fx.log(&format!(
                "new {what} until {exp} ({} left)",
                human_remaining(remaining(exp, self.fx.now()))
            ));
        }
        Ok(Served {
            creds,
            from_cache: false,
            mfa_serial: None,
        })
    }

    fn fresh(&self, key: &str, req: &Request, warn: &dyn Fn(&str)) -> Option<Served> {
        let hit = self.cache.load(key, warn)?;
        let expiration = hit.creds.expiration?;
        let left = remaining(expiration, self.fx.now());
        let lifetime = hit
            .meta
            .issued
            .as_deref()
            .and_then(|t| t.parse::<Timestamp>().ok())
            .map(|issued| remaining(expiration, issued));
        let threshold = if req.exact_min_remaining {
            req.min_remaining
        } else {
            renew_below(req.min_remaining, lifetime)
        };
        if left <= threshold {
            let state = if left <= 0 {
                "has expired".to_string()
            } else {
                format!(
                    "has {} left (renewed below {})",
                    human_remaining(left),
                    human_remaining(threshold)
                )
            };
            self.fx.log(&format!(
                "cached {} for {:?} {state}: renewing",
                hit.meta.kind, hit.meta.profile,
            ));
            return None;
        }
        self.fx.log(&format!(
            "using cached {} for {:?} ({} left)",
            hit.meta.kind,
            hit.meta.profile,
            human_remaining(left)
        ));
        Some(Served {
            creds: hit.creds,
            from_cache: true,
            mfa_serial: None,
        })
    }

    /// The long-term keys, from the source's `credential_process` or the vault if that
    /// is where they are.
    fn load_keys(&self, keys: &KeysSource) -> Result<Credentials, Error> {
        match &keys.keys {
            KeysFrom::Static(c) => Ok(c.clone()),
            KeysFrom::Process(_) | KeysFrom::Vault(_) => {
                self.fx.log(&format!(
                    "getting the keys of profile {:?} from {}",
                    keys.profile, keys.origin
                ));
                self.fx.long_term_keys(keys)
            }
        }
    }

    /// Says that another process holds a lock we wait for. Threads of one process (the
    /// credentials server) wait for each other silently.
    fn waiting(&self, pid: Option<u32>, what: &str) {
        if pid == Some(std::process::id()) {
            return;
        }
        let who = pid.map(|p| format!(" (pid {p})")).unwrap_or_default();
        self.fx
            .notice(&format!("waiting for another awsmfa{who} {what} …"));
    }

    /// No `mfa_serial`: asks IAM which device the user behind the keys has.
    fn discover(&self, keys: &Credentials) -> Result<String, Error> {
        self.fx
            .log("no mfa_serial in the profile; asking IAM for the user's MFA devices");
        let devices = self.fx.iam()?.list_mfa_devices(keys, None).map_err(|e| {
            let mut err = Error::from(e);
            err.message = format!("cannot discover the MFA device: {}", err.message);
            if err.hint.is_none() {
                err.hint = Some(
                    "set mfa_serial, or save it: `awsmfa login --mfa-serial ARN --save`".into(),
                );
            }
            err
        })?;
        match devices.as_slice() {
            [] => Err(
                Error::new(Exit::Config, "the user behind these keys has no MFA device").with_hint(
                    "enroll one with `awsmfa mfa create` (it shows a QR code), then try again",
                ),
            ),
            [one] => Ok(one.serial_number.clone()),
            many => {
                let list: Vec<&str> = many.iter().map(|d| d.serial_number.as_str()).collect();
                Err(Error::new(
                    Exit::Config,
                    format!(
                        "the user has {} MFA devices: {}",
                        many.len(),
                        list.join(", ")
                    ),
                )
                .with_hint("pick one: mfa_serial, or `awsmfa login --mfa-serial ARN --save`"))
            }
        }
    }

    /// Obtains a code for `serial` that was not just used, records it, and makes the
    /// call with it — all under the device's lock, so one device is asked once at a time.
    fn with_code<T>(
        &self,
        serial: &str,
        call: impl FnOnce(&str) -> Result<T, StsError>,
    ) -> Result<T, Error> {
        let (record_path, lock_path) = replay_paths(self.cache, serial);
        let waiting = |pid: Option<u32>| self.waiting(pid, &format!("that is using {serial}"));
        self.cache
            .ensure_dir(&|m| self.fx.notice(&format!("warning: {m}")))
            .map_err(cache_error)?;
        let _lock = self
            .cache
            .lock_path(&lock_path, &waiting)
            .map_err(cache_error)?;
        let now = self.fx.now().as_second();
        let mut recent: Vec<Used> = read_used(&record_path)
            .into_iter()
            .filter(|u| now - u.at < REPLAY_WINDOW_SECS)
            .collect();
        let mut code = self.fx.code(serial)?;
        for _ in 0..3 {
            let reused = recent.iter().any(|u| u.code == code.value);
            if !reused {
                break;
            }
            if !code.automatic {
                return Err(Error::new(
                    Exit::Rejected,
                    format!("that code was just used for {serial}; AWS accepts each code once"),
                )
                .with_hint("wait for the next code on your device and enter that one"));
            }
            let wait = 31 - self.fx.now().as_second().rem_euclid(30);
            self.fx.notice(&format!(
                "the current code of {serial} was just used; waiting {wait} s for the next one"
            ));
            self.fx.sleep(Duration::from_secs(wait as u64));
            code = self.fx.code(serial)?;
        }
        let result = call(&code.value);
        // A code is spent once AWS may have accepted it: on success, and when the answer
        // was lost or broken (the call may have gone through). A refused connection or
        // an error AWS answered with leaves the code unspent.
        let spent = match &result {
            Ok(_) => true,
            Err(e) => maybe_processed(e),
        };
        if spent {
            recent.push(Used {
                code: code.value.clone(),
                at: self.fx.now().as_second(),
            });
            let bytes = serde_json::to_vec(&recent).expect("serializable");
            if let Err(e) = crate::fsx::write_atomic(&record_path, &bytes) {
                self.fx
                    .notice(&format!("warning: could not record the code's use: {e}"));
            }
        }
        result.map_err(Error::from)
    }
}

/// The error of a session-cache operation, with the fix for a refused directory or file.
/// A session-cache problem as the error a command reports, with its fix.
pub fn cache_error(e: crate::fsx::FsError) -> Error {
    let hint = e.hint();
    let err = Error::new(Exit::Config, format!("session cache: {e}"));
    match hint {
        Some(h) => err.with_hint(h),
        None => err,
    }
}

/// Where the codes recently sent for a device are recorded, and its lock.
fn replay_paths(cache: &Cache, serial: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let device = Cache::key(&["device", serial]);
    (
        cache.dir().join(format!("mfa-{device}.json")),
        cache.dir().join(format!("mfa-{device}.lock")),
    )
}

/// Records codes spent outside a session request (EnableMFADevice, ResyncMFADevice), so
/// the replay guard never sends them to STS again.
pub fn note_used_codes(cache: &Cache, serial: &str, codes: &[&str], now: i64) {
    let (record_path, lock_path) = replay_paths(cache, serial);
    if cache.ensure_dir(&|_| {}).is_err() {
        return;
    }
    let Ok(_lock) = cache.lock_path(&lock_path, &|_| {}) else {
        return;
    };
    let mut recent: Vec<Used> = read_used(&record_path)
        .into_iter()
        .filter(|u| now - u.at < REPLAY_WINDOW_SECS)
        .collect();
    recent.extend(codes.iter().map(|c| Used {
        code: c.to_string(),
        at: now,
    }));
    let bytes = serde_json::to_vec(&recent).expect("serializable");
    let _ = crate::fsx::write_atomic(&record_path, &bytes);
}

/// Whether a failed call may still have been processed by STS.
fn maybe_processed(e: &StsError) -> bool {
    match e {
        StsError::Service { status, .. } => *status >= 500,
        StsError::Timeout { .. } | StsError::Unexpected { .. } => true,
        StsError::Connect { detail, .. } => {
            detail.contains("broke off")
                || detail.contains("reset")
                || detail.contains("without answering")
        }
        StsError::Signing(_) | StsError::Proxy(_) => false,
    }
}

#[derive(Serialize, Deserialize)]
struct Used {
    code: String,
    at: i64,
}

/// The codes recently sent for a device (an unreadable record counts as none).
fn read_used(path: &std::path::Path) -> Vec<Used> {
    let Ok(Some((file, _))) = crate::fsx::open_private(path, false) else {
        return Vec::new();
    };
    serde_json::from_reader(std::io::Read::take(file, 1 << 20)).unwrap_or_default()
}

/// The role ARNs between a role and its base keys, for cache keys.
fn chain_of(source: &Source) -> String {
    match source {
        Source::Keys(_) => String::new(),
        Source::Role(r) => format!("{}>{}", chain_of(&r.source), r.role_arn),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::profile::ProfileSettings;
    use crate::sts::{CallerIdentity, MfaDevice};
    use secrecy::SecretString;
    use std::cell::{Cell, RefCell};

    /// An in-process STS that records calls and issues numbered sessions.
    struct FakeSts {
        calls: RefCell<Vec<String>>,
        now: Cell<i64>,
        lifetime: i64,
    }

    impl FakeSts {
        fn session(&self, label: &str, secs: i64) -> Credentials {
            let n = self.calls.borrow().len();
            Credentials {
                access_key_id: format!("ASIA{label}{n:012}"),
                secret_access_key: SecretString::from(format!("secret-{n}")),
                session_token: Some(SecretString::from(format!("token-{n}"))),
                expiration: Some(Timestamp::from_second(self.now.get() + secs).unwrap()),
            }
        }
    }

    impl Sts for FakeSts {
        fn get_session_token(
            &self,
            keys: &Credentials,
            req: &SessionTokenRequest,
        ) -> Result<Credentials, StsError> {
            self.calls.borrow_mut().push(format!(
                "GetSessionToken {} {}",
                keys.access_key_id,
                req.token_code.clone().unwrap_or_default()
            ));
            Ok(self.session("MFA", self.lifetime.min(i64::from(req.duration_seconds))))
        }
        fn assume_role(
            &self,
            keys: &Credentials,
            req: &AssumeRoleRequest,
        ) -> Result<Credentials, StsError> {
            self.calls.borrow_mut().push(format!(
                "AssumeRole {} {} mfa={}",
                req.role_arn,
                keys.access_key_id,
                req.token_code.is_some()
            ));
            let secs = i64::from(req.duration_seconds.unwrap_or(3600));
            Ok(self.session("ROLE", secs.min(self.lifetime)))
        }
        fn get_caller_identity(&self, _: &Credentials) -> Result<CallerIdentity, StsError> {
            unreachable!()
        }
    }

    impl Iam for FakeSts {
        fn list_mfa_devices(
            &self,
            _: &Credentials,
            _: Option<&str>,
        ) -> Result<Vec<MfaDevice>, StsError> {
            self.calls.borrow_mut().push("ListMFADevices".into());
            Ok(vec![MfaDevice {
                serial_number: "arn:aws:iam::123456789012:mfa/found".into(),
                user_name: "found".into(),
                enable_date: None,
            }])
        }
    }

    struct Fx {
        sts: FakeSts,
        codes: RefCell<Vec<(&'static str, bool)>>,
        asked: Cell<usize>,
        notices: RefCell<Vec<String>>,
    }

    impl Effects for Fx {
        fn sts(&self) -> Result<&dyn Sts, Error> {
            Ok(&self.sts)
        }
        fn iam(&self) -> Result<&dyn Iam, Error> {
            Ok(&self.sts)
        }
        fn code(&self, _serial: &str) -> Result<Code, Error> {
            self.asked.set(self.asked.get() + 1);
            let (value, automatic) = self.codes.borrow_mut().remove(0);
            Ok(Code {
                value: value.into(),
                automatic,
            })
        }
        fn now(&self) -> Timestamp {
            Timestamp::from_second(self.sts.now.get()).unwrap()
        }
        fn sleep(&self, d: Duration) {
            self.sts.now.set(self.sts.now.get() + d.as_secs() as i64);
        }
        fn long_term_keys(&self, _keys: &KeysSource) -> Result<Credentials, Error> {
            Ok(Credentials::long_term("AKIAFROMPROCESS00000", "s"))
        }
        fn log(&self, _: &str) {}
        fn notice(&self, m: &str) {
            self.notices.borrow_mut().push(m.to_string());
        }
    }

    fn fx(codes: Vec<(&'static str, bool)>) -> Fx {
        Fx {
            sts: FakeSts {
                calls: RefCell::new(Vec::new()),
                now: Cell::new(1_800_000_000),
                lifetime: 43_200,
            },
            codes: RefCell::new(codes),
            asked: Cell::new(0),
            notices: RefCell::new(Vec::new()),
        }
    }

    fn keys() -> KeysSource {
        KeysSource {
            profile: "source".into(),
            keys: KeysFrom::Static(Credentials::long_term("AKIAEXAMPLE000000000", "s")),
            origin: "test".into(),
            section: None,
        }
    }

    fn role(name: &str, duration: Option<u32>) -> Resolved {
        Resolved {
            profile: name.into(),
            kind: Kind::Role(RoleSpec {
                profile: name.into(),
                role_arn: format!("arn:aws:iam::123456789012:role/{name}"),
                source: Source::Keys(keys()),
                mfa_serial: Some("arn:aws:iam::123456789012:mfa/u".into()),
                external_id: None,
                session_name: "u".into(),
                duration_seconds: duration,
            }),
            mfa_serial: Some("arn:aws:iam::123456789012:mfa/u".into()),
            mfa_process: None,
            settings: ProfileSettings::default(),
            default_target: format!("{name}-mfa"),
            keys_in_profile: false,
        }
    }

    fn req() -> Request {
        Request {
            min_remaining: 900,
            endpoint: "https://sts.test".into(),
            ..Default::default()
        }
    }

    #[test]
    fn one_code_serves_every_role_behind_a_device() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().to_path_buf());
        let fx = fx(vec![("111111", false)]);
        let engine = Engine {
            cache: &cache,
            fx: &fx,
        };
        for name in ["a", "b", "c"] {
            let s = engine.serve(&role(name, None), &req()).unwrap();
            assert!(!s.from_cache);
        }
        assert_eq!(fx.asked.get(), 1, "one code");
        let calls = fx.sts.calls.borrow().clone();
        assert_eq!(
            calls
                .iter()
                .filter(|c| c.starts_with("GetSessionToken"))
                .count(),
            1
        );
        assert_eq!(
            calls.iter().filter(|c| c.starts_with("AssumeRole")).count(),
            3
        );
        assert!(calls.iter().all(|c| !c.contains("mfa=true")));
        // Served from the cache now.
        assert!(engine.serve(&role("b", None), &req()).unwrap().from_cache);
    }

    #[test]
    fn an_expired_role_session_is_reassumed_without_a_code() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().to_path_buf());
        let fx = fx(vec![("111111", false)]);
        let engine = Engine {
            cache: &cache,
            fx: &fx,
        };
        engine.serve(&role("a", None), &req()).unwrap();
        fx.sleep(Duration::from_secs(3600 - 600)); // the role session has 10 min left
        let s = engine.serve(&role("a", None), &req()).unwrap();
        assert!(!s.from_cache);
        assert_eq!(fx.asked.get(), 1, "no new code");
        let left = remaining(s.creds.expiration.unwrap(), fx.now());
        assert!(left > 900, "nothing near-expired is returned");
    }

    #[test]
    fn a_fifteen_minute_role_is_assumed_once_per_three_quarters_of_its_life() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().to_path_buf());
        let fx = fx(vec![("111111", false)]);
        let engine = Engine {
            cache: &cache,
            fx: &fx,
        };
        // A call every 10 s for 30 minutes.
        for _ in 0..180 {
            let s = engine.serve(&role("short", Some(900)), &req()).unwrap();
            let left = remaining(s.creds.expiration.unwrap(), fx.now());
            assert!(left > 225, "never handed out with less than a quarter left");
            fx.sleep(Duration::from_secs(10));
        }
        let assumed = fx
            .sts
            .calls
            .borrow()
            .iter()
            .filter(|c| c.starts_with("AssumeRole"))
            .count();
        // 1800 s / 680 s of use per session.
        assert_eq!(assumed, 3, "{:?}", fx.sts.calls.borrow());
        assert_eq!(fx.asked.get(), 1);
    }

    #[test]
    fn long_role_sessions_use_the_code_directly() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().to_path_buf());
        let fx = fx(vec![("222222", false)]);
        let engine = Engine {
            cache: &cache,
            fx: &fx,
        };
        engine.serve(&role("long", Some(4 * 3600)), &req()).unwrap();
        let calls = fx.sts.calls.borrow().clone();
        assert_eq!(calls.len(), 1);
        assert!(calls[0].contains("mfa=true") && calls[0].contains("AKIAEXAMPLE"));
    }

    #[test]
    fn mfa_sessions_discover_the_device_and_are_cached() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().to_path_buf());
        let fx = fx(vec![("333333", false)]);
        let engine = Engine {
            cache: &cache,
            fx: &fx,
        };
        let r = Resolved {
            kind: Kind::MfaSession(keys()),
            mfa_serial: None,
            ..role("w", None)
        };
        let s = engine.serve(&r, &req()).unwrap();
        assert_eq!(
            s.mfa_serial.as_deref(),
            Some("arn:aws:iam::123456789012:mfa/found")
        );
        assert!(engine.serve(&r, &req()).unwrap().from_cache);
        // Once the found device is saved as mfa_serial, the same session still serves.
        let saved = Resolved {
            mfa_serial: Some("arn:aws:iam::123456789012:mfa/found".into()),
            ..r.clone()
        };
        assert!(engine.serve(&saved, &req()).unwrap().from_cache);
        assert_eq!(fx.asked.get(), 1);
        let forced = Request {
            force: true,
            ..req()
        };
        fx.codes.borrow_mut().push(("444444", false));
        assert!(!engine.serve(&r, &forced).unwrap().from_cache);
        assert_eq!(fx.asked.get(), 2);
    }

    #[test]
    fn a_just_used_code_is_never_sent_again() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().to_path_buf());
        // A person types the same code twice: refused before any call.
        let fx = fx(vec![("555555", false), ("555555", false)]);
        let engine = Engine {
            cache: &cache,
            fx: &fx,
        };
        let r = role("x", Some(7200));
        engine.serve(&r, &req()).unwrap();
        let forced = Request {
            force: true,
            ..req()
        };
        let err = engine.serve(&r, &forced).unwrap_err();
        assert_eq!(err.exit, Exit::Rejected);
        assert_eq!(fx.sts.calls.borrow().len(), 1);
        // A code command that repeats itself: wait for the next step, then ask again.
        let fx2 = Fx {
            codes: RefCell::new(vec![("666666", true), ("666666", true), ("777777", true)]),
            ..fx
        };
        let engine = Engine {
            cache: &cache,
            fx: &fx2,
        };
        engine.serve(&r, &forced).unwrap();
        let before = fx2.now();
        engine.serve(&r, &forced).unwrap();
        assert!(fx2.now().as_second() > before.as_second(), "it waited");
        assert!(fx2.notices.borrow().iter().any(|n| n.contains("waiting")));
        let calls = fx2.sts.calls.borrow().clone();
        assert_eq!(calls.len(), 3);
    }

    #[test]
    fn chained_roles_are_capped_at_one_hour() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().to_path_buf());
        let fx = fx(vec![("888888", false)]);
        let engine = Engine {
            cache: &cache,
            fx: &fx,
        };
        let Kind::Role(inner) = role("inner", None).kind else {
            unreachable!()
        };
        let mut outer = role("outer", Some(7200));
        if let Kind::Role(r) = &mut outer.kind {
            r.source = Source::Role(Box::new(inner));
        }
        assert_eq!(engine.serve(&outer, &req()).unwrap_err().exit, Exit::Config);
        if let Kind::Role(r) = &mut outer.kind {
            r.duration_seconds = None;
        }
        engine.serve(&outer, &req()).unwrap();
        let calls = fx.sts.calls.borrow().clone();
        assert_eq!(calls.len(), 3, "{calls:?}");
        assert!(calls[2].contains("role/outer") && calls[2].contains("ASIAROLE"));
    }
}
