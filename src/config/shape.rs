//! The shapes of values that come from outside (flags, the environment, the AWS files,
//! STS answers), checked where they enter (DESIGN §7).
//!
//! A region builds host names (`sts.{region}.amazonaws.com`): one that holds `@`, `/` or
//! `#` moves the host (`x@evil.example/#`), so it must be botocore's shape or nothing.
//! An endpoint must be an http(s) URL with a host. Credentials must be visible ASCII, so
//! that no line break becomes a new INI section and no quote a shell command.

/// botocore's `validate_region_name` (botocore/utils.py): the region must match
/// `^[a-zA-Z0-9](?:[a-zA-Z0-9\-]{0,61}[a-zA-Z0-9])?$` — a DNS label.
pub fn valid_region(region: &str) -> bool {
    let b = region.as_bytes();
    let inner_ok = |c: &u8| c.is_ascii_alphanumeric() || *c == b'-';
    !b.is_empty()
        && b.len() <= 63
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter().all(inner_ok)
}

/// Why `url` is not an endpoint URL: it must be `http://` or `https://`, a host (a DNS
/// name, an IPv4 address or a bracketed IPv6 one), an optional port, an optional path;
/// no user info, no white space, no control characters.
pub fn endpoint_url_problem(url: &str) -> Option<&'static str> {
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Some("it contains white space or control characters");
    }
    let lower = url.to_ascii_lowercase();
    let rest = if lower.starts_with("https://") {
        &url[8..]
    } else if lower.starts_with("http://") {
        &url[7..]
    } else {
        return Some("it must start with https:// or http://");
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Some("it must not carry a user name or password");
    }
    let (host, port) = match authority.strip_prefix('[') {
        Some(v6) => match v6.split_once(']') {
            Some((addr, port)) if addr.parse::<std::net::Ipv6Addr>().is_ok() => (addr, port),
            _ => return Some("its IPv6 host is malformed"),
        },
        None => match authority.rsplit_once(':') {
            Some((host, port)) => (host, authority.get(host.len()..).unwrap_or(port)),
            None => (authority, ""),
        },
    };
    if host.is_empty() {
        return Some("it has no host");
    }
    let host_ok = authority.starts_with('[')
        || host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_');
    if !host_ok {
        return Some("its host is not a host name or address");
    }
    if let Some(port) = port.strip_prefix(':') {
        if !port.parse::<u16>().is_ok_and(|p| p > 0) {
            return Some("its port is not a number from 1 to 65535");
        }
    } else if !port.is_empty() {
        return Some("its host is not a host name or address");
    }
    None
}

/// The host of an endpoint URL that [`endpoint_url_problem`] accepted.
pub fn url_host(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    }
}

/// `url` with its user name and password (a proxy's `user:pass@`) shown as `…@`.
pub fn url_without_password(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((s, r)) => (format!("{s}://"), r),
        None => (String::new(), url),
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..end].rsplit_once('@') {
        Some((_, host)) => format!("{scheme}…@{host}{}", &rest[end..]),
        None => url.to_string(),
    }
}

/// Whether `url` is plain `http://` to a host other than this machine: the session and
/// the signed request would cross a network in clear.
pub fn cleartext_remote(url: &str) -> bool {
    if !url.to_ascii_lowercase().starts_with("http://") {
        return false;
    }
    let host = url_host(url).to_ascii_lowercase();
    let loopback = host == "localhost"
        || host.ends_with(".localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    !loopback
}

/// Why `arn` is not an ARN: `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`, at most
/// 2048 visible ASCII characters (no white space, no line break), a partition that starts
/// with `aws` and a service name. Used for every ARN that comes from the network.
pub fn arn_problem(arn: &str) -> Option<&'static str> {
    if arn.is_empty() || arn.len() > 2048 || !arn.bytes().all(|b| b.is_ascii_graphic()) {
        return Some("it is not 1 to 2048 visible ASCII characters");
    }
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let ok = parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && !parts[2].is_empty()
        && !parts[5].is_empty();
    (!ok).then_some("it is not arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE")
}

/// Why `serial` is not an MFA device serial number as IAM defines it (`SerialNumber`:
/// 9 to 256 of `[\w+=/:,.@-]`): a virtual device's ARN or a hardware token's serial.
pub fn mfa_serial_problem(serial: &str) -> Option<&'static str> {
    let ok = (9..=256).contains(&serial.len())
        && serial
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_+=/:,.@-".contains(&b));
    (!ok).then_some("it is not 9 to 256 letters, digits and _+=/:,.@-")
}

/// Why `name` is not an IAM name or id as the network may send one (user names, user
/// ids, account ids): 1 to 128 of `[\w+=,.@:-]`.
pub fn iam_name_problem(name: &str) -> Option<&'static str> {
    let ok = (1..=128).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_+=,.@:-".contains(&b));
    (!ok).then_some("it is not 1 to 128 letters, digits and _+=,.@:-")
}

