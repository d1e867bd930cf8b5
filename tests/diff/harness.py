#!/usr/bin/env python3
"""Differential test (issue 12): awsmfa's reading of the AWS files against botocore's.

botocore (the AWS CLI's parser, from the bed's venv) is the oracle. awsmfa's view comes
from `awsmfa status --json` (its `aws` object per profile). For every file pair of the
corpus both views are built and compared: which files are refused, which profiles exist,
the values of the keys awsmfa uses (secrets as length and line count only), the STS/IAM
endpoints the config sets, and for role profiles the chain down to the keys.

Corpus: the public fixtures in tests/fixtures/public (botocore's tests/unit/cfg and
configured_endpoint_urls/profile-tests.json, smithy-rs's profile-parser-tests.json and
assume-role-tests.json), the seed files in tests/fixtures/seeds, and GENERATED pairs from
a seeded generator with the quirks of issue 12.

Each difference is a category; tests/diff/allow.json lists the categories (and cases)
that differ on purpose, each with its reason. Exit status 1 when any case differs for a
reason not listed. Usage: harness.py AWSMFA [--generated N] [--seed S] [--show K]
"""

import concurrent.futures
import glob
import json
import os
import random
import shlex
import subprocess
import sys
import tempfile

import botocore.configloader
import botocore.exceptions
import botocore.session

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PUBLIC = os.path.join(ROOT, "tests", "fixtures", "public")
VIEW_KEYS = [
    "aws_access_key_id", "aws_secret_access_key", "aws_session_token", "region",
    "mfa_serial", "role_arn", "source_profile", "credential_source", "credential_process",
    "duration_seconds", "external_id", "role_session_name", "endpoint_url", "services",
    "sts_regional_endpoints", "ignore_configured_endpoint_urls", "web_identity_token_file",
]


# ---------------------------------------------------------------- corpus

def ini_from_profiles(profiles, services=None, prefix=True):
    out = []
    for name, values in profiles.items():
        header = name if (name == "default" or not prefix) else f"profile {name}"
        out.append(f"[{header}]")
        for k, v in values.items():
            out.append(f"{k} = {v}")
        out.append("")
    for name, block in (services or {}).items():
        out.append(f"[services {name}]")
        for svc, kv in block.items():
            out.append(f"{svc} =")
            for k, v in kv.items():
                out.append(f"  {k} = {v}")
        out.append("")
    return "\n".join(out)


def public_cases():
    cases = []
    cfg = os.path.join(PUBLIC, "botocore-cfg")
    for path in sorted(glob.glob(os.path.join(cfg, "*"))):
        name = os.path.basename(path)
        try:
            text = open(path, encoding="utf-8").read()
        except UnicodeDecodeError:
            text = open(path, "rb").read()
        if "credentials" in name:
            cases.append((f"botocore-cfg/{name} as credentials", None, text))
        else:
            cases.append((f"botocore-cfg/{name} as config", text, None))
    cases.append(("botocore-cfg/aws_config + aws_credentials",
                  open(os.path.join(cfg, "aws_config")).read(),
                  open(os.path.join(cfg, "aws_credentials")).read()))
    suite = json.load(open(os.path.join(PUBLIC, "botocore-profile-tests.json")))["testSuites"][0]
    cases.append(("botocore profile-tests.json", ini_from_profiles(suite["profiles"], suite["services"]), None))
    parser = json.load(open(os.path.join(PUBLIC, "smithy-rs", "profile-parser-tests.json")))
    for t in parser["tests"]:
        i = t["input"]
        cases.append((f"smithy-rs parser: {t['name']}", i.get("configFile"), i.get("credentialsFile")))
    roles = json.load(open(os.path.join(PUBLIC, "smithy-rs", "assume-role-tests.json")))
    for t in roles:
        cases.append((f"smithy-rs assume-role: {t['docs']}", ini_from_profiles(t["input"]["profiles"]), None))
    return cases


def seed_cases():
    seeds = os.path.join(ROOT, "tests", "fixtures", "seeds")
    groups = {}
    for path in sorted(glob.glob(os.path.join(seeds, "*"))):
        name = os.path.basename(path)
        kind = "credentials" if name.endswith("-credentials") else "config"
        groups.setdefault(name.split("-")[0], []).append((kind, name, open(path, "rb").read().decode("utf-8")))
    cases = []
    for files in groups.values():
        for kind, name, text in files:
            cases.append((f"seed {name}", text if kind == "config" else None, text if kind == "credentials" else None))
        configs = [t for k, _, t in files if k == "config"]
        creds = [(n, t) for k, n, t in files if k == "credentials"]
        for n, t in creds:
            for c in configs:
                cases.append((f"seed {n} + config", c, t))
    return cases


