#!/usr/bin/env python3
"""Benchmark of the local credentials server (`awsmfa server`): latency of one served
credential (a new connection per request, as SDKs make them) and requests per second
with 8 concurrent clients, all served from the session cache. Against the local STS bed.
Prints a table and writes bench/results/server.md. Run through `bench/run server`.
"""

import http.client
import os
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
        server = subprocess.Popen([AWSMFA, "-p", "r", "server", "--format", "dotenv"], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        vals = {}
        for _ in range(2):
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
        out = ["### Local credentials server (container credentials protocol), cached session\n",
               f"Machine: {machine()}. Client: Python http.client, a new connection per request.\n",
               "| measure | value |", "|---|---|",
               f"| latency, one client, median | {statistics.median(lat) * 1000:.2f} ms |",
               f"| latency, one client, p99 | {lat[int(len(lat) * 0.99) - 1] * 1000:.2f} ms |",
               f"| requests per second, 8 concurrent clients | {rps:.0f} |"]
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


if __name__ == "__main__":
    main()
