#!/usr/bin/env python3
"""Benchmarks of `awsmfa login`, against the local STS bed, side by side in one run with
the tools people use for the same job:

1. MFA login end to end: `awsmfa login` (session written into ~/.aws/credentials), the AWS
   CLI's `aws sts get-session-token` (prints JSON; writing it into the file is left to the
   person), and aws-mfa (the PyPI tool: writes the file like awsmfa).
2. Changing one profile in a credentials file of 10,000 profiles: the same three, the AWS
   CLI as the seeds do it (`aws configure set` for each of the three keys). Also says
   whether every other byte of the file survived.

Each run uses fresh users (a TOTP code is accepted once). Prints a table and writes it to
bench/results/login.md. Run through `bench/run` (builds the release binary first).
"""

import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.path.join(ROOT, ".venv", "bin")
AWSMFA = os.path.join(ROOT, "target", "release", "awsmfa")
N = int(os.environ.get("BENCH_ROUNDS", "15"))


def machine():
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            kb = int(f.readline().split()[1])
            mem = f", {kb / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError):
        pass
    return f"{os.cpu_count()} cores ({cpu}){mem}, {platform.system()} {platform.release()}, Python {platform.python_version()}"


class Bed:
    def __init__(self):
        self.dir = tempfile.mkdtemp()
        ready = os.path.join(self.dir, "ready.json")
        self.proc = subprocess.Popen(
            [os.path.join(VENV, "python"), os.path.join(ROOT, "tests/bed/bed.py"), "serve", "--ready-file", ready],
            stdout=subprocess.DEVNULL,
        )
        for _ in range(600):
            if os.path.exists(ready):
                break
            time.sleep(0.1)
        self.url = "http://127.0.0.1:%d" % json.load(open(ready))["port"]

    def post(self, path, body):
        req = urllib.request.Request(self.url + path, data=json.dumps(body).encode(), method="POST")
        return json.load(urllib.request.urlopen(req))

    def get(self, path):
        return json.load(urllib.request.urlopen(self.url + path))

    def users(self, prefix, n):
        names = [f"{prefix}{i}" for i in range(n)]
        out = self.post("/_bed/seed", {"users": [{"name": x, "policy": "force-mfa"} for x in names]})
        return [dict(out["users"][x], name=x) for x in names]

    def code(self, serial):
        return self.get("/_bed/totp?serial=" + urllib.parse.quote(serial, safe=""))["code"]

    def stop(self):
        self.proc.terminate()
        self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def home_with(users, filler=0):
    home = tempfile.mkdtemp()
    os.makedirs(os.path.join(home, ".aws"))
    parts = ["# hand-kept credentials\n"]
    for i in range(filler):
        parts.append(f"\n[filler-{i}]\naws_access_key_id = AKIAFILLER{i:010d}\naws_secret_access_key = filler/secret+{i}\n")
    for u in users:
        parts.append(
            f"\n[{u['name']}-long-term]\naws_access_key_id = {u['access_key_id']}\n"
            f"aws_secret_access_key = {u['secret_access_key']}\naws_mfa_device = {u['mfa_serial']}\n"
        )
        # The AWS CLI's way reads the long-term keys from a profile of its own.
        parts.append(
            f"\n[{u['name']}-cli]\naws_access_key_id = {u['access_key_id']}\n"
            f"aws_secret_access_key = {u['secret_access_key']}\n"
        )
    with open(os.path.join(home, ".aws", "credentials"), "w") as f:
        f.write("".join(parts))
    return home


def env_for(home, bed):
    return {
        "PATH": VENV + ":/usr/bin:/bin",
        "HOME": home,
        "AWS_ENDPOINT_URL_STS": bed.url,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "LANG": "C.UTF-8",
    }


