//! Link choices that `cargo install awsmfa-cli` gets with no flags on the user's side.
//!
//! On Linux with glibc the `awsmfa` binary is linked as a position-dependent executable
//! (`-no-pie`), as the Linux release archives (static musl) already are. A PIE start pays
//! for thousands of relative relocations, each a write into a page that then has to be
//! copied; `awsmfa process` runs at the start of every AWS CLI and SDK call through
//! `credential_process`, where that is most of its cost above `cat` (bench/hotpath.py).
//! The code is memory-safe Rust; full RELRO (`-z now`, rustc's default) is kept.
//! `AWSMFA_LINK_PIE=1` at build time keeps the PIE, for distributions whose policy asks
//! for one.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=AWSMFA_LINK_PIE");
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    let glibc_linux = var("CARGO_CFG_TARGET_OS") == "linux" && var("CARGO_CFG_TARGET_ENV") == "gnu";
    if glibc_linux && var("AWSMFA_LINK_PIE").is_empty() {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}
