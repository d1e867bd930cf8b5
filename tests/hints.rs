//! Every hint the code can print names only things that exist (issue 22 §3).
//!
//! The walk reads the source itself: every string literal in a hint position (an
//! argument of `with_hint`, `ctx.hint`, a `hint = Some(…)`, the body of a `fn hint`) is
//! collected, and each `awsmfa COMMAND … --flag` it names is looked up in clap's command
//! tree, each bare `--flag` in the commands of the file that prints it (global options
//! only, in modules every command shares), and each `AWSMFA_…`/`AWS_…` variable among
//! the names the code reads. A hint that named `--token-code` for `exec`, which has
//! no such option, fails here.

use std::path::{Path, PathBuf};

use awsmfa::cli::Cli;
use clap::CommandFactory;

/// A string literal of a source file, with the code before it.
struct Literal {
    file: String,
    line: usize,
    text: String,
    hint: bool,
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The literals of `source` (unit tests cut off), each marked whether it is in a hint
/// position: the code since the statement began names `hint`.
fn literals(file: &str, source: &str) -> Vec<Literal> {
    let source = match source.find("#[cfg(test)]\nmod tests") {
        Some(end) => &source[..end],
        None => source,
    };
    let b = source.as_bytes();
    let mut code = String::new();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if source[i..].starts_with("//") {
            i += source[i..].find('\n').unwrap_or(b.len() - i);
            continue;
        }
        if source[i..].starts_with("/*") {
            i += source[i..].find("*/").map_or(b.len() - i, |e| e + 2);
            continue;
        }
        let raw = c == b'r'
            && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_'))
            && source[i + 1..].trim_start_matches('#').starts_with('"');
        if raw || c == b'"' {
            let start = i;
            let (text, end) = if raw {
                let hashes = source[i + 1..].len() - source[i + 1..].trim_start_matches('#').len();
                let open = i + 1 + hashes + 1;
                let close = format!("\"{}", "#".repeat(hashes));
                let len = source[open..].find(&close).unwrap();
                (
                    source[open..open + len].to_string(),
                    open + len + close.len(),
                )
            } else {
                let mut j = i + 1;
                let mut text = String::new();
                while b[j] != b'"' {
                    if b[j] == b'\\' {
                        // A line continuation drops the line break and the indent.
                        if b[j + 1] == b'\n' {
                            j += 2;
                            while b[j] == b' ' {
                                j += 1;
                            }
                            continue;
                        }
                        text.push('\\');
                        text.push(b[j + 1] as char);
                        j += 2;
                        continue;
                    }
                    let ch = source[j..].chars().next().unwrap();
                    text.push(ch);
                    j += ch.len_utf8();
                }
                (text, j + 1)
            };
            let statement = code.rfind(';').map_or(code.as_str(), |s| &code[s + 1..]);
            // A function's start ends the statement too: one whose body ends without a
            // `;` (`fn hint` returning a match) must not lend its name to the next.
            let item = statement.rmatch_indices("fn ").find(|(at, _)| {
                !statement[..*at].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
            });
            let statement = item.map_or(statement, |(at, _)| &statement[at..]);
            out.push(Literal {
                file: file.to_string(),
                line: source[..start].matches('\n').count() + 1,
                text,
                // `doctor` calls its hints fixes.
                hint: names(statement, "hint") || names(statement, "fix"),
            });
            code.push_str("\"\"");
            i = end;
            continue;
        }
        if c == b'\'' {
            // A char literal ('"', '\'', '\n'); else a lifetime.
            if b.get(i + 1) == Some(&b'\\') {
                i += 2 + source[i + 2..].find('\'').unwrap() + 1;
                continue;
            }
            if let Some(ch) = source[i + 1..].chars().next()
                && source[i + 1 + ch.len_utf8()..].starts_with('\'')
            {
                i += 2 + ch.len_utf8();
                continue;
            }
        }
        let ch = source[i..].chars().next().unwrap();
        code.push(ch);
        i += ch.len_utf8();
    }
    out
}

