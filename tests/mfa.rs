//! MFA devices and code sources against the bed (whose fidelity layer checks every
//! code): enrollment with the QR code decoded back from the terminal and the PNG, a
//! failed enrollment leaving nothing behind, the desktop prompt, `mfa code`. The
//! terminal (tmux), signal and desktop-prompt (zenity) tests are Unix's or Linux's; the
//! rest runs on every OS.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;

#[cfg(unix)]
use common::Tmux;
use common::{Bed, TestEnv, User, run, run_with_input};
use serde_json::json;

/// Decodes the terminal rendering (light modules drawn with █ ▀ ▄) into the QR's text.
fn decode_terminal_qr(lines: &[String]) -> String {
    let width = lines[0].chars().count();
    let height = lines.len() * 2;
    let mut light = vec![vec![false; width]; height];
    for (row, line) in lines.iter().enumerate() {
        for (x, c) in line.chars().enumerate() {
            let (top, bottom) = match c {
                '█' => (true, true),
                '▀' => (true, false),
                '▄' => (false, true),
                _ => (false, false),
            };
            light[row * 2][x] = top;
            light[row * 2 + 1][x] = bottom;
        }
    }
    let scale = 4;
    let mut img =
        rqrr::PreparedImage::prepare_from_greyscale(width * scale, height * scale, |x, y| {
            if light[y / scale][x / scale] { 255 } else { 0 }
        });
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code on the screen");
    grids[0].decode().expect("the QR code decodes").1
}

/// Turns the coloured rendering (each cell `▀` with SGR colours: foreground the upper
/// module, background the lower; 30/40 black, 97/107 white) into lines of `█ ▀ ▄`
/// (light modules drawn) for [`decode_terminal_qr`].
fn uncolour(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .map(|line| {
            let (mut fg, mut bg) = (97, 107);
            let mut out = String::new();
            let mut rest = line.as_str();
            while let Some(c) = rest.chars().next() {
                if let Some(after) = rest.strip_prefix("\x1b[") {
                    let end = after.find('m').unwrap();
                    for p in after[..end].split(';') {
                        match p.parse::<u32>().unwrap_or(0) {
                            0 => (fg, bg) = (39, 49),
                            n @ (30..=37 | 39 | 90..=97) => fg = n,
                            n @ (40..=47 | 49 | 100..=107) => bg = n,
                            _ => {}
                        }
                    }
                    rest = &after[end + 1..];
                    continue;
                }
                rest = &rest[c.len_utf8()..];
                if c == '▀' {
                    out.push(match (fg == 97, bg == 107) {
                        (true, true) => '█',
                        (true, false) => '▀',
                        (false, true) => '▄',
                        (false, false) => ' ',
                    });
                }
            }
            out
        })
        .filter(|l| !l.is_empty())
        .collect()
}

/// Decodes our grayscale PNG (stored deflate blocks) into the QR's text.
fn decode_png_qr(bytes: &[u8]) -> String {
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"));
    let width = u32::from_be_bytes(bytes[16..20].try_into().unwrap()) as usize;
    let idat_len = u32::from_be_bytes(bytes[33..37].try_into().unwrap()) as usize;
    assert_eq!(&bytes[37..41], b"IDAT");
    let zlib = &bytes[41..41 + idat_len];
    let mut raw = Vec::new();
    let mut pos = 2;
    loop {
        let last = zlib[pos] & 1;
        let len = u16::from_le_bytes([zlib[pos + 1], zlib[pos + 2]]) as usize;
        raw.extend_from_slice(&zlib[pos + 5..pos + 5 + len]);
        pos += 5 + len;
        if last == 1 {
            break;
        }
    }
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(width, width, |x, y| {
        raw[y * (width + 1) + 1 + x]
    });
    let grids = img.detect_grids();
    grids[0].decode().unwrap().1
}

