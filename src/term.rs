//! The one sanitizer for text that reaches a terminal (DESIGN §7).
//!
//! Profile names, `mfa_serial` values, STS/IAM error codes and messages, paths: anything
//! that came from outside may hold escape sequences that set the window title, clear the
//! screen, or write the clipboard (OSC 52). [`clean`] shows every control character as
//! visible text (`\x1b`, `\u{202e}`) instead; the places that print to stderr or the
//! terminal (`main`'s error line, the command context's messages, the prompts, the
//! `status` table) pass their text through it.

use std::borrow::Cow;

/// Whether `c` must not reach a terminal as it is: C0 controls other than line feed and
/// tab, DEL, C1 controls, and the bidirectional overrides and isolates that reorder what
/// is shown (U+202A–U+202E, U+2066–U+2069).
fn unsafe_char(c: char) -> bool {
    match c {
        '\n' | '\t' => false,
        '\0'..='\x1f' | '\x7f'..='\u{9f}' => true,
        '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => true,
        _ => false,
    }
}

/// `text` with every unsafe character written as an escape (`\x1b`, `\u{202e}`); the
/// text itself when it has none (the usual case, with no allocation).
pub fn clean(text: &str) -> Cow<'_, str> {
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if !unsafe_char(c) {
            out.push(c);
        } else if (c as u32) < 0x100 {
            out.push_str(&format!("\\x{:02x}", c as u32));
        } else {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_control_characters_and_keeps_the_rest() {
        assert!(matches!(clean("us-east-1 ✓ é"), Cow::Borrowed(_)));
        assert_eq!(
            clean("Evil\x1b]0;PWNED\x07\x1b[2J"),
            "Evil\\x1b]0;PWNED\\x07\\x1b[2J"
        );
        assert_eq!(clean("a\u{9b}31m\u{202e}b\r"), "a\\x9b31m\\u{202e}b\\x0d");
        assert_eq!(clean("two\nlines\tok"), "two\nlines\tok");
    }

    proptest::proptest! {
        #[test]
        fn nothing_unsafe_survives(s in ".*") {
            let out = clean(&s);
            proptest::prop_assert!(!out.chars().any(unsafe_char));
        }
    }
}