NAMES = ["a", "b", "dev", "prod", "default", "x.y", "w-long", "role1", "ci"]


def gen_pair(rng):
    """One config/credentials pair with issue 12's quirks."""
    ws = lambda: rng.choice(["", " ", "  ", "\t"])
    sep = lambda: rng.choice([" = ", "=", " =", ": ", ":", " : "])
    names = rng.sample(NAMES, rng.randint(1, 5))
    def header(n, config):
        if not config:
            return rng.choice([f"[{n}]", f"[{n}]", f"[ {n} ]"])
        if n == "default" and rng.random() < 0.5:
            return rng.choice(["[default]", "[profile default]"])
        return rng.choice([f"[profile {n}]", f"[profile {n}]", f"[profile  {n}]", f"[profile\t{n}]",
                           f"[profile \"{n}\"]", f"[profile '{n}']", f"[ profile {n} ]", f"[{n}]"])
    def value(kind):
        if kind == "region":
            return rng.choice(["us-east-1", "eu-west-1", "us-east-1 # comment"])
        if kind == "key":
            return f"AKIA{rng.randrange(10**15, 10**16)}"
        if kind == "secret":
            return rng.choice(["wJalrXUtnFEMI/K7MDENG", "s3cr3t+/=", "abc"])
        if kind == "arn":
            return f"arn:aws:iam::123456789012:role/R{rng.randint(0, 9)}"
        if kind == "mfa":
            return "arn:aws:iam::123456789012:mfa/u"
        return "x"
    def entry(key, kind):
        line = f"{ws() if rng.random() < 0.1 else ''}{rng.choice([key, key, key.upper()])}{sep()}{value(kind)}"
        if rng.random() < 0.12:
            line += "\n" + rng.choice(["  eu-west-1", "\t more", "", "  # not a comment"])
            if rng.random() < 0.3:
                line += "\n\n   continued"
        return line
    config, creds = [], []
    services_names = []
    if rng.random() < 0.4:
        sname = rng.choice(["wasabi", "minio"])
        services_names.append(sname)
        hdr = rng.choice([f"[services {sname}]", f"[services  {sname}]", f"[services\t{sname}]", f"[services {sname}x]"])
        block = [hdr, "sts =", f"  endpoint_url = https://sts.{sname}.example"]
        if rng.random() < 0.3:
            block.append("")
        block += [rng.choice(["iam =", "s3 ="]), f"  endpoint_url = https://other.{sname}.example"]
        config.append("\n".join(block))
    if rng.random() < 0.1:
        config.append("[DEFAULT]\n" + entry("region", "region"))
    for n in names:
        lines = [header(n, True)]
        if rng.random() < 0.6:
            lines.append(entry("region", "region"))
        if rng.random() < 0.3:
            lines.append(entry("mfa_serial", "mfa"))
        if rng.random() < 0.35:
            lines.append(entry("role_arn", "arn"))
            src = rng.choice(names + ["missing"])
            lines.append(f"source_profile{sep()}{src}")
        if rng.random() < 0.15:
            lines.append(entry("aws_access_key_id", "key"))
            lines.append(entry("aws_secret_access_key", "secret"))
        if rng.random() < 0.15:
            lines.append(f"credential_process = {rng.choice(['aws-vault exec x --json', '/usr/bin/op read p', 'helper'])}")
        if services_names and rng.random() < 0.6:
            lines.append(f"services = {rng.choice(services_names + ['nowhere'])}")
        if rng.random() < 0.15:
            lines.append(f"endpoint_url = https://sts.{n}.example")
        if rng.random() < 0.1:
            lines.append("# a comment\n; another")
        config.append("\n".join(lines))
        if rng.random() < 0.6:
            cl = [header(n, False), entry("aws_access_key_id", "key"), entry("aws_secret_access_key", "secret")]
            if rng.random() < 0.3:
                cl.append(entry("aws_session_token", "secret"))
            creds.append("\n".join(cl))
    end = rng.choice(["\n", "\n\n", ""])
    nl = "\r\n" if rng.random() < 0.1 else "\n"
    c = "\n\n".join(config).replace("\n", nl) + end
    k = "\n\n".join(creds).replace("\n", nl) + end
    return c, k


def generated_cases(n, seed):
    rng = random.Random(seed)
    return [(f"generated #{i} (seed {seed})",) + gen_pair(rng) for i in range(n)]


# ---------------------------------------------------------------- the two views

def size(v):
    return f"<{len(v)} chars, {len(v.split(chr(10)))} lines>"


