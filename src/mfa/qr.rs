//! The `otpauth://` URI of a new virtual MFA device as a QR code: in the terminal and
//! as a PNG file.
//!
//! The terminal code must scan from an 80×24 terminal with a dark or a light theme: it is
//! drawn with explicit black and white (half blocks, two module rows per line), with the
//! standard 4-module quiet zone where it fits, and from the shortest URI apps accept
//! (`otpauth://totp/AWS:user@account?secret=…&issuer=AWS`, low error correction), so a
//! usual device fits in 23 lines. The PNG carries AWS's own long label.

use qrcode::{Color, EcLevel, QrCode};
use zeroize::Zeroizing;

/// The standard's quiet zone, in modules.
const QUIET: usize = 4;
/// Lines the terminal code may take (24 rows less one for the question under it).
pub const MAX_TERMINAL_LINES: usize = 23;

/// The URI authenticator apps expect, in AWS's own form.
pub fn otpauth_uri(user: &str, account: &str, seed_base32: &str) -> Zeroizing<String> {
    let issuer = "Amazon%20Web%20Services";
    Zeroizing::new(format!(
        "otpauth://totp/{issuer}:{}?secret={seed_base32}&issuer={issuer}",
        label(user, account)
    ))
}

/// The short form of the URI for a terminal: issuer `AWS`.
pub fn otpauth_uri_short(user: &str, account: &str, seed_base32: &str) -> Zeroizing<String> {
    Zeroizing::new(format!(
        "otpauth://totp/AWS:{}?secret={seed_base32}&issuer=AWS",
        label(user, account)
    ))
}

