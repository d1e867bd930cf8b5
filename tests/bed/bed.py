#!/usr/bin/env python3
"""The awsmfa test bed: moto's STS/IAM/S3 server behind a fidelity layer.

moto accepts any MFA code, any duration and any signature, and hands out one fixed
GetSessionToken key pair. Real STS does none of that, and awsmfa has to be tested
against what real STS does. This layer sits in front of moto's WSGI application, in the
same process, and adds (see README.md beside this file for the full list):

* SigV4 verification of every request with the caller's secret key, and AWS's errors
  for unknown keys, bad signatures, expired signatures and expired session tokens;
* GetSessionToken and AssumeRole answered here: duration bounds, TOTP codes checked against the
  virtual MFA device's seed (+-1 step), reused codes rejected, distinct working session
  keys issued; GetCallerIdentity answered for long-term and session keys;
* EnableMFADevice checks its two consecutive codes;
* a small IAM policy evaluator so that a "force MFA" policy denies requests signed
  with long-term keys while MFA session keys pass;
* a control API under /_bed/ for tests: seeding users, devices, policies and buckets,
  per-action call counters, shorter session lifetimes, clock skew and injected faults,
  and other beds started on request (for tests whose own side cannot start one).

Run: python bed.py serve [--port N] [--ready-file F]   (prints {"port": N} when ready)
     python bed.py totp SEED [--offset STEPS]            (prints the current code)
"""

import argparse
import base64
import fnmatch
import hashlib
import hmac
import io
import json
import os
import re
import secrets
import struct
import sys
import threading
import time
import urllib.parse
import uuid
from datetime import datetime, timedelta, timezone

ACCOUNT_ID = "123456789012"
os.environ.setdefault("MOTO_ACCOUNT_ID", ACCOUNT_ID)
# The bed's own administrator: not an IAM user, allowed everything, used for seeding.
ADMIN_KEY_ID = "AKIABEDADMIN00000000"
ADMIN_SECRET = "bed-admin-secret-key-0000000000000000000"

STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/"
IAM_NS = "https://iam.amazonaws.com/doc/2010-05-08/"

FORCE_MFA_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Sid": "AllowEverythingWithMfa", "Effect": "Allow", "Action": "*", "Resource": "*"},
        {
            "Sid": "BlockMostAccessUnlessSignedInWithMFA",
            "Effect": "Deny",
            "NotAction": [
                "iam:CreateVirtualMFADevice",
                "iam:EnableMFADevice",
                "iam:ListMFADevices",
                "iam:ListVirtualMFADevices",
                "iam:ResyncMFADevice",
                "iam:GetUser",
                "sts:GetSessionToken",
            ],
            "Resource": "*",
            "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
        },
    ],
}
ALLOW_ALL_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}


# --------------------------------------------------------------------------- TOTP
def totp(seed_b32, at=None, step=30, digits=6):
    """RFC 6238 TOTP (SHA1), the algorithm of IAM virtual MFA devices."""
    at = time.time() if at is None else at
    return hotp(seed_b32, int(at // step), digits)


def hotp(seed_b32, counter, digits=6):
    key = base64.b32decode(seed_b32 + "=" * (-len(seed_b32) % 8), casefold=True)
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    off = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[off : off + 4])[0] & 0x7FFFFFFF
    return str(value % (10**digits)).zfill(digits)


# --------------------------------------------------------------------------- state
class Session:
    def __init__(self, user, secret, token, expires, mfa, mfa_time, role=None, name=None):
        self.federated = None  # GetFederationToken: (name, session policy or None)
        self.user = user  # moto IAM User behind the session (the source identity)
        self.secret = secret
        self.token = token
        self.expires = expires
        self.mfa = mfa
        self.mfa_time = mfa_time
        self.role = role  # moto IAM Role, for AssumeRole sessions
        self.role_session_name = name

    @property
    def arn(self):
        if self.role is not None:
            return f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/{self.role.name}/{self.role_session_name}"
        if self.federated is not None:
            return f"arn:aws:sts::{ACCOUNT_ID}:federated-user/{self.federated[0]}"
        return self.user.arn


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.sessions = {}  # access key id -> Session
        self.used_steps = {}  # serial -> set of used TOTP time steps
        self.calls = {}  # "sts:GetSessionToken" -> count
        self.session_seconds = None  # cap on issued session lifetimes (tests)
        self.role_session_seconds = None  # the same for AssumeRole sessions only
        self.clock_skew = 0  # seconds added to the bed's clock (Date header and checks)
        self.faults = []  # [{"action": "...", "kind": "throttle|500|garbage", "count": n}]
        self.new_key_delay = 0  # seconds a key made by CreateAccessKey is refused (IAM lag)
        self.new_keys = {}  # access key id -> when CreateAccessKey made it
        self.signin_tokens = {}  # console sign-in token -> the session's ARN

    def now(self):
        return datetime.now(timezone.utc) + timedelta(seconds=self.clock_skew)

    def count(self, action):
        with self.lock:
            self.calls[action] = self.calls.get(action, 0) + 1

    def take_fault(self, action):
        with self.lock:
            for fault in self.faults:
                if fault["action"] in (action, "*") and fault["count"] > 0:
                    fault["count"] -= 1
                    return fault["kind"]
        return None


STATE = State()


def iam_backend():
    from moto.iam.models import iam_backends

    return iam_backends[ACCOUNT_ID]["aws"]


# --------------------------------------------------------------------------- errors
class AwsError(Exception):
    def __init__(self, status, code, message, sender=True):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.sender = sender


def xml_escape(text):
    return (
        str(text)
        .replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
    )


def query_error_body(err, service):
    ns = IAM_NS if service == "iam" else STS_NS
    kind = "Sender" if err.sender else "Receiver"
    return (
        f'<ErrorResponse xmlns="{ns}">\n  <Error>\n    <Type>{kind}</Type>\n'
        f"    <Code>{xml_escape(err.code)}</Code>\n"
        f"    <Message>{xml_escape(err.message)}</Message>\n  </Error>\n"
        f"  <RequestId>{uuid.uuid4()}</RequestId>\n</ErrorResponse>\n"
    )


def s3_error_body(err):
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{xml_escape(err.code)}</Code><Message>{xml_escape(err.message)}</Message>"
        f"<RequestId>{uuid.uuid4().hex[:16].upper()}</RequestId></Error>"
    )