/// Why `value` cannot be written as the value of an INI line: a control character (a
/// line break would start a new line, a new key or a new `[section]`), or white space at
/// either end (which the AWS CLI would not read back).
pub fn file_value_problem(value: &str) -> Option<&'static str> {
    if value.chars().any(char::is_control) {
        return Some("it contains a line break or another control character");
    }
    if value.trim() != value {
        return Some("it starts or ends with white space");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_as_botocore_validates_them() {
        for good in [
            "us-east-1",
            "aws-global",
            "a",
            "A1",
            "eu-west-1",
            "x".repeat(63).as_str(),
        ] {
            assert!(valid_region(good), "{good}");
        }
        for bad in [
            "",
            "-us",
            "us-",
            "us_east_1",
            "x@127.0.0.1:18784/#",
            "x@evil.example/#",
            "us-east-1\"&calc.exe&rem",
            "us east",
            "us.east",
            "é",
            "x".repeat(64).as_str(),
        ] {
            assert!(!valid_region(bad), "{bad:?}");
        }
    }

    proptest::proptest! {
        /// The hand-written check agrees with botocore's regex, written out as a model.
        #[test]
        fn region_check_matches_the_regex(s in "[a-zA-Z0-9._@/#:-]{0,70}") {
            let model = {
                let c: Vec<char> = s.chars().collect();
                let alnum = |c: &char| c.is_ascii_alphanumeric();
                match c.len() {
                    0 => false,
                    1 => alnum(&c[0]),
                    n => n <= 63 && alnum(&c[0]) && alnum(&c[n - 1])
                        && c[1..n - 1].iter().all(|x| alnum(x) || *x == '-'),
                }
            };
            proptest::prop_assert_eq!(valid_region(&s), model);
        }
    }

    #[test]
    fn endpoint_urls() {
        for good in [
            "https://sts.wasabisys.com",
            "http://127.0.0.1:18784",
            "https://sts.us-east-1.amazonaws.com/",
            "http://[::1]:9000/path",
            "HTTPS://minio.local:9000",
        ] {
            assert_eq!(endpoint_url_problem(good), None, "{good}");
        }
        for bad in [
            "sts.wasabisys.com",
            "ftp://x",
            "https://",
            "https://user@evil.example",
            "https://a b",
            "https://a\nb",
            "https://host:99999",
            "https://host:",
            "https://[nope]",
            "https://ho%st",
        ] {
            assert!(endpoint_url_problem(bad).is_some(), "{bad:?}");
        }
        assert_eq!(url_host("http://[::1]:9000/x"), "::1");
        assert_eq!(url_host("https://sts.example:443"), "sts.example");
        assert!(cleartext_remote("http://sts.example.com"));
        assert!(cleartext_remote("HTTP://10.0.0.1:9000"));
        assert!(!cleartext_remote("http://127.0.0.1:9000"));
        assert!(!cleartext_remote("http://localhost:9000"));
        assert!(!cleartext_remote("http://[::1]:9000"));
        assert!(!cleartext_remote("https://sts.example.com"));
    }

    #[test]
    fn arns_serials_names_and_file_values() {
        assert_eq!(arn_problem("arn:aws:iam::123456789012:user/alice"), None);
        assert_eq!(
            arn_problem("arn:aws-cn:sts::123456789012:assumed-role/R/s"),
            None
        );
        for bad in [
            "",
            "arn:aws:iam::1:user/a\n[evil]",
            "arn:aws:iam::1:user/a b",
            "arn:gcp:iam::1:user/a",
            "arn:aws:iam::1",
            "arn:aws::::x",
        ] {
            assert!(arn_problem(bad).is_some(), "{bad:?}");
        }
        assert_eq!(
            mfa_serial_problem("arn:aws:iam::123456789012:mfa/alice"),
            None
        );
        assert_eq!(mfa_serial_problem("GAHT12345678"), None);
        for bad in [
            "short",
            "arn:aws:iam::123456789012:mfa/a\n[evil]\ncredential_process = sh",
            "arn:aws:iam::123456789012:mfa/a b",
            "arn:aws:iam::123456789012:mfa/\u{1b}]0;x\u{7}",
        ] {
            assert!(mfa_serial_problem(bad).is_some(), "{bad:?}");
        }
        assert_eq!(iam_name_problem("alice@example.com"), None);
        assert!(iam_name_problem("a\nb").is_some());
        assert_eq!(file_value_problem("arn:aws:iam::1:mfa/x"), None);
        for bad in ["a\nb", "a\rb", "x\u{85}", " lead", "trail\t", "\u{1b}[2J"] {
            assert!(file_value_problem(bad).is_some(), "{bad:?}");
        }
    }
}