fn layout(env: &TestEnv, user: &User, bed: &Bed) {
    env.write(
        ".aws/credentials",
        &format!(
            "[u-long-term]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
            user.access_key_id, user.secret_access_key
        ),
    );
    env.write(
        ".aws/config",
        &format!(
            "# mine\n[profile u]\nregion = us-east-1\nendpoint_url = {}\n",
            bed.url
        ),
    );
}

#[test]
fn enrollment_end_to_end_then_login_with_the_new_device() {
    let bed = Bed::shared();
    let user = bed.user_with("enroll", json!("force-mfa"), false);
    let bucket = bed.bucket("enrolled");
    let env = TestEnv::new();
    layout(&env, &user, bed);
    let png = env.path("qr.png");
    let mut cmd = env.awsmfa(&[
        "-p",
        "u",
        "mfa",
        "create",
        &user.name,
        "--codes",
        "-",
        "--qr-png",
        png.to_str().unwrap(),
        // No terminal here: the QR code and the secret come on stderr only when asked.
        "--show-secret",
    ]);
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut qr_lines = Vec::new();
    let mut all = String::new();
    loop {
        let mut line = String::new();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "awsmfa ended early: {all}"
        );
        all.push_str(&line);
        if line.contains("enter two consecutive codes") {
            break;
        }
        let l = line.trim_end_matches('\n');
        if l.contains('▀') {
            qr_lines.push(l.to_string());
        }
    }
    assert!(qr_lines.len() <= 23, "fits 80×24: {} lines", qr_lines.len());
    let uri = decode_terminal_qr(&uncolour(&qr_lines));
    assert!(
        uri.starts_with(&format!(
            "otpauth://totp/AWS:{}@123456789012?secret=",
            user.name
        )),
        "{uri}"
    );
    let png_uri = decode_png_qr(&std::fs::read(&png).unwrap());
    assert!(
        png_uri.starts_with(&format!(
            "otpauth://totp/Amazon%20Web%20Services:{}@123456789012?secret=",
            user.name
        )),
        "{png_uri}"
    );
    let secret = |u: &str| {
        u.split("secret=")
            .nth(1)
            .unwrap()
            .split('&')
            .next()
            .unwrap()
            .to_string()
    };
    assert_eq!(
        secret(&png_uri),
        secret(&uri),
        "the PNG holds the same seed"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&png).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    // Two consecutive codes computed from the decoded seed, as an app would show them.
    let seed = uri
        .split("secret=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    let now = jiff::Timestamp::now().as_second() as u64;
    let c1 = awsmfa::mfa::totp::aws_code(seed, now).unwrap();
    let c2 = awsmfa::mfa::totp::aws_code(seed, now + 30).unwrap();
    writeln!(child.stdin.take().unwrap(), "{c1}\n{c2}").unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{all}{rest}");
    assert!(
        all.contains(&format!("awsmfa: secret: {seed}\n")),
        "the secret is shown on request: {all}"
    );
    let serial = format!("arn:aws:iam::123456789012:mfa/{}", user.name);
    assert_eq!(
        env.read(".aws/config"),
        format!(
            "# mine\n[profile u]\nregion = us-east-1\nendpoint_url = {}\nmfa_serial = {serial}\n",
            bed.url
        ),
        "the profile names the new device, byte-preserving"
    );
    let list = run(env.awsmfa(&["-p", "u", "mfa", "list"]));
    assert!(
        list.stdout.starts_with(&format!("{serial}  enabled ")),
        "{list:?}"
    );

    // Login with the new device (the previous step: the two enrolment steps are spent).
    let r = run(env.awsmfa(&["-p", "u", "login", "--token-code", &bed.code(&serial, -1)]));
    assert_eq!(r.status, 0, "{r:?}");
    let ls = run(env.aws(&["--profile", "u", "s3", "ls"]));
    assert_eq!(ls.status, 0, "{ls:?}");
    assert!(ls.stdout.contains(&bucket));
}