/// `user@account`, percent-encoded for the URI's label.
fn label(user: &str, account: &str) -> String {
    format!("{user}@{account}")
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'@' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The QR modules, `true` for dark, with a quiet zone of `quiet` modules.
fn modules_with(data: &str, ec: EcLevel, quiet: usize) -> (Vec<bool>, usize) {
    let code = QrCode::with_error_correction_level(data.as_bytes(), ec)
        .expect("an otpauth URI fits a QR code");
    let width = code.width();
    let colors = code.to_colors();
    let full = width + 2 * quiet;
    let mut out = vec![false; full * full];
    for y in 0..width {
        for x in 0..width {
            out[(y + quiet) * full + x + quiet] = colors[y * width + x] == Color::Dark;
        }
    }
    (out, full)
}

/// The QR modules for a PNG (medium error correction, full quiet zone).
fn modules(data: &str) -> (Vec<bool>, usize) {
    let code = QrCode::with_error_correction_level(data.as_bytes(), EcLevel::M)
        .expect("an otpauth URI fits a QR code");
    let width = code.width();
    let colors = code.to_colors();
    let full = width + 2 * QUIET;
    let mut out = vec![false; full * full];
    for y in 0..width {
        for x in 0..width {
            out[(y + QUIET) * full + x + QUIET] = colors[y * width + x] == Color::Dark;
        }
    }
    (out, full)
}

/// Two rows of modules per line, each cell an upper half block whose foreground is the
/// upper module and background the lower one, in explicit black and white, so the code
/// scans on dark and light themes alike. Low error correction and the full quiet zone,
/// narrowing the quiet zone only if the code would not fit [`MAX_TERMINAL_LINES`].
/// `colour: false` (a terminal without colours) draws the light modules as blocks.
pub fn render_terminal(data: &str, colour: bool) -> Zeroizing<String> {
    let mut quiet = QUIET;
    let (m, w) = loop {
        let (m, w) = modules_with(data, EcLevel::L, quiet);
        if w.div_ceil(2) <= MAX_TERMINAL_LINES || quiet == 1 {
            break (m, w);
        }
        quiet -= 1;
    };
    let dark = |y: usize, x: usize| y < w && m[y * w + x];
    let mut out = Zeroizing::new(String::new());
    for y in (0..w).step_by(2) {
        if colour {
            let mut last = (None, None);
            for x in 0..w {
                let (top, bottom) = (dark(y, x), y + 1 >= w || dark(y + 1, x));
                let bottom = if y + 1 >= w { false } else { bottom };
                if last != (Some(top), Some(bottom)) {
                    // Black 30/40, bright white 97/107.
                    out.push_str(&format!(
                        "\x1b[{};{}m",
                        if top { 30 } else { 97 },
                        if bottom { 40 } else { 107 }
                    ));
                    last = (Some(top), Some(bottom));
                }
                out.push('▀');
            }
            out.push_str("\x1b[0m\n");
        } else {
            for x in 0..w {
                let top = !dark(y, x);
                let bottom = y + 1 >= w || !dark(y + 1, x);
                out.push(match (top, bottom) {
                    (true, true) => '█',
                    (true, false) => '▀',
                    (false, true) => '▄',
                    (false, false) => ' ',
                });
            }
            out.push('\n');
        }
    }
    out
}

/// The (columns, lines) [`render_terminal`] takes for `data`.
pub fn terminal_size(data: &str) -> (usize, usize) {
    let drawn = render_terminal(data, false);
    let width = drawn.lines().next().map_or(0, |l| l.chars().count());
    (width, drawn.lines().count())
}

/// A grayscale PNG, 8 pixels per module (stored deflate blocks: no compressor needed).
pub fn png(data: &str) -> Zeroizing<Vec<u8>> {
    let (m, w) = modules(data);
    let scale = 8;
    let side = w * scale;
    let mut raw = Zeroizing::new(Vec::with_capacity((side + 1) * side));
    for y in 0..side {
        raw.push(0); // filter: none
        for x in 0..side {
            raw.push(if m[(y / scale) * w + x / scale] {
                0
            } else {
                255
            });
        }
    }
    let mut zlib = vec![0x78, 0x01];
    let chunks: Vec<&[u8]> = raw.chunks(65_535).collect();
    for (i, c) in chunks.iter().enumerate() {
        zlib.push(u8::from(i + 1 == chunks.len()));
        zlib.extend_from_slice(&(c.len() as u16).to_le_bytes());
        zlib.extend_from_slice(&(!(c.len() as u16)).to_le_bytes());
        zlib.extend_from_slice(c);
    }
    zlib.extend_from_slice(&adler32(&raw).to_be_bytes());
    let mut out = Zeroizing::new(b"\x89PNG\r\n\x1a\n".to_vec());
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&(side as u32).to_be_bytes());
    ihdr.extend_from_slice(&(side as u32).to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]); // 8-bit grayscale
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &zlib);
    chunk(&mut out, b"IEND", &[]);
    out
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let mut crc_input = kind.to_vec();
    crc_input.extend_from_slice(data);
    out.extend_from_slice(&crc_input);
    out.extend_from_slice(&crc32(&crc_input).to_be_bytes());
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &x in data {
        a = (a + u32::from(x)) % 65_521;
        b = (b + a) % 65_521;
    }
    (b << 16) | a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_form_and_checksums() {
        assert_eq!(
            otpauth_uri("alice", "123456789012", "ABC").as_str(),
            "otpauth://totp/Amazon%20Web%20Services:alice@123456789012?secret=ABC&issuer=Amazon%20Web%20Services"
        );
        assert_eq!(crc32(b"IEND"), 0xAE42_6082);
        assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
        let p = png("hello");
        assert!(p.starts_with(b"\x89PNG\r\n\x1a\n"));
        assert!(p.ends_with(&[0xAE, 0x42, 0x60, 0x82]));
    }

    #[test]
    fn terminal_rendering_is_square_with_quiet_zone() {
        let text = render_terminal("hello", false);
        let lines: Vec<&str> = text.lines().collect();
        let width = lines[0].chars().count();
        assert!(lines.iter().all(|l| l.chars().count() == width));
        assert!(lines[0].chars().all(|c| c == '█'), "quiet zone on top");
        assert!(lines[1].chars().all(|c| c == '█'), "4 modules: two lines");
        assert_eq!(lines.len(), width.div_ceil(2));
    }

    #[test]
    fn an_aws_device_fits_an_80_by_24_terminal() {
        let seed = "A".repeat(64);
        for user in ["alice", "alice.longname-dev"] {
            let uri = otpauth_uri_short(user, "123456789012", &seed);
            let text = render_terminal(&uri, true);
            let lines = text.lines().count();
            assert!(lines <= MAX_TERMINAL_LINES, "{user}: {lines} lines");
            let cells = text.lines().next().unwrap().matches('▀').count();
            assert!(cells <= 80, "{user}: {cells} columns");
        }
        // A usual name keeps the standard's 4-module quiet zone.
        let text = render_terminal(&otpauth_uri_short("alice", "123456789012", &seed), true);
        assert!(
            text.starts_with("\x1b[97;107m"),
            "white margin: {:?}",
            &text[..20]
        );
        let first = text.lines().next().unwrap();
        assert_eq!(
            first.matches("\x1b[").count(),
            2,
            "one colour for the whole top line"
        );
    }
}
