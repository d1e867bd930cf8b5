//! Link choices that `cargo install awsmfa-cli` gets with no flags on the user's side.
//!
//! On Linux with glibc `awsmfa process` runs at the start of every AWS CLI and SDK call
//! through `credential_process`, where the dynamic start is most of its cost above `cat`
//! (bench/hotpath.py). Two choices take from it, neither changing what the code does:
//!
//! - The binary is a position-dependent executable (`-no-pie`), as the Linux release
//!   archives (static musl) already are. A PIE start pays for thousands of relative
//!   relocations, each a write into a page that then has to be copied. The code is
//!   memory-safe Rust; full RELRO (`-z now`, rustc's default) is kept.
//!   `AWSMFA_LINK_PIE=1` at build time keeps the PIE, for distributions whose policy
//!   asks for one.
//! - The unwinder is linked in (`libgcc_eh.a`, as `-static-libgcc` and every static
//!   Rust build do) instead of loading `libgcc_s.so.1`: one shared library fewer to
//!   find, map and bind at every start, leaving libc alone. rustc asks for `-lgcc_s`;
//!   a linker script of that name in a directory searched first answers with the
//!   static archive. Only when the C compiler that links knows where that archive is
//!   (a native build); otherwise the link is rustc's own.
//! - The functions the hot path runs (`link/hot-path.ld`, written by `scripts/hot-order`)
//!   are placed together at the start of the code, in an output section of their own
//!   inserted before `.text`. The kernel maps a binary's pages 64 KiB around each page
//!   fault: scattered over the 4.5 MiB of code, the few hundred functions a cached
//!   `process` runs cost a fault and 64 KiB of resident memory per window they touch;
//!   together they fill a few. Only with GNU ld (the script is in its language) and the
//!   C compiler rustc links with by default; a function the list no longer names stays
//!   where the linker puts it. `AWSMFA_LINK_ORDER=0` at build time leaves the order to
//!   the linker (scripts/hot-order builds so, to see the unordered binary).

use std::path::{Path, PathBuf};

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=AWSMFA_LINK_PIE");
    println!("cargo:rerun-if-env-changed=AWSMFA_LINK_ORDER");
    println!("cargo:rerun-if-changed=link/hot-path.ld");
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    let glibc_linux = var("CARGO_CFG_TARGET_OS") == "linux" && var("CARGO_CFG_TARGET_ENV") == "gnu";
    if !glibc_linux {
        return;
    }
    if var("AWSMFA_LINK_PIE").is_empty() {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
    if var("HOST") != var("TARGET") || custom_linker() {
        return;
    }
    if let Some(archive) = static_unwinder() {
        let dir = PathBuf::from(var("OUT_DIR")).join("static-unwinder");
        let script = format!("INPUT(\"{archive}\")\n");
        if std::fs::create_dir_all(&dir).is_ok()
            && std::fs::write(dir.join("libgcc_s.a"), script).is_ok()
        {
            println!("cargo:rustc-link-search=native={}", dir.display());
        }
    }
    let order = PathBuf::from(var("CARGO_MANIFEST_DIR")).join("link/hot-path.ld");
    let order = order.to_str().filter(|p| !p.contains(','));
    if let Some(order) = order
        && var("AWSMFA_LINK_ORDER") != "0"
        && Path::new(order).is_file()
        && linker_is_gnu_ld()
    {
        println!("cargo:rustc-link-arg-bins=-Wl,-T,{order}");
    }
}

/// Whether the link is not rustc's default `cc` (a linker named for the target, or
/// `-C linker`/`-fuse-ld` in the flags): then nothing here knows what it understands.
fn custom_linker() -> bool {
    let target = std::env::var("TARGET").unwrap_or_default();
    let linker_var = format!(
        "CARGO_TARGET_{}_LINKER",
        target.to_uppercase().replace('-', "_")
    );
    let flags = std::env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    std::env::var_os(linker_var).is_some()
        || std::env::var_os("RUSTC_LINKER").is_some()
        || flags.contains("linker")
        || flags.contains("fuse-ld")
}

/// Whether `cc` links with GNU ld (not gold, lld or mold).
fn linker_is_gnu_ld() -> bool {
    std::process::Command::new("cc")
        .arg("-Wl,--version")
        .output()
        .is_ok_and(|out| {
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .any(|l| l.starts_with("GNU ld "))
        })
}

/// Where the C compiler rustc links with (`cc`) keeps `libgcc_eh.a`, if it has one (and
/// its path can be written in a linker script).
fn static_unwinder() -> Option<String> {
    let out = std::process::Command::new("cc")
        .arg("-print-file-name=libgcc_eh.a")
        .output()
        .ok()?;
    let path = String::from_utf8(out.stdout).ok()?.trim().to_string();
    // Without the archive the compiler prints the bare name back.
    let found = Path::new(&path).is_absolute() && Path::new(&path).is_file();
    (out.status.success() && found && !path.contains('"')).then_some(path)
}
