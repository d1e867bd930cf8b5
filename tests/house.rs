//! The shape of the code (README, "Architecture"): each top-level module of `src/`
//! imports only modules on floors below it, so no two import each other, directly or
//! around a circle; and no function is longer than a screenful and a half.
//!
//! Read from the source as written: every `crate::NAME` path (in `use` lines, in code,
//! in doc links) names the module it reaches; comments and string literals are skipped.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The longest function the house keeps, in lines from `fn` to its closing brace.
const LONGEST_FUNCTION: usize = 150;

fn sources() -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("src")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// `src/config/ini.rs` → `config`; `src/lib.rs` and `src/main.rs` → None (the roots).
fn top_module(path: &Path) -> Option<String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let rel = path.strip_prefix(&src).unwrap();
    let first = rel.components().next()?.as_os_str().to_str()?.to_string();
    let name = first.strip_suffix(".rs").unwrap_or(&first).to_string();
    (name != "lib" && name != "main").then_some(name)
}

/// The text with comments and the contents of string and char literals blanked
/// (line breaks kept, so line numbers hold). Doc comments are kept when `keep_docs`.
fn code_only(text: &str, keep_docs: bool) -> String {
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    let blank = |out: &mut Vec<u8>, c: u8| out.push(if c == b'\n' { b'\n' } else { b' ' });
    while i < b.len() {
        let rest = &b[i..];
        if rest.starts_with(b"//") {
            let doc = rest.starts_with(b"///") || rest.starts_with(b"//!");
            while i < b.len() && b[i] != b'\n' {
                if keep_docs && doc {
                    out.push(b[i]);
                } else {
                    blank(&mut out, b[i]);
                }
                i += 1;
            }
        } else if rest.starts_with(b"/*") {
            let mut depth = 0;
            while i < b.len() {
                if b[i..].starts_with(b"/*") {
                    depth += 1;
                    out.extend_from_slice(b"  ");
                    i += 2;
                } else if b[i..].starts_with(b"*/") {
                    depth -= 1;
                    out.extend_from_slice(b"  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    blank(&mut out, b[i]);
                    i += 1;
                }
            }
        } else if let Some(hashes) = raw_string_start(rest) {
            // r"…", r#"…"#, br"…": ends at a quote followed by the same number of #.
            let open = rest.iter().position(|&c| c == b'"').unwrap() + 1;
            out.extend(std::iter::repeat_n(b' ', open));
            i += open;
            let close: Vec<u8> = std::iter::once(b'"')
                .chain(std::iter::repeat_n(b'#', hashes))
                .collect();
            while i < b.len() && !b[i..].starts_with(&close) {
                blank(&mut out, b[i]);
                i += 1;
            }
            out.extend(std::iter::repeat_n(b' ', close.len()));
            i += close.len();
        } else if b[i] == b'"' {
            out.push(b' ');
            i += 1;
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' {
                    blank(&mut out, b[i]);
                    i += 1;
                }
                if i < b.len() {
                    blank(&mut out, b[i]);
                    i += 1;
                }
            }
            out.push(b' ');
            i += 1;
        } else if b[i] == b'\'' && char_literal_len(rest).is_some() {
            let n = char_literal_len(rest).unwrap();
            out.extend(std::iter::repeat_n(b' ', n));
            i += n;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `r"`, `r#"`, `br##"` …: the number of `#`, when a raw string starts here.
fn raw_string_start(rest: &[u8]) -> Option<usize> {
    let after_b = rest.strip_prefix(b"b").unwrap_or(rest);
    let after_r = after_b.strip_prefix(b"r")?;
    let hashes = after_r.iter().take_while(|&&c| c == b'#').count();
    (after_r.get(hashes) == Some(&b'"')).then_some(hashes)
}

/// The length of a char literal (`'a'`, `'\n'`, `'\u{1F600}'`, `'é'`) starting here;
/// None for a lifetime (`'a`, `'static`).
fn char_literal_len(rest: &[u8]) -> Option<usize> {
    if rest.get(1) == Some(&b'\\') {
        // The escaped character, then the closing quote: '\n', '\'', '\u{1F600}'.
        let end = rest.get(3..)?.iter().position(|&c| c == b'\'')?;
        return Some(end + 4);
    }
    let text = std::str::from_utf8(&rest[1..rest.len().min(6)])
        .unwrap_or_else(|e| std::str::from_utf8(&rest[1..1 + e.valid_up_to()]).unwrap());
    let c = text.chars().next()?;
    (text[c.len_utf8()..].starts_with('\'')).then_some(c.len_utf8() + 2)
}

/// The modules a file names through `crate::NAME` or `crate::{A, B::…}`.
fn crate_references(code: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let before_ok = rest[..at]
            .chars()
            .next_back()
            .is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == ':' || c == '$'));
        rest = &rest[at + "crate::".len()..];
        if !before_ok {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                let name: String = item
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    names.insert(name);
                }
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                names.insert(name);
            }
        }
    }
    names
}

