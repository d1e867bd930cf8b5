"""The bed's own tests: with boto3 as the client, it answers as README.md says AWS does.

Run: .venv/bin/python -m unittest tests/bed/test_bed.py   (scripts/test does)
"""

import json
import os
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

import boto3
import botocore.exceptions
from botocore.config import Config

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bed as bedmod  # noqa: E402


class BedTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp()
        ready = os.path.join(cls.dir, "ready.json")
        cls.proc = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "bed.py"), "serve", "--ready-file", ready],
            stdout=subprocess.DEVNULL,
        )
        for _ in range(600):
            if os.path.exists(ready):
                break
            time.sleep(0.1)
        cls.url = "http://127.0.0.1:%d" % json.load(open(ready))["port"]

    @classmethod
    def tearDownClass(cls):
        cls.proc.terminate()
        cls.proc.wait()

    def control(self, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method="POST" if data else "GET")
        return json.load(urllib.request.urlopen(req))

    def seed(self, **spec):
        return self.control("/_bed/seed", spec)

    def code(self, serial, offset=0):
        q = urllib.parse.urlencode({"serial": serial, "offset": offset})
        return self.control("/_bed/totp?" + q)["code"]

    def client(self, service, key, secret, token=None):
        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id=key,
            aws_secret_access_key=secret,
            aws_session_token=token,
            config=Config(retries={"max_attempts": 1}, parameter_validation=False),
        )

    def user(self, name, **kw):
        u = self.seed(users=[dict(name=name, **kw)])["users"][name]
        return u

    def error(self, call):
        with self.assertRaises(botocore.exceptions.ClientError) as ctx:
            call()
        return ctx.exception.response["Error"]

    def test_totp_matches_rfc_6238(self):
        # RFC 6238 appendix B, SHA1, 8 digits: seed "12345678901234567890".
        seed = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
        self.assertEqual(bedmod.totp(seed, 59, digits=8), "94287082")
        self.assertEqual(bedmod.totp(seed, 1111111109, digits=8), "07081804")
        self.assertEqual(bedmod.totp(seed, 20000000000, digits=8), "65353130")

    def test_get_session_token_checks_codes_durations_and_reuse(self):
        u = self.user("gst")
        sts = self.client("sts", u["access_key_id"], u["secret_access_key"])
        serial = u["mfa_serial"]
        err = self.error(lambda: sts.get_session_token(SerialNumber=serial, TokenCode="000000"
                                                       if self.code(serial) != "000000" else "111111"))
        self.assertEqual(err["Code"], "AccessDenied")
        self.assertIn("invalid MFA one time pass code", err["Message"])
        err = self.error(lambda: sts.get_session_token(DurationSeconds=899, SerialNumber=serial,
                                                       TokenCode=self.code(serial)))
        self.assertEqual(err["Code"], "ValidationError")
        code = self.code(serial)
        first = sts.get_session_token(SerialNumber=serial, TokenCode=code)["Credentials"]
        err = self.error(lambda: sts.get_session_token(SerialNumber=serial, TokenCode=code))
        self.assertIn("invalid MFA one time pass code", err["Message"])
        second = sts.get_session_token(SerialNumber=serial, TokenCode=self.code(serial, 1))["Credentials"]
        self.assertNotEqual(first["AccessKeyId"], second["AccessKeyId"])
        other = self.user("gst-other")
        err = self.error(lambda: sts.get_session_token(SerialNumber=other["mfa_serial"],
                                                       TokenCode=self.code(other["mfa_serial"])))
        self.assertIn("unable to validate MFA code", err["Message"])

    def test_signatures_and_keys_are_verified(self):
        u = self.user("sig")
        err = self.error(lambda: self.client("sts", u["access_key_id"], "wrong").get_caller_identity())
        self.assertEqual(err["Code"], "SignatureDoesNotMatch")
        err = self.error(lambda: self.client("sts", "AKIANOTAKEY000000000", "x").get_caller_identity())
        self.assertEqual(err["Code"], "InvalidClientTokenId")
        ident = self.client("sts", u["access_key_id"], u["secret_access_key"]).get_caller_identity()
        self.assertEqual(ident["Arn"], u["arn"])

    def test_force_mfa_policy_denies_long_term_keys_only(self):
        u = self.user("force")
        self.seed(buckets=["force-bucket"])
        s3 = self.client("s3", u["access_key_id"], u["secret_access_key"])
        self.assertEqual(self.error(s3.list_buckets)["Code"], "AccessDenied")
        creds = self.client("sts", u["access_key_id"], u["secret_access_key"]).get_session_token(
            SerialNumber=u["mfa_serial"], TokenCode=self.code(u["mfa_serial"]))["Credentials"]
        s3 = self.client("s3", creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
        names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
        self.assertIn("force-bucket", names)
        # A session without MFA is still denied.
        plain = self.client("sts", u["access_key_id"], u["secret_access_key"]).get_session_token()["Credentials"]
        s3 = self.client("s3", plain["AccessKeyId"], plain["SecretAccessKey"], plain["SessionToken"])
        self.assertEqual(self.error(s3.list_buckets)["Code"], "AccessDenied")

    def test_bool_false_deny_never_applies_to_long_term_keys(self):
        # The Wasabi article's policy: "Bool" on a key that long-term keys do not carry.
        policy = {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
            {"Effect": "Deny", "Action": "s3:*", "Resource": "*",
             "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "false"}}}]}
        u = self.user("wasabi-policy", policy=policy)
        s3 = self.client("s3", u["access_key_id"], u["secret_access_key"])
        s3.list_buckets()  # allowed: the Deny does not match

    def test_assume_role_with_mfa_trust_and_chaining_cap(self):
        u = self.user("roles", policy="allow-all")
        role = self.seed(roles=[{"name": "mfa-role", "max_session_seconds": 7200}])["roles"]["mfa-role"]
        sts = self.client("sts", u["access_key_id"], u["secret_access_key"])
        err = self.error(lambda: sts.assume_role(RoleArn=role["arn"], RoleSessionName="x1"))
        self.assertEqual(err["Code"], "AccessDenied")
        out = sts.assume_role(RoleArn=role["arn"], RoleSessionName="direct", DurationSeconds=7200,
                              SerialNumber=u["mfa_serial"], TokenCode=self.code(u["mfa_serial"]))
        self.assertTrue(out["AssumedRoleUser"]["Arn"].endswith(":assumed-role/mfa-role/direct"))
        mfa = sts.get_session_token(SerialNumber=u["mfa_serial"],
                                    TokenCode=self.code(u["mfa_serial"], 1))["Credentials"]
        via = self.client("sts", mfa["AccessKeyId"], mfa["SecretAccessKey"], mfa["SessionToken"])
        rs = via.assume_role(RoleArn=role["arn"], RoleSessionName="chained")["Credentials"]
        who = self.client("sts", rs["AccessKeyId"], rs["SecretAccessKey"], rs["SessionToken"])
        self.assertIn("assumed-role/mfa-role/chained", who.get_caller_identity()["Arn"])
        err = self.error(lambda: who.assume_role(RoleArn=role["arn"], RoleSessionName="again",
                                                 DurationSeconds=7200))
        self.assertIn("1 hour session limit", err["Message"])

    def signin(self, creds, duration=None):
        session = json.dumps({"sessionId": creds["AccessKeyId"], "sessionKey": creds["SecretAccessKey"],
                              "sessionToken": creds["SessionToken"]})
        query = {"Action": "getSigninToken", "Session": session}
        if duration is not None:
            query["SessionDuration"] = duration
        try:
            with urllib.request.urlopen(self.url + "/federation?" + urllib.parse.urlencode(query)) as r:
                return r.status, json.load(r)
        except urllib.error.HTTPError as e:
            return e.code, None

    def test_federation_endpoint_takes_role_and_federation_sessions_only(self):
        u = self.user("fed", policy="allow-all")
        role = self.seed(roles=[{"name": "fed-role"}])["roles"]["fed-role"]
        sts = self.client("sts", u["access_key_id"], u["secret_access_key"])
        mfa = sts.get_session_token(SerialNumber=u["mfa_serial"],
                                    TokenCode=self.code(u["mfa_serial"]))["Credentials"]
        self.assertEqual(self.signin(mfa), (400, None))
        via = self.client("sts", mfa["AccessKeyId"], mfa["SecretAccessKey"], mfa["SessionToken"])
        rs = via.assume_role(RoleArn=role["arn"], RoleSessionName="console")["Credentials"]
        status, answer = self.signin(rs)
        self.assertEqual(status, 200)
        arn = self.control("/_bed/signin?token=" + urllib.parse.quote(answer["SigninToken"]))["arn"]
        self.assertTrue(arn.endswith(":assumed-role/fed-role/console"), arn)
        self.assertEqual(self.signin(rs, 600)[0], 400)
        self.assertEqual(self.signin(dict(rs, SecretAccessKey="x"))[0], 400)
        fed = sts.get_federation_token(Name="fed-user", Policy=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
        self.assertTrue(fed["FederatedUser"]["Arn"].endswith(":federated-user/fed-user"))
        self.assertEqual(self.signin(fed["Credentials"], 3600)[0], 200)
        # Without a session policy a federation token may do nothing.
        bare = sts.get_federation_token(Name="bare")["Credentials"]
        s3 = self.client("s3", bare["AccessKeyId"], bare["SecretAccessKey"], bare["SessionToken"])
        self.assertEqual(self.error(s3.list_buckets)["Code"], "AccessDenied")
        # A force-MFA user's long-term keys cannot get one.
        forced = self.user("fed-forced")
        err = self.error(lambda: self.client("sts", forced["access_key_id"], forced["secret_access_key"])
                         .get_federation_token(Name="forced"))
        self.assertEqual(err["Code"], "AccessDenied")

    def test_short_sessions_expire(self):
        u = self.user("short")
        self.control("/_bed/config", {"session_seconds": 1})
        try:
            creds = self.client("sts", u["access_key_id"], u["secret_access_key"]).get_session_token(
                SerialNumber=u["mfa_serial"], TokenCode=self.code(u["mfa_serial"]))["Credentials"]
        finally:
            self.control("/_bed/config", {"session_seconds": None})
        time.sleep(1.5)
        sts = self.client("sts", creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
        self.assertEqual(self.error(sts.get_caller_identity)["Code"], "ExpiredToken")

    def test_a_spawned_bed_has_state_of_its_own_and_stops(self):
        other = self.control("/_bed/spawn", {})
        url = other["url"]
        config = urllib.request.Request(
            url + "/_bed/config", data=json.dumps({"clock_skew": 1200}).encode(), method="POST")
        json.load(urllib.request.urlopen(config))
        theirs = boto3.client(
            "sts", endpoint_url=url, region_name="us-east-1",
            aws_access_key_id=bedmod.ADMIN_KEY_ID, aws_secret_access_key=bedmod.ADMIN_SECRET,
            config=Config(retries={"max_attempts": 1}))
        self.assertIn("Signature", self.error(theirs.get_caller_identity)["Message"])
        mine = self.client("sts", bedmod.ADMIN_KEY_ID, bedmod.ADMIN_SECRET)
        self.assertIn("Arn", mine.get_caller_identity())  # this bed's clock is untouched
        self.control("/_bed/stop", {"port": other["port"]})
        with self.assertRaises(urllib.error.URLError):
            urllib.request.urlopen(url + "/_bed/calls", timeout=2)
        with self.assertRaises(urllib.error.HTTPError):
            self.control("/_bed/stop", {"port": other["port"]})


if __name__ == "__main__":
    unittest.main()
