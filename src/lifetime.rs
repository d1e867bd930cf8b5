//! How long a session may last and when one is still good enough: rules without a
//! dependency, used by the session engine, the commands and the error mapping.
//!
//! Durations are validated before any call to STS, with the limit explained, because a
//! rejected call may already have used up the person's MFA code.

use jiff::Timestamp;

/// `GetSessionToken` bounds for IAM users (AWS: 900 s to 129 600 s).
pub const SESSION_MIN_SECS: u32 = 900;
pub const SESSION_MAX_SECS: u32 = 129_600;
/// For the account root user's keys the maximum is one hour.
pub const ROOT_SESSION_MAX_SECS: u32 = 3_600;
/// The default session length: 12 hours, as STS's own default.
pub const DEFAULT_SESSION_SECS: u32 = 43_200;
/// A session with less than this left is renewed (`AWSMFA_MIN_REMAINING`).
pub const DEFAULT_MIN_REMAINING_SECS: u64 = 15 * 60;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("{0:?} is not a duration (use e.g. 12h, 90m, 1h30m or 3600)")]
    Syntax(String),
    #[error("{secs} s is shorter than STS allows: sessions last at least 900 s (15m)")]
    TooShort { secs: u64 },
    #[error("{secs} s is longer than STS allows: MFA sessions last at most 129600 s (36h)")]
    TooLong { secs: u64 },
    #[error("{secs} s is longer than STS allows for the root user's keys: at most 3600 s (1h)")]
    TooLongForRoot { secs: u64 },
}

/// Parses `3600`, `3600s`, `90m`, `12h`, `1h30m`, `1d` into seconds.
pub fn parse_duration(text: &str) -> Result<u64, DurationError> {
    let err = || DurationError::Syntax(text.chars().take(40).collect());
    let t = text.trim();
    if t.is_empty() {
        return Err(err());
    }
    if t.chars().all(|c| c.is_ascii_digit()) {
        return t.parse().map_err(|_| err());
    }
    let mut total: u64 = 0;
    let mut number = String::new();
    let mut last_unit = u64::MAX;
    for c in t.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c.to_ascii_lowercase() {
            'd' => 86_400,
            'h' => 3_600,
            'm' => 60,
            's' => 1,
            _ => return Err(err()),
        };
        // Units must be given once each, largest first (1h30m, not 30m1h).
        if number.is_empty() || unit >= last_unit {
            return Err(err());
        }
        last_unit = unit;
        let n: u64 = number.parse().map_err(|_| err())?;
        total = n
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(err)?;
        number.clear();
    }
    if !number.is_empty() {
        return Err(err());
    }
    Ok(total)
}

/// Checks a `GetSessionToken` duration against AWS's bounds.
pub fn check_session_duration(secs: u64, root: bool) -> Result<u32, DurationError> {
    if secs < u64::from(SESSION_MIN_SECS) {
        return Err(DurationError::TooShort { secs });
    }
    if root && secs > u64::from(ROOT_SESSION_MAX_SECS) {
        return Err(DurationError::TooLongForRoot { secs });
    }
    if secs > u64::from(SESSION_MAX_SECS) {
        return Err(DurationError::TooLong { secs });
    }
    Ok(secs as u32)
}

/// Seconds left until `expiration`, negative when past.
pub fn remaining(expiration: Timestamp, now: Timestamp) -> i64 {
    expiration.as_second() - now.as_second()
}

/// Seconds left below which a cached session is renewed: `min_remaining`
/// (`AWSMFA_MIN_REMAINING`, 15 min by default), but never more than a quarter of the
/// session's own lifetime, so that a short session (a 15-minute role) is still used for
/// three quarters of its life instead of being renewed on every call. SDKs refresh
/// container and process credentials 5–15 min before expiry and simply ask again; what
/// they are handed always has at least this long left.
pub fn renew_below(min_remaining: i64, lifetime: Option<i64>) -> i64 {
    match lifetime {
        Some(life) if life > 0 => min_remaining.min(life / 4),
        _ => min_remaining,
    }
}

/// `12h 0m`, `14m 5s`, `expired`: for people.
pub fn human_remaining(secs: i64) -> String {
    if secs <= 0 {
        return "expired".into();
    }
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    if h > 0 {
        format!("{h}h {m}m")
    } else if m > 0 {
        format!("{m}m {s}s")
    } else {
        format!("{s}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_in_every_form() {
        assert_eq!(parse_duration("3600"), Ok(3600));
        assert_eq!(parse_duration("3600s"), Ok(3600));
        assert_eq!(parse_duration("90m"), Ok(5400));
        assert_eq!(parse_duration("12h"), Ok(43200));
        assert_eq!(parse_duration("1h30m"), Ok(5400));
        assert_eq!(parse_duration("1d12h"), Ok(129600));
        for bad in [
            "",
            "h",
            "12x",
            "30m1h",
            "1h1h",
            "-5",
            "1.5h",
            "99999999999999999999h",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn bounds_of_get_session_token() {
        assert_eq!(check_session_duration(900, false), Ok(900));
        assert_eq!(check_session_duration(129_600, false), Ok(129_600));
        assert!(matches!(
            check_session_duration(899, false),
            Err(DurationError::TooShort { .. })
        ));
        assert!(matches!(
            check_session_duration(129_601, false),
            Err(DurationError::TooLong { .. })
        ));
        assert!(matches!(
            check_session_duration(3_601, true),
            Err(DurationError::TooLongForRoot { .. })
        ));
    }

    #[test]
    fn short_sessions_are_fresh_for_three_quarters_of_their_life() {
        // 15-minute role: renewed with 225 s left, so used for 675 s.
        assert_eq!(renew_below(900, Some(900)), 225);
        // 1-hour role and 12-hour session: the 15-minute rule as before.
        assert_eq!(renew_below(900, Some(3600)), 900);
        assert_eq!(renew_below(900, Some(43_200)), 900);
        // A person's smaller setting wins.
        assert_eq!(renew_below(60, Some(3600)), 60);
        // Lifetime unknown (an entry from an older awsmfa): the setting.
        assert_eq!(renew_below(900, None), 900);
        assert_eq!(renew_below(900, Some(0)), 900);
        // The test bed's 20 s role sessions.
        assert_eq!(renew_below(900, Some(20)), 5);
    }

    #[test]
    fn remaining_time_for_people() {
        assert_eq!(human_remaining(43_200), "12h 0m");
        assert_eq!(human_remaining(845), "14m 5s");
        assert_eq!(human_remaining(5), "5s");
        assert_eq!(human_remaining(0), "expired");
    }
}
