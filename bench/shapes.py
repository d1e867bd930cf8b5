#!/usr/bin/env python3
"""Odd shapes of a shared config (issue 21, item 7): `awsmfa status` on one profile whose
file is mostly one huge construct, beside the file's size. Reading must be linear in time
and hold at most 10× the file in memory, whatever the shape.

Shapes, each at 1,000,000 and 2,000,000 lines (the 32 MiB cap allows about 4 M):
- nested: `s3 =` followed by indented `kN = v` lines in the profile itself;
- services: the same block in the `[services]` section the profile names;
- continuation: a value followed by indented lines without `=`.

Whole-process user time and peak resident memory from wait4 (one run each; the figures
are the kernel's own accounting). Prints a table and writes bench/results/shapes.md.
Run through `bench/run shapes`.
"""

import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from login import AWSMFA, ROOT, machine  # noqa: E402

SIZES = [1_000_000, 2_000_000]


def write_shape(path, shape, n):
    with open(path, "w") as f:
        if shape == "nested":
            f.write("[profile a]\nregion = us-east-1\ns3 =\n")
            f.writelines(f"  k{i} = v\n" for i in range(n))
        elif shape == "services":
            f.write("[profile a]\nregion = us-east-1\nservices = s\n[services s]\ns3 =\n")
            f.writelines(f"  k{i} = v\n" for i in range(n))
        else:
            f.write("[profile a]\nregion = us-east-1\nfoo = x\n")
            f.writelines(f"  line{i}\n" for i in range(n))


def measure(config):
    pid = os.posix_spawn(AWSMFA, [AWSMFA, "--config-file", config, "--credentials-file", os.devnull,
                                  "status"],
                         {"HOME": os.path.dirname(config), "PATH": "/usr/bin:/bin"},
                         file_actions=[(os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0)])
    _, status, usage = os.wait4(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"status failed on {config}")
    return usage.ru_utime, usage.ru_maxrss * 1024


def main():
    if not os.path.exists(AWSMFA):
        raise SystemExit(f"build first: {AWSMFA}")
    rows = []
    with tempfile.TemporaryDirectory() as d:
        for shape in ["nested", "services", "continuation"]:
            for n in SIZES:
                path = os.path.join(d, "config")
                write_shape(path, shape, n)
                size = os.path.getsize(path)
                user, rss = measure(path)
                rows.append((shape, n, size, user, rss))
                os.remove(path)
    lines = [
        "### Odd shapes of a config: one profile, one huge construct (`status`)",
        "",
        machine(),
        "",
        "| shape | lines | file | user time | peak memory | memory / file |",
        "|---|---|---|---|---|---|",
    ]
    for shape, n, size, user, rss in rows:
        lines.append(f"| {shape} | {n:,} | {size / 2**20:.1f} MiB | {user:.2f} s | "
                     f"{rss / 2**20:.0f} MiB | {rss / size:.1f}× |")
    text = "\n".join(lines) + "\n"
    print(text)
    os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
    with open(os.path.join(ROOT, "bench", "results", "shapes.md"), "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
