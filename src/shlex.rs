//! Python's `shlex.split`, which botocore uses for config section names and for a
//! `credential_process` line on Unix. It imports nothing of awsmfa: the platform floor
//! (`sys`) and the files (`config`) both use it.

/// Python's `shlex.split` (POSIX mode, no comments), which botocore applies to config
/// section names: words split at white space, `'…'` literal, `"…"` with `\"` and `\\`
/// escapes, `\x` outside quotes is `x`. `None` where shlex raises (an open quote, a
/// trailing backslash).
pub fn split(text: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\r' | '\n' => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\\' => {
                word.push(chars.next()?);
                in_word = true;
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '\'' => break,
                        c => word.push(c),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => match chars.next()? {
                            c @ ('"' | '\\') => word.push(c),
                            c => {
                                word.push('\\');
                                word.push(c);
                            }
                        },
                        c => word.push(c),
                    }
                }
            }
            c => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Some(words)
}

#[cfg(test)]
mod tests {
    #[test]
    fn splits_as_python_shlex() {
        assert_eq!(
            super::split("profile \"a\\\"b\""),
            Some(vec!["profile".into(), "a\"b".into()])
        );
        assert_eq!(super::split("profile 'x"), None);
        assert_eq!(
            super::split(" a\\ b  'c d' "),
            Some(vec!["a b".into(), "c d".into()])
        );
    }
}
