#!/usr/bin/env python3
"""Smoke test of a release archive, as a user unpacks and runs it.

    smoke.py ARCHIVE [--runner CMD]

ARCHIVE is what `scripts/dist` made (awsmfa-VERSION-TARGET.tar.gz or .zip). It is unpacked
into a fresh directory and its `awsmfa` is run, through CMD when given (`qemu-aarch64` for
an aarch64 build on an x86_64 machine), in a fresh home against the STS test bed:

  - the archive holds the binary, README, licences, man pages and completions;
  - a Linux binary is static (no program interpreter: it runs on any distribution);
  - `--version` names the archive's version; `status` lists the user's profile;
  - a wrong code exits 3 and changes nothing; `login --token-code` writes the session;
  - `process` answers from the cache (no STS call), and the real AWS CLI gets the
    user's identity through `credential_process = awsmfa process`.

Run with the test bed's Python (scripts/bed-env): it needs moto and the AWS CLI. Each
check prints one line; the first failure ends the run with status 1.
"""

import argparse
import json
import os
import re
import shlex
import shutil
import struct
import subprocess
import sys
import tarfile
import tempfile
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "bed"))
from client import Bed  # noqa: E402


def fail(what):
    print(f"FAIL {what}")
    sys.exit(1)


def ok(what):
    print(f"ok   {what}")


def unpack(archive, into):
    """Unpacks the archive and returns its one top directory."""
    if archive.endswith(".zip"):
        with zipfile.ZipFile(archive) as z:
            z.extractall(into)
    else:
        with tarfile.open(archive) as t:
            t.extractall(into, filter="data")
    tops = os.listdir(into)
    if len(tops) != 1:
        fail(f"one top directory expected in the archive, found {tops}")
    return os.path.join(into, tops[0])


