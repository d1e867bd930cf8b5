#!/usr/bin/env python3
"""Big files (issue 12, item 5): every profile of a config/credentials pair read and
resolved, awsmfa beside botocore (the AWS CLI's parser).

- `awsmfa status --json`: reads both files and resolves every profile (kind, where its
  keys are, its MFA device).
- botocore: `Session().full_config` (the config file, parsed and split into profiles)
  plus `raw_config_parse` of the credentials file: what the AWS CLI reads before it can
  pick a profile's credentials; it resolves none of them.
- A write into those files (`awsmfa add NAME --backend plaintext`: a new section in the
  credentials file), which re-reads the result as botocore would and checks it before
  replacing the file; with its peak memory.
- A `source_profile` chain 6,000 long: what `awsmfa process` and botocore's
  `get_credentials()` do with it.

Files: N profiles, one in four a role whose source is the next profile, the others keys
in the credentials file with region and mfa_serial in the config. Wall-clock of whole
commands (interpreter start-up included), median of BENCH_ROUNDS (default 3).
Prints a table and writes bench/results/status.md. Run through `bench/run status`.
"""

import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from login import AWSMFA, VENV, ROOT, machine  # noqa: E402

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))

BOTOCORE_READ = """
import sys, botocore.session, botocore.configloader
s = botocore.session.Session()
profiles = s.full_config['profiles']
creds = botocore.configloader.raw_config_parse(sys.argv[1])
print(len(set(profiles) | set(creds)))
"""

BOTOCORE_CHAIN = """
import botocore.session
try:
    botocore.session.Session(profile='p0').get_credentials()
    print('resolved')
except RecursionError:
    print('RecursionError')
except Exception as e:
    print(type(e).__name__)
"""


def filler_profiles(n):
    """n profiles (every fourth a role on the next one's keys): the config sections and
    the credentials sections, as lists of text."""
    cfg, cred = [], []
    for i in range(n):
        if i % 4 == 0:
            cfg.append(f"[profile r{i}]\nrole_arn = arn:aws:iam::123456789012:role/R{i}\n"
                       f"source_profile = k{i + 1}\n")
        else:
            cfg.append(f"[profile k{i}]\nregion = eu-west-1\n"
                       f"mfa_serial = arn:aws:iam::123456789012:mfa/u{i}\n")
            cred.append(f"[k{i}]\naws_access_key_id = AKIA{i:016d}\n"
                        f"aws_secret_access_key = secret{i}\n")
    return cfg, cred


def write_files(d, n):
    cfg, cred = filler_profiles(n)
    with open(os.path.join(d, "config"), "w") as f:
        f.write("\n".join(cfg))
    with open(os.path.join(d, "credentials"), "w") as f:
        f.write("\n".join(cred))


def write_chain(d, n):
    with open(os.path.join(d, "config"), "w") as f:
        for i in range(n):
            f.write(f"[profile p{i}]\nrole_arn = arn:aws:iam::123456789012:role/R{i}\n"
                    f"source_profile = p{i + 1}\n")
        f.write(f"[profile p{n}]\nregion = us-east-1\n")
    with open(os.path.join(d, "credentials"), "w") as f:
        f.write(f"[p{n}]\naws_access_key_id = AKIADEEPEXAMPLE00000\naws_secret_access_key = s\n")


def env_for(d):
    return {"HOME": d, "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "AWS_CONFIG_FILE": os.path.join(d, "config"),
            "AWS_SHARED_CREDENTIALS_FILE": os.path.join(d, "credentials"),
            "XDG_CACHE_HOME": os.path.join(d, "cache")}


def timed(cmd, env):
    start = time.perf_counter()
    p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return time.perf_counter() - start, p


def median_of(cmd, env):
    times = []
    for _ in range(ROUNDS):
        t, p = timed(cmd, env)
        if p.returncode != 0:
            raise SystemExit(f"failed: {cmd}: {p.stderr}")
        times.append(t)
    return statistics.median(times), p