/// Whether `code` has `word` as a word or a part of a snake_case name (`with_hint`; not
/// `suffix` for `fix`).
fn names(code: &str, word: &str) -> bool {
    code.match_indices(word).any(|(at, _)| {
        let ident = |c: char| c.is_ascii_alphanumeric();
        !code[..at].ends_with(ident) && !code[at + word.len()..].starts_with(ident)
    })
}

fn all_literals() -> Vec<Literal> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    files.sort();
    let mut out = Vec::new();
    for path in files {
        // `src/cli/exec.rs` on every OS, as the rules below name the files.
        let name = path
            .strip_prefix(&root)
            .unwrap()
            .display()
            .to_string()
            .replace('\\', "/");
        out.extend(literals(&name, &std::fs::read_to_string(&path).unwrap()));
    }
    out
}

/// The commands whose hints a file prints: a command's module, else none (a module
/// every command shares may name global options only).
fn commands_of(file: &str) -> Vec<&'static str> {
    let module = file
        .strip_prefix("src/cli/")
        .and_then(|f| f.strip_suffix(".rs"))
        .unwrap_or("");
    match module {
        "keys/shared" => vec!["add", "remove", "import", "rotate"],
        "keys/add" => vec!["add"],
        "keys/remove" => vec!["remove"],
        "keys/import" | "keys/import_aws_vault" => vec!["import"],
        "keys/rotate" => vec!["rotate"],
        "login" | "exec" | "env" | "process" | "console" | "doctor" | "status" | "clear"
        | "policy" | "mfa" | "server" => vec![
            Cli::command()
                .get_subcommands()
                .find(|c| c.get_name() == module)
                .map(|c| c.get_name().to_string().leak() as &'static str)
                .unwrap(),
        ],
        _ => vec![],
    }
}

fn tree() -> clap::Command {
    let mut cmd = Cli::command();
    cmd.build();
    cmd
}

fn takes_flag(cmd: &clap::Command, flag: &str) -> bool {
    cmd.get_arguments().any(|a| match flag.strip_prefix("--") {
        Some(long) => a.get_long() == Some(long),
        None => flag.len() == 2 && a.get_short() == flag.chars().nth(1),
    })
}

/// `--flag` in `word`, without what follows it (`=VALUE`, punctuation).
fn flag_in(word: &str) -> Option<String> {
    let word = word.trim_start_matches(['`', '(', '"', '\'']);
    if !word.starts_with('-') || word == "-" || word == "--" {
        return None;
    }
    let flag: String = word
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    let flag = flag.trim_end_matches('-').to_string();
    let long = flag.starts_with("--") && flag.len() > 2;
    let short = flag.len() == 2 && flag.chars().nth(1).is_some_and(|c| c.is_ascii_alphabetic());
    (long || short).then_some(flag)
}

