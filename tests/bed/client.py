"""A client of the test bed for the Python test scripts: starts `bed.py serve` on a free
loopback port, talks to its control API (/_bed/…) and stops it.

    bed = Bed()                      # raises BedError when it does not come up in 60 s
    users = bed.users("alice")       # force-MFA users with keys and a virtual MFA device
    code = bed.code(users["alice"]["mfa_serial"])
    bed.stop()
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))


class BedError(Exception):
    pass


class Bed:
    def __init__(self, python=None):
        self.dir = tempfile.mkdtemp(prefix="awsmfa-bed-")
        ready = os.path.join(self.dir, "ready.json")
        self.log = os.path.join(self.dir, "bed.log")
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(
                [python or sys.executable, os.path.join(HERE, "bed.py"), "serve",
                 "--exit-on-stdin-eof", "--ready-file", ready],
                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=log)
        deadline = time.time() + 60
        while True:
            try:
                with open(ready) as f:
                    self.port = json.load(f)["port"]
                break
            except (OSError, ValueError, KeyError):
                if time.time() > deadline or self.proc.poll() is not None:
                    raise BedError(f"the test bed did not start (its log: {self.log})")
                time.sleep(0.05)
        self.url = f"http://127.0.0.1:{self.port}"

    def control(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"content-type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.load(resp)

    def users(self, *names, policy="force-mfa"):
        spec = [{"name": n, "policy": policy, "mfa": True} for n in names]
        return self.control("POST", "/_bed/seed", {"users": spec})["users"]

    def code(self, serial, offset=0):
        q = urllib.parse.urlencode({"serial": serial, "offset": offset})
        return self.control("GET", f"/_bed/totp?{q}")["code"]

    def calls(self):
        return self.control("GET", "/_bed/calls")

    def stop(self):
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=10)
        except Exception:
            self.proc.kill()
        shutil.rmtree(self.dir, ignore_errors=True)