def mask(v):
    return "…" if len(v) < 12 else f"{v[:4]}…{v[-4:]}"


def shown(key, v):
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}={v[k]}" for k in sorted(v)) + "}"
    if key in ("aws_secret_access_key", "aws_session_token"):
        return size(v)
    if key == "aws_access_key_id":
        return f"{mask(v)} {size(v)}"
    if key == "credential_process":
        try:
            words = shlex.split(v)
        except ValueError:
            words = v.split()
        return os.path.basename(words[0]) if words else "?"
    return v


def static(p):
    return "aws_secret_access_key" in p or "aws_access_key_id" in p


def botocore_chain(profiles, name):
    """AssumeRoleProvider's walk, without calling STS."""
    p = profiles[name]
    if "role_arn" not in p or "web_identity_token_file" in p:
        return None
    visited, chain, cur = [name], [name], name
    while True:
        prof = profiles[cur]
        src, cs = prof.get("source_profile"), prof.get("credential_source")
        if cs is not None or src is None or src not in profiles:
            return "error"
        if src in visited and (src != cur or not static(profiles[src])):
            return "error"
        visited.append(src)
        chain.append(src)
        sp = profiles[src]
        if static(sp) or "role_arn" not in sp or "web_identity_token_file" in sp:
            # The source's own providers then need a whole key pair (else
            # PartialCredentialsError), or a credential_process.
            keys = "aws_access_key_id" in sp and "aws_secret_access_key" in sp
            base = "keys" if keys else ("error" if static(sp) else
                                        "process" if "credential_process" in sp else "error")
            if base == "error":
                return "error (source holds a session)" if "aws_session_token" in sp else "error"
            return {"chain": chain, "base": base, "session": "aws_session_token" in sp}
        cur = src


def botocore_endpoint(full, scoped, service):
    if str(scoped.get("ignore_configured_endpoint_urls", "")).lower() == "true":
        return None
    if "services" in scoped:
        section = full.get("services", {}).get(scoped["services"])
        if not section:
            return "error"
        block = section.get(service, {})
        url = block.get("endpoint_url") if isinstance(block, dict) else None
        if url:
            return url
    return scoped.get("endpoint_url") or None


def botocore_view(d):
    os.environ["AWS_CONFIG_FILE"] = os.path.join(d, "config")
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.path.join(d, "credentials")
    try:
        full = botocore.session.Session().full_config
    except Exception as e:  # botocore refuses the files
        return {"error": type(e).__name__}
    profiles = full["profiles"]
    out = {}
    for name, p in profiles.items():
        values = {k: shown(k, p[k]) for k in VIEW_KEYS if k in p}
        endpoints = {}
        for svc in ("sts", "iam"):
            e = botocore_endpoint(full, p, svc)
            if e:
                endpoints[svc] = e
        out[name] = {"values": values, "endpoints": endpoints, "role": botocore_chain(profiles, name)}
    return {"profiles": out}


def awsmfa_view(awsmfa, d):
    env = {"HOME": d, "PATH": "/usr/bin:/bin", "AWS_CONFIG_FILE": os.path.join(d, "config"),
           "AWS_SHARED_CREDENTIALS_FILE": os.path.join(d, "credentials"), "AWSMFA_CACHE_DIR": os.path.join(d, "cache")}
    p = subprocess.run([awsmfa, "status", "--json"], env=env, capture_output=True, text=True)
    if p.returncode != 0:
        return {"error": p.stderr.strip().splitlines()[-1] if p.stderr.strip() else f"exit {p.returncode}"}
    out = {}
    for prof in json.loads(p.stdout)["profiles"]:
        a = prof["aws"]
        endpoints = {k: ("error" if v.startswith("error:") else v) for k, v in a["endpoints"].items()}
        role = None
        if prof["kind"] == "role" and "web_identity_token_file" not in a["values"]:
            role = {"chain": a["role_chain"], "base": a["role_base"]} if a["role_chain"] else "error"
        out[prof["name"]] = {"values": a["values"], "endpoints": endpoints, "role": role,
                             "inherited": a["endpoints_inherited"], "problem": prof["problem"]}
    return {"profiles": out}


def normalized(problem):
    """An awsmfa error without the names in it: a category."""
    import re
    problem = re.sub(r'"[^"]*"', '"…"', problem)
    problem = re.sub(r"\[[^\]]*\]", "[…]", problem)
    return re.sub(r"profile \"…\" (→ \"…\" )*", "", problem)[:90]