/// Problems with one hint text; empty when everything it names exists.
fn problems(lit: &Literal, root: &clap::Command, read: &[String]) -> Vec<String> {
    let mut found = Vec::new();
    let text = lit.text.replace("\\n", " ");
    let words: Vec<&str> = text.split(' ').collect();
    let mut in_phrase = vec![false; words.len()];
    // `awsmfa [globals] COMMAND [SUBCOMMAND] … --flag`, up to the end of the phrase.
    for (at, _) in words
        .iter()
        .enumerate()
        .filter(|(_, w)| w.trim_start_matches(['`', '(', '"']) == "awsmfa")
    {
        // Prose ("run awsmfa in a terminal"), not a command line.
        let next = words.get(at + 1).copied().unwrap_or("");
        if !words[at].starts_with('`')
            && flag_in(next).is_none()
            && root
                .find_subcommand(next.trim_end_matches(['`', ',', ')']))
                .is_none()
        {
            continue;
        }
        let mut cmd = root;
        let mut path = vec!["awsmfa".to_string()];
        let mut j = at + 1;
        let mut expect_sub = true;
        while j < words.len() {
            let raw = words[j];
            in_phrase[j] = true;
            let word = raw.trim_end_matches(['`', ',', ';', ')', '.', ':', '?', '"']);
            let ends = raw != word || word == "or";
            if word == "--" || word == "or" || word.is_empty() {
                break;
            }
            if let Some(flag) = flag_in(word) {
                if !takes_flag(cmd, &flag) && !takes_flag(root, &flag) {
                    found.push(format!("`{}` has no {flag}", path.join(" ")));
                }
                let arg = cmd.get_arguments().chain(root.get_arguments()).find(|a| {
                    Some(flag.trim_start_matches('-')) == a.get_long()
                        || (flag.len() == 2 && a.get_short() == flag.chars().nth(1))
                });
                let takes_value = arg.is_some_and(|a| a.get_action().takes_values());
                if takes_value && !word.contains('=') && !ends {
                    j += 1;
                    if j < words.len() {
                        in_phrase[j] = true;
                        if words[j] != words[j].trim_end_matches(['`', ',', ';', ')']) {
                            break;
                        }
                    }
                }
            } else if expect_sub && cmd.has_subcommands() {
                let placeholder = word.contains('{')
                    || word
                        .chars()
                        .all(|c| c.is_ascii_uppercase() || c == '_' || c == '…');
                if !placeholder {
                    match cmd.find_subcommand(word) {
                        Some(sub) => {
                            cmd = sub;
                            path.push(word.to_string());
                        }
                        None => {
                            found.push(format!("`{}` has no command {word:?}", path.join(" ")));
                            break;
                        }
                    }
                } else {
                    expect_sub = false;
                }
            } else {
                expect_sub = false;
            }
            if ends {
                break;
            }
            j += 1;
        }
    }
    // Bare `--flag`s: an option of this file's commands, else a global one.
    let commands = commands_of(&lit.file);
    for (j, word) in words.iter().enumerate() {
        if in_phrase[j] {
            continue;
        }
        let Some(flag) = flag_in(word) else { continue };
        let ok = takes_flag(root, &flag)
            || commands.iter().any(|name| {
                let cmd = root.find_subcommand(name).unwrap();
                takes_flag(cmd, &flag) || cmd.get_subcommands().any(|s| takes_flag(s, &flag))
            });
        if !ok {
            found.push(format!(
                "{flag} is not an option of {}",
                if commands.is_empty() {
                    "every command (name the command: `awsmfa CMD --flag`)".to_string()
                } else {
                    commands.join("/")
                }
            ));
        }
    }
    // Variables: read somewhere in the code, or one of the few that belong to a program
    // awsmfa runs and hands its environment on to.
    const OTHER_TOOLS: [&str; 1] = [
        // aws-vault's file backend passphrase; `import --from aws-vault` runs aws-vault.
        "AWS_VAULT_FILE_PASSPHRASE",
    ];
    for word in text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
        if (word.starts_with("AWSMFA_") || word.starts_with("AWS_"))
            && word.len() > 6
            && !read.iter().any(|r| r == word)
            && !OTHER_TOOLS.contains(&word)
        {
            found.push(format!("{word} is not a variable awsmfa reads or sets"));
        }
    }
    found
}

#[test]
fn every_hint_names_only_flags_commands_and_variables_that_exist() {
    let lits = all_literals();
    let hints: Vec<&Literal> = lits.iter().filter(|l| l.hint).collect();
    // The walk finds the hints it is meant to check (a broken scanner finds none).
    assert!(hints.len() > 60, "only {} hints found", hints.len());
    for expected in ["chmod 700 {}", "choose one: `awsmfa {cmd} -p {word}`"] {
        assert!(
            hints.iter().any(|h| h.text.starts_with(expected)),
            "the walk missed the hint {expected:?}"
        );
    }
    let read: Vec<String> = lits
        .iter()
        .filter(|l| !l.hint)
        .map(|l| l.text.clone())
        .collect();
    let root = tree();
    let mut bad = Vec::new();
    for h in &hints {
        for p in problems(h, &root, &read) {
            bad.push(format!("{}:{}: {p}\n    in {:?}", h.file, h.line, h.text));
        }
    }
    assert!(
        bad.is_empty(),
        "hints that name what does not exist:\n{}",
        bad.join("\n")
    );
}