/// The modules that take part in a circle: Tarjan's strongly connected components of
/// more than one module.
fn circles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct State<'a> {
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        found: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a str) {
        let n = s.index.len();
        s.index.insert(v, n);
        s.low.insert(v, n);
        s.stack.push(v);
        for w in s.graph.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !s.index.contains_key(w) {
                visit(s, w);
                let lw = s.low[w];
                let lv = s.low.get_mut(v).unwrap();
                *lv = (*lv).min(lw);
            } else if s.stack.contains(&w) {
                let iw = s.index[w];
                let lv = s.low.get_mut(v).unwrap();
                *lv = (*lv).min(iw);
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                component.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                s.found.push(component);
            }
        }
    }
    let mut s = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        found: Vec::new(),
    };
    for v in graph.keys() {
        if !s.index.contains_key(v.as_str()) {
            visit(&mut s, v);
        }
    }
    s.found
}

#[test]
fn no_top_level_module_imports_one_that_imports_it_back() {
    // module → (module it names → the files that name it)
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut why: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for path in sources() {
        let Some(from) = top_module(&path) else {
            continue;
        };
        let code = code_only(&std::fs::read_to_string(&path).unwrap(), true);
        for to in crate_references(&code) {
            if to != from {
                graph.entry(from.clone()).or_default().insert(to.clone());
                why.entry((from.clone(), to))
                    .or_default()
                    .insert(path.file_name().unwrap().to_string_lossy().into_owned());
            }
        }
    }
    let found = circles(&graph);
    let mut report = String::new();
    for circle in &found {
        report.push_str(&format!("circle: {}\n", circle.join(", ")));
        for from in circle {
            for to in graph.get(from).into_iter().flatten() {
                if circle.contains(to) {
                    let files = &why[&(from.clone(), to.clone())];
                    report.push_str(&format!("  {from} -> {to} (in {files:?})\n"));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "modules that import each other:\n{report}"
    );
    // The test reads what it claims to: the floors it knows of are there.
    assert!(graph["cli"].contains("config") && graph["config"].contains("sys"));
}

/// Every `fn` item with a body: (file, name, first line, lines).
fn functions() -> Vec<(String, String, usize, usize)> {
    let mut out = Vec::new();
    for path in sources() {
        let code = code_only(&std::fs::read_to_string(&path).unwrap(), false);
        let b = code.as_bytes();
        let line_at = |i: usize| code[..i].matches('\n').count() + 1;
        let mut i = 0;
        while let Some(at) = code[i..].find("fn ") {
            let start = i + at;
            i = start + 3;
            let word_start =
                start == 0 || !(b[start - 1].is_ascii_alphanumeric() || b[start - 1] == b'_');
            if !word_start {
                continue;
            }
            let name: String = code[i..]
                .trim_start()
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if name.is_empty() {
                continue; // `fn(` in a type
            }
            // The body starts at the first `{` outside parentheses and brackets; a `;`
            // first is a declaration without one.
            let (mut j, mut depth) = (i, 0i32);
            let mut open = None;
            while j < b.len() {
                match b[j] {
                    b'(' | b'[' => depth += 1,
                    b')' | b']' => depth -= 1,
                    b'{' if depth == 0 => {
                        open = Some(j);
                        break;
                    }
                    b';' if depth == 0 => break,
                    _ => {}
                }
                j += 1;
            }
            let Some(open) = open else {
                continue;
            };
            let mut braces = 0;
            let mut close = open;
            for (k, &c) in b.iter().enumerate().skip(open) {
                match c {
                    b'{' => braces += 1,
                    b'}' => {
                        braces -= 1;
                        if braces == 0 {
                            close = k;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            let first = line_at(start);
            let file = path
                .strip_prefix(env!("CARGO_MANIFEST_DIR"))
                .unwrap()
                .display()
                .to_string();
            out.push((file, name, first, line_at(close) - first + 1));
        }
    }
    out
}

#[test]
fn no_function_is_longer_than_a_screenful_and_a_half() {
    let all = functions();
    let long: Vec<String> = all
        .iter()
        .filter(|f| f.3 > LONGEST_FUNCTION)
        .map(|(file, name, line, len)| format!("{file}:{line} {name}: {len} lines"))
        .collect();
    assert!(
        long.is_empty(),
        "functions over {LONGEST_FUNCTION} lines:\n{}",
        long.join("\n")
    );
    // The count is real: the parser finds the functions it should.
    assert!(all.len() > 500, "{} functions found", all.len());
    assert!(
        all.iter()
            .any(|f| f.0.ends_with("shlex.rs") && f.1 == "split" && f.3 > 30),
        "shlex::split is found whole"
    );
}

#[test]
fn code_only_reads_through_literals_and_comments() {
    let text = "fn a() { let s = \"}\"; let c = '}'; let q = '\\''; let r = r#\"{\"#; } // }\nfn b<'x>(v: &'x str) {}";
    let code = code_only(text, false);
    assert!(
        !code.contains('"') && code.matches('}').count() == 2,
        "{code}"
    );
    assert_eq!(code.lines().count(), 2);
    assert_eq!(
        crate_references("use crate::{config::Env, sys};\nx::crate::no; crate::term::clean"),
        ["config", "sys", "term"].map(String::from).into()
    );
}
