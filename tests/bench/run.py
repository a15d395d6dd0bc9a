#!/usr/bin/python3
"""run.py -- the memofs benchmark (issue #4): each figure beside its
reference, measured in the same run, with the ratio, target and verdict.

    bash mount-scripts/setup.sh && /usr/bin/python3 tests/bench/run.py
    /usr/bin/python3 tests/bench/run.py --quick        # smoke run, ~1 min
    /usr/bin/python3 tests/bench/run.py --only 1,2,9   # some figures

Run as root on a machine with /dev/fuse (Debian's /usr/bin/python3 with
python3-numpy and python3-joblib).  Machines here are shared and noisy:
every comparison is a ratio of figures taken in this run, and each timed
figure is the median of several repetitions.  Everything it mounts or
writes (up to ~1.5 GiB of data files with the full run) is removed at the
end, also on failure or Ctrl-C.
"""
import argparse
import os
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

import numpy as np

SRC = Path(__file__).resolve().parent.parent.parent


def is_mounted(path):
    path = os.path.realpath(path)
    with open("/proc/self/mountinfo") as f:
        return any(line.split()[4] == path for line in f)


class Mount:
    """memofs -f on a fresh mount point; unmounted on exit."""

    def __init__(self, bench, opts=(), data=None, name="mnt", debug=False):
        self.bench = bench
        self.path = Path(tempfile.mkdtemp(prefix=name, dir=bench.tmp))
        self.log_path = self.path.with_suffix(".log")
        self.argv = [str(bench.memofs), "-d" if debug else "-f"]
        if opts:
            self.argv += ["-o", ",".join(opts)]
        if data is not None:
            self.argv.append(str(data))
        self.argv.append(str(self.path))
        self.proc = None
        self.mount_s = None

    def __enter__(self):
        t0 = time.monotonic()
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(self.argv, stdout=log, stderr=log,
                                         env=self.bench.env)
        self.bench.live.append(self)
        while not is_mounted(self.path):
            if self.proc.poll() is not None:
                raise RuntimeError(f"memofs failed: {self.log()[-2000:]}")
            if time.monotonic() - t0 > 120:
                raise RuntimeError("memofs did not mount in 120 s")
            time.sleep(0.002)
        self.mount_s = time.monotonic() - t0
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        if self.proc is None:
            return
        if is_mounted(self.path):
            subprocess.run(["fusermount3", "-u", str(self.path)],
                           stderr=subprocess.DEVNULL)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if is_mounted(self.path):
            subprocess.run(["fusermount3", "-uz", str(self.path)])
        self.proc = None
        self.bench.live.remove(self)

    def log(self):
        return self.log_path.read_text(errors="replace")

    def computations(self):
        return len(re.findall(r": computing", self.log()))

    def rss_kib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def p(self, rel):
        return self.path / rel


def read(path):
    with open(path, "rb") as f:
        return f.read()


def median_of(n, fn):
    return statistics.median(fn() for _ in range(n))