# --------------------------------------------------------------------------- SigV4
def uri_encode(text, keep_slash=False):
    safe = "-_.~" + ("/" if keep_slash else "")
    return urllib.parse.quote(text, safe=safe)


def canonical_query(raw_query):
    pairs = []
    for part in raw_query.split("&") if raw_query else []:
        if not part:
            continue
        key, _, value = part.partition("=")
        key = urllib.parse.unquote_plus(key) if "+" not in key else urllib.parse.unquote(key)
        value = urllib.parse.unquote(value)
        pairs.append((uri_encode(key), uri_encode(value)))
    pairs.sort()
    return "&".join(f"{k}={v}" for k, v in pairs)


def parse_authorization(header):
    if not header.startswith("AWS4-HMAC-SHA256 "):
        raise AwsError(400, "IncompleteSignature", "Unsupported signature algorithm.")
    fields = {}
    for item in header[len("AWS4-HMAC-SHA256 ") :].split(","):
        key, _, value = item.strip().partition("=")
        fields[key] = value
    try:
        key_id, date, region, service, term = fields["Credential"].split("/")
        signed = fields["SignedHeaders"].split(";")
        signature = fields["Signature"]
    except (KeyError, ValueError):
        raise AwsError(
            400,
            "IncompleteSignature",
            "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders'.",
        )
    return key_id, date, region, service, term, signed, signature


def signing_key(secret, date, region, service):
    key = ("AWS4" + secret).encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def header_value(environ, name):
    if name == "content-type":
        return environ.get("CONTENT_TYPE", "")
    if name == "content-length":
        return environ.get("CONTENT_LENGTH", "")
    return environ.get("HTTP_" + name.upper().replace("-", "_"), "")


def verify_signature(environ, body, secret, parsed, service):
    _key_id, date, region, _svc, _term, signed, signature = parsed
    raw_uri = environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ["PATH_INFO"]
    raw_path, _, raw_query = raw_uri.partition("?")
    if service == "s3":
        canonical_uri = raw_path or "/"
    else:
        canonical_uri = uri_encode(urllib.parse.unquote(raw_path) or "/", keep_slash=True)
        canonical_uri = uri_encode(canonical_uri, keep_slash=True)
    headers = ""
    for name in signed:
        value = " ".join(header_value(environ, name).split())
        headers += f"{name}:{value}\n"
    payload = environ.get("HTTP_X_AMZ_CONTENT_SHA256") or hashlib.sha256(body).hexdigest()
    request = "\n".join(
        [
            environ["REQUEST_METHOD"],
            canonical_uri,
            canonical_query(raw_query),
            headers,
            ";".join(signed),
            payload,
        ]
    )
    amz_date = environ.get("HTTP_X_AMZ_DATE", "")
    scope = f"{date}/{region}/{service}/aws4_request"
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(request.encode()).hexdigest()]
    )
    expected = hmac.new(
        signing_key(secret, date, region, service), to_sign.encode(), hashlib.sha256
    ).hexdigest()
    if not hmac.compare_digest(expected, signature):
        raise AwsError(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method. "
            "Consult the service documentation for details.",
        )
    try:
        when = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        raise AwsError(400, "IncompleteSignature", "Missing or invalid X-Amz-Date header.")
    now = STATE.now()
    if abs((now - when).total_seconds()) > 15 * 60:
        fmt = "%Y%m%dT%H%M%SZ"
        if service == "s3":
            raise AwsError(
                403,
                "RequestTimeTooSkewed",
                "The difference between the request time and the current time is too large.",
            )
        if when < now:
            detail = (
                f"Signature expired: {when.strftime(fmt)} is now earlier than "
                f"{(now - timedelta(minutes=15)).strftime(fmt)} ({now.strftime(fmt)} - 15 min.)"
            )
        else:
            detail = (
                f"Signature not yet current: {when.strftime(fmt)} is still later than "
                f"{(now + timedelta(minutes=15)).strftime(fmt)} ({now.strftime(fmt)} + 15 min.)"
            )
        raise AwsError(403, "SignatureDoesNotMatch", detail)


# --------------------------------------------------------------------------- principals
class Principal:
    def __init__(self, kind, user=None, session=None):
        self.kind = kind  # "admin", "user", "session" (GetSessionToken or AssumeRole)
        self.user = user
        self.session = session

    @property
    def role(self):
        return self.session.role if self.session is not None else None

    @property
    def arn(self):
        return self.session.arn if self.session is not None else self.user.arn