#[test]
fn a_failed_enrollment_leaves_nothing_behind() {
    let bed = Bed::shared();
    let user = bed.user_with("failenroll", json!("allow-all"), false);
    let env = TestEnv::new();
    layout(&env, &user, bed);
    let config = env.read(".aws/config");
    // No terminal here: the QR code goes to a private file for someone to scan.
    let png = env.path("qr.png");
    let png = png.to_str().unwrap();
    let create = [
        "-p", "u", "mfa", "create", "dev", "--codes", "-", "--qr-png", png,
    ];
    let mut cmd = env.awsmfa(&create);
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    writeln!(child.stdin.take().unwrap(), "000000\n000000").unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("deleted the unfinished device"), "{stderr}");
    assert_eq!(env.read(".aws/config"), config);
    let list = run(env.awsmfa(&["-p", "u", "mfa", "list"]));
    assert!(list.stdout.is_empty(), "{list:?}");
    // The name is free again: a create with malformed codes is refused before any call.
    let mut cmd = env.awsmfa(&create);
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    writeln!(child.stdin.take().unwrap(), "12\n34").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("deleted the unfinished device"));
}

// zenity on DISPLAY is Linux's desktop prompt (macOS asks osascript, Windows the console).
#[cfg(target_os = "linux")]
#[test]
fn the_desktop_prompt_is_used_with_a_display_and_no_terminal() {
    let bed = Bed::shared();
    let user = bed.user("desktop");
    let mut env = TestEnv::new();
    env.long_term_layout("w", &user, bed);
    let bin = env.path("bin");
    std::fs::create_dir(&bin).unwrap();
    let args_file = env.path("zenity-args");
    let code = bed.code(&user.mfa_serial, 0);
    std::fs::write(
        bin.join("zenity"),
        format!(
            "#!/bin/sh\nfor a in \"$@\"; do echo \"$a\" >> '{}'; done\necho {code}\n",
            args_file.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(bin.join("zenity"), std::fs::Permissions::from_mode(0o755)).unwrap();
    env.set(
        "PATH",
        &format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
    );
    env.set("DISPLAY", ":99");
    let r = run(env.awsmfa(&["-p", "w", "login"]));
    assert_eq!(r.status, 0, "{r:?}");
    let args = std::fs::read_to_string(&args_file).unwrap();
    assert!(
        args.starts_with("--entry\n--title=awsmfa\n--text\n"),
        "{args}"
    );
    assert!(
        args.contains(&format!("MFA code for {}", user.mfa_serial)),
        "{args}"
    );

    // Without a display: exit 4 at once, the dialog program untouched.
    let mut env2 = TestEnv::new();
    env2.long_term_layout("w", &user, bed);
    env2.set(
        "PATH",
        &format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
    );
    std::fs::remove_file(&args_file).unwrap();
    let start = std::time::Instant::now();
    let r = run(env2.awsmfa(&["-p", "w", "login", "--force"]));
    assert_eq!(r.status, 4, "{r:?}");
    assert!(start.elapsed() < std::time::Duration::from_secs(2));
    assert!(!args_file.exists());
}

#[test]
fn mfa_code_prints_the_configured_source() {
    let env = TestEnv::new();
    env.write(
        ".aws/config",
        "[profile y]\nmfa_process = echo Amazon Web Services:alice  482913\n[profile n]\n",
    );
    env.write(
        ".aws/credentials",
        "[y]\naws_access_key_id = AKIAEXAMPLEEXAMPLE00\naws_secret_access_key = s\n[n]\naws_access_key_id = AKIAEXAMPLEEXAMPLE01\naws_secret_access_key = s\n",
    );
    let r = run(env.awsmfa(&["-p", "y", "mfa", "code"]));
    assert_eq!((r.status, r.stdout.as_str()), (0, "482913\n"), "{r:?}");
    let r = run(env.awsmfa(&["-p", "n", "mfa", "code"]));
    assert_eq!(r.status, 4, "{r:?}");
}

fn vault_vars(env: &mut TestEnv) {
    env.set("AWSMFA_VAULT_BACKEND", "file");
    env.set("AWSMFA_VAULT_PASSPHRASE", "seed vault passphrase");
    env.set("AWSMFA_VAULT_WORK_FACTOR", "10");
}

#[test]
fn create_with_store_seed_enables_from_the_stored_seed() {
    let bed = Bed::shared();
    let user = bed.user_with("storeseed", json!("force-mfa"), false);
    let mut env = TestEnv::new();
    vault_vars(&mut env);
    layout(&env, &user, bed);
    let name = Bed::unique("laptop");
    let r = run(env.awsmfa(&["-p", "u", "mfa", "create", &name, "--store-seed"]));
    assert_eq!(r.status, 0, "{r:?}");
    assert!(
        r.stderr.contains("this machine makes the MFA codes itself"),
        "{r:?}"
    );
    let serial = format!("arn:aws:iam::123456789012:mfa/{name}");
    assert!(
        env.read(".aws/config")
            .contains(&format!("mfa_serial = {serial}"))
    );
    // The seed is in the vault, encrypted, under the device's name.
    let stored = env.vault_dir().join("totp").join(format!(
        "arn%3Aaws%3Aiam%3A%3A123456789012%3Amfa%2F{name}.age"
    ));
    assert!(
        std::fs::read(&stored)
            .unwrap()
            .starts_with(b"age-encryption.org/v1")
    );
    // mfa code computes the device's current code from it.
    let r = run(env.awsmfa(&["-p", "u", "mfa", "code"]));
    assert_eq!(r.status, 0, "{r:?}");
    let now = [bed.code(&serial, 0), bed.code(&serial, -1)];
    assert!(
        now.contains(&r.stdout.trim().to_string()),
        "{r:?} vs {now:?}"
    );
}

#[test]
fn a_stored_seed_is_a_code_source_and_deactivate_takes_a_code() {
    let bed = Bed::shared();
    let user = bed.user("seedsrc");
    let bucket = bed.bucket("seedsrc");
    let mut env = TestEnv::new();
    vault_vars(&mut env);
    layout(&env, &user, bed);
    std::fs::OpenOptions::new()
        .append(true)
        .open(env.config())
        .and_then(|mut f| writeln!(f, "mfa_serial = {}", user.mfa_serial))
        .unwrap();
    // The seed as an authenticator app exports it, on stdin.
    let uri = format!(
        "otpauth://totp/AWS:{}?secret={}&issuer=AWS\n",
        user.name, user.mfa_seed
    );
    let r = run_with_input(env.awsmfa(&["-p", "u", "mfa", "seed", "add"]), &uri);
    assert_eq!(r.status, 0, "{r:?}");
    assert!(r.stderr.contains("warning:"), "{r:?}");
    // No flag, no mfa_process, no terminal: the stored seed makes the code.
    let step = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            / 30
    };
    let mut used = vec![step()];
    let r = run(env.awsmfa(&["-p", "u", "login", "-v"]));
    used.push(step());
    assert_eq!(r.status, 0, "{r:?}");
    assert!(r.stderr.contains("from its stored TOTP seed"), "{r:?}");
    let ls = run(env.aws(&["--profile", "u", "s3", "ls"]));
    assert_eq!(ls.status, 0, "{ls:?}");
    assert!(ls.stdout.contains(&bucket));
    assert!(!env.read(".aws/credentials").contains(&user.mfa_seed));

    // A garbage seed is refused and stores nothing new.
    let r = run_with_input(
        env.awsmfa(&["-p", "u", "mfa", "seed", "add"]),
        "not a seed!\n",
    );
    assert_eq!(r.status, 2, "{r:?}");

    // Resync with two codes, then deactivate with an explicit code (no cached session),
    // then delete: the device is gone from the user's list.
    let resync_at = step();
    used.extend([resync_at + 1, resync_at + 2]);
    let codes = format!(
        "{}\n{}\n",
        bed.code(&user.mfa_serial, 1),
        bed.code(&user.mfa_serial, 2)
    );
    let r = run_with_input(
        env.awsmfa(&["-p", "u", "mfa", "resync", "--codes", "-"]),
        &codes,
    );
    assert_eq!(r.status, 0, "{r:?}");
    assert_eq!(run(env.awsmfa(&["clear"])).status, 0);
    let r = run(env.awsmfa(&["-p", "u", "mfa", "seed", "remove"]));
    assert_eq!(r.status, 0, "{r:?}");
    let bad = run(env.awsmfa(&["-p", "u", "mfa", "deactivate", "--token-code", "12x"]));
    assert_eq!(bad.status, 2, "{bad:?}");
    // A code within AWS's window (±1 step) that neither the login nor the resync used:
    // awsmfa refuses a code sent before (AWS would), so the test must not pick one.
    let code = loop {
        let now = step();
        if let Some(offset) = [-1i64, 0, 1]
            .into_iter()
            .find(|o| !used.contains(&now.saturating_add_signed(*o)))
        {
            break bed.code(&user.mfa_serial, offset);
        }
        std::thread::sleep(std::time::Duration::from_secs(5));
    };
    let r = run(env.awsmfa(&["-p", "u", "mfa", "deactivate", "--token-code", &code]));
    assert_eq!(r.status, 0, "{r:?}");
    let list = run(env.awsmfa(&["-p", "u", "mfa", "list"]));
    assert!(!list.stdout.contains(&user.mfa_serial), "{list:?}");
    // As on AWS, the force-MFA policy allows deleting a device only with MFA, which the
    // user no longer has: a clear refusal.
    let r = run(env.awsmfa(&["-p", "u", "mfa", "delete", &user.mfa_serial]));
    assert_eq!(r.status, 3, "{r:?}");
    assert!(r.stderr.contains("iam:DeleteVirtualMFADevice"), "{r:?}");
}

/// Starts `mfa create NAME` reading its codes from stdin (never written); with `wait`,
/// returns once it asks for them. What it says later is collected for [`stderr_of`].
fn spawn_create(env: &TestEnv, name: &str, wait: bool) -> std::process::Child {
    let png = env.path(&format!("{name}-{}.png", RESTS.lock().unwrap().len()));
    let mut cmd = env.awsmfa(&[
        "-p",
        "u",
        "mfa",
        "create",
        name,
        "--codes",
        "-",
        "--qr-png",
        png.to_str().unwrap(),
    ]);
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut all = String::new();
    while wait && !all.contains("enter two consecutive codes") {
        let mut line = String::new();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "{all}");
        all.push_str(&line);
    }
    let rest = std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut rest);
        rest
    });
    RESTS.lock().unwrap().push((child.id(), rest));
    child
}