def write_cost(env):
    """Median time of ROUNDS writes (each a new [NAME-long-term] section) and the peak
    resident memory of the last, from /usr/bin/time when there is one."""
    env = dict(env, AWS_ACCESS_KEY_ID="AKIAEXAMPLE000000009", AWS_SECRET_ACCESS_KEY="secret")
    gnu_time = "/usr/bin/time" if os.path.exists("/usr/bin/time") else None
    times, rss = [], None
    for i in range(ROUNDS):
        cmd = [AWSMFA, "add", f"bench{i}", "--backend", "plaintext", "--from-env", "--no-verify"]
        if gnu_time:
            cmd = [gnu_time, "-f", "maxrss=%M"] + cmd
        t, p = timed(cmd, env)
        if p.returncode != 0:
            raise SystemExit(f"failed: {cmd}: {p.stderr}")
        times.append(t)
        found = [l for l in p.stderr.splitlines() if l.startswith("maxrss=")]
        rss = int(found[-1].split("=")[1]) if found else None
    return statistics.median(times), rss


def main():
    rows = []
    for n in (10_000, 40_000):
        d = tempfile.mkdtemp()
        write_files(d, n)
        size = os.path.getsize(os.path.join(d, "config")) + os.path.getsize(os.path.join(d, "credentials"))
        env = env_for(d)
        a, p = median_of([AWSMFA, "status", "--json"], env)
        count = p.stdout.count('"name"')
        b, p = median_of([os.path.join(VENV, "python"), "-c", BOTOCORE_READ,
                          env["AWS_SHARED_CREDENTIALS_FILE"]], env)
        w, rss = write_cost(env)
        rows.append((n, size, a, count, b, int(p.stdout.strip()), w, rss))
    d = tempfile.mkdtemp()
    write_chain(d, 6000)
    env = env_for(d)
    t_a, p_a = timed([AWSMFA, "-p", "p0", "process"], env)
    a_out = f"exit {p_a.returncode}: {p_a.stderr.strip().splitlines()[0] if p_a.stderr.strip() else '(no message)'}"
    t_b, p_b = timed([os.path.join(VENV, "python"), "-c", BOTOCORE_CHAIN], env)
    b_out = p_b.stdout.strip() or f"exit {p_b.returncode}"
    t_s, p_s = timed([AWSMFA, "status", "--json"], env)

    lines = [
        "### Big files: every profile read and resolved (issue 12)",
        "",
        f"Median of {ROUNDS}, wall-clock of whole commands. Machine: {machine()}.",
        "",
        "| profiles | size | `awsmfa status --json` | profiles shown | botocore reads both files | profiles read | botocore / awsmfa | a write (`add --backend plaintext`) | its peak memory |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for n, size, a, count, b, bcount, w, rss in rows:
        mem = f"{rss / 1024:.0f} MB" if rss else "n/a"
        lines.append(f"| {n:,} | {size / 1e6:.1f} MB | {a * 1000:.0f} ms | {count:,} | {b * 1000:.0f} ms | {bcount:,} | {b / a:.1f}× | {w * 1000:.0f} ms | {mem} |")
    lines += [
        "",
        "awsmfa resolves every profile (kind, keys' place, MFA device); botocore only parses the two files.",
        "A write parses the file, edits it, parses the result again and compares both readings",
        "section by section (issue 12: a write the AWS CLI would read otherwise is not made).",
        "",
        "A `source_profile` chain 6,000 profiles long:",
        "",
        "| command | time | outcome |",
        "|---|---|---|",
        f"| `awsmfa -p p0 process` | {t_a * 1000:.0f} ms | {a_out} |",
        f"| `awsmfa status --json` (6,001 profiles) | {t_s * 1000:.0f} ms | exit {p_s.returncode} |",
        f"| botocore `Session(profile='p0').get_credentials()` | {t_b * 1000:.0f} ms | {b_out} |",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
    with open(os.path.join(ROOT, "bench", "results", "status.md"), "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