def resolve_principal(environ, body, parsed, service):
    key_id = parsed[0]
    if key_id == ADMIN_KEY_ID:
        verify_signature(environ, body, ADMIN_SECRET, parsed, service)
        return Principal("admin")
    with STATE.lock:
        session = STATE.sessions.get(key_id)
    if session is not None:
        token = environ.get("HTTP_X_AMZ_SECURITY_TOKEN", "")
        if not hmac.compare_digest(token, session.token):
            raise AwsError(
                403, "InvalidClientTokenId", "The security token included in the request is invalid."
            )
        verify_signature(environ, body, session.secret, parsed, service)
        if STATE.now() >= session.expires:
            raise AwsError(
                403, "ExpiredToken", "The security token included in the request is expired"
            )
        return Principal("session", user=session.user, session=session)
    backend = iam_backend()
    key = backend.access_keys.get(key_id)
    if key is None or key.status != "Active":
        if service == "s3":
            raise AwsError(
                403,
                "InvalidAccessKeyId",
                "The AWS Access Key Id you provided does not exist in our records.",
            )
        raise AwsError(
            403, "InvalidClientTokenId", "The security token included in the request is invalid."
        )
    with STATE.lock:
        made = STATE.new_keys.get(key_id)
        delay = STATE.new_key_delay
    if made is not None and time.monotonic() < made + delay:
        # IAM is eventually consistent: a new key is unknown to STS for a few seconds.
        raise AwsError(
            403, "InvalidClientTokenId", "The security token included in the request is invalid."
        )
    verify_signature(environ, body, key.secret_access_key, parsed, service)
    user = backend.get_user_from_access_key_id(key_id)
    return Principal("user", user=user)


# --------------------------------------------------------------------------- policies
def parse_policy(doc):
    if isinstance(doc, str):
        doc = json.loads(urllib.parse.unquote(doc) if doc.startswith("%7B") else doc)
    return doc


def principal_policies(principal):
    """Identity policies: the role's for a role session, else the user's and its groups'."""
    owner = principal.role if principal.role is not None else principal.user
    docs = list(owner.policies.values())
    docs += [p.default_version.document for p in owner.managed_policies.values()]
    if principal.role is None:
        for group in iam_backend().groups.values():
            if owner in group.users:
                docs += list(group.policies.values())
                docs += [p.default_version.document for p in group.managed_policies.values()]
    return [parse_policy(d) for d in docs]


def as_list(value):
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def glob_match(pattern, value):
    return fnmatch.fnmatchcase(value.lower(), pattern.lower().replace("[", "[[]"))


def condition_matches(conditions, context):
    """All operators must hold. Keys compare case-insensitively, as in IAM."""
    for operator, block in conditions.items():
        if_exists = operator.endswith("IfExists")
        base = operator[: -len("IfExists")] if if_exists else operator
        for key, wanted in block.items():
            actual = context.get(key.lower())
            if actual is None:
                if if_exists:
                    continue
                return False
            wanted = [str(w).lower() for w in as_list(wanted)]
            if base == "Bool":
                if str(actual).lower() not in wanted:
                    return False
            elif base.startswith("Numeric"):
                ops = {
                    "NumericEquals": lambda a, b: a == b,
                    "NumericNotEquals": lambda a, b: a != b,
                    "NumericLessThan": lambda a, b: a < b,
                    "NumericLessThanEquals": lambda a, b: a <= b,
                    "NumericGreaterThan": lambda a, b: a > b,
                    "NumericGreaterThanEquals": lambda a, b: a >= b,
                }
                if base not in ops or not any(ops[base](float(actual), float(w)) for w in wanted):
                    return False
            elif base in ("StringEquals", "StringEqualsIgnoreCase"):
                if str(actual).lower() not in wanted:
                    return False
            elif base == "StringLike":
                if not any(glob_match(w, str(actual)) for w in wanted):
                    return False
            else:
                return False  # operators the bed does not know never match
    return True


def statement_applies(stmt, action, resource, context):
    if "Action" in stmt:
        if not any(glob_match(p, action) for p in as_list(stmt["Action"])):
            return False
    elif "NotAction" in stmt:
        if any(glob_match(p, action) for p in as_list(stmt["NotAction"])):
            return False
    else:
        return False
    if resource is not None:
        if "Resource" in stmt:
            if not any(glob_match(p, resource) for p in as_list(stmt["Resource"])):
                return False
        elif "NotResource" in stmt and any(
            glob_match(p, resource) for p in as_list(stmt["NotResource"])
        ):
            return False
    return condition_matches(stmt.get("Condition", {}), context)


def request_context(principal, mfa_now=False):
    """IAM condition keys of a request (lower-cased). aws:MultiFactorAuthPresent is
    absent for long-term keys, as in AWS."""
    context = {"aws:viaawsservice": "false"}
    if principal.user is not None:
        context["aws:username"] = principal.user.name
    if mfa_now:
        context["aws:multifactorauthpresent"] = "true"
        context["aws:multifactorauthage"] = "0"
    elif principal.kind == "session":
        context["aws:multifactorauthpresent"] = "true" if principal.session.mfa else "false"
        if principal.session.mfa:
            age = (STATE.now() - principal.session.mfa_time).total_seconds()
            context["aws:multifactorauthage"] = str(int(age))
    return context


