#!/usr/bin/env python3
"""Windows smoke test: the Windows awsmfa.exe under Wine against the STS test bed.

Run by scripts/cross (which builds the binary and the Wine prefix):
    smoke.py AWSMFA_EXE WINEPREFIX

Each check prints one line; the first failure ends the run with status 1. The files are
the Wine user's own: %USERPROFILE%\\.aws\\… and %LOCALAPPDATA%\\awsmfa\\cache, found the
way awsmfa finds them on Windows (nothing points it there).
"""

import glob
import json
import os
import re
import select
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "bed"))
from client import Bed, BedError  # noqa: E402
WINE = os.environ.get("WINE", "/usr/lib/wine/wine64")


def fail(what):
    print(f"FAIL {what}")
    sys.exit(1)


def ok(what):
    print(f"ok   {what}")


def on_console(line, env, prompt, keys, what):
    """Runs the shell `line` in a terminal (`script`: Wine makes a console of it), waits
    for `prompt` in its output, types `keys`, and returns (exit status, all output)."""
    p = subprocess.Popen(["script", "-qfec", line, "/dev/null"], env=env,
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    seen = b""
    deadline = time.time() + 60
    while prompt not in seen:
        if time.time() > deadline or p.poll() is not None:
            p.kill()
            fail(f"{what}: no {prompt!r} on the console: {seen[-300:]!r}")
        if select.select([p.stdout], [], [], 1)[0]:
            seen += os.read(p.stdout.fileno(), 65536)
    time.sleep(0.5)
    p.stdin.write(keys)
    p.stdin.flush()
    try:
        rest, _ = p.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()
        fail(f"{what}: {keys!r} did not end it")
    # `script -e` exits with the program's status.
    return p.returncode, seen + rest


def main():
    exe, prefix = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    users = [d for d in glob.glob(os.path.join(prefix, "drive_c/users/*"))
             if os.path.basename(d) != "Public"]
    if len(users) != 1:
        fail(f"one Wine user profile expected in {prefix}, found {users}")
    profile = users[0]
    aws_dir = os.path.join(profile, ".aws")
    cache_dir = os.path.join(profile, "AppData/Local/awsmfa/cache")
    for d in (aws_dir, os.path.join(profile, "AppData/Local/awsmfa")):
        shutil.rmtree(d, ignore_errors=True)

    # What Windows would have: no Unix shell, no AWS_/XDG_ variables from this machine.
    env = {k: v for k, v in os.environ.items()
           if not re.match(r"^(AWS_|AWSMFA_|XDG_|SHELL$)", k)}
    env.update(WINEPREFIX=prefix, WINEDEBUG="-all", WINEDLLOVERRIDES="mscoree,mshtml=")

    def run(*args, input=None, check=None, timeout=120, extra_env=None):
        # Standard error through a file: every Wine process keeps Unix fd 2 for Wine's
        # own messages, whatever its handles say, so a background server started by the
        # command would hold a pipe there open.
        with tempfile.TemporaryFile() as errf:
            p = subprocess.run([WINE, exe, *args], env={**env, **(extra_env or {})},
                               input=input, stdout=subprocess.PIPE, stderr=errf,
                               timeout=timeout)
            errf.seek(0)
            err = errf.read().decode(errors="replace")
        out = p.stdout.decode(errors="replace")
        if check is not None and p.returncode != check:
            fail(f"awsmfa {' '.join(args)}: exit {p.returncode}, wanted {check}\n"
                 f"stdout: {out}\nstderr: {err}")
        return p.returncode, out, err

    # Wine's own services (services.exe, explorer.exe, …) start with the first program
    # and inherit its standard handles; they live as long as any Wine program does, the
    # background server included. Started here, with none of our pipes, for the whole run.
    wineserver = os.path.join(os.path.dirname(WINE), "wineserver")
    subprocess.run([wineserver, "-k"], env=env, capture_output=True)
    quiet = dict(stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                 stderr=subprocess.DEVNULL)
    subprocess.run([wineserver, "-p"], env=env, check=True, **quiet)
    subprocess.run([WINE, "wineboot"], env=env, check=True, **quiet)
    try:
        bed = Bed()
    except BedError as e:
        fail(str(e))
    try:
        u = bed.users("winalice", "winbob", "wincarol", "windan", "winerin")
        alice, bob, carol, dan = u["winalice"], u["winbob"], u["wincarol"], u["windan"]
        erin = u["winerin"]

        # Files as a Windows user has them: CRLF, comments, no final newline.
        os.makedirs(aws_dir)
        creds = (
            "# my keys\r\n"
            f"[winalice-long-term]\r\naws_access_key_id = {alice['access_key_id']}\r\n"
            f"aws_secret_access_key = {alice['secret_access_key']}\r\n"
            f"aws_mfa_device = {alice['mfa_serial']}\r\n\r\n"
            f"[winbob-long-term]\r\naws_access_key_id = {bob['access_key_id']}\r\n"
            f"aws_secret_access_key = {bob['secret_access_key']}\r\n"
            f"aws_mfa_device = {bob['mfa_serial']}\r\n\r\n"
            f"[wincarol-long-term]\r\naws_access_key_id = {carol['access_key_id']}\r\n"
            f"aws_secret_access_key = {carol['secret_access_key']}\r\n"
            f"aws_mfa_device = {carol['mfa_serial']}"
        ).encode()
        code_dir = os.path.join(profile, "my codes")
        os.makedirs(code_dir, exist_ok=True)
        # mfa_process through cmd /C: a batch file in a directory with a space, quoted,
        # that uses cmd's own `type`.
        extra = {"winbob": 'mfa_process = "C:\\users\\%s\\my codes\\code.cmd" x\r\n'
                 % os.path.basename(profile)}
        config = "".join(
            f"[profile {n}]\r\nregion = us-east-1\r\nendpoint_url = {bed.url}\r\n"
            + extra.get(n, "")
            for n in ("winalice", "winbob", "wincarol", "windan"))
        # Long-term keys from a source profile's credential_process, run as botocore
        # runs it on Windows: no shell, a quoted program path with a space, arguments.
        config += ('[profile erin-keys]\r\ncredential_process = "C:\\users\\%s\\my codes\\keys.cmd" erin\r\n'
                   '[profile winerin]\r\nsource_profile = erin-keys\r\nmfa_serial = %s\r\n'
                   'region = us-east-1\r\nendpoint_url = %s\r\n'
                   % (os.path.basename(profile), erin["mfa_serial"], bed.url))
        with open(os.path.join(aws_dir, "credentials"), "wb") as f:
            f.write(creds)
        with open(os.path.join(aws_dir, "config"), "wb") as f:
            f.write(config.encode())
        cred_path = os.path.join(aws_dir, "credentials")

        # A wrong code: exit 3, nothing written.
        run("-p", "wincarol", "login", "--token-code", "000000", check=3)
        if open(cred_path, "rb").read() != creds:
            fail("a rejected code changed the credentials file")
        if glob.glob(os.path.join(cache_dir, "*.json")):
            fail("a rejected code left a cached session")
        ok("a wrong code exits 3 and writes nothing")

        # login --token-code writes %USERPROFILE%\.aws\credentials, preserving every byte.
        run("-p", "winalice", "login", "--token-code", bed.code(alice["mfa_serial"]), check=0)
        after = open(cred_path, "rb").read()
        if not after.startswith(creds):
            fail("login did not preserve the credentials file byte for byte")
        tail = after[len(creds):]
        if b"[winalice]" not in tail or b"aws_session_token" not in tail:
            fail(f"login wrote no session section: {tail!r}")
        if b"\n" in tail.replace(b"\r\n", b""):
            fail("login mixed line endings into a CRLF file")
        ok("login --token-code writes %USERPROFILE%\\.aws\\credentials byte-preserving (CRLF)")
        if not glob.glob(os.path.join(cache_dir, "*.json")):
            fail(f"no cached session under {cache_dir}")
        ok("the session cache is under %LOCALAPPDATA%\\awsmfa\\cache")

        # process: credential_process JSON from the cached session.
        _, out, _ = run("-p", "winalice", "process", check=0)
        doc = json.loads(out)
        if doc.get("Version") != 1 or not doc.get("SessionToken", "").strip():
            fail(f"process printed {out!r}")
        ok("process prints credential_process JSON")

        # env: PowerShell and cmd syntax; cmd's evaluated by Wine's cmd.
        _, out, _ = run("-p", "winalice", "env", "--format", "powershell", check=0)
        if not re.search(r"^\$env:AWS_SESSION_TOKEN = '", out, re.M | re.I):
            fail(f"env --format powershell printed {out!r}")
        ok("env --format powershell")
        _, out, _ = run("-p", "winalice", "env", "--format", "cmd", check=0)
        if not re.search(r'^set "AWS_SESSION_TOKEN=', out, re.M):
            fail(f"env --format cmd printed {out!r}")
        _, default, _ = run("-p", "winalice", "env", check=0)
        if default != out:
            fail(f"env's default format is not cmd outside PowerShell: {default!r}")
        script = os.path.join(profile, "env.cmd")
        with open(script, "w", newline="\r\n") as f:
            f.write("@echo off\n" + out + "echo KEY=%AWS_ACCESS_KEY_ID%\n")
        p = subprocess.run([WINE, "cmd", "/C", "C:\\users\\%s\\env.cmd" % os.path.basename(profile)],
                           env=env, capture_output=True, timeout=60)
        if ("KEY=" + doc["AccessKeyId"]) not in p.stdout.decode(errors="replace"):
            fail(f"cmd did not take env's output: {p.stdout!r} {p.stderr!r}")
        ok("env --format cmd (the default outside PowerShell), evaluated by cmd")

        # exec passes the child's exit status through, with the session in its environment.
        status, _, err = run("-p", "winalice", "exec", "--", "cmd", "/C",
                             'if defined AWS_SESSION_TOKEN (exit 7) else (exit 9)')
        if status != 7:
            fail(f"exec: exit {status}, wanted 7 (the child's); stderr: {err}")
        status, _, _ = run("-p", "winalice", "exec", "--", "cmd", "/C", "exit 0")
        if status != 0:
            fail(f"exec of a succeeding child: exit {status}")
        ok("exec passes the child's exit status through (7, 0)")

        # The background server: started detached, listed, serving, stopped.
        status, out, err = run("-p", "winalice", "server", "--format", "cmd", "--detach",
                               timeout=60)
        if status != 0:
            fail(f"server: exit {status}: {err}")
        found = dict(re.findall(r'^set "(AWS_CONTAINER_[A-Z_]+)=([^"]*)"', out, re.M))
        url = found.get("AWS_CONTAINER_CREDENTIALS_FULL_URI")
        token = found.get("AWS_CONTAINER_AUTHORIZATION_TOKEN")
        if not url or not token:
            fail(f"server printed {out!r}")
        req = urllib.request.Request(url, headers={"Authorization": token})
        with urllib.request.urlopen(req, timeout=30) as resp:
            served = json.load(resp)
        if not served.get("AccessKeyId", "").startswith("ASIA"):
            fail(f"the server served {served!r}")
        _, out, _ = run("server", "--list", check=0)
        if "winalice" not in out:
            fail(f"server --list printed {out!r}")
        run("-p", "winalice", "server", "--stop", check=0)
        _, out, _ = run("server", "--list", check=0)
        if "winalice" in out:
            fail(f"server --stop left it running: {out!r}")
        ok("server: detached, listed, serves the container credentials protocol, stops")

        # mfa_process through cmd /C.
        with open(os.path.join(code_dir, "code.cmd"), "w", newline="\r\n") as f:
            f.write('@echo off\necho touch your key 1>&2\ntype "%~dp0code.txt"\n')
        with open(os.path.join(code_dir, "code.txt"), "w") as f:
            f.write(bed.code(bob["mfa_serial"]) + "\n")
        _, out, err = run("-p", "winbob", "process", check=0)
        if json.loads(out).get("Version") != 1:
            fail(f"process with mfa_process printed {out!r}")
        if "touch your key" not in err:
            fail(f"mfa_process's stderr did not reach the person: {err!r}")
        ok("mfa_process runs through cmd /C (quoted path with a space, cmd's `type`)")

        # A source profile's credential_process, without a shell.
        with open(os.path.join(code_dir, "keys.cmd"), "w", newline="\r\n") as f:
            f.write('@echo off\ntype "%~dp0%1.json"\n')
        with open(os.path.join(code_dir, "erin.json"), "w") as f:
            json.dump({"Version": 1, "AccessKeyId": erin["access_key_id"],
                       "SecretAccessKey": erin["secret_access_key"]}, f)
        _, out, _ = run("-p", "winerin", "login", "--token-code", bed.code(erin["mfa_serial"]),
                        check=0)
        ok("a source profile's credential_process runs without a shell (quoted path, argument)")

        # status lists the profiles and the cached sessions.
        _, out, _ = run("status", check=0)
        if "winalice" not in out or "winbob" not in out:
            fail(f"status printed {out!r}")
        ok("status")

        # The keyring backend (the default on Windows) on the Credential Manager.
        run("add", "windan", "--from-env", "--replace", "--mfa-serial", dan["mfa_serial"], check=0,
            extra_env={"AWS_ACCESS_KEY_ID": dan["access_key_id"],
                       "AWS_SECRET_ACCESS_KEY": dan["secret_access_key"]})
        # Not the file vault (no age file beside its index entry), not the credentials
        # file: the Credential Manager.
        vault = os.path.join(profile, "AppData/Roaming/awsmfa/vault")
        if glob.glob(os.path.join(vault, "**/*.age"), recursive=True):
            fail("add wrote to the file vault, not the Credential Manager")
        meta = json.load(open(os.path.join(vault, "keys/windan.json")))
        if meta.get("backend") != "keyring":
            fail(f"the vault index says {meta!r}")
        if dan["secret_access_key"] in open(cred_path, errors="replace").read():
            fail("add wrote the secret key into the credentials file")
        run("-p", "windan", "login", "--token-code", bed.code(dan["mfa_serial"]), check=0)
        _, out, _ = run("status", check=0)
        line = next((l for l in out.splitlines() if l.startswith("windan ")), "")
        if "keyring" not in line:
            fail(f"status does not show windan's keys in the keyring: {out!r}")
        ok("the keyring backend keeps keys in the Credential Manager; login uses them")

        # No code and no console: exit 4, not a hang.
        run("-p", "wincarol", "process", input=b"", check=4, timeout=30)
        ok("no way to ask for a code exits 4")

        # The code prompt on the console (CONIN$/CONOUT$) while stdout is captured, as
        # under credential_process; `script` gives Wine a terminal to make a console of.
        if shutil.which("script"):
            out_file = os.path.join(profile, "process.json")
            line = "%s %s -p wincarol process > %s" % (
                shlex.quote(WINE), shlex.quote(exe), shlex.quote(out_file))
            code, out = on_console(line, env, b"MFA code for",
                                   (bed.code(carol["mfa_serial"]) + "\r").encode(),
                                   "the console prompt")
            doc = json.loads(open(out_file).read() or "{}")
            if code != 0 or doc.get("Version") != 1:
                fail(f"process after the console prompt: exit {code}, {out!r}")
            if b"process.json" in out or b'"Version"' in out:
                fail("the JSON reached the console")
            ok("the code prompt on the console (CONIN$/CONOUT$) with stdout captured")

            # status fits the console's width, asked of the console (no COLUMNS).
            def status_lines(cols):
                line = "stty cols %d; %s %s status" % (cols, shlex.quote(WINE), shlex.quote(exe))
                e = {k: v for k, v in env.items() if k != "COLUMNS"}
                p = subprocess.run(["script", "-qfec", line, "/dev/null"], env=e,
                                   stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
                text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", p.stdout.decode("utf-8", "replace"))
                return [l.rstrip() for l in text.replace("\r", "").splitlines() if l.strip()]
            narrow, wide = status_lines(60), status_lines(150)
            if not any("winalice" in l for l in narrow) or max(len(l) for l in narrow) > 60:
                fail(f"status in a 60-column console: {narrow!r}")
            if max(len(l) for l in wide) <= 60:
                fail(f"status in a 150-column console kept to 60: {wide!r}")
            ok("status fits the console's width (GetConsoleScreenBufferInfo)")

            # Ctrl-C while mfa create waits for the person: the console control handler
            # deletes the half-made device and the exit status is 130, as SIGINT on Unix.
            frank = bed.control("POST", "/_bed/seed", {"users": [
                {"name": "winfrank", "policy": "allow-all", "mfa": False}]})["users"]["winfrank"]
            d = tempfile.mkdtemp(dir=profile)
            with open(os.path.join(d, "config"), "w") as f:
                f.write(f"[profile f]\nregion = us-east-1\nendpoint_url = {bed.url}\n")
            with open(os.path.join(d, "credentials"), "w") as f:
                f.write(f"[f]\naws_access_key_id = {frank['access_key_id']}\n"
                        f"aws_secret_access_key = {frank['secret_access_key']}\n")
            line = "exec %s %s -p f mfa create frankdev" % (shlex.quote(WINE), shlex.quote(exe))
            e = dict(env, AWS_CONFIG_FILE="Z:" + d + "/config",
                     AWS_SHARED_CREDENTIALS_FILE="Z:" + d + "/credentials")
            code, out = on_console(line, e, b"then press Enter", b"\x03",
                                   "Ctrl-C during mfa create")
            text = re.sub(rb"\x1b\[[0-9;?]*[A-Za-z]|[\r\n]", b"", out).decode(errors="replace")
            calls = bed.control("GET", "/_bed/calls")
            if code != 130 or "deleted the unfinished device" not in text \
                    or calls.get("winfrank/iam:DeleteVirtualMFADevice") != 1:
                fail(f"Ctrl-C during mfa create: exit {code}, {text[-300:]!r}, calls {calls!r}")
            if "mfa_serial" in open(os.path.join(d, "config")).read():
                fail("Ctrl-C during mfa create saved mfa_serial")
            ok("Ctrl-C during mfa create deletes the unfinished device, exit 130")
    finally:
        bed.stop()
        subprocess.run([wineserver, "-k"], env=env, capture_output=True)


if __name__ == "__main__":
    main()