static RESTS: std::sync::Mutex<Vec<(u32, std::thread::JoinHandle<String>)>> =
    std::sync::Mutex::new(Vec::new());

fn stderr_of(child: &std::process::Child) -> String {
    let mut rests = RESTS.lock().unwrap();
    let i = rests.iter().position(|(id, _)| *id == child.id()).unwrap();
    rests.remove(i).1.join().unwrap()
}

/// Ctrl-C (SIGINT) at the code prompt of `mfa create`: the device is deleted, exit 130.
#[cfg(unix)]
fn interrupted_with_sigint(env: &TestEnv, config: &str) {
    let mut child = spawn_create(env, "phone", true);
    let _stdin = child.stdin.take(); // open: the codes never come
    // SAFETY: signalling our own child.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGINT);
    }
    let status = child.wait().unwrap();
    let stderr = stderr_of(&child);
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("interrupted (signal 2): deleted the unfinished device"),
        "{stderr}"
    );
    assert!(
        run(env.awsmfa(&["-p", "u", "mfa", "list"]))
            .stdout
            .is_empty()
    );
    assert_eq!(env.read(".aws/config"), config);
}

#[test]
fn an_interrupted_enrollment_leaves_nothing_and_iam_errors_have_their_own_words() {
    let bed = Bed::shared();
    let user = bed.user_with("intenroll", json!("allow-all"), false);
    let env = TestEnv::new();
    layout(&env, &user, bed);
    let config = env.read(".aws/config");

    // Ctrl-C (SIGINT) at the code prompt: the device is deleted, exit 128+2. (Windows'
    // Ctrl-C handler is checked under Wine by scripts/cross's smoke test.)
    #[cfg(unix)]
    interrupted_with_sigint(&env, &config);

    // A process killed outright cannot clean up: the retry says what IAM says, in its
    // own words and not as a rejected code (exit 1, not 3), with the way out.
    let mut child = spawn_create(&env, "tablet", true);
    child.kill().unwrap();
    child.wait().unwrap();
    let _ = stderr_of(&child);
    let mut again = spawn_create(&env, "tablet", false);
    let out = again.wait().unwrap();
    let stderr = stderr_of(&again);
    assert_eq!(out.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("IAM says it already exists (EntityAlreadyExists)"),
        "{stderr}"
    );
    assert!(stderr.contains("awsmfa mfa delete"), "{stderr}");
    let r = run(env.awsmfa(&["-p", "u", "mfa", "delete", "tablet"]));
    assert_eq!(r.status, 0, "{r:?}");
    let r = run(env.awsmfa(&["-p", "u", "mfa", "delete", "tablet"]));
    assert_eq!(r.status, 1, "{r:?}");
    assert!(
        r.stderr
            .contains("IAM says there is no such thing (NoSuchEntity)"),
        "{r:?}"
    );
    assert!(!r.stderr.contains("access denied"), "{r:?}");
    assert_eq!(env.read(".aws/config"), config, "no failed create wrote it");
}