def authorize(principal, action, resource):
    if principal.kind == "admin":
        return
    # AWS: policies have no effect on these two (see the IAM user guide).
    if action in ("sts:GetSessionToken", "sts:GetCallerIdentity"):
        return
    context = request_context(principal)
    session = principal.session
    if session is not None and session.federated is not None:
        # GetFederationToken: the session policy limits the user's own; without one the
        # session may do nothing.
        policy = session.federated[1]
        if policy is None or not any(
            stmt.get("Effect") == "Allow" and statement_applies(stmt, action, resource, context)
            for stmt in as_list(policy.get("Statement"))
        ):
            raise AwsError(
                403,
                "AccessDenied",
                f"User: {principal.arn} is not authorized to perform: {action} "
                f"because no session policy allows the {action} action",
            )
    allowed = False
    for doc in principal_policies(principal):
        for stmt in as_list(doc.get("Statement")):
            if not statement_applies(stmt, action, resource, context):
                continue
            if stmt.get("Effect") == "Deny":
                raise AwsError(
                    403,
                    "AccessDenied",
                    f"User: {principal.arn} is not authorized to perform: {action} "
                    f"with an explicit deny in an identity-based policy",
                )
            if stmt.get("Effect") == "Allow":
                allowed = True
    if not allowed:
        raise AwsError(
            403,
            "AccessDenied",
            f"User: {principal.arn} is not authorized to perform: {action} "
            f"because no identity-based policy allows the {action} action",
        )


def s3_action(method, path, query):
    parts = [p for p in path.split("/") if p]
    if not parts:
        return "s3:ListAllMyBuckets", "arn:aws:s3:::*"
    bucket = parts[0]
    if len(parts) == 1:
        resource = f"arn:aws:s3:::{bucket}"
        if "location" in query:
            return "s3:GetBucketLocation", resource
        if method == "PUT":
            return "s3:CreateBucket", resource
        if method == "DELETE":
            return "s3:DeleteBucket", resource
        if method == "POST" and "delete" in query:
            return "s3:DeleteObject", resource + "/*"
        return "s3:ListBucket", resource
    resource = f"arn:aws:s3:::{bucket}/{'/'.join(parts[1:])}"
    actions = {"GET": "s3:GetObject", "HEAD": "s3:GetObject", "PUT": "s3:PutObject"}
    return actions.get(method, "s3:DeleteObject" if method == "DELETE" else "s3:PutObject"), resource