def compare(b, a):
    """Categories of difference between botocore's view b and awsmfa's view a."""
    if "error" in b or "error" in a:
        if "error" in b and "error" in a:
            return []
        return ["botocore refuses, awsmfa reads" if "error" in b else "awsmfa refuses, botocore reads"]
    diffs = []
    bp, ap = b["profiles"], a["profiles"]
    for name in sorted(set(bp) | set(ap)):
        if name not in ap:
            folded = name.endswith("-long-term") and name[: -len("-long-term")] in ap
            diffs.append("profile only botocore sees" + (" (-long-term)" if folded else ""))
            continue
        if name not in bp:
            diffs.append("profile only awsmfa sees" + (" (-long-term)" if name + "-long-term" in bp else ""))
            continue
        x, y = bp[name], ap[name]
        for k in VIEW_KEYS:
            if x["values"].get(k) != y["values"].get(k):
                diffs.append(f"value of {k}")
        if x["endpoints"] != y["endpoints"]:
            diffs.append("endpoint (inherited by awsmfa)" if y["inherited"] else "endpoint")
        xr = {k: v for k, v in x["role"].items() if k != "session"} if isinstance(x["role"], dict) else x["role"]
        if xr == "error (source holds a session)" and y["role"] == "error":
            xr = "error"
        if xr != y["role"]:
            if (isinstance(x["role"], dict) and x["role"]["session"]) or x["role"] == "error (source holds a session)":
                diffs.append("role whose source holds a session")
            elif x["role"] == "error" or y["role"] != "error":
                diffs.append("role chain")
            else:
                diffs.append("role awsmfa refuses" + (f" ({normalized(y['problem'])})" if y["problem"] else ""))
    return sorted(set(diffs))


# ---------------------------------------------------------------- main

def main():
    args = sys.argv[1:]
    awsmfa = args[0]
    n = int(args[args.index("--generated") + 1]) if "--generated" in args else 2000
    seed = int(args[args.index("--seed") + 1]) if "--seed" in args else 12
    show = int(args[args.index("--show") + 1]) if "--show" in args else 5
    allow = json.load(open(os.path.join(ROOT, "tests", "diff", "allow.json")))
    allowed = {e["category"]: e["reason"] for e in allow["categories"]}
    allowed_cases = {e["case"]: e["reason"] for e in allow["cases"]}
    groups = {"public fixtures": public_cases(), "seeds": seed_cases(), "generated": generated_cases(n, seed)}
    tmp = tempfile.mkdtemp(prefix="awsmfa-diff-")
    jobs = []
    for group, cases in groups.items():
        for i, (name, config, creds) in enumerate(cases):
            d = os.path.join(tmp, f"{group[:3]}{i}")
            os.makedirs(d)
            for fname, text in (("config", config), ("credentials", creds)):
                if text is not None:
                    mode = "wb" if isinstance(text, bytes) else "w"
                    with open(os.path.join(d, fname), mode, **({} if mode == "wb" else {"newline": ""})) as f:
                        f.write(text)
            jobs.append((group, name, d))
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        a_views = list(pool.map(lambda j: awsmfa_view(awsmfa, j[2]), jobs))
    totals = {}
    unexplained = []
    per_category = {}
    for (group, name, d), a in zip(jobs, a_views):
        b = botocore_view(d)
        diffs = compare(b, a)
        t = totals.setdefault(group, {"agree": 0, "differ on purpose": 0, "differ": 0})
        if not diffs:
            t["agree"] += 1
            continue
        bad = [c for c in diffs if c not in allowed and name not in allowed_cases]
        for c in diffs:
            per_category[c] = per_category.get(c, 0) + 1
        if bad:
            t["differ"] += 1
            unexplained.append((name, bad, d))
        else:
            t["differ on purpose"] += 1
    print(f"{'corpus':<16} {'pairs':>6} {'agree':>6} {'on purpose':>11} {'differ':>7}")
    for group, t in totals.items():
        print(f"{group:<16} {sum(t.values()):>6} {t['agree']:>6} {t['differ on purpose']:>11} {t['differ']:>7}")
    s = {k: sum(t[k] for t in totals.values()) for k in ("agree", "differ on purpose", "differ")}
    print(f"{'total':<16} {sum(s.values()):>6} {s['agree']:>6} {s['differ on purpose']:>11} {s['differ']:>7}")
    for c, count in sorted(per_category.items(), key=lambda x: -x[1]):
        why = allowed.get(c)
        print(f"  {count:>5} × {c}" + (f" — on purpose: {why}" if why else ""))
    for name, bad, d in unexplained[:show]:
        print(f"DIFFERS: {name}: {', '.join(bad)} (files in {d})")
    if "--json" in args:
        json.dump({"totals": totals, "categories": per_category}, sys.stderr)
    sys.exit(1 if unexplained else 0)


if __name__ == "__main__":
    main()