def elf_interpreter(path):
    """The program interpreter an ELF file asks for (None when static), or 'not ELF'."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"\x7fELF":
        return "not ELF"
    little = data[5] == 1
    end = "<" if little else ">"
    if data[4] == 2:  # 64-bit
        phoff, = struct.unpack_from(end + "Q", data, 0x20)
        phentsize, phnum = struct.unpack_from(end + "HH", data, 0x36)
    else:
        phoff, = struct.unpack_from(end + "I", data, 0x1C)
        phentsize, phnum = struct.unpack_from(end + "HH", data, 0x2A)
    for i in range(phnum):
        off = phoff + i * phentsize
        p_type, = struct.unpack_from(end + "I", data, off)
        if p_type == 3:  # PT_INTERP
            if data[4] == 2:
                p_offset, = struct.unpack_from(end + "Q", data, off + 8)
                p_filesz, = struct.unpack_from(end + "Q", data, off + 32)
            else:
                p_offset, = struct.unpack_from(end + "I", data, off + 4)
                p_filesz, = struct.unpack_from(end + "I", data, off + 16)
            return data[p_offset:p_offset + p_filesz].rstrip(b"\0").decode()
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("archive")
    ap.add_argument("--runner", default="", help="command that runs the binary (qemu-aarch64)")
    args = ap.parse_args()
    archive = os.path.abspath(args.archive)
    m = re.match(r"awsmfa-([0-9][^-]*)-(.+)\.(tar\.gz|zip)$", os.path.basename(archive))
    if not m:
        fail(f"{archive}: not an archive scripts/dist makes (awsmfa-VERSION-TARGET.tar.gz/.zip)")
    version, target = m.group(1), m.group(2)
    if not os.path.isfile(archive):
        fail(f"{archive}: no such archive (scripts/dist makes it)")
    runner = shlex.split(args.runner)

    work = tempfile.mkdtemp(prefix="awsmfa-dist-smoke-")
    bed = None
    try:
        top = unpack(archive, os.path.join(work, "unpacked"))
        exe = os.path.join(top, "awsmfa.exe" if "windows" in target else "awsmfa")
        wanted = [exe, "README.md", "LICENSE-MIT", "LICENSE-APACHE", "doc/man/awsmfa.1",
                  "doc/man/awsmfa-login.1", "doc/complete/awsmfa.bash", "doc/complete/_awsmfa",
                  "doc/complete/awsmfa.fish", "doc/complete/_awsmfa.ps1"]
        missing = [w for w in wanted if not os.path.isfile(os.path.join(top, w))]
        if missing:
            fail(f"the archive lacks {missing}")
        if "windows" not in target and not os.access(exe, os.X_OK):
            fail("the binary in the archive is not executable")
        ok(f"{os.path.basename(archive)} holds the binary, README, licences, man pages, completions")
        if "linux" in target:
            interp = elf_interpreter(exe)
            if interp is not None:
                fail(f"the Linux binary is not static: it needs {interp}")
            ok("the Linux binary is static (no program interpreter)")

        home = os.path.join(work, "home")
        os.makedirs(home)
        # A fresh user: none of this machine's AWS or awsmfa settings.
        env = {k: v for k, v in os.environ.items()
               if not re.match(r"^(AWS_|AWSMFA_|XDG_)", k)}
        env.update(HOME=home, USERPROFILE=home, LOCALAPPDATA=os.path.join(home, "AppData", "Local"))

        def run(*argv, check=None, stdin=subprocess.DEVNULL):
            p = subprocess.run([*runner, exe, *argv], env=env, stdin=stdin,
                               capture_output=True, timeout=120)
            out, err = p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")
            if check is not None and p.returncode != check:
                fail(f"awsmfa {' '.join(argv)}: exit {p.returncode}, wanted {check}\n"
                     f"stdout: {out}\nstderr: {err}")
            return out, err

        out, _ = run("--version", check=0)
        if out.strip() != f"awsmfa {version}":
            fail(f"--version printed {out!r}, wanted 'awsmfa {version}'")
        ok(f"--version prints 'awsmfa {version}'")

        bed = Bed()
        alice = bed.users("distalice")["distalice"]
        aws = os.path.join(home, ".aws")
        os.makedirs(aws)
        creds_path, config_path = os.path.join(aws, "credentials"), os.path.join(aws, "config")
        creds = ("# aws-mfa's layout\n[distalice-long-term]\n"
                 f"aws_access_key_id = {alice['access_key_id']}\n"
                 f"aws_secret_access_key = {alice['secret_access_key']}\n"
                 f"aws_mfa_device = {alice['mfa_serial']}\n").encode()
        # Quoted as botocore splits the line: POSIX words, or Windows command-line rules.
        join = subprocess.list2cmdline if os.name == "nt" else shlex.join
        process_line = join([*runner, exe, "-p", "distalice", "process"])
        config = (f"[profile distalice]\nregion = us-east-1\nendpoint_url = {bed.url}\n\n"
                  f"[profile viaprocess]\ncredential_process = {process_line}\n"
                  f"region = us-east-1\nendpoint_url = {bed.url}\n").encode()
        for path, text in ((creds_path, creds), (config_path, config)):
            with open(path, "wb") as f:
                f.write(text)

        out, _ = run("status", check=0)
        if "distalice" not in out:
            fail(f"status does not list the profile: {out!r}")
        ok("status lists the user's profile")

        run("-p", "distalice", "login", "--token-code", "000000", check=3)
        if open(creds_path, "rb").read() != creds:
            fail("a rejected code changed the credentials file")
        ok("a wrong code exits 3 and changes nothing")

        run("-p", "distalice", "login", "--token-code", bed.code(alice["mfa_serial"]), check=0)
        after = open(creds_path, "rb").read()
        if not after.startswith(creds) or b"[distalice]" not in after[len(creds):]:
            fail(f"login did not add the session profile after the untouched file: {after!r}")
        ok("login --token-code writes the session profile, every other byte kept")

        before = bed.calls()
        out, _ = run("-p", "distalice", "process", check=0)
        try:
            doc = json.loads(out)
        except ValueError:
            fail(f"process printed no JSON: {out!r}")
        if doc.get("Version") != 1 or not doc.get("AccessKeyId", "").startswith("ASIA") \
                or doc["AccessKeyId"].encode() not in after:
            fail(f"process did not print the cached session: {out!r}")
        if bed.calls() != before:
            fail("process called STS although a fresh session was cached")
        ok("process prints the cached session with no STS call")

        p = subprocess.run([sys.executable, "-m", "awscli", "sts", "get-caller-identity",
                            "--profile", "viaprocess", "--output", "json"],
                           env=env, capture_output=True, timeout=120)
        if p.returncode != 0:
            fail(f"the AWS CLI through credential_process: exit {p.returncode}: "
                 f"{p.stderr.decode(errors='replace')}")
        arn = json.loads(p.stdout)["Arn"]
        if not arn.endswith("user/distalice"):
            fail(f"the AWS CLI got the identity {arn}")
        ok("the AWS CLI gets the user's identity through credential_process")
    finally:
        if bed is not None:
            bed.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(f"dist smoke test: all checks passed ({os.path.basename(archive)})")


if __name__ == "__main__":
    main()