# --------------------------------------------------------------------------- STS actions
def iso(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def sts_response(action, inner):
    return (
        f'<{action}Response xmlns="{STS_NS}">\n  <{action}Result>\n{inner}  </{action}Result>\n'
        f"  <ResponseMetadata>\n    <RequestId>{uuid.uuid4()}</RequestId>\n"
        f"  </ResponseMetadata>\n</{action}Response>\n"
    )


def validation_error(field, value, constraint):
    return AwsError(
        400,
        "ValidationError",
        f"1 validation error detected: Value '{value}' at '{field}' failed to satisfy "
        f"constraint: {constraint}",
    )


def check_code(serial, code, user):
    """Checks a TOTP code against the device's seed, as STS does; returns nothing or raises."""
    backend = iam_backend()
    device = backend.virtual_mfa_devices.get(serial)
    if device is None or device.user is None or user is None or device.user.name != user.name:
        raise AwsError(
            403,
            "AccessDenied",
            "MultiFactorAuthentication failed, unable to validate MFA code. "
            "Please verify your MFA serial number is valid and associated with this user.",
        )
    if not (isinstance(code, str) and len(code) == 6 and code.isdigit()):
        raise validation_error(
            "tokenCode", code, "Member must satisfy regular expression pattern: [\\d]*"
        )
    now = STATE.now().timestamp()
    current = int(now // 30)
    for step in (current, current - 1, current + 1):
        if hotp(device.base32_string_seed, step) == code:
            with STATE.lock:
                used = STATE.used_steps.setdefault(serial, set())
                if step in used:
                    break
                used.add(step)
            return
    raise AwsError(
        403,
        "AccessDenied",
        "MultiFactorAuthentication failed with invalid MFA one time pass code. ",
    )


def new_session(user, seconds, mfa, role=None, name=None, mfa_time=None):
    key_id = "ASIA" + "".join(secrets.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(16))
    secret = base64.b64encode(secrets.token_bytes(30)).decode()
    token = "FwoGZXIvYXdzEBED" + base64.b64encode(secrets.token_bytes(180)).decode()
    cap = STATE.role_session_seconds if role is not None else None
    if cap is None:
        cap = STATE.session_seconds
    if cap is not None:
        seconds = min(seconds, cap)
    now = STATE.now()
    session = Session(
        user, secret, token, now + timedelta(seconds=seconds), mfa, mfa_time or now, role, name
    )
    with STATE.lock:
        STATE.sessions[key_id] = session
    return key_id, session


def get_session_token(principal, params):
    if principal.kind == "session":
        raise AwsError(403, "AccessDenied", "Cannot call GetSessionToken with session credentials")
    if principal.kind == "admin":
        raise AwsError(403, "AccessDenied", "The bed's administrator key has no sessions")
    raw = params.get("DurationSeconds", "43200")
    try:
        seconds = int(raw)
    except ValueError:
        raise AwsError(400, "MalformedInput", "Invalid value for DurationSeconds")
    if seconds < 900:
        raise validation_error(
            "durationSeconds", seconds, "Member must have value greater than or equal to 900"
        )
    if seconds > 129600:
        raise validation_error(
            "durationSeconds", seconds, "Member must have value less than or equal to 129600"
        )
    serial = params.get("SerialNumber")
    code = params.get("TokenCode")
    if (serial is None) != (code is None):
        raise AwsError(
            403,
            "AccessDenied",
            "MultiFactorAuthentication failed, unable to validate MFA code. "
            "Please verify your MFA serial number is valid and associated with this user.",
        )
    if serial is not None:
        check_code(serial, code, principal.user)
    key_id, session = new_session(principal.user, seconds, serial is not None)
    inner = (
        "    <Credentials>\n"
        f"      <SessionToken>{session.token}</SessionToken>\n"
        f"      <SecretAccessKey>{session.secret}</SecretAccessKey>\n"
        f"      <Expiration>{iso(session.expires)}</Expiration>\n"
        f"      <AccessKeyId>{key_id}</AccessKeyId>\n"
        "    </Credentials>\n"
    )
    return sts_response("GetSessionToken", inner)


def get_federation_token(principal, params):
    if principal.kind != "user":
        raise AwsError(
            403, "AccessDenied", "Cannot call GetFederationToken with session credentials"
        )
    name = params.get("Name", "")
    if not re.fullmatch(r"[\w+=,.@-]{2,32}", name):
        raise validation_error("name", name, "Member must satisfy regular expression pattern: [\\w+=,.@-]+")
    seconds = int(params.get("DurationSeconds", "43200"))
    if not 900 <= seconds <= 129600:
        raise validation_error("durationSeconds", seconds, "Member must be between 900 and 129600")
    policy = json.loads(params["Policy"]) if "Policy" in params else None
    key_id, session = new_session(principal.user, seconds, False)
    session.federated = (name, policy)
    inner = (
        "    <Credentials>\n"
        f"      <SessionToken>{session.token}</SessionToken>\n"
        f"      <SecretAccessKey>{session.secret}</SecretAccessKey>\n"
        f"      <Expiration>{iso(session.expires)}</Expiration>\n"
        f"      <AccessKeyId>{key_id}</AccessKeyId>\n"
        "    </Credentials>\n"
        "    <FederatedUser>\n"
        f"      <Arn>{session.arn}</Arn>\n"
        f"      <FederatedUserId>{ACCOUNT_ID}:{name}</FederatedUserId>\n"
        "    </FederatedUser>\n"
    )
    return sts_response("GetFederationToken", inner)


def federation(environ):
    """The console sign-in endpoint (`/federation`): `getSigninToken` answers for role
    and federation-token sessions the layer issued; GetSessionToken sessions, long-term
    keys, expired or unknown sessions and a bad SessionDuration get a bare 400, as AWS's
    endpoint answers."""
    query = dict(urllib.parse.parse_qsl(environ.get("QUERY_STRING", "")))
    if query.get("Action") != "getSigninToken":
        return 400, None
    try:
        given = json.loads(query.get("Session", ""))
        key_id = given["sessionId"]
        secret = given["sessionKey"]
        token = given["sessionToken"]
    except (ValueError, KeyError, TypeError):
        return 400, None
    if "SessionDuration" in query:
        try:
            duration = int(query["SessionDuration"])
        except ValueError:
            return 400, None
        if not 900 <= duration <= 43200:
            return 400, None
    with STATE.lock:
        session = STATE.sessions.get(key_id)
    if (
        session is None
        or not hmac.compare_digest(secret, session.secret)
        or not hmac.compare_digest(token, session.token)
        or STATE.now() >= session.expires
        or (session.role is None and session.federated is None)
    ):
        STATE.count("signin:getSigninToken refused")
        return 400, None
    kind = "role" if session.role is not None else "federation-token"
    STATE.count(f"signin:getSigninToken {kind}")
    STATE.count(f"{session.user.name}/signin:getSigninToken {kind}")
    signin = "bed-" + base64.urlsafe_b64encode(secrets.token_bytes(48)).decode()
    with STATE.lock:
        STATE.signin_tokens[signin] = session.arn
    return 200, {"SigninToken": signin}


def trust_allows(role, principal, context):
    doc = parse_policy(role.assume_role_policy_document)
    allowed = False
    for stmt in as_list(doc.get("Statement")):
        if not any(glob_match(a, "sts:AssumeRole") for a in as_list(stmt.get("Action"))):
            continue
        who = stmt.get("Principal", {})
        names = ["*"] if who == "*" else as_list(who.get("AWS") if isinstance(who, dict) else None)
        trusted = any(
            n == "*"
            or n in (ACCOUNT_ID, f"arn:aws:iam::{ACCOUNT_ID}:root")
            or (principal.user is not None and n == principal.user.arn and principal.role is None)
            or (principal.role is not None and n == principal.role.arn)
            for n in names
        )
        if not trusted or not condition_matches(stmt.get("Condition", {}), context):
            continue
        if stmt.get("Effect") == "Deny":
            return False
        allowed = allowed or stmt.get("Effect") == "Allow"
    return allowed


def assume_role(principal, params):
    if principal.kind == "admin":
        raise AwsError(403, "AccessDenied", "The bed's administrator key cannot assume roles")
    role_arn = params.get("RoleArn", "")
    name = params.get("RoleSessionName", "")
    if not (2 <= len(name) <= 64) or any(not (c.isalnum() or c in "_+=,.@-") for c in name):
        raise validation_error(
            "roleSessionName", name, "Member must satisfy regular expression pattern: [\\w+=,.@-]*"
        )
    denied = AwsError(
        403,
        "AccessDenied",
        f"User: {principal.arn} is not authorized to perform: sts:AssumeRole on resource: {role_arn}",
    )
    try:
        role = iam_backend().get_role_by_arn(role_arn)
    except Exception:
        raise denied
    serial, code = params.get("SerialNumber"), params.get("TokenCode")
    mfa_now = False
    if serial is not None or code is not None:
        if serial is None or code is None:
            raise AwsError(
                403,
                "AccessDenied",
                "MultiFactorAuthentication failed, unable to validate MFA code. "
                "Please verify your MFA serial number is valid and associated with this user.",
            )
        check_code(serial, code, principal.user)
        mfa_now = True
    context = request_context(principal, mfa_now)
    if params.get("ExternalId") is not None:
        context["sts:externalid"] = params["ExternalId"]
    if not trust_allows(role, principal, context):
        raise denied
    try:
        authorize(principal, "sts:AssumeRole", role_arn)
    except AwsError:
        raise denied
    chained = principal.role is not None
    max_secs = 3600 if chained else int(role.max_session_duration or 3600)
    seconds = int(params.get("DurationSeconds", "3600"))
    if seconds < 900:
        raise validation_error(
            "durationSeconds", seconds, "Member must have value greater than or equal to 900"
        )
    if seconds > 43200:
        raise validation_error(
            "durationSeconds", seconds, "Member must have value less than or equal to 43200"
        )
    if seconds > max_secs:
        if chained:
            message = (
                "The requested DurationSeconds exceeds the 1 hour session limit "
                "for roles assumed by role chaining."
            )
        else:
            message = "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
        raise AwsError(400, "ValidationError", message)
    mfa = mfa_now or (principal.session is not None and principal.session.mfa)
    mfa_time = principal.session.mfa_time if (principal.session and not mfa_now) else None
    key_id, session = new_session(principal.user, seconds, mfa, role, name, mfa_time)
    inner = (
        "    <Credentials>\n"
        f"      <AccessKeyId>{key_id}</AccessKeyId>\n"
        f"      <SecretAccessKey>{session.secret}</SecretAccessKey>\n"
        f"      <SessionToken>{session.token}</SessionToken>\n"
        f"      <Expiration>{iso(session.expires)}</Expiration>\n"
        "    </Credentials>\n"
        "    <AssumedRoleUser>\n"
        f"      <AssumedRoleId>{role.id}:{name}</AssumedRoleId>\n"
        f"      <Arn>{session.arn}</Arn>\n"
        "    </AssumedRoleUser>\n"
    )
    return sts_response("AssumeRole", inner)


def get_caller_identity(principal, _params):
    if principal.kind == "admin":
        arn, user_id = f"arn:aws:iam::{ACCOUNT_ID}:root", ACCOUNT_ID
    elif principal.role is not None:
        arn = principal.arn
        user_id = f"{principal.role.id}:{principal.session.role_session_name}"
    else:
        arn, user_id = principal.user.arn, principal.user.id
    inner = (
        f"    <Arn>{arn}</Arn>\n    <UserId>{user_id}</UserId>\n"
        f"    <Account>{ACCOUNT_ID}</Account>\n"
    )
    return sts_response("GetCallerIdentity", inner)


def consecutive_codes(serial, device, params, before, after):
    """Whether AuthenticationCode1/2 are the codes of two consecutive steps near now;
    marks both steps used."""
    code1, code2 = params.get("AuthenticationCode1", ""), params.get("AuthenticationCode2", "")
    current = int(STATE.now().timestamp() // 30)
    for step in range(current - before, current + after):
        if hotp(device.base32_string_seed, step) == code1 and hotp(
            device.base32_string_seed, step + 1
        ) == code2:
            with STATE.lock:
                STATE.used_steps.setdefault(serial, set()).update({step, step + 1})
            return True
    return False


def enable_mfa_device(principal, params):
    """Checks the two consecutive codes, then lets moto record the device."""
    serial = params.get("SerialNumber", "")
    device = iam_backend().virtual_mfa_devices.get(serial)
    if device is None:
        raise AwsError(404, "NoSuchEntity", f"VirtualMFADevice with serial number {serial} doesn't exist.")
    if consecutive_codes(serial, device, params, 2, 1):
        return None
    raise AwsError(
        403,
        "InvalidAuthenticationCode",
        "Authentication code for device is not valid.",
    )


def resync_mfa_device(principal, params):
    """moto has no ResyncMFADevice: two consecutive codes near the device's clock."""
    serial = params.get("SerialNumber", "")
    device = iam_backend().virtual_mfa_devices.get(serial)
    if device is None or device.user is None:
        raise AwsError(404, "NoSuchEntity", f"MFA device with serial number {serial} doesn't exist.")
    if principal.user is None or device.user.name != params.get("UserName", principal.user.name):
        raise AwsError(403, "AccessDenied", "The device does not belong to that user.")
    if consecutive_codes(serial, device, params, 10, 10):
        return (
            f'<ResyncMFADeviceResponse xmlns="{IAM_NS}"><ResponseMetadata>'
            f"<RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata></ResyncMFADeviceResponse>"
        )
    raise AwsError(403, "InvalidAuthenticationCode", "Authentication code for device is not valid.")


# --------------------------------------------------------------------------- control API
def seed(spec):
    """Creates users (keys, policy, virtual MFA device) and buckets through moto's backends."""
    backend = iam_backend()
    out = {"users": {}, "account": ACCOUNT_ID}
    for u in spec.get("users", []):
        name = u["name"]
        user = backend.create_user(region_name="us-east-1", user_name=name, path="/", tags=[])
        key = backend.create_access_key(name, prefix="AKIA")
        policy = u.get("policy", "force-mfa")
        if policy == "force-mfa":
            policy = FORCE_MFA_POLICY
        elif policy == "allow-all":
            policy = ALLOW_ALL_POLICY
        if policy:
            backend.put_user_policy(name, "bed-policy", json.dumps(policy))
        entry = {
            "access_key_id": key.access_key_id,
            "secret_access_key": key.secret_access_key,
            "arn": user.arn,
        }
        if u.get("mfa", True):
            device = backend.create_virtual_mfa_device(u.get("device_name", name), "/")
            backend.enable_mfa_device(name, device.serial_number, "000000", "000000")
            entry["mfa_serial"] = device.serial_number
            entry["mfa_seed"] = device.base32_string_seed
        out["users"][name] = entry
    for r in spec.get("roles", []):
        trust = r.get("trust", "mfa")
        if trust == "mfa":
            trust = {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"},
                        "Action": "sts:AssumeRole",
                        "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
                    }
                ],
            }
        role = backend.create_role(
            role_name=r["name"],
            assume_role_policy_document=json.dumps(trust),
            path="/",
            permissions_boundary=None,
            description="",
            tags=[],
            max_session_duration=str(r.get("max_session_seconds", 3600)),
        )
        policy = r.get("policy", "allow-all")
        if policy == "allow-all":
            policy = ALLOW_ALL_POLICY
        if policy:
            backend.put_role_policy(r["name"], "bed-policy", json.dumps(policy))
        out.setdefault("roles", {})[r["name"]] = {"arn": role.arn}
    if spec.get("buckets"):
        from moto.s3.models import s3_backends

        s3 = s3_backends[ACCOUNT_ID]["aws"]
        for bucket in spec["buckets"]:
            s3.create_bucket(bucket, "us-east-1")
    return out


def control(environ, body):
    path = environ["PATH_INFO"]
    method = environ["REQUEST_METHOD"]
    data = json.loads(body or b"{}")
    if path == "/_bed/seed" and method == "POST":
        return seed(data)
    if path == "/_bed/calls":
        with STATE.lock:
            calls = dict(STATE.calls)
            if method == "DELETE":
                STATE.calls.clear()
        return calls
    if path == "/_bed/config" and method == "POST":
        with STATE.lock:
            if "session_seconds" in data:
                STATE.session_seconds = data["session_seconds"]
            if "role_session_seconds" in data:
                STATE.role_session_seconds = data["role_session_seconds"]
            if "clock_skew" in data:
                STATE.clock_skew = data["clock_skew"]
            if "faults" in data:
                STATE.faults = [dict(f) for f in data["faults"]]
            if "new_key_delay" in data:
                STATE.new_key_delay = data["new_key_delay"]
        return {"ok": True}
    if path == "/_bed/signin":
        token = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))["token"][0]
        with STATE.lock:
            return {"arn": STATE.signin_tokens.get(token)}
    if path == "/_bed/whois":
        key = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))["access_key_id"][0]
        with STATE.lock:
            session = STATE.sessions.get(key)
        if session is None:
            raise AwsError(404, "NotFound", "no session with that key")
        return {
            "user": session.user.name,
            "arn": session.arn,
            "role": session.role.name if session.role is not None else None,
            "mfa": session.mfa,
            "expires": iso(session.expires),
        }
    if path == "/_bed/totp":
        query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
        serial = query["serial"][0]
        offset = int(query.get("offset", ["0"])[0])
        device = iam_backend().virtual_mfa_devices[serial]
        at = STATE.now().timestamp() + 30 * offset
        return {"code": totp(device.base32_string_seed, at), "step": int(at // 30)}
    if path == "/_bed/spawn" and method == "POST":
        return spawn_bed()
    if path == "/_bed/stop" and method == "POST":
        return stop_bed(int(data["port"]))
    raise AwsError(404, "NotFound", "no such bed control")


# Beds started through /_bed/spawn, by port. Each exits when this one does (its standard
# input, a pipe from here, closes) or when /_bed/stop closes that pipe.
SPAWNED = {}
SPAWNED_LOCK = threading.Lock()


def spawn_bed():
    """Another bed of this kind, with state of its own: what a test that changes the bed's
    behaviour uses when it cannot start one itself (the Windows tests under Wine, whose
    Python here is a Linux program)."""
    import shutil
    import subprocess
    import tempfile

    place = tempfile.mkdtemp()
    ready = os.path.join(place, "ready.json")
    child = subprocess.Popen(
        [sys.executable, os.path.abspath(__file__), "serve", "--exit-on-stdin-eof",
         "--ready-file", ready],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 60
        while not os.path.exists(ready):
            if child.poll() is not None or time.time() > deadline:
                child.kill()
                raise RuntimeError("the spawned bed did not start")
            time.sleep(0.05)
        with open(ready) as f:
            port = json.load(f)["port"]
    finally:
        shutil.rmtree(place, ignore_errors=True)
    with SPAWNED_LOCK:
        SPAWNED[port] = child
    return {"port": port, "url": f"http://127.0.0.1:{port}"}


def stop_bed(port):
    with SPAWNED_LOCK:
        child = SPAWNED.pop(port, None)
    if child is None:
        raise AwsError(404, "NotFound", f"no bed spawned on port {port}")
    child.stdin.close()
    child.wait(timeout=10)
    return {"stopped": port}


# --------------------------------------------------------------------------- middleware
class Fidelity:
    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        body = self.read_body(environ)
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        path = environ.get("PATH_INFO", "/")
        service = "sts"
        try:
            if path.startswith("/_bed/"):
                try:
                    answer = control(environ, body)
                except AwsError:
                    raise
                except Exception as exc:  # a test's bad request: say what, don't crash
                    error = {"error": f"{type(exc).__name__}: {exc}"}
                    return self.reply(start_response, 400, json.dumps(error), "application/json")
                return self.reply(start_response, 200, json.dumps(answer), "application/json")
            if path == "/federation":
                status, answer = federation(environ)
                if answer is None:
                    return self.reply(start_response, status, "<html>Bad Request</html>", "text/html")
                return self.reply(start_response, status, json.dumps(answer), "application/json")
            auth = environ.get("HTTP_AUTHORIZATION", "")
            if not auth:
                raise AwsError(
                    403,
                    "MissingAuthenticationToken",
                    "Request is missing Authentication Token",
                )
            parsed = parse_authorization(auth)
            service = parsed[3]
            params = {}
            if service in ("sts", "iam"):
                params = dict(urllib.parse.parse_qsl(environ.get("QUERY_STRING", "")))
                if body:
                    params.update(urllib.parse.parse_qsl(body.decode("utf-8", "replace")))
                action = f"{service}:{params.get('Action', '')}"
            else:
                query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
                action, resource = s3_action(environ["REQUEST_METHOD"], path, query)
            STATE.count(action)
            fault = STATE.take_fault(action.split(":", 1)[1])
            if fault == "throttle":
                raise AwsError(400, "Throttling", "Rate exceeded")
            if fault == "500":
                raise AwsError(500, "InternalFailure", "An internal error occurred.", sender=False)
            if fault == "503":
                raise AwsError(503, "ServiceUnavailable", "Service is unavailable.", sender=False)
            if fault == "garbage":
                return self.reply(start_response, 200, "<html>this is not STS</html>", "text/html")
            principal = resolve_principal(environ, body, parsed, service)
            if principal.user is not None:
                STATE.count(f"{principal.user.name}/{action}")
            if action == "sts:GetSessionToken":
                return self.reply(start_response, 200, get_session_token(principal, params))
            if action == "sts:GetCallerIdentity":
                return self.reply(start_response, 200, get_caller_identity(principal, params))
            if action == "sts:AssumeRole":
                return self.reply(start_response, 200, assume_role(principal, params))
            if action == "sts:GetFederationToken":
                authorize(principal, action, None)
                return self.reply(start_response, 200, get_federation_token(principal, params))
            if service in ("sts", "iam"):
                authorize(principal, action, None)
                if action == "iam:EnableMFADevice":
                    enable_mfa_device(principal, params)
                if action == "iam:ResyncMFADevice":
                    return self.reply(start_response, 200, resync_mfa_device(principal, params))
                if (
                    service == "iam"
                    and "UserName" not in params
                    and principal.user is not None
                    and principal.role is None
                ):
                    # IAM acts on the calling user when UserName is left out; moto does not.
                    body += b"&" + urllib.parse.urlencode({"UserName": principal.user.name}).encode()
                    environ["wsgi.input"] = io.BytesIO(body)
                    environ["CONTENT_LENGTH"] = str(len(body))
            else:
                authorize(principal, action, resource)
            if action == "iam:CreateAccessKey":
                return self.record_new_key(environ, start_response)
            return self.app(environ, self.skewed(start_response))
        except AwsError as err:
            if service == "s3":
                return self.reply(start_response, err.status, s3_error_body(err))
            return self.reply(start_response, err.status, query_error_body(err, service))

    def record_new_key(self, environ, start_response):
        captured = {}

        def start(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, headers
            return lambda data: None

        data = b"".join(self.app(environ, self.skewed(start)))
        found = re.search(rb"<AccessKeyId>([A-Z0-9]+)</AccessKeyId>", data)
        if found:
            with STATE.lock:
                STATE.new_keys[found.group(1).decode()] = time.monotonic()
        start_response(captured["status"], captured["headers"])
        return [data]

    @staticmethod
    def read_body(environ):
        length = environ.get("CONTENT_LENGTH")
        stream = environ["wsgi.input"]
        if length:
            return stream.read(int(length))
        if environ.get("wsgi.input_terminated"):
            return stream.read()
        return b""

    @staticmethod
    def date_header():
        return STATE.now().strftime("%a, %d %b %Y %H:%M:%S GMT")

    def skewed(self, start_response):
        def start(status, headers, exc_info=None):
            headers = [(k, v) for k, v in headers if k.lower() != "date"]
            headers.append(("Date", self.date_header()))
            return start_response(status, headers, exc_info)

        return start

    def reply(self, start_response, status, text, content_type="text/xml"):
        data = text.encode()
        reasons = {200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found", 500: "Internal Server Error", 503: "Service Unavailable"}
        start_response(
            f"{status} {reasons.get(status, 'Error')}",
            [
                ("Content-Type", content_type),
                ("Content-Length", str(len(data))),
                ("Date", self.date_header()),
                ("x-amzn-RequestId", str(uuid.uuid4())),
            ],
        )
        return [data]


def serve(port, ready_file):
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import WSGIRequestHandler, make_server

    class Handler(WSGIRequestHandler):
        # http.server adds its own Date header; the bed's (possibly skewed) one must be
        # the only one, as it is what clients compare their clock with.
        def send_response(self, code, message=None):
            self.log_request(code)
            self.send_response_only(code, message)
            self.send_header("Server", "awsmfa-test-bed")

    app = Fidelity(DomainDispatcherApplication(create_backend_app))
    server = make_server("127.0.0.1", port, app, threaded=True, request_handler=Handler)
    ready = json.dumps({"port": server.server_port, "pid": os.getpid()})
    if ready_file:
        tmp = ready_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(ready)
        os.replace(tmp, ready_file)
    print(ready, flush=True)
    server.serve_forever()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--port", type=int, default=0)
    s.add_argument("--ready-file")
    s.add_argument(
        "--exit-on-stdin-eof",
        action="store_true",
        help="stop when standard input closes (so a test's bed dies with the test)",
    )
    t = sub.add_parser("totp")
    t.add_argument("seed")
    t.add_argument("--offset", type=int, default=0)
    args = parser.parse_args()
    if args.cmd == "serve":
        import logging

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        if args.exit_on_stdin_eof:

            def watch():
                sys.stdin.buffer.read()
                os._exit(0)

            threading.Thread(target=watch, daemon=True).start()
        serve(args.port, args.ready_file)
    else:
        print(totp(args.seed, time.time() + 30 * args.offset))


if __name__ == "__main__":
    sys.exit(main())
