#!/usr/bin/env python3
"""The credential hot path under load, against the local STS bed: 32 processes started
at once on a cold cache (`awsmfa process` for one role profile, codes from a counting
mfa_process): time until all are served, codes asked, GetSessionToken and AssumeRole
calls. (The cached hot path against its floor is bench/hotpath.py.)

Prints a table and writes bench/results/process.md. Run through `bench/run process`.
"""

import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from login import AWSMFA, VENV, ROOT, Bed  # noqa: E402


def setup_home(bed, user, roles):
    home = tempfile.mkdtemp(prefix="awsmfa-bench-home-")
    # The bed's keys and sessions go with the run.
    atexit.register(shutil.rmtree, home, True)
    os.makedirs(os.path.join(home, ".aws"))
    counter = os.path.join(home, "codes")
    script = os.path.join(home, "code.sh")
    with open(script, "w") as f:
        f.write(f"#!/bin/sh\necho used >> {counter}\nexec {VENV}/python {ROOT}/tests/bed/bed.py totp {user['mfa_seed']}\n")
    os.chmod(script, 0o755)
    with open(os.path.join(home, ".aws", "credentials"), "w") as f:
        f.write(f"[base-long-term]\naws_access_key_id = {user['access_key_id']}\n"
                f"aws_secret_access_key = {user['secret_access_key']}\n")
    with open(os.path.join(home, ".aws", "config"), "w") as f:
        f.write(f"[profile base]\nregion = us-east-1\nendpoint_url = {bed.url}\n"
                f"mfa_serial = {user['mfa_serial']}\nmfa_process = {script}\n")
        for name, arn in roles.items():
            f.write(f"\n[profile {name}]\nrole_arn = {arn}\nsource_profile = base\nendpoint_url = {bed.url}\n")
    return home, counter


def main():
    bed = Bed()
    out = []
    try:
        seeded = bed.post("/_bed/seed", {"users": [{"name": "hot", "policy": "allow-all"},
                                                   {"name": "cold", "policy": "allow-all"}],
                                         "roles": [{"name": "hot-role"}, {"name": "cold-role"}]})
        # 32 processes at once, cold cache.
        cold = dict(seeded["users"]["cold"], name="cold")
        home, counter = setup_home(bed, cold, {"r": seeded["roles"]["cold-role"]["arn"]})
        env = {"HOME": home, "PATH": VENV + ":/usr/bin:/bin", "LANG": "C.UTF-8"}
        before = bed.get("/_bed/calls")
        start = time.perf_counter()
        procs = [subprocess.Popen([AWSMFA, "-p", "r", "process"], env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, start_new_session=True) for _ in range(32)]
        outs = [p.communicate() for p in procs]
        elapsed = time.perf_counter() - start
        ok = sum(1 for p in procs if p.returncode == 0)
        keys = {json.loads(o[0])["AccessKeyId"] for o, p in zip(outs, procs) if p.returncode == 0}
        after = bed.get("/_bed/calls")
        codes = sum(1 for _ in open(counter))
        gst = after.get("cold/sts:GetSessionToken", 0) - before.get("cold/sts:GetSessionToken", 0)
        ar = after.get("cold/sts:AssumeRole", 0) - before.get("cold/sts:AssumeRole", 0)
        out.append("### 32 processes at once, cold cache (one role profile, code from mfa_process)\n")
        out.append("| processes served | wall time, all 32 | codes asked | GetSessionToken | AssumeRole | distinct sessions handed out |")
        out.append("|---|---|---|---|---|---|")
        out.append(f"| {ok}/32 | {elapsed * 1000:.0f} ms | {codes} | {gst} | {ar} | {len(keys)} |")
    finally:
        bed.stop()
    text = "\n".join(out) + "\n"
    print(text)
    os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
    with open(os.path.join(ROOT, "bench", "results", "process.md"), "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