#[cfg(unix)]
#[test]
fn the_qr_code_scans_from_an_80_by_24_terminal_and_is_wiped_after() {
    let bed = Bed::shared();
    let user = bed.user_with("tmuxqr", json!("allow-all"), false);
    let env = TestEnv::new();
    layout(&env, &user, bed);
    let done = env.path("done");
    let command = format!(
        "env -i HOME='{home}' PATH='{path}' TERM=xterm-256color LANG=C.UTF-8 '{bin}' -p u mfa create phone; echo $? > '{done}'; sleep 60",
        home = env.home.path().display(),
        path = std::env::var("PATH").unwrap_or_default(),
        bin = common::awsmfa_bin().display(),
        done = done.display()
    );
    let tmux = Tmux::start(&command);
    tmux.wait_for("press Enter");
    // Everything on the visible 80×24 screen, colours included: the code decodes.
    let screen = tmux.screen(true);
    let qr: Vec<String> = screen
        .lines()
        .filter(|l| l.contains('▀'))
        .map(String::from)
        .collect();
    assert!(!qr.is_empty(), "{screen}");
    let uri = decode_terminal_qr(&uncolour(&qr));
    assert!(uri.starts_with("otpauth://totp/AWS:"), "{uri}");
    let seed = uri
        .split("secret=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_string();
    // Scanned: Enter wipes the code and the codes are asked for.
    tmux.keys("");
    let after = tmux.wait_for("First code");
    assert!(!after.contains('▀'), "the QR code was wiped:\n{after}");
    let now = jiff::Timestamp::now().as_second() as u64;
    tmux.keys(&awsmfa::mfa::totp::aws_code(&seed, now).unwrap());
    tmux.wait_for("next one");
    tmux.keys(&awsmfa::mfa::totp::aws_code(&seed, now + 30).unwrap());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !done.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "{}",
            tmux.screen(false)
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(
        std::fs::read_to_string(&done).unwrap().trim(),
        "0",
        "{}",
        tmux.screen(false)
    );
    let list = run(env.awsmfa(&["-p", "u", "mfa", "list"]));
    assert!(list.stdout.contains("/phone  enabled"), "{list:?}");
}

/// The shell line that runs `awsmfa -p u mfa create NAME ARGS` in tmux, its exit status
/// written to `done`.
#[cfg(unix)]
fn create_in_terminal(env: &TestEnv, name: &str, args: &str, done: &std::path::Path) -> String {
    format!(
        "env -i HOME='{home}' PATH='{path}' TERM=xterm-256color LANG=C.UTF-8 '{bin}' -p u mfa create {name} {args}; echo $? > '{done}'; sleep 60",
        home = env.home.path().display(),
        path = std::env::var("PATH").unwrap_or_default(),
        bin = common::awsmfa_bin().display(),
        done = done.display()
    )
}

#[cfg(unix)]
fn wait_done(tmux: &Tmux, done: &std::path::Path) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !done.exists() || std::fs::read_to_string(done).unwrap().trim().is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "{}",
            tmux.screen(false)
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    std::fs::read_to_string(done).unwrap().trim().to_string()
}