/// The checker itself catches the mistakes it is for.
#[test]
fn the_walk_catches_a_flag_a_command_and_a_variable_that_do_not_exist() {
    let root = tree();
    let read = vec!["AWSMFA_VAULT_PASSPHRASE".to_string()];
    let check = |file: &str, text: &str| {
        problems(
            &Literal {
                file: file.into(),
                line: 1,
                text: text.into(),
                hint: true,
            },
            &root,
            &read,
        )
    };
    assert_eq!(check("src/cli/exec.rs", "pass --token-code CODE").len(), 1);
    assert!(check("src/cli/login.rs", "pass --token-code CODE").is_empty());
    assert_eq!(check("src/mfa/mod.rs", "pass --token-code CODE").len(), 1);
    assert!(check("src/mfa/mod.rs", "run `awsmfa login --token-code 123456`").is_empty());
    assert_eq!(
        check("src/x.rs", "run `awsmfa exec --token-code 1 -- true`").len(),
        1
    );
    assert_eq!(check("src/x.rs", "run `awsmfa mfa make`").len(), 1);
    assert!(check("src/x.rs", "run `awsmfa mfa create` first").is_empty());
    assert!(check("src/x.rs", "run `awsmfa -p work login --force`").is_empty());
    assert_eq!(check("src/x.rs", "set AWSMFA_NO_SUCH_THING").len(), 1);
    assert!(check("src/x.rs", "set AWSMFA_VAULT_PASSPHRASE").is_empty());
}

/// A hint's literal text as printed with short dynamic parts: each `{…}` placeholder of a
/// format string stands for a short value (a profile name like `work`, a short path).
fn printed_length(text: &str) -> usize {
    const SHORT: usize = 8;
    let mut len = 0;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' | '}' if chars.peek() == Some(&c) => {
                chars.next();
                len += 1;
            }
            '{' => {
                for d in chars.by_ref() {
                    if d == '}' {
                        break;
                    }
                }
                len += SHORT;
            }
            _ => len += 1,
        }
    }
    len
}

/// One `hint:` line each (the house rule), and that line fits 80 columns when what it
/// fills in (profile names, paths) is short: the fixed text of every hint is short enough.
#[test]
fn every_hint_fits_80_columns_with_short_names() {
    let lits = all_literals();
    let mut long = Vec::new();
    for h in lits.iter().filter(|l| l.hint) {
        // Escapes as printed: `\"` is one character, `\n` would be a second line.
        let text = h.text.replace("\\\"", "\"").replace("\\\\", "\\");
        // `doctor` prints its fixes under the check, as `    fix: …` (that template itself
        // is no hint).
        // `policy lint` findings are a report (`  fix:` under each finding, JSON with
        // --format json), not hint lines.
        if h.file == "src/policy/lint.rs" {
            continue;
        }
        let prefix = if h.file == "src/cli/doctor.rs" {
            if text.starts_with("    fix: ") {
                continue;
            }
            "    fix: "
        } else {
            "hint: "
        };
        assert!(
            !text.contains("\\n"),
            "{}:{}: a hint is one line: {text:?}",
            h.file,
            h.line
        );
        let len = prefix.len() + printed_length(&text);
        if len > 80 {
            long.push(format!("{}:{}: {len} columns: {text}", h.file, h.line));
        }
    }
    assert!(
        long.is_empty(),
        "hints longer than 80 columns:\n{}",
        long.join("\n")
    );
    assert_eq!(printed_length("run `awsmfa -p {} login`"), 30);
    assert_eq!(printed_length("{{x}} {name:?}"), 3 + 1 + 8);
}
