//! Entry points for the fuzz targets in `fuzz/` (`cargo fuzz`): the parsers of outside
//! input that are not public otherwise, each a plain call of the code awsmfa runs. Not
//! an API: hidden from the docs, and it changes whenever the targets need it to.

use std::ops::Range;

use secrecy::SecretString;
use zeroize::Zeroizing;

use crate::config::ini::Document;
use crate::creds::Credentials;
use crate::session::cache::{Cached, Meta};
use crate::sts::{CallerIdentity, MfaDevice, NewDevice};

/// The bytes of the first section called `name` in `doc.to_bytes()`: its header line up
/// to the next header.
pub fn ini_section_span(doc: &Document, name: &str) -> Option<Range<usize>> {
    doc.section_span(name)
}

/// An STS answer with credentials under `result` (`GetSessionTokenResult`,
/// `AssumeRoleResult`, `GetFederationTokenResult`).
pub fn sts_session_credentials(xml: &str, result: &str) -> Option<Credentials> {
    crate::sts::xml::session_credentials(xml, result)
}

/// A `GetCallerIdentity` answer.
pub fn sts_caller_identity(xml: &str) -> Option<CallerIdentity> {
    crate::sts::xml::caller_identity(xml)
}

/// A `CreateVirtualMFADevice` answer.
pub fn iam_new_device(xml: &str) -> Option<NewDevice> {
    crate::sts::xml::new_device(xml)
}

/// A `CreateAccessKey` answer.
pub fn iam_new_access_key(xml: &str) -> Option<Credentials> {
    crate::sts::xml::new_access_key(xml)
}

/// A `ListMFADevices` page: the devices and the marker of the next page.
pub fn iam_mfa_devices(xml: &str) -> Option<(Vec<MfaDevice>, Option<String>)> {
    crate::sts::xml::mfa_devices(xml).map(|p| (p.devices, p.next_marker))
}

/// The `Code` and `Message` of an STS, IAM or S3 error document.
pub fn aws_error_fields(xml: &str) -> Option<(String, String)> {
    crate::sts::xml::error_fields(xml)
}

/// A session cache file's contents, or what is wrong with them.
pub fn cache_entry(bytes: &[u8]) -> Result<Cached, String> {
    crate::session::cache::parse_entry(bytes)
}

/// The bytes of a session cache file, as the cache writes them.
pub fn cache_entry_bytes(meta: &Meta, creds: &Credentials) -> Zeroizing<Vec<u8>> {
    crate::session::cache::entry_bytes(meta, creds)
}

/// A TOTP seed as typed or pasted into `awsmfa mfa seed add` (base32 or an `otpauth://`
/// URI), or the error line it gets.
pub fn typed_seed(text: &str) -> Result<SecretString, String> {
    crate::cli::mfa::parse_seed(text).map_err(|e| e.to_string())
}

/// A seed as the vault stores it: an `otpauth://` URI.
pub fn vault_seed_payload(serial: &str, seed: &str) -> Zeroizing<String> {
    crate::vault::seed_payload(serial, seed)
}

/// A seed read back from the vault.
pub fn vault_seed(bytes: &[u8]) -> Option<SecretString> {
    crate::vault::parse_seed(bytes)
}

/// One word of a `credential_process` line, quoted as `awsmfa keys import` writes it.
pub fn credential_process_word(word: &str) -> String {
    crate::cli::keys::shared::quote_word(word)
}
