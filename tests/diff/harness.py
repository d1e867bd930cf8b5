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
reason not listed.

With --writes N, N generated pairs also get one write each (login, login --target,
login --save, add --backend plaintext, import, rotate, mfa create) against the STS bed (tests/bed),
checked against botocore's reading before and after and the files' bytes (see "writes"
below); exit status 1 also when any write is wrong.

Usage: harness.py AWSMFA [--generated N] [--seed S] [--show K] [--writes N] [--only-writes]
"""

import concurrent.futures
import glob
import json
import os
import random
import shlex
import shutil
import subprocess
import sys
import tempfile

import botocore.configloader
import botocore.exceptions
import botocore.session

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "bed"))
from client import Bed  # noqa: E402  (the one bed client of the Python test scripts)
PUBLIC = os.path.join(ROOT, "tests", "fixtures", "public")
VIEW_KEYS = [
    "aws_access_key_id", "aws_secret_access_key", "aws_session_token", "aws_security_token", "region",
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
            # Issue 23: other partitions, and an empty region.
            return rng.choice(["us-east-1", "eu-west-1", "us-east-1 # comment", "us-iso-east-1",
                               "eusc-de-east-1", ""] if rng.random() < 0.2 else
                              ["us-east-1", "eu-west-1", "us-east-1 # comment"])
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
        if rng.random() < 0.08:
            # A plain value where botocore expects a block: it fails on it.
            block = [hdr, f"sts = https://sts.{sname}.example"]
        if rng.random() < 0.3:
            block.append("")
        block += [rng.choice(["iam =", "s3 ="]), f"  endpoint_url = https://other.{sname}.example"]
        config.append("\n".join(block))
    if rng.random() < 0.1:
        config.append("[DEFAULT]\n" + entry("region", "region"))
        if rng.random() < 0.3:
            # configparser reads several [DEFAULT] sections as one (a key repeated
            # across them is refused).
            config.append("[DEFAULT]\n" + entry(rng.choice(["mfa_serial", "region"]), "mfa"))
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
        if rng.random() < 0.08:
            lines.append(f"sts_regional_endpoints = {rng.choice(['legacy', 'regional', 'LEGACY', 'bad'])}")
        if rng.random() < 0.1:
            lines.append("# a comment\n; another")
        config.append("\n".join(lines))
        if rng.random() < 0.6:
            cl = [header(n, False), entry("aws_access_key_id", "key"), entry("aws_secret_access_key", "secret")]
            if rng.random() < 0.3:
                cl.append(entry("aws_session_token", "secret"))
            if rng.random() < 0.15:
                # boto2's and aws-mfa's name for the session token (issue 23).
                cl.append(entry("aws_security_token", "secret"))
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
    if key in ("aws_secret_access_key", "aws_session_token", "aws_security_token"):
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
                if "aws_session_token" in sp:
                    return "error (source holds a session)"
                if not static(sp) and "source_profile" in sp:
                    return "error (source names only a source_profile)"
                return "error"
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
        if not isinstance(block, dict):
            return "error"  # botocore: 'str' object has no attribute 'get'
        url = block.get("endpoint_url")
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
        out[name] = {"values": values, "endpoints": endpoints, "role": botocore_chain(profiles, name),
                     "creds": botocore_static_kind(p, name)}
    return {"profiles": out}


def botocore_static_kind(p, name):
    """For a profile whose credentials botocore finds in the files alone (a whole key
    pair, nothing that outranks or replaces it), ask botocore: `session` when its
    credentials carry a token (aws_session_token, or aws_security_token), else `keys`."""
    if not ("aws_access_key_id" in p and "aws_secret_access_key" in p):
        return None
    if any(k in p for k in ("role_arn", "web_identity_token_file", "sso_start_url", "sso_session",
                            "credential_process", "credential_source")):
        return None
    import botocore.credentials
    try:
        # botocore's chain in its order for such a profile: the credentials file's
        # provider, then the config file's.
        creds = botocore.credentials.SharedCredentialProvider(
            os.environ["AWS_SHARED_CREDENTIALS_FILE"], profile_name=name).load() \
            or botocore.credentials.ConfigProvider(
                os.environ["AWS_CONFIG_FILE"], profile_name=name,
                config_parser=botocore.configloader.load_config).load()
    except Exception:
        return None
    if creds is None:
        return None
    return "session" if creds.token else "keys"


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
                             "inherited": a["endpoints_inherited"], "problem": prof["problem"],
                             "kind": prof["kind"]}
    return {"profiles": out}


def normalized(problem):
    """An awsmfa error without the names in it: a category."""
    import re
    problem = re.sub(r'"[^"]*"', '"…"', problem)
    problem = re.sub(r"(?<![\w.])(/[^\s/:]+)+/?", "PATH", problem)
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
        if x.get("creds") and y["kind"] in ("keys", "session") and name + "-long-term" not in bp \
                and x["creds"] != y["kind"]:
            diffs.append(f"credentials kind ({x['creds']} for botocore, {y['kind']} for awsmfa)")
        if x["endpoints"] != y["endpoints"]:
            diffs.append("endpoint (inherited by awsmfa)" if y["inherited"] else "endpoint")
        xr = {k: v for k, v in x["role"].items() if k != "session"} if isinstance(x["role"], dict) else x["role"]
        if xr in ("error (source holds a session)", "error (source names only a source_profile)") \
                and y["role"] == "error":
            xr = "error"
        if x["role"] == "error (source names only a source_profile)" and isinstance(y["role"], dict):
            diffs.append("role through a source that names only its own source_profile")
            continue
        if xr != y["role"]:
            if (isinstance(x["role"], dict) and x["role"]["session"]) or x["role"] == "error (source holds a session)":
                diffs.append("role whose source holds a session")
            elif x["role"] == "error" or y["role"] != "error":
                diffs.append("role chain")
            else:
                diffs.append("role awsmfa refuses" + (f" ({normalized(y['problem'])})" if y["problem"] else ""))
    return sorted(set(diffs))


# ---------------------------------------------------------------- writes
#
# The write check (issue 12 "The same harness checks writes"): for generated file pairs,
# one write op of awsmfa against the local STS bed, then botocore's reading of the files
# before and after, and their bytes, section by section. A write made (exit 0) must leave
# every other profile as botocore read it, give the edited profile exactly the intended
# keys, and change no byte outside the edited sections (new sections only at the end). A
# write refused (exit non-zero) must leave both files byte-identical and say why on one
# line (`awsmfa: …`, optionally followed by `hint: …`).

import configparser
import difflib
import re

SESSION_KEYS = ("aws_access_key_id", "aws_secret_access_key", "aws_session_token", "aws_security_token",
                "expiration")
KEY_PAIR = ("aws_access_key_id", "aws_secret_access_key")
INHERITABLE = ("region", "endpoint_url", "services", "ca_bundle", "sts_regional_endpoints")
ACCOUNT = "123456789012"
PASSPHRASE = "harness passphrase"


def seed_users(bed, users, roles=()):
    """Force-MFA users (keys, a virtual device) and MFA-trusting roles in the bed."""
    spec = {"users": [{"name": u, "policy": "allow-all", "mfa": True} for u in users],
            "roles": [{"name": r, "trust": "mfa", "policy": "allow-all", "max_session_seconds": 43200}
                      for r in roles]}
    return bed.control("POST", "/_bed/seed", spec)["users"]


def gen_write_pair(rng):
    """gen_pair's quirks plus some the writes meet: [DEFAULT] in the credentials file
    (values every section inherits), aws-mfa's [NAME-long-term], an old [NAME-mfa]
    session, a second [DEFAULT]. gen_pair itself is left as it is (the read corpus)."""
    config, creds = gen_pair(rng)
    nl = "\r\n" if "\r\n" in config + creds else "\n"
    names = sorted(set(re.findall(r"^\[(?:profile\s+)?[\"']?\s*([\w.-]+)", config + "\n" + creds, re.M)) - {"services"})
    extra = []
    if rng.random() < 0.1:
        extra.append(rng.choice(["[DEFAULT]\nregion = eu-west-1", "[DEFAULT]\nmfa_serial = arn:aws:iam::123456789012:mfa/d",
                                 "[DEFAULT]\naws_session_token = FwoGZXIvYXdzE", "[DEFAULT]\nexpiration: 2001-01-01T00:00:00Z"]))
    if names and rng.random() < 0.2:
        n = rng.choice(names)
        extra.append(f"[{n}-long-term]\naws_access_key_id{rng.choice([' = ', ':'])}AKIA{rng.randrange(10**15, 10**16)}\n"
                     f"aws_secret_access_key = abc" + rng.choice(["", "\naws_mfa_device = arn:aws:iam::123456789012:mfa/u",
                                                                   "\n  continued"]))
    if names and rng.random() < 0.15:
        n = rng.choice(names)
        extra.append(f"[{n}-mfa]\naws_access_key_id = ASIAOLD\naws_secret_access_key = old\n"
                     f"aws_session_token{rng.choice([' = ', ':', ' : '])}oldtoken" + rng.choice(["", "\nexpiration = 2001-01-01T00:00:00Z", "\n  more"]))
    if extra and rng.random() < 0.1:
        extra.append("[DEFAULT]\nregion = us-west-2")
    if extra:
        body = creds.rstrip("\r\n") if rng.random() < 0.7 else creds
        pieces = [body] if body else []
        for e in extra:
            pieces.insert(rng.randint(0, len(pieces)), e.replace("\n", nl)) if rng.random() < 0.5 else pieces.append(e.replace("\n", nl))
        creds = (nl + nl).join(pieces) + rng.choice([nl, ""])
    return config, creds


def botocore_full(d):
    """botocore's full_config of the pair in d (a deep copy), or the exception's name."""
    s = botocore.session.Session()
    s.set_config_variable("config_file", os.path.join(d, ".aws", "config"))
    s.set_config_variable("credentials_file", os.path.join(d, ".aws", "credentials"))
    try:
        return json.loads(json.dumps(s.full_config))
    except Exception as e:
        return {"error": type(e).__name__}


SECT = configparser.RawConfigParser.SECTCRE


def sections(text):
    """(header name or None for the preamble, text) of each section: the header line and
    every line up to the next header, line ends kept."""
    out = [[None, ""]]
    for line in re.findall(r"[^\n]*\n|[^\n]+$", text):
        m = SECT.match(line.strip()) if line[:1] == "[" else None
        if m:
            out.append([m.group("header"), line])
        else:
            out[-1][1] += line
    return [tuple(s) for s in out if s[0] is not None or s[1]]


def section_profile(header, which):
    """The profile botocore reads a section as (None: not a profile)."""
    if header is None:
        return None
    if which == "credentials":
        return None if header == "DEFAULT" else header
    profiles = botocore.configloader.build_profile_map({header: {}})["profiles"]
    return next(iter(profiles), None)


def check_bytes(before, after, which, edited, intended_keys):
    """Problems with the bytes of one file: sections of profiles not edited must keep
    their bytes and order; edited ones change in place (or go, or are appended at the end);
    inside an edited section only lines of the intended keys change."""
    b, a = sections(before), sections(after)
    if before == after:
        return []
    # Appending after a file with no final newline adds one: that is the only change
    # allowed to the last section before the new ones.
    tok = lambda s: ("EDIT", s[0]) if section_profile(s[0], which) in edited else ("KEEP", s[1])
    bt, at = [tok(s) for s in b], [tok(s) for s in a]
    # A section appended after the last one may add the line break a file without a final
    # newline lacks and a blank line between the two.
    if b and len(a) > len(b) and bt[-1][0] == "KEEP" and a[len(b) - 1][1].startswith(b[-1][1]) \
            and not a[len(b) - 1][1][len(b[-1][1]):].strip("\r\n"):
        at[len(b) - 1] = bt[-1]
    # Blank lines at the end of a section are the separator before the next one: they may
    # come or go with a section appended or removed after it.
    core = lambda t, text: ("KEEP", text.rstrip("\r\n")) if t[0] == "KEEP" else t
    bt = [core(t, x[1]) for t, x in zip(bt, b)]
    at = [core(t, x[1]) for t, x in zip(at, a)]
    problems = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, bt, at, autojunk=False).get_opcodes():
        if op == "equal":
            for i, j in zip(range(i1, i2), range(j1, j2)):
                if bt[i][0] == "KEEP" and b[i][1] != a[j][1] and not (b[i][1].rstrip("\r\n") == a[j][1].rstrip("\r\n") and (
                        i + 1 < len(b) and bt[i + 1][0] == "EDIT" or j + 1 < len(a) and at[j + 1][0] == "EDIT"
                        or (i + 1 == len(b) and j + 1 < len(a)))):
                    problems.append(f"{which}: section {b[i][0]!r} changed its line breaks ({b[i][1][-12:]!r} → {a[j][1][-12:]!r})")
            continue
        # A section emptied and removed may leave lines awsmfa kept (a comment, a
        # continuation): they then end the section before. Accept when the new text is
        # the old one less whole lines of edited sections.
        if op == "replace":
            old = [(line, t[0] == "EDIT") for t, x in zip(bt[i1:i2], b[i1:i2]) for line in x[1].splitlines()]
            new = "".join(x[1] for x in a[j1:j2]).splitlines()
            k = 0
            for line, edit in old:
                if k < len(new) and new[k] == line:
                    k += 1
                elif not (edit or not line.strip()):
                    break
            else:
                if k == len(new):
                    continue
        if op == "delete" and all(t[0] == "EDIT" for t in bt[i1:i2]):
            continue
        if op == "insert" and i1 == len(bt) and all(t[0] == "EDIT" for t in at[j1:j2]):
            continue
        what = [repr(s[0]) for s in (b[i1:i2] or a[j1:j2])]
        problems.append(f"{which}: section {', '.join(what)} {'rewritten' if op == 'replace' else 'removed' if op == 'delete' else 'inserted'}"
                        + (" (not one awsmfa meant to edit)" if any(t[0] == "KEEP" for t in bt[i1:i2] + at[j1:j2]) else " (not at the end)"))
    # Inside the edited sections that stayed: only intended keys' lines change.
    keyname = lambda line: re.split(r"\s*[=:]", line.strip(), maxsplit=1)[0].lower()
    bmap = {}
    for s in b:
        if tok(s)[0] == "EDIT":
            bmap.setdefault(s[0], []).append(s[1])
    for s in a:
        if tok(s)[0] != "EDIT" or s[0] not in bmap or not bmap[s[0]]:
            continue
        old = bmap[s[0]].pop(0)
        ol = [x.rstrip("\r\n") for x in re.findall(r"[^\n]*\n|[^\n]+$", old)[1:]]
        nl_ = [x.rstrip("\r\n") for x in re.findall(r"[^\n]*\n|[^\n]+$", s[1])[1:]]
        for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, ol, nl_, autojunk=False).get_opcodes():
            if op == "equal":
                continue
            # Removed lines: intended keys' lines and the continuation lines after them
            # (configparser: indented deeper than the key's line).
            cur, cur_indent = None, 0
            for k in range(0, i2):
                line = ol[k]
                indent = len(line) - len(line.lstrip())
                if line.strip() and not line.strip()[0] in "#;" and not (cur is not None and indent > cur_indent):
                    cur, cur_indent = keyname(line), indent
                if k >= i1 and cur not in intended_keys and not (k == len(ol) - 1 and op == "replace"
                                                                   and ol[k].rstrip("\r\n") == nl_[j1].rstrip("\r\n")):
                    if not (line.strip() == "" and k == len(ol) - 1):
                        problems.append(f"{which}: [{s[0]}] lost or changed line {line!r}")
            for line in nl_[j1:j2]:
                if line.strip() and keyname(line) not in intended_keys and not any(line.rstrip("\r\n") == o.rstrip("\r\n") for o in ol[i1:i2]):
                    problems.append(f"{which}: [{s[0]}] got line {line!r}")
    return problems


def awsmfa_sessions(d):
    out = []
    for path in glob.glob(os.path.join(d, "cache", "*.json")):
        try:
            v = json.load(open(path))
        except ValueError:
            continue
        if isinstance(v, dict) and "access_key_id" in v:
            out.append(v)
    return out


def substitute_keys(text, user):
    """The bed user's keys in place of every generated key pair (values only: separators,
    case, continuation lines stay as generated)."""
    def sub(m):
        key = m.group(2).lower()
        v = user["access_key_id"] if key == "aws_access_key_id" else user["secret_access_key"]
        return m.group(1) + m.group(2) + m.group(3) + v
    return re.sub(r"(?m)^([ \t]*)(aws_access_key_id|aws_secret_access_key)([ \t]*[=:][ \t]*)([^\r\n]*?)(?=[ \t]*\r?$)",
                  sub, text, flags=re.I)


def is_role(p):
    return "role_arn" in p or "web_identity_token_file" in p or any(k.startswith("sso_") for k in p)


def expect_write(op, case, B, A, d):
    """(edited profile names, problems) for a write awsmfa made (exit 0)."""
    problems = []
    P = case["profile"]
    bp, ap = B["profiles"], A["profiles"]
    changed = {n for n in set(bp) | set(ap) if bp.get(n) != ap.get(n)}
    # What a new section inherits: configparser gives every section the values of
    # [DEFAULT] (the same in both files, for botocore; the credentials file's win).
    defaults = {}
    for f in ("config", "credentials"):
        cp = configparser.RawConfigParser()
        try:
            cp.read(os.path.join(d, "before", f))
            defaults[f] = dict(cp.defaults())
        except configparser.Error:
            defaults[f] = {}
    inherits = lambda k, v: any(defaults[f].get(k) == v for f in defaults)
    intended = {}  # profile -> (expected dict or None for "absent or empty")
    if op.startswith("login"):
        sessions = awsmfa_sessions(d)
        if op == "login --target":
            targets = [case["target"]]
        else:
            # The session goes to [P], or to [P-mfa] when [P] holds long-term keys or P is
            # a role: whichever of the two now reads a new key.
            targets = [t for t in (P + "-mfa", P) if t in changed and
                       bp.get(t, {}).get("aws_access_key_id") != ap.get(t, {}).get("aws_access_key_id")] or [P]
        T = targets[0]
        got = ap.get(T, {})
        made = [s for s in sessions if s["access_key_id"] == got.get("aws_access_key_id")]
        if not made:
            problems.append(f"[{T}]: botocore reads key {mask(str(got.get('aws_access_key_id')))}, not a session awsmfa made"
                            + (" (no session written)" if T not in changed else ""))
            s = None
        else:
            s = made[0]
        exp = dict(bp.get(T, {}))
        if s:
            exp.update({"aws_access_key_id": s["access_key_id"], "aws_secret_access_key": s["secret_access_key"],
                        "aws_session_token": s["session_token"], "expiration": s["expiration"]})
            if "aws_security_token" in exp:
                # An older tool's name for the token, kept in step (README, aws-mfa).
                exp["aws_security_token"] = s["session_token"]
        # A profile awsmfa creates in the config gets the source profile's region and
        # endpoint settings (DESIGN §3).
        srcs = [bp.get(P, {})]
        cur = bp.get(P, {})
        for _ in range(10):
            nxt = cur.get("source_profile")
            if not nxt or nxt not in bp:
                break
            cur = bp[nxt]
            srcs.append(cur)
        for k in INHERITABLE:
            if k in got and k not in exp and any(sp.get(k) == got[k] for sp in srcs):
                exp[k] = got[k]
        intended[T] = (exp, set(SESSION_KEYS) | set(INHERITABLE))
        try:
            before_t = botocore.configloader.raw_config_parse(os.path.join(d, "before", "credentials")).get(T, {})
        except Exception:
            before_t = {}
        if "aws_access_key_id" in before_t and "aws_session_token" not in before_t \
                and "aws_security_token" not in before_t \
                and before_t.get("aws_access_key_id") != got.get("aws_access_key_id"):
            problems.append(f"[{T}]: long-term keys in the credentials file overwritten by a session")
        if is_role(got):
            problems.append(f"[{T}]: session written where the CLI does not use it (the profile is a role / SSO profile)")
        if "credential_process" in got and T in changed:
            pass  # keys in the credentials file win over credential_process in botocore
        if op == "login --save":
            e = intended.get(P, (dict(bp.get(P, {})), set()))[0]
            e["mfa_serial"] = case["serial"]
            # Saved in the config, but a credentials-file value wins for botocore: said.
            said = open(os.path.join(d, "stderr"), encoding="utf-8", errors="replace").read()
            if re.search(r"^warning: .* sets mfa_serial = .* too, and the AWS CLI", said, re.M):
                e["mfa_serial"] = ap.get(P, {}).get("mfa_serial")
            intended[P] = (e, intended.get(P, (None, set()))[1] | {"mfa_serial"})
    elif op == "add plaintext":
        n = case["name"] + "-long-term"
        exp = dict(bp.get(n, {}))
        exp.update({"aws_access_key_id": case["user"]["access_key_id"], "aws_secret_access_key": case["user"]["secret_access_key"]})
        intended[n] = (exp, set(KEY_PAIR))
    elif op == "import":
        # Every copy of the key pair goes: [NAME-long-term], [NAME] of the credentials
        # file, the profile's config section (one profile for botocore with [NAME]).
        n = case["name"]
        srcs = [s for s in (n + "-long-term", n) if s in changed]
        for S in srcs:
            exp = {k: v for k, v in bp.get(S, {}).items() if k not in KEY_PAIR}
            # awsmfa may leave `credential_process = awsmfa process --profile NAME` in the
            # config, so that the profile (and roles using it as source) still work for the CLI.
            cp_ = ap.get(S, {}).get("credential_process", "")
            if "credential_process" not in exp and re.fullmatch(r"\S*awsmfa process --profile " + re.escape(n), cp_):
                exp["credential_process"] = cp_
            intended[S] = (exp, set(KEY_PAIR) | {"credential_process"})
            if not all(k in bp.get(S, {}) for k in KEY_PAIR):
                problems.append(f"[{S}]: import changed a profile that held no key pair")
            held = all(k in bp.get(S, {}) for k in KEY_PAIR)
            for r, rp in bp.items():
                if held and r != S and rp.get("source_profile") == S and "role_arn" in rp and not any(k in ap.get(S, {}) for k in ("credential_process",) + KEY_PAIR):
                    problems.append(f"role [{r}] left without a source the CLI can use ([{S}] emptied)")
                    break
    elif op == "mfa create":
        said = case["stderr"]
        m = re.search(r"enabled (arn:\S+) for ", said)
        e = dict(bp.get(P, {}))
        e["mfa_serial"] = m.group(1) if m else "(no serial said)"
        if re.search(r"^warning: .* sets mfa_serial = .* too, and the AWS CLI", said, re.M):
            e["mfa_serial"] = ap.get(P, {}).get("mfa_serial")
        intended[P] = (e, {"mfa_serial"})
    elif op == "rotate":
        n = case["name"]
        srcs = [s for s in (n + "-long-term", n) if s in changed]
        S = srcs[0] if srcs else n
        exp = dict(bp.get(S, {}))
        new = ap.get(S, {})
        if new.get("aws_access_key_id") == exp.get("aws_access_key_id") or not str(new.get("aws_access_key_id", "")).startswith("AKIA"):
            problems.append(f"[{S}]: rotate left no new key id")
        exp.update({k: new.get(k) for k in KEY_PAIR})
        intended[S] = (exp, set(KEY_PAIR))
    for name, (exp, _) in intended.items():
        got = ap.get(name)
        if got is not None and name not in bp:
            # A new profile: configparser gives it [DEFAULT]'s values, as every section of
            # the file has. Harmless, unless they are credentials mixed with the new ones.
            for k in set(got) - set(exp):
                if inherits(k, got[k]):
                    if k in ("aws_access_key_id", "aws_secret_access_key", "aws_session_token", "aws_security_token"):
                        problems.append(f"[{name}]: new section inherits {k} from [DEFAULT]")
                    exp[k] = got[k]
        if got == exp or (op == "import" and got is None and all(inherits(k, v) for k, v in exp.items())):
            continue
        if op == "import" and got and all(k in got for k in KEY_PAIR):
            problems.append(f"[{name}]: botocore still reads a key pair after import (another copy: the config file?)")
            continue
        gone = sorted(k for k in exp if k not in (got or {}))
        extra = sorted(k for k in (got or {}) if k not in exp)
        wrong = sorted(k for k in exp if k in (got or {}) and got[k] != exp[k])
        detail = "; ".join(x for x in (
            f"lost {', '.join(gone)}" if gone else "",
            f"unexpected {', '.join(extra)}" if extra else "",
            ", ".join(f"{k} reads {shown_w(k, got[k])} instead of {shown_w(k, exp[k])}" for k in wrong)) if x)
        problems.append(f"[{name}] read by botocore not as intended: {detail or 'profile missing'}")
    for n in sorted(changed - set(intended)):
        if n not in bp:
            problems.append(f"profile [{n}] appeared")
        elif n not in ap:
            problems.append(f"profile [{n}] vanished")
        else:
            ks = sorted(k for k in set(bp[n]) | set(ap[n]) if bp[n].get(k) != ap[n].get(k))
            problems.append(f"other profile [{n}] changed: {', '.join(ks)}")
    for k in set(B) | set(A):
        if k != "profiles" and B.get(k) != A.get(k):
            problems.append(f"botocore's {k} changed")
    keys = set()
    for _, ks in intended.values():
        keys |= ks
    # import also removes a copy botocore never read (keys in a config section under a
    # session in the credentials file): its section's bytes may change.
    edited = set(intended) | ({case["name"]} if op == "import" else set())
    if op == "import":
        keys |= set(KEY_PAIR) | {"credential_process"}
    return edited, keys, problems


def shown_w(k, v):
    if not isinstance(v, str):
        return repr(v)
    if k in ("aws_secret_access_key", "aws_session_token", "aws_security_token"):
        return f"{v[:3]}…{size(v)}" + (" ending " + repr(v[-12:]) if "\n" in v else "")
    return repr(v)


WRITE_OPS = ["login", "login", "login --target", "login --save", "add plaintext", "import", "rotate",
             "mfa create"]


def write_case(awsmfa, bed, i, rng, user, root):
    """One write: a generated pair, an op, a run, the verdict."""
    config, creds = gen_write_pair(rng)
    op = rng.choice(WRITE_OPS)
    d = os.path.join(root, f"w{i}")
    os.makedirs(os.path.join(d, ".aws"))
    names = []
    full = None
    # Which profiles botocore sees (to pick one): parse before any key substitution.
    for fname, text in (("config", config), ("credentials", creds)):
        with open(os.path.join(d, ".aws", fname), "w", newline="") as f:
            f.write(text)
    full = botocore_full(d)
    names = sorted(full.get("profiles", {})) if "error" not in full else []
    pool = [n for n in names if not n.endswith("-long-term")] or ["a"]
    case = {"op": op, "user": user}
    env = {"HOME": d, "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "TZ": "UTC",
           "AWS_CONFIG_FILE": os.path.join(d, ".aws", "config"),
           "AWS_SHARED_CREDENTIALS_FILE": os.path.join(d, ".aws", "credentials"),
           "AWSMFA_CACHE_DIR": os.path.join(d, "cache"), "AWSMFA_VAULT_DIR": os.path.join(d, "vault"),
           "AWSMFA_VAULT_PASSPHRASE": PASSPHRASE, "AWSMFA_VAULT_WORK_FACTOR": "10",
           "AWS_ENDPOINT_URL_STS": bed.url, "AWS_ENDPOINT_URL_IAM": bed.url}
    def run(args, extra=None):
        e = dict(env, **(extra or {}))
        return subprocess.run([awsmfa] + args, env=e, capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, start_new_session=True, timeout=120)
    # Where the long-term keys come from: the generated pairs with the bed user's keys in
    # place of the generated ones, or (for profiles with no keys in the files) the vault.
    if op in ("rotate", "import") or rng.random() < 0.6:
        config, creds = substitute_keys(config, user), substitute_keys(creds, user)
        for fname, text in (("config", config), ("credentials", creds)):
            with open(os.path.join(d, ".aws", fname), "w", newline="") as f:
                f.write(text)
        case["keys"] = "files"
    else:
        case["keys"] = "vault"
        for n in pool:
            if "error" in full or not is_role(full["profiles"].get(n, {})):
                r = run(["add", n, "--from-env", "--no-verify", "--backend", "file"],
                        {"AWS_ACCESS_KEY_ID": user["access_key_id"], "AWS_SECRET_ACCESS_KEY": user["secret_access_key"]})
                if r.returncode != 0:
                    case.setdefault("vault_refused", []).append(n)
    P = rng.choice(pool)
    case["profile"] = P
    code = lambda: bed.code(user["mfa_serial"])
    if op.startswith("login"):
        args = ["-p", P, "login", "--token-code", code()]
        if op == "login --target":
            case["target"] = rng.choice(pool + [P + "-mfa", "t1", "new.name", P + "-long-term"])
            args += ["--target", case["target"]]
        if op == "login --save" or rng.random() < 0.7:
            args += ["--mfa-serial", user["mfa_serial"]]
        if op == "login --save":
            args.append("--save")
            case["serial"] = user["mfa_serial"]
    elif op == "add plaintext":
        case["name"] = rng.choice(pool + ["n1", P + "-x"])
        args = ["add", case["name"], "--backend", "plaintext", "--from-env", "--no-verify"]
    elif op == "import":
        case["name"] = P
        args = ["import", P, "--backend", "file"]
    elif op == "mfa create":
        # A second virtual device for the user, its seed in the vault, enabled with two
        # codes awsmfa computes; mfa_serial saved in the profile's config section.
        args = ["-p", P, "mfa", "create", f"d{os.getpid()}-{i}", "--store-seed", "--backend", "file"]
    else:
        case["name"] = P
        args = ["-p", P, "rotate", P, "--token-code", code(), "--wait", "20s"]
    paths = [os.path.join(d, ".aws", f) for f in ("config", "credentials")]
    before = [open(p, "rb").read() for p in paths]
    os.makedirs(os.path.join(d, "before"))
    for p, x in zip(paths, before):
        open(os.path.join(d, "before", os.path.basename(p)), "wb").write(x)
    B = botocore_full(d)
    r = run(args, {"AWS_ACCESS_KEY_ID": user["access_key_id"], "AWS_SECRET_ACCESS_KEY": user["secret_access_key"]}
            if op == "add plaintext" else None)
    after = [open(p, "rb").read() if os.path.exists(p) else b"" for p in paths]
    A = botocore_full(d)
    case.update({"dir": d, "args": args, "rc": r.returncode, "stderr": r.stderr.strip()})
    open(os.path.join(d, "stderr"), "w").write(f"awsmfa {' '.join(shlex.quote(a) for a in args)}\nexit {r.returncode}\n{r.stderr}")
    if r.returncode != 0:
        problems = []
        if before != after:
            problems.append("refused, but changed " + " and ".join(f for f, x, y in zip(("config", "credentials"), before, after) if x != y))
        # The harness's own choice of a cheap vault work factor is warned about.
        lines = [l for l in r.stderr.strip().splitlines() if not l.startswith("warning: AWSMFA_VAULT_WORK_FACTOR")]
        # What a credential_process / mfa_process helper says on stderr passes through.
        helper = [l for l in lines if l.startswith("awsmfa: ")]
        if helper and "process" in lines[lines.index(helper[0])]:
            lines = lines[lines.index(helper[0]):]
        if not (lines and lines[0].startswith("awsmfa: ") and all(l.startswith("hint: ") for l in lines[1:2]) and len(lines) <= 2):
            problems.append(f"refusal not one line: {r.stderr.strip()[:200]!r}")
        cat = normalized(lines[0] if lines else f"exit {r.returncode}")
        return op, "refused", cat, problems, case
    if "error" in B or "error" in A:
        if before == after:
            return op, "made", "nothing written (botocore refuses the files)", [], case
        what = "botocore refused the files before" if "error" in B else f"botocore refuses the files after ({A['error']})"
        return op, "made", "write", [what], case
    if before == after:
        if not op.startswith("login") or "still valid" in r.stderr:
            last = [l for l in r.stderr.strip().splitlines() if l.startswith("awsmfa: ")][-1:] or ["exit 0"]
            return op, "refused", "nothing written: " + normalized(last[0]), [], case
        return op, "made", "write", ["exit 0, but no session written"], case
    edited, keys, problems = expect_write(op, case, B, A, d)
    for which, x, y in zip(("config", "credentials"), before, after):
        problems += check_bytes(x.decode("utf-8", "replace"), y.decode("utf-8", "replace"), which, edited, keys)
    return op, "made", "write", problems, case


def write_category(problem):
    p = re.sub(r"\[[^\]]*\]", "[…]", problem)
    p = re.sub(r"'[^']*'|\"[^\"]*\"", "'…'", p)
    p = re.sub(r"(reads) .* (instead of) .*", r"\1 … \2 …", p)
    return p[:110]


def write_check(awsmfa, n, seed, show):
    bed = Bed()
    root = tempfile.mkdtemp(prefix="awsmfa-writes-")
    try:
        rng = random.Random(f"writes {seed}")
        users = seed_users(bed, [f"w{os.getpid()}-{i}" for i in range(n)], [f"R{i}" for i in range(10)])
        rngs = [random.Random(rng.random()) for _ in range(n)]
        names = sorted(users, key=lambda u: int(u.rsplit("-", 1)[1]))
        with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
            results = list(pool.map(lambda i: write_case(awsmfa, bed, i, rngs[i], users[names[i]], root), range(n)))
    finally:
        bed.stop()
    table, cats, wrong = {}, {}, []
    for op, kind, cat, problems, case in results:
        t = table.setdefault(op, {"made": 0, "refused": 0, "wrong": 0})
        if problems:
            t["wrong"] += 1
            wrong.append((op, problems, case))
            for p in sorted({write_category(p) for p in problems}):
                cats[("wrong", op, p)] = cats.get(("wrong", op, p), 0) + 1
        else:
            t[kind] += 1
            cats[(kind, op, cat)] = cats.get((kind, op, cat), 0) + 1
    print(f"\n{'write op':<16} {'cases':>6} {'made':>6} {'refused':>8} {'wrong':>6}")
    for op in sorted(table):
        t = table[op]
        print(f"{op:<16} {sum(t.values()):>6} {t['made']:>6} {t['refused']:>8} {t['wrong']:>6}")
    s = {k: sum(t[k] for t in table.values()) for k in ("made", "refused", "wrong")}
    print(f"{'total':<16} {sum(s.values()):>6} {s['made']:>6} {s['refused']:>8} {s['wrong']:>6}")
    for (kind, op, cat), count in sorted(cats.items(), key=lambda x: (x[0][0] != "wrong", -x[1])):
        print(f"  {count:>5} × {kind:<7} {op:<14} {cat}")
    for op, problems, case in wrong[:show]:
        print(f"WRONG WRITE: awsmfa {' '.join(shlex.quote(a) for a in case['args'])} (keys from the {case['keys']}; "
              f"files in {case['dir']}/.aws, exit {case['rc']}):")
        for p in problems[:6]:
            print(f"    {p}")
    # The cases' files stay only when one is wrong (their places are printed above).
    if not s["wrong"]:
        shutil.rmtree(root, ignore_errors=True)
    return s["wrong"]


# ---------------------------------------------------------------- main

def main():
    args = sys.argv[1:]
    awsmfa = args[0]
    n = int(args[args.index("--generated") + 1]) if "--generated" in args else 2000
    seed = int(args[args.index("--seed") + 1]) if "--seed" in args else 12
    show = int(args[args.index("--show") + 1]) if "--show" in args else 5
    writes = int(args[args.index("--writes") + 1]) if "--writes" in args else 0
    if "--only-writes" in args:
        sys.exit(1 if write_check(awsmfa, writes, seed, show) else 0)
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
    # The file pairs stay only when one differs unexplained (their places are printed).
    if not unexplained:
        shutil.rmtree(tmp, ignore_errors=True)
    wrong_writes = write_check(awsmfa, writes, seed, show) if writes else 0
    sys.exit(1 if unexplained or wrong_writes else 0)


if __name__ == "__main__":
    main()
