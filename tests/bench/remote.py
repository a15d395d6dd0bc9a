#!/usr/bin/python3
"""remote.py -- the remote tier's benchmark (issue 16), apart from run.py.

    bash mount-scripts/setup.sh && /usr/bin/python3 tests/bench/remote.py

Starts its own redis-server on 127.0.0.1 on a free port (tests/
redis_server.py) and memofs mounts (memofs -f) in a temporary directory
under TMPDIR, and removes every mount, process and file at the end, on
failure and Ctrl-C too.  Prints two tables:

1. One cold read (open, read, close of a result not in the kernel's
   cache) served from each level, per read: the local store (RocksDB, a
   remount of a filled cache), the remote tier (a fresh mount: local miss,
   lease check, GET, verify, copy into RocksDB) and recomputation (no
   remote; `column` with no delay, the cheapest computation there is),
   one thread (latency: median and p99) and 8 threads (throughput).
2. The cluster run: 3 mounts with their own caches and workers=2 each,
   48 results of 0.2 s each (`column` with -o delay=0.2), every mount
   reading all 48 at once in its own random order.  Total computations
   must be 48 (a correctness check: exit 1 otherwise) and every read
   must give the expected bytes; wall time against the ideal for the 6
   combined workers, 48 x 0.2 / 6 = 1.6 s.

Exit status: 0 when every correctness check held, 1 otherwise.  Timing
targets are reported, not enforced.
"""
import argparse
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE.parent))
from redis_server import RedisServer  # noqa: E402

MOUNT_TIMEOUT_S = 30.0


def mounted(path):
    with open("/proc/self/mountinfo") as f:
        return any(l.split()[4] == str(path) for l in f)


class Mount:
    """memofs -f -o OPTS DATA MNT, logging to a file."""

    def __init__(self, binary, root, name, data, opts):
        self.mnt = root / name
        self.mnt.mkdir()
        self.logf = root / (name + ".log")
        with open(self.logf, "wb") as log:
            self.proc = subprocess.Popen(
                [binary, "-f", "-o", ",".join(opts), str(data),
                 str(self.mnt)], stdin=subprocess.DEVNULL, stdout=log,
                stderr=log)
        deadline = time.monotonic() + MOUNT_TIMEOUT_S
        while not mounted(self.mnt):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"no mount: {self.log()[-2000:]}")
            time.sleep(0.01)

    def log(self):
        return self.logf.read_text(errors="replace")

    def count(self, fn):
        return len(re.findall(rf"\b{fn}\(col\d+\): computing", self.log()))

    def read(self, rel):
        with open(self.mnt / rel, "rb", buffering=0) as f:
            return f.read()

    def close(self):
        if mounted(self.mnt):
            subprocess.run(["fusermount3", "-u", str(self.mnt)],
                           capture_output=True)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if mounted(self.mnt):
            subprocess.run(["fusermount3", "-uz", str(self.mnt)],
                           capture_output=True)


class Bench:
    def __init__(self, binary, root):
        self.binary = binary
        self.root = root
        self.n = 0
        self.mounts = []

    def mount(self, data, opts):
        self.n += 1
        m = Mount(self.binary, self.root, f"m{self.n}", data, opts)
        self.mounts.append(m)
        return m

    def close_all(self):
        for m in self.mounts:
            m.close()


def write_csv(path, ncols, nrows):
    with open(path, "w") as f:
        for r in range(nrows):
            f.write(",".join(repr(r * 0.5 + c) for c in range(ncols)) + "\n")


def expected(c, nrows):
    return "".join(f"{repr(float(r * 0.5 + c))}\n"
                   for r in range(nrows)).encode()


def timed_reads(m, rels, threads):
    """Reads each of rels once; returns (per-read seconds, wall seconds,
    the bytes)."""
    def one(rel):
        t0 = time.perf_counter()
        b = m.read(rel)
        return time.perf_counter() - t0, b
    t0 = time.perf_counter()
    if threads == 1:
        out = [one(r) for r in rels]
    else:
        with ThreadPoolExecutor(threads) as ex:
            out = list(ex.map(one, rels))
    wall = time.perf_counter() - t0
    return [t for t, _ in out], wall, [b for _, b in out]