/// Issue 22 §5: in an 80×20 terminal the QR code (23 lines with the question under it)
/// would scroll off. `mfa create` says so before any device exists and names the flags
/// that offer it otherwise; with them, the PNG and the secret with its otpauth URI come
/// instead of a code nobody could scan, and enrollment completes.
#[cfg(unix)]
#[test]
fn a_qr_code_too_tall_for_the_terminal_is_said_and_offered_otherwise() {
    let bed = Bed::shared();
    let user = bed.user_with("smallterm", json!("allow-all"), false);
    let env = TestEnv::new();
    layout(&env, &user, bed);
    let config = env.read(".aws/config");

    let done = env.path("done1");
    let tmux = Tmux::start_sized(&create_in_terminal(&env, &user.name, "", &done), 80, 20);
    assert_eq!(wait_done(&tmux, &done), "4", "{}", tmux.screen(false));
    let screen = tmux.screen_joined();
    assert!(
        screen.contains("awsmfa: the QR code needs ") && screen.contains("this terminal is 80×20"),
        "{screen}"
    );
    assert!(screen.contains("nothing was created"), "{screen}");
    assert!(
        screen.contains(
            "hint: enlarge it, or use --qr-png FILE (to scan) or --show-secret (as text)"
        ),
        "{screen}"
    );
    assert!(!screen.contains('▀'), "no QR drawn:\n{screen}");
    assert_eq!(bed.user_calls(&user, "CreateVirtualMFADevice"), 0);
    assert_eq!(env.read(".aws/config"), config, "nothing written");
    drop(tmux);

    // Asked for the PNG and the text: no QR drawn, both given, enrollment completes.
    let png = env.path("qr.png");
    let done = env.path("done2");
    let tmux = Tmux::start_sized(
        &create_in_terminal(
            &env,
            &user.name,
            &format!("--qr-png '{}' --show-secret", png.display()),
            &done,
        ),
        80,
        20,
    );
    tmux.wait_for("First code");
    let screen = tmux.screen_joined();
    assert!(!screen.contains('▀'), "no QR drawn:\n{screen}");
    assert!(
        screen.contains(&format!("so it is not drawn: scan {}", png.display())),
        "{screen}"
    );
    let seed = screen
        .lines()
        .find_map(|l| l.strip_prefix("awsmfa: secret: "))
        .expect("the secret as text")
        .trim()
        .to_string();
    let uri_line = screen
        .lines()
        .find(|l| l.starts_with("awsmfa: otpauth URI: otpauth://totp/"))
        .expect("the otpauth URI as text");
    assert!(uri_line.contains(&format!("secret={seed}")), "{screen}");
    assert!(
        decode_png_qr(&std::fs::read(&png).unwrap()).contains(&format!("secret={seed}&")),
        "the PNG holds the same seed"
    );
    let now = jiff::Timestamp::now().as_second() as u64;
    tmux.keys(&awsmfa::mfa::totp::aws_code(&seed, now).unwrap());
    tmux.wait_for("next one");
    tmux.keys(&awsmfa::mfa::totp::aws_code(&seed, now + 30).unwrap());
    assert_eq!(wait_done(&tmux, &done), "0", "{}", tmux.screen(false));
    let list = run(env.awsmfa(&["-p", "u", "mfa", "list"]));
    assert!(
        list.stdout.contains(&format!("/{}  enabled", user.name)),
        "{list:?}"
    );
}
