#!/usr/bin/env python3
"""Writes link/hot-path.ld, the list of functions the hot path runs (issue 24), for
build.rs to place together at the start of the binary's code.

The hot path (`process`, `env`, `exec` of a cached session) touches a few hundred of the
binary's ~6,000 functions, spread over 4.5 MiB of code: the kernel maps the binary's
pages 64 KiB around each fault, so a scattered hot path costs a fault and 64 KiB of
resident memory per window it touches. Placed together they fit in a few windows.

How: an unstripped release build (AWSMFA_BINARY) runs each hot command under
callgrind against a cached session from the local STS bed; every function of the
binary that ran is kept, its name made independent of the build (the hash of a legacy
symbol and the crate disambiguator of a v0 symbol become wildcards), and written as
an input-section pattern of a GNU ld script that build.rs passes to the linker
(`INSERT BEFORE .text`). A name that no longer matches (another compiler, changed
code) only leaves that function where the linker puts it: the order is a speed
matter, never a correctness one. Run by scripts/hot-order; needs valgrind.
"""

import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from login import VENV, ROOT, Bed  # noqa: E402
from process import setup_home  # noqa: E402

BINARY = os.environ["AWSMFA_BINARY"]
OUT = os.path.join(ROOT, "link", "hot-path.ld")
COMMANDS = [["-p", "r", "process"], ["-p", "base", "process"], ["-p", "r", "env"],
            ["-p", "r", "env", "--format", "json"], ["-p", "r", "exec", "--", "/bin/true"],
            ["process", "--profile", "r"]]


def ran_functions(argv, env):
    """The mangled names of the binary's functions that ran (callgrind, no demangling).

    `exec` replaces awsmfa with the command (execve): callgrind then writes nothing at
    exit, so it dumps what ran so far just before execve (a file "OUT.N" per dump)."""
    with tempfile.TemporaryDirectory(prefix="awsmfa-hot-order-") as tmp:
        out = os.path.join(tmp, "callgrind.out")
        subprocess.run(["valgrind", "--tool=callgrind", "--demangle=no", "--dump-instr=no",
                        "--dump-before=execve", f"--callgrind-out-file={out}", BINARY, *argv],
                       env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        dumps = [os.path.join(tmp, f) for f in os.listdir(tmp)]
        names = set()
        for dump in dumps:
            names |= functions_in(dump)
        if not names:
            raise SystemExit(f"callgrind recorded no function of the binary for {argv}")
        return names


def functions_in(dump):
    """The binary's functions named in one callgrind output file."""
    # Compressed names: "(N) name" the first time, "(N)" after; "ob=" is the object of
    # the "fn=" lines that follow, "cob="/"cfn=" name a callee's.
    ids = {"ob": {}, "fn": {}}
    names, current = set(), None
    with open(dump) as f:
        for line in f:
            m = re.match(r"(c?)(ob|fn)=(\(\d+\))\s*(.*)", line.rstrip("\n"))
            if not m:
                continue
            callee, kind, ident, name = m.groups()
            if name:
                ids[kind][ident] = name
            if callee:
                continue
            if kind == "ob":
                current = ids["ob"].get(ident)
            elif current == BINARY and ident in ids["fn"]:
                names.add(ids["fn"][ident])
    return names


def pattern(name):
    """The symbol's name with what changes from build to build made a wildcard."""
    if name.startswith("_ZN"):
        return re.sub(r"17h[0-9a-f]{16}E$", "*", name)
    if name.startswith("_R"):
        return re.sub(r"Cs[0-9A-Za-z]+_", "Cs*_", name)
    return None


def main():
    bed = Bed()
    try:
        seeded = bed.post("/_bed/seed", {"users": [{"name": "order", "policy": "allow-all"}],
                                         "roles": [{"name": "order-role"}]})
        user = dict(seeded["users"]["order"], name="order")
        home, _ = setup_home(bed, user, {"r": seeded["roles"]["order-role"]["arn"]})
        env = {"HOME": home, "PATH": VENV + ":/usr/bin:/bin", "LANG": "C.UTF-8"}
        for profile in ("r", "base"):  # cache the sessions first: the hot path is a hit
            subprocess.run([BINARY, "-p", profile, "process"], env=env, check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        names = set()
        for argv in COMMANDS:
            names |= ran_functions(argv, env)
    finally:
        bed.stop()
    patterns = sorted({p for p in map(pattern, names) if p})
    rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip()
    with open(OUT, "w") as f:
        f.write("/* The functions awsmfa's hot path runs, placed together before the rest of the\n"
                f"   code (see build.rs). Written by scripts/hot-order with {rustc};\n"
                "   do not edit by hand. */\nSECTIONS\n{\n  .text.awsmfa_hot_path :\n  {\n")
        for p in patterns:
            # A cold function (`#[cold]`: a Vec growing, a map rehashing) is compiled
            # into `.text.unlikely.NAME`.
            f.write(f"    *(.text.{p} .text.unlikely.{p})\n")
        f.write("  }\n}\nINSERT BEFORE .text;\n")
    print(f"{len(patterns)} functions -> {os.path.relpath(OUT, ROOT)}")


if __name__ == "__main__":
    main()