def levels(b, redis, args, failures):
    """Table 1: a cold read served by each level."""
    ncols, nrows = args.results, 100
    data = b.root / "levels.csv"
    write_csv(data, ncols, nrows)
    rels = [f"column/col{c}" for c in range(ncols)]
    want = [expected(c, nrows) for c in range(ncols)]
    filled = b.root / "filled"
    prefix = "lv"
    src = b.mount(data, [f"remote={redis.url}", f"remote_prefix={prefix}",
                         f"cache={filled}"])
    _, _, got = timed_reads(src, rels, 8)
    src.close()
    if got != want:
        failures.append("levels: the filling mount read wrong bytes")
    kinds = {
        "local store": [f"cache={filled}"],
        "remote (Redis)": [f"remote={redis.url}", f"remote_prefix={prefix}"],
        "recompute": [],
    }
    rows = []
    for name, opts in kinds.items():
        lat, thr = [], []
        for threads, sink in ((1, lat), (8, thr)):
            for _ in range(args.reps):
                order = rels[:]
                random.shuffle(order)
                m = b.mount(data, opts + ["workers=2"])
                per, wall, got = timed_reads(m, order, threads)
                computed = m.count("column")
                m.close()
                if got != [want[int(r[10:])] for r in order]:
                    failures.append(f"levels: {name}: wrong bytes")
                if name != "recompute" and computed:
                    failures.append(f"levels: {name}: computed {computed}")
                if threads == 1:
                    sink.extend(per)
                else:
                    sink.append(len(order) / wall)
        lat.sort()
        rows.append((name, statistics.median(lat) * 1e6,
                     lat[int(0.99 * (len(lat) - 1))] * 1e6,
                     statistics.median(thr)))
    print(f"\n1. one cold read per level ({ncols} distinct results of "
          f"{len(want[0])} bytes, {args.reps} mounts each)")
    print(f"{'level':<16} {'median us':>10} {'p99 us':>10} "
          f"{'reads/s, 8 threads':>20}")
    for name, med, p99, ops in rows:
        print(f"{name:<16} {med:>10.0f} {p99:>10.0f} {ops:>20,.0f}")


def cluster(b, redis, args, failures):
    """Table 2: 3 mounts, 48 results of 0.2 s, readers on every mount."""
    n, delay, workers, nmounts = 48, 0.2, 2, 3
    data = b.root / "cluster.csv"
    write_csv(data, n, 20)
    want = {f"column/col{c}": expected(c, 20) for c in range(n)}
    ideal = n * delay / (nmounts * workers)
    for rep in range(args.reps):
        prefix = f"cl{rep}"
        ms = [b.mount(data, [f"remote={redis.url}", f"remote_prefix={prefix}",
                             f"delay={delay}", f"workers={workers}"])
              for _ in range(nmounts)]
        bad = []

        def reader(m, rel):
            if m.read(rel) != want[rel]:
                bad.append((m.mnt, rel))
        threads = []
        for m in ms:
            order = list(want)
            random.shuffle(order)
            threads += [threading.Thread(target=reader, args=(m, rel))
                        for rel in order]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t0
        total = sum(m.count("column") for m in ms)
        per = [m.count("column") for m in ms]
        for m in ms:
            m.close()
        ok = total == n and not bad
        if not ok:
            failures.append(f"cluster: {total} computations, {len(bad)} "
                            f"bad reads")
        print(f"\n2. cluster run {rep + 1}: {nmounts} mounts x workers="
              f"{workers}, {n} results x {delay} s, {len(threads)} readers"
              f"\n   computations: {total} (per mount {per}; must be {n})"
              f"\n   wall {wall:.3f} s, ideal {ideal:.3f} s: "
              f"{wall / ideal:.3f}x ideal (target <= 1.1x: "
              f"{'pass' if wall <= 1.1 * ideal else 'FAIL'})")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=str(ROOT / "build"))
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--results", type=int, default=200)
    args = ap.parse_args()
    binary = Path(args.build) / "fs" / "memofs"
    subprocess.run(["ninja", "-C", args.build], check=True,
                   stdout=subprocess.DEVNULL)
    root = Path(tempfile.mkdtemp(prefix="memofs-bench-remote-"))
    b = Bench(str(binary), root)
    redis = None
    failures = []
    try:
        redis = RedisServer(root / "redis").start()
        levels(b, redis, args, failures)
        cluster(b, redis, args, failures)
    finally:
        b.close_all()
        if redis:
            redis.stop()
        shutil.rmtree(root, ignore_errors=True)
    for f in failures:
        print("FAIL:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