def timed(cmd, env, stdin=None):
    start = time.perf_counter()
    p = subprocess.run(cmd, env=env, input=stdin, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if p.returncode != 0:
        raise SystemExit(f"benchmark command failed: {cmd[0]} {cmd[1:3]}\n{p.stderr}")
    return elapsed, p.stdout


def awsmfa(u, code):
    return [AWSMFA, "-p", u["name"], "login", "--force", "--token-code", code]


def aws_cli(u, code):
    return [os.path.join(VENV, "aws"), "--profile", u["name"] + "-cli", "sts", "get-session-token",
            "--serial-number", u["mfa_serial"], "--token-code", code]


def aws_mfa(u, code):
    # aws-mfa reads the code from stdin (its prompt); see run_tool.
    return [os.path.join(VENV, "aws-mfa"), "--profile", u["name"], "--device", u["mfa_serial"],
            "--force", "--log-level", "ERROR"]


def run_tool(tool, u, code, env):
    if tool == "aws-mfa":
        return timed(aws_mfa(u, code), env, stdin=code + "\n")[0]
    make = {"awsmfa": awsmfa, "aws-cli": aws_cli}[tool]
    return timed(make(u, code), env)[0]


def aws_configure_set(u, code, bed, env):
    """The seeds' manual way: get-session-token, then three `aws configure set`."""
    elapsed, out = timed(aws_cli(u, code), env)
    creds = json.loads(out)["Credentials"]
    for key, value in [("aws_access_key_id", creds["AccessKeyId"]),
                       ("aws_secret_access_key", creds["SecretAccessKey"]),
                       ("aws_session_token", creds["SessionToken"])]:
        t, _ = timed([os.path.join(VENV, "aws"), "configure", "set", key, value, "--profile", u["name"]], env)
        elapsed += t
    return elapsed


def row(name, samples, base):
    med = statistics.median(samples)
    return f"| {name} | {med * 1000:.0f} ms | {min(samples) * 1000:.0f} ms | {med / base:.2f}× |"


def preserved(before, after, section):
    """Every line outside [section] (and outside sections the tool added) survived, in order."""
    keep = []
    skip = False
    for line in before.splitlines():
        if line.strip().startswith("["):
            skip = line.strip() == f"[{section}]"
        if not skip:
            keep.append(line)
    it = iter(after.splitlines())
    return all(any(line == other for other in it) for line in keep)


def main():
    if not os.path.exists(AWSMFA):
        raise SystemExit("build first: cargo build --release (bench/run does)")
    bed = Bed()
    out = []
    try:
        tools = ["awsmfa", "aws-cli", "aws-mfa"]
        users = {t: bed.users(f"b1-{t}-", N) for t in tools}
        home = home_with([u for t in tools for u in users[t]])
        env = env_for(home, bed)
        samples = {t: [] for t in tools}
        for i in range(N):
            for t in tools:
                u = users[t][i]
                samples[t].append(run_tool(t, u, bed.code(u["mfa_serial"]), env))
        base = statistics.median(samples["awsmfa"])
        out.append("### MFA login end to end (one GetSessionToken against the local bed)\n")
        out.append(f"{N} rounds, interleaved. Machine: {machine()}.\n")
        out.append("| tool | median | min | vs awsmfa |")
        out.append("|---|---|---|---|")
        out.append(row("`awsmfa login` (writes the profile)", samples["awsmfa"], base))
        out.append(row("`aws sts get-session-token` (prints JSON only)", samples["aws-cli"], base))
        out.append(row("`aws-mfa` 0.0.12 (writes the profile)", samples["aws-mfa"], base))
        shutil.rmtree(home, ignore_errors=True)

        # 2. One profile changed in a credentials file of 10,000 profiles.
        rounds = max(3, N // 3)
        tools2 = ["awsmfa", "aws-mfa", "configure"]
        users2 = {t: bed.users(f"b2-{t}-", rounds) for t in tools2}
        samples2 = {t: [] for t in tools2}
        kept = {}
        for i in range(rounds):
            for t in tools2:
                u = users2[t][i]
                home = home_with([u], filler=10000)
                env = env_for(home, bed)
                path = os.path.join(home, ".aws", "credentials")
                before = open(path).read()
                code = bed.code(u["mfa_serial"])
                if t == "configure":
                    elapsed = aws_configure_set(u, code, bed, env)
                else:
                    elapsed = run_tool(t, u, code, env)
                samples2[t].append(elapsed)
                kept[t] = preserved(before, open(path).read(), u["name"])
                size = len(before)
                shutil.rmtree(home, ignore_errors=True)
        base = statistics.median(samples2["awsmfa"])
        out.append("")
        out.append(f"### One profile's session written into a credentials file of 10,000 profiles ({size / 1e6:.1f} MB)\n")
        out.append(f"{rounds} rounds, each on a fresh copy; includes the STS call. \"Kept\": every other line "
                   "of the file (comments included) is still there, in order.\n")
        out.append("| tool | median | min | vs awsmfa | kept the rest of the file |")
        out.append("|---|---|---|---|---|")
        for t, label in [("awsmfa", "`awsmfa login`"), ("aws-mfa", "`aws-mfa`"),
                         ("configure", "`aws sts get-session-token` + 3 × `aws configure set`")]:
            out.append(row(label, samples2[t], base) + (" yes |" if kept[t] else " **no** |"))
    finally:
        bed.stop()
    text = "\n".join(out) + "\n"
    print(text)
    os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
    with open(os.path.join(ROOT, "bench", "results", "login.md"), "w") as f:
        f.write(text)


if __name__ == "__main__":
    import urllib.parse  # noqa: F401  (used by Bed.code)

    main()
