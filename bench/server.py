#!/usr/bin/env python3
"""Benchmark of the local credentials server (`awsmfa server`): latency of one served
credential (a new connection per request, as SDKs make them) and requests per second
with 8 concurrent clients, all served from the session cache; the same latency while 64
idle and 16 slow-dripping connections are open, with the server's threads and memory;
and how often a 15-minute role is assumed under `exec --server` and `credential_process`.
Against the local STS bed. Prints a table and writes bench/results/server.md. Run through
`bench/run server`.
"""

import http.client
import os
import socket
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from login import AWSMFA, ROOT, Bed, machine  # noqa: E402
from process import setup_home  # noqa: E402

N = int(os.environ.get("BENCH_ROUNDS", "1000"))


def main():
    bed = Bed()
    server = None
    try:
        seeded = bed.post("/_bed/seed", {"users": [{"name": "srv", "policy": "allow-all"}],
                                         "roles": [{"name": "srv-role"}]})
        user = dict(seeded["users"]["srv"], name="srv")
        home, _ = setup_home(bed, user, {"r": seeded["roles"]["srv-role"]["arn"]})
        env = {"HOME": home, "PATH": "/usr/bin:/bin"}
        server = subprocess.Popen([AWSMFA, "-p", "r", "server", "--foreground", "--format", "dotenv"], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        vals = {}
        while "AWS_CONTAINER_AUTHORIZATION_TOKEN" not in vals:
            k, v = server.stdout.readline().strip().split("=", 1)
            vals[k] = v.strip("'")
        url = vals["AWS_CONTAINER_CREDENTIALS_FULL_URI"]
        token = vals["AWS_CONTAINER_AUTHORIZATION_TOKEN"]
        hostport, path = url[len("http://"):].split("/", 1)
        host, port = hostport.split(":")

        def get():
            c = http.client.HTTPConnection(host, int(port), timeout=10)
            c.request("GET", "/" + path, headers={"Authorization": token})
            r = c.getresponse()
            r.read()
            c.close()
            if r.status != 200:
                raise SystemExit(f"status {r.status}")

        for _ in range(20):
            get()
        lat = []
        for _ in range(N):
            s = time.perf_counter()
            get()
            lat.append(time.perf_counter() - s)
        lat.sort()

        per_thread = N // 8
        start = time.perf_counter()
        threads = [threading.Thread(target=lambda: [get() for _ in range(per_thread)]) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - start
        rps = per_thread * 8 / elapsed
        # Idle and slow clients: 64 connections that send nothing, 16 that send one
        # header byte every half second.
        idle = [socket.create_connection((host, int(port))) for _ in range(64)]
        stop = threading.Event()

        def drip():
            s = socket.create_connection((host, int(port)))
            for b in b"GET /" * 100:
                if stop.is_set():
                    break
                try:
                    s.send(bytes([b]))
                except OSError:
                    s = socket.create_connection((host, int(port)))
                time.sleep(0.5)
        drippers = [threading.Thread(target=drip) for _ in range(16)]
        for t in drippers:
            t.start()
        time.sleep(0.5)
        busy = []
        for _ in range(200):
            s = time.perf_counter()
            get()
            busy.append(time.perf_counter() - s)
        busy.sort()
        status = dict(line.split(":", 1) for line in open(f"/proc/{server.pid}/status"))
        threads_busy = int(status["Threads"])
        rss_busy = int(status["VmRSS"].split()[0])
        stop.set()
        for t in drippers:
            t.join()
        for c in idle:
            c.close()

        short = short_roles(bed)
        out = ["### Local credentials server (container credentials protocol), cached session\n",
               f"Machine: {machine()}. Client: Python http.client, a new connection per request.\n",
               "| measure | value |", "|---|---|",
               f"| latency, one client, median | {statistics.median(lat) * 1000:.2f} ms |",
               f"| latency, one client, p99 | {lat[int(len(lat) * 0.99) - 1] * 1000:.2f} ms |",
               f"| requests per second, 8 concurrent clients | {rps:.0f} |",
               f"| latency with 64 idle + 16 slow-drip connections open, median | {statistics.median(busy) * 1000:.2f} ms |",
               f"| the same, max of 200 | {busy[-1] * 1000:.2f} ms |",
               f"| server threads / resident memory meanwhile | {threads_busy} / {rss_busy // 1024} MiB |",
               "",
               "A role with `duration_seconds = 900` (AWS's minimum): AssumeRole calls made.\n",
               "| client | calls | AssumeRole |", "|---|---|---|"] + short
    finally:
        if server:
            server.terminate()
            server.wait()
        bed.stop()
    text = "\n".join(out) + "\n"
    print(text)
    os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
    with open(os.path.join(ROOT, "bench", "results", "server.md"), "w") as f:
        f.write(text)


def short_roles(bed):
    """AssumeRole calls for a 15-minute role: boto3 under `exec --server` (10 calls), and
    the AWS CLI through `credential_process` (10 commands)."""
    seeded = bed.post("/_bed/seed", {"users": [{"name": "short", "policy": "allow-all"}],
                                     "roles": [{"name": "short-role"}]})
    user = dict(seeded["users"]["short"], name="short")
    home, _ = setup_home(bed, user, {"r": seeded["roles"]["short-role"]["arn"]})
    with open(os.path.join(home, ".aws", "config"), "a") as f:
        f.write(f"duration_seconds = 900\nregion = us-east-1\n\n[profile cp]\n"
                f"credential_process = {AWSMFA} process -p r\nregion = us-east-1\n"
                f"endpoint_url = {bed.url}\n")
    env = {"HOME": home, "PATH": "/usr/bin:/bin"}

    def assumed():
        return bed.get("/_bed/calls").get("short/sts:AssumeRole", 0)
    rows = []
    job = ("import boto3\nsts = boto3.client('sts')\n"
           "for _ in range(10): sts.get_caller_identity()\n")
    python = os.path.join(ROOT, ".venv", "bin", "python")
    subprocess.run([AWSMFA, "-p", "r", "exec", "--server", "--", python, "-c", job],
                   env=env, check=True)
    rows.append(f"| boto3 under `exec --server` | 10 | {assumed()} |")
    before = assumed()
    aws = os.path.join(ROOT, ".venv", "bin", "aws")
    for _ in range(10):
        subprocess.run([aws, "--profile", "cp", "sts", "get-caller-identity"], env=env,
                       check=True, stdout=subprocess.DEVNULL)
    rows.append(f"| AWS CLI, `credential_process` | 10 | {assumed() - before} |")
    return rows


if __name__ == "__main__":
    main()