class Bench:
    def __init__(self, args):
        self.quick = args.quick
        self.reps = 3 if args.quick else 5
        self.build = Path(args.build)
        self.memofs = self.build / "fs/memofs"
        self.hitbench = self.build / "tests/bench/hitbench"
        self.fillcache = self.build / "tests/bench/fillcache"
        self.tmp = Path(tempfile.mkdtemp(prefix="memofs-bench-"))
        self.shm = Path(tempfile.mkdtemp(prefix="memofs-bench-",
                                         dir="/dev/shm"))
        self.env = dict(os.environ, TMPDIR=str(self.tmp))
        self.live = []
        self.rows = []

    def cleanup(self):
        for m in list(self.live):
            m.close()
        shutil.rmtree(self.tmp, ignore_errors=True)
        shutil.rmtree(self.shm, ignore_errors=True)

    def hb(self, *args):
        out = subprocess.run([str(self.hitbench), *map(str, args)],
                             check=True, capture_output=True, text=True)
        return [float(x) for x in out.stdout.split()]

    def row(self, num, figure, value, reference, ratio, target, ok):
        self.rows.append((num, figure, value, reference, ratio, target, ok))
        print(f"  #{num} {figure}: {value} | ref {reference} | {ratio} "
              f"| target {target} | {'PASS' if ok else 'FAIL'}", flush=True)

    def csv(self, name, cols, rows, fmt="%.6f"):
        path = self.tmp / name
        data = np.random.RandomState(7).randn(rows, cols)
        np.savetxt(path, data, delimiter=",", fmt=fmt)
        return path

    # ---- figures ---------------------------------------------------------

    def warm_hits(self):
        """#1, #2: open+read+close of computed results vs tmpfs."""
        secs = 1.0 if self.quick else 2.0
        with Mount(self, ["quiet"]) as m:
            paths = [m.p("mean/col0"), m.p("mean/col1")]
            shm = []
            for i, p in enumerate(paths):
                data = read(p)          # computes, then warm
                s = self.shm / f"r{i}"
                s.write_bytes(data)
                shm.append(s)
            for num, threads in ((1, 1), (2, 2)):
                ratios, mv, tv = [], [], []
                for _ in range(self.reps):
                    a = self.hb("rate", threads, secs, *paths[:threads])[0]
                    b = self.hb("rate", threads, secs, *shm[:threads])[0]
                    mv.append(a)
                    tv.append(b)
                    ratios.append(a / b)
                r = statistics.median(ratios)
                self.row(num, f"warm hit, {threads} thread(s), ops/s",
                         f"{statistics.median(mv):,.0f}",
                         f"tmpfs {statistics.median(tv):,.0f}",
                         f"{r:.2f} x tmpfs", ">= 0.5 x", r >= 0.5)

    def cold_parallel(self):
        """#3: 16 results of 0.2 s each on W workers vs ceil(16/W) x 0.2."""
        data = self.csv("cols16.csv", 16, 200)
        worst = None
        for w in (1, 2, 4, 8):
            times = []
            for _ in range(2 if self.quick else 3):
                with Mount(self, [f"workers={w}", "delay=0.2", "quiet"],
                           data) as m:
                    paths = [m.p(f"column/col{i}") for i in range(16)]
                    t0 = time.monotonic()
                    with ThreadPoolExecutor(16) as ex:
                        list(ex.map(read, paths))
                    times.append(time.monotonic() - t0)
            t = statistics.median(times)
            ideal = -(-16 // w) * 0.2
            eff = ideal / t
            self.row(3, f"cold parallel, workers={w}", f"{t:.3f} s",
                     f"ideal {ideal:.1f} s", f"efficiency {eff:.2f}",
                     ">= 0.9", eff >= 0.9)

    def single_flight(self):
        """#4: 64 concurrent reader processes of one cold result."""
        with Mount(self, ["delay=0.5"]) as m:
            procs = [subprocess.Popen(["cat", str(m.p("median/col2"))],
                                      stdout=subprocess.PIPE)
                     for _ in range(64)]
            outs = [p.communicate()[0] for p in procs]
            n = m.computations()
            same = len(set(outs)) == 1 and outs[0] != b""
        # median(col2) computes column(col2) too: 2 computations.
        self.row(4, "single flight, 64 readers", f"{n - 1} computation(s)",
                 "-", f"identical bytes: {same}", "exactly 1, same bytes",
                 n == 2 and same)

    def head_of_line(self):
        """#5: p99 of a warm hit while workers compute and 256 reads wait."""
        count = 2000 if self.quick else 5000
        data = self.csv("cols40.csv", 40, 200)
        with Mount(self, ["workers=2", "delay=4", "quiet"], data) as m:
            warm = m.p("count/col0")
            read(warm)
            idle = median_of(self.reps, lambda: self.hb("lat", count,
                                                        warm)[1])
            waiting = [m.p(f"{fn}/col{c}") for c in range(1, 40)
                       for fn in ("column", "mean", "max", "std", "var",
                                  "sum", "min")][:258]
            pool = ThreadPoolExecutor(len(waiting))
            futs = [pool.submit(read, p) for p in waiting]
            time.sleep(0.5)             # 2 computing, 256 waiting
            busy = median_of(self.reps, lambda: self.hb("lat", count,
                                                        warm)[1])
            still_waiting = sum(not f.done() for f in futs)
            m.close()                   # waiting reads end with ENOTCONN
            pool.shutdown(wait=False, cancel_futures=True)
        ok = busy <= 2 * idle and busy < 1000
        self.row(5, f"head of line, p99 warm hit ({still_waiting} reads "
                 f"waiting)", f"{busy:.1f} us", f"idle p99 {idle:.1f} us",
                 f"{busy / idle:.2f} x idle", "<= 2 x idle, < 1000 us", ok)

    def large_result(self):
        """#6: sequential read of a ~100 MB+ result vs the same on tmpfs."""
        rows = 1_250_000 if self.quick else 12_500_000
        npy = self.tmp / "large.npy"
        # Short decimals keep the text near 8 bytes a row: ~100 MB.
        np.save(npy, np.round(np.random.RandomState(3).rand(rows, 1) * 1e4,
                              2))
        with Mount(self, ["quiet"], npy) as m:
            p = m.p("column/col0")
            t0 = time.monotonic()
            cold_mb, size = self.hb("readbw", p)
            cold_s = time.monotonic() - t0
            copy = self.shm / "large.txt"
            shutil.copyfile(p, copy)
            ratios, mv, tv = [], [], []
            for _ in range(self.reps):
                a = self.hb("readbw", p)[0]
                b = self.hb("readbw", copy)[0]
                mv.append(a)
                tv.append(b)
                ratios.append(a / b)
            copy.unlink()
        r = statistics.median(ratios)
        self.row(6, f"large result {size / 1e6:.0f} MB, warm read",
                 f"{statistics.median(mv):,.0f} MB/s (cold incl. compute "
                 f"{cold_s:.1f} s)", f"tmpfs {statistics.median(tv):,.0f} "
                 f"MB/s", f"{r:.2f} x tmpfs", ">= 0.5 x", r >= 0.5)
        npy.unlink()

    def digest(self):
        """#7: the mount-time digest of a 1 GiB .npy vs reading the file
        from the page cache; memofs -d logs how long its digest took."""
        gib = (1 << 27) if not self.quick else (1 << 24)   # doubles
        npy = self.tmp / "big.npy"
        np.save(npy, np.zeros((gib // 4, 4)))
        size = npy.stat().st_size
        self.hb("readbw", npy)                         # into page cache
        ref = statistics.median(self.hb("readbw", npy)[0]
                                for _ in range(self.reps))
        digests, mounts = [], []
        for _ in range(self.reps):
            with Mount(self, ["quiet"], npy, debug=True) as m:
                mounts.append(m.mount_s)
                line = re.search(r"digest in [\d.]+ s \((\d+) MB/s\)",
                                 m.log())
                digests.append(float(line.group(1)))
        bw = statistics.median(digests)
        whole = statistics.median(mounts)
        self.row(7, f"digest of a {size / 2**30:.2f} GiB .npy at mount",
                 f"{bw:,.0f} MB/s (whole mount {whole:.2f} s)",
                 f"read from page cache {ref:,.0f} MB/s",
                 f"{bw / ref:.2f} x", ">= 0.5 x", bw / ref >= 0.5)
        npy.unlink()

    def scale(self):
        """#8: 1,000,000 cached results in a persistent cache."""
        cols = 111_112 if not self.quick else 11_112
        npy = self.tmp / "wide.npy"
        np.save(npy, np.zeros((1, cols)))
        cache = self.tmp / "scale-cache"
        n = int(subprocess.run([str(self.fillcache), str(npy), str(cache)],
                               check=True, capture_output=True,
                               text=True).stdout)
        with Mount(self, [f"cache={cache}", "quiet"], npy) as m:
            mount_s = m.mount_s
            rng = np.random.RandomState(5)
            fns = ["column", "sum", "mean", "var", "std", "min", "max",
                   "median", "count"]
            paths = [m.p(f"{fns[rng.randint(9)]}/col{rng.randint(cols)}")
                     for _ in range(2000)]
            lat = self.hb("lat", len(paths), *paths)
            rss = m.rss_kib() / 1024
            computed = m.computations()
        ok = mount_s < 2 and lat[1] < 200 and rss < 256 and computed == 0
        self.row(8, f"scale: {n:,} cached results", f"remount {mount_s:.2f} "
                 f"s, first-read p99 {lat[1]:.0f} us, RSS {rss:.0f} MiB",
                 "-", f"{computed} recomputed", "< 2 s, < 200 us, "
                 "< 256 MiB", ok)
        shutil.rmtree(cache)
        npy.unlink()

    def seed(self):
        """#9, #10: the joblib example, through memofs and through joblib."""
        delay = 0.5 if self.quick else 2.0
        mf = self.seed_memofs(delay)
        jl = self.seed_joblib(delay)
        ideal = 2 * delay                    # 4 columns on 2 workers
        self.row(9, "seed: sequential", f"{mf[0]:.2f} s",
                 f"joblib {jl[0]:.2f} s", f"{mf[0] / jl[0]:.2f} x joblib",
                 "(reference only)", True)
        self.row(9, "seed: first round, 2 workers", f"{mf[1]:.2f} s",
                 f"ideal {ideal:.2f} s, joblib {jl[1]:.2f} s",
                 f"{mf[1] / ideal:.3f} x ideal", "<= 1.02 x ideal",
                 mf[1] <= 1.02 * ideal)
        for i, name in ((2, "second round"), (3, "reuse for max")):
            sp = jl[i] / mf[i]
            self.row(9, f"seed: {name}", f"{mf[i] * 1e3:.2f} ms",
                     f"joblib {jl[i] * 1e3:.2f} ms", f"{sp:.0f}x faster",
                     ">= 20x faster", sp >= 20)
        per = self.per_hit()
        sp = per[1] / per[0]
        self.row(10, "one cached read", f"{per[0]:.1f} us",
                 f"joblib hit {per[1]:.1f} us", f"{sp:.0f}x faster",
                 ">= 100x faster", sp >= 100)

    def seed_memofs(self, delay):
        # Like joblib's pool of workers, the 4 reader threads exist before
        # the rounds are timed.
        pool = ThreadPoolExecutor(4)
        list(pool.map(time.sleep, [0] * 4))

        def means(m, fn):
            return list(pool.map(read, [m.p(f"{fn}/col{c}")
                                        for c in range(4)]))
        with Mount(self, ["workers=1", f"delay={delay}", "quiet"]) as m:
            t0 = time.monotonic()
            for c in range(4):
                read(m.p(f"mean/col{c}"))
            seq = time.monotonic() - t0
        with Mount(self, ["workers=2", f"delay={delay}", "quiet"]) as m:
            t0 = time.monotonic()
            means(m, "mean")
            first = time.monotonic() - t0
            second = median_of(self.reps, lambda: self.timed(means, m,
                                                             "mean"))
            t0 = time.monotonic()
            means(m, "max")
            reuse = time.monotonic() - t0
        pool.shutdown()
        return seq, first, second, reuse

    @staticmethod
    def timed(fn, *args):
        t0 = time.monotonic()
        fn(*args)
        return time.monotonic() - t0

    def seed_joblib(self, delay):
        out = subprocess.run([sys.executable, str(Path(__file__).parent /
                                                  "seed_joblib.py"),
                              str(delay), str(self.tmp / "joblib-cache")],
                             check=True, capture_output=True, text=True)
        return [float(x) for x in out.stdout.split()]

    def per_hit(self):
        """One cached read: C open+read+close vs a joblib cached call."""
        with Mount(self, ["quiet"]) as m:
            p = m.p("mean/col0")
            read(p)
            ours = median_of(self.reps, lambda: 1e6 / self.hb(
                "rate", 1, 0.5, p)[0])
        out = subprocess.run([sys.executable, str(Path(__file__).parent /
                                                  "seed_joblib.py"), "hit",
                              str(self.tmp / "joblib-hit")], check=True,
                             capture_output=True, text=True)
        return ours, float(out.stdout)

    def table(self):
        print()
        print(f"memofs benchmark: {os.uname().release}, "
              f"{os.cpu_count()} CPUs, {'quick' if self.quick else 'full'}"
              f" run, medians of {self.reps}")
        head = ("#", "figure", "memofs", "reference (same run)", "ratio",
                "target", "")
        rows = [head] + [(str(r[0]), r[1], r[2], r[3], r[4], r[5],
                          "pass" if r[6] else "FAIL") for r in self.rows]
        widths = [max(len(r[i]) for r in rows) for i in range(7)]
        for r in rows:
            print("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths))
                  + " |")


FIGURES = {1: "warm_hits", 2: "warm_hits", 3: "cold_parallel",
           4: "single_flight", 5: "head_of_line", 6: "large_result",
           7: "digest", 8: "scale", 9: "seed", 10: "seed"}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="fewer repetitions and smaller data")
    ap.add_argument("--only", help="comma-separated figure numbers")
    ap.add_argument("--build", default=str(SRC / "build"),
                    help="meson build directory (default: build)")
    args = ap.parse_args()
    subprocess.run(["ninja", "-C", args.build], check=True,
                   stdout=subprocess.DEVNULL)
    bench = Bench(args)
    wanted = sorted(set(int(x) for x in args.only.split(","))) \
        if args.only else sorted(FIGURES)
    done = set()
    try:
        for n in wanted:
            name = FIGURES[n]
            if name not in done:
                done.add(name)
                print(f"figure {n}: {name}", flush=True)
                getattr(bench, name)()
    finally:
        bench.cleanup()
    bench.table()
    return 0 if all(r[6] for r in bench.rows) else 1


if __name__ == "__main__":
    sys.exit(main())
