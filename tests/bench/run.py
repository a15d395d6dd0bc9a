#!/usr/bin/python3
"""run.py -- the memofs benchmark (issue #4): every figure in one table.

    bash mount-scripts/setup.sh && /usr/bin/python3 tests/bench/run.py
    /usr/bin/python3 tests/bench/run.py --quick     # smoke run, < 2 min

Run it with Debian's /usr/bin/python3 (python3-numpy, python3-joblib), as a
user who can mount FUSE.  It builds what it needs (meson and ninja, in
--build, default build/), makes its data in a temporary directory under
TMPDIR (or /tmp) and the tmpfs references under /dev/shm, mounts memofs
itself (memofs -f, one mount at a time), prints the table and removes every
mount, process and file it made, on failure and on Ctrl-C too.

Each figure is the median of several repetitions, and each comparison is a
ratio of two medians measured in this run, the two sides run alternately,
because the machines are shared and noisy.  The C programs next to this
file (bench_*.c) do the timing that Python would blur.

Exit status: 0 when every figure was measured and every correctness check
held (single flight, the bytes read back), whatever the timings say; 1
otherwise; 2 on a usage error.  Timing targets are reported, not enforced.
"""
import argparse
import json
import math
import os
import platform
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
PY = "/usr/bin/python3"
REDUCTIONS = ["sum", "mean", "var", "std", "min", "max", "median", "count"]
MOUNT_TIMEOUT_S = 120.0
EXIT_TIMEOUT_S = 60.0

FULL = dict(
    reps=5, hit_s=1.0, cold_reps=3,
    f3_delay=0.2, f3_rows=1000,
    f4_delays=(0.5, 0.0), f4_reps=3, f4_readers=64,
    f5_delay=4.0, f5_measure=1.5, f5_settle=0.3, f5_reps=5, f5_waiting=256,
    f6_rows=12_500_000,
    f7_rows=1 << 25,            # x 4 float64 columns = 1 GiB of data
    f8_cols=111_112,            # x 9 functions = 1,000,008 results
    f8_lookups=5000, f8_reps=3,
    f9_delay=2.0, f9_reps=3,
    f10_big_rows=1_000_000,
    f11_results=300, f11_idle=5, f11_joblib=200,
    f12_rows=5_000_000, f12_cols=8, f12_reps=3,
    f15_values=5_000_000,
)
QUICK = dict(
    reps=3, hit_s=0.3, cold_reps=2,
    f3_delay=0.2, f3_rows=1000,
    f4_delays=(0.3, 0.0), f4_reps=1, f4_readers=64,
    f5_delay=1.5, f5_measure=0.5, f5_settle=0.3, f5_reps=2, f5_waiting=256,
    f6_rows=1_250_000,
    f7_rows=1 << 21,
    f8_cols=11_112,
    f8_lookups=1000, f8_reps=2,
    f9_delay=0.2, f9_reps=1,
    f10_big_rows=1_000_000,
    f11_results=100, f11_idle=2, f11_joblib=50,
    f12_rows=500_000, f12_cols=8, f12_reps=1,
    f15_values=1_000_000,
)


class BenchError(Exception):
    """A figure could not be measured (a tool failed, wrong bytes...)."""


# ---- small helpers ---------------------------------------------------------

def kv(line):
    """'ops 12 secs 1.0' -> {'ops': '12', 'secs': '1.0'}; a leading tag
    word ('lat n 3 ...') is dropped."""
    t = line.split()
    if len(t) % 2:
        t = t[1:]
    return {t[i]: t[i + 1] for i in range(0, len(t), 2)}


def med(xs):
    return statistics.median(xs)


def mounted_paths():
    with open("/proc/self/mountinfo") as f:
        return {line.split()[4] for line in f}


def fmt_s(s):
    if s >= 1:
        return f"{s:.2f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.1f} ms"
    return f"{s * 1e6:.0f} us"


def fmt_us(ns):
    return f"{ns / 1e3:.1f} us"


def alternate(reps, *fns):
    """Runs each of fns once per repetition, in an order that rotates from
    one repetition to the next; returns one list of results per fn."""
    out = [[] for _ in fns]
    for r in range(reps):
        order = list(range(len(fns)))
        k = r % len(fns)
        for i in order[k:] + order[:k]:
            out[i].append(fns[i]())
    return out


class Row:
    """One line of the table.  ok: True/False for a target, None for
    information only.  check: a correctness check (it fails the run)."""

    def __init__(self, fig, name, value, ref="-", ratio="-", target="-",
                 ok=None, check=False):
        self.fig, self.name, self.value, self.ref = fig, name, value, ref
        self.ratio, self.target, self.ok, self.check = ratio, target, ok, check

    def result(self):
        return {True: "pass", False: "FAIL", None: "info"}[self.ok]


# ---- one memofs mount ------------------------------------------------------

class Mount:
    """memofs -f [-o opts] [DATA] MNT, its stderr in a log file."""

    def __init__(self, bench, data=None, opts=(), debug=False):
        self.bench = bench
        self.mnt = Path(tempfile.mkdtemp(prefix="mnt-", dir=bench.tmp))
        self.log_path = self.mnt.with_name(self.mnt.name + ".log")
        self.closed = False
        cmd = [str(bench.memofs), "-d" if debug else "-f"]
        if opts:
            cmd += ["-o", ",".join(opts)]
        if data:
            cmd.append(str(data))
        cmd.append(str(self.mnt))
        env = dict(os.environ, TMPDIR=str(bench.tmp))
        parent_dev = os.stat(self.mnt.parent).st_dev
        with open(self.log_path, "wb") as log:
            t0 = time.perf_counter()
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL,
                                         stderr=log, env=env,
                                         start_new_session=True)
        bench.mounts.append(self)
        # Ready once the mount point is another device: that stat is
        # answered by the daemon, so its loop is running.
        while os.stat(self.mnt).st_dev == parent_dev:
            if self.proc.poll() is not None:
                self.closed = True
                bench.mounts.remove(self)
                raise BenchError(f"memofs exited {self.proc.returncode}: "
                                 f"{self.log_tail()}")
            if time.perf_counter() - t0 > MOUNT_TIMEOUT_S:
                raise BenchError("memofs did not mount in time")
            time.sleep(0.0005)
        self.ready_s = time.perf_counter() - t0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close(check=exc[0] is None)

    def p(self, rel):
        return str(self.mnt / rel)

    def read(self, rel):
        with open(self.mnt / rel, "rb") as f:
            return f.read()

    def log(self):
        return self.log_path.read_text(errors="replace")

    def log_tail(self, n=8):
        return " | ".join(self.log().splitlines()[-n:])

    def count(self, fn, arg):
        """Computations of fn(arg) started, from the log."""
        return self.log().count(f"memofs: info: {fn}({arg}): computing")

    def status_kib(self, field):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        raise BenchError(f"no {field} for memofs")

    def close(self, check=True):
        """Unmounts and waits for the daemon; check: a dirty exit raises."""
        if self.closed:
            return
        self.closed = True
        if str(self.mnt) in mounted_paths():
            r = subprocess.run(["fusermount3", "-u", str(self.mnt)],
                               capture_output=True, text=True)
            if r.returncode != 0:       # busy: a reader is still inside
                subprocess.run(["fusermount3", "-uz", str(self.mnt)],
                               capture_output=True)
        try:
            rc = self.proc.wait(EXIT_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
            if str(self.mnt) in mounted_paths():
                subprocess.run(["fusermount3", "-uz", str(self.mnt)],
                               capture_output=True)
        self.bench.mounts.remove(self)
        try:
            self.mnt.rmdir()
        except OSError:
            pass
        if check and rc != 0:
            raise BenchError(f"memofs exited {rc}: {self.log_tail()}")


# ---- the benchmark ----------------------------------------------------------

class Bench:
    def __init__(self, args):
        self.cfg = QUICK if args.quick else FULL
        self.quick = args.quick
        self.build = Path(args.build)
        if not self.build.is_absolute():
            self.build = ROOT / self.build
        self.memofs = (Path(args.memofs).resolve() if args.memofs else
                       self.build / "fs" / "memofs")
        self.tools = self.build / "tests" / "bench"
        self.tmp = Path(tempfile.mkdtemp(prefix="memofs-bench-"))
        self.shm = Path(tempfile.mkdtemp(prefix="memofs-bench-",
                                         dir="/dev/shm"))
        self.mounts = []
        self.procs = []
        self.rows = []
        self.errors = []

    # -- set-up and clean-up

    def build_all(self):
        if not (self.build / "build.ninja").exists():
            subprocess.run(["meson", "setup", str(self.build)], cwd=ROOT,
                           check=True, stdout=subprocess.DEVNULL)
        subprocess.run(["ninja", "-C", str(self.build)], check=True,
                       stdout=subprocess.DEVNULL)

    def cleanup(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        for m in list(reversed(self.mounts)):
            m.close(check=False)
        shutil.rmtree(self.tmp, ignore_errors=True)
        shutil.rmtree(self.shm, ignore_errors=True)

    def mount(self, data=None, opts=(), debug=False):
        return Mount(self, data, opts, debug)

    # -- the C tools

    def tool(self, name, *args):
        """Runs tests/bench/NAME; returns its stdout lines."""
        r = subprocess.run([str(self.tools / name)] + [str(a) for a in args],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise BenchError(f"{name} failed ({r.returncode}): "
                             f"{r.stderr.strip()[:300]}")
        return r.stdout.splitlines()

    def hit_ops(self, paths, threads, seconds):
        """Hits per second (open + read + close), THREADS threads."""
        out = self.tool("bench_hit", "ops", seconds, threads, *paths)
        return float(kv(out[-1])["ops_per_s"])

    def hit_lat(self, path, seconds):
        return {k: int(v) for k, v in kv(self.tool(
            "bench_hit", "lat", seconds, path)[-1]).items()}

    def stream(self, path, whole=False):
        """(bytes, seconds) of one sequential read of path."""
        args = ["--whole", path] if whole else [path]
        d = kv(self.tool("bench_stream", *args)[-1])
        return int(d["bytes"]), float(d["secs"])

    @staticmethod
    def parse_readers(lines):
        readers = [kv(l) for l in lines if l.startswith("reader ")]
        elapsed = float(kv(lines[-1])["elapsed"])
        return readers, elapsed

    def readers(self, paths, procs=False):
        """Reads every path at once; returns (readers, elapsed)."""
        args = (["-p"] if procs else []) + list(paths)
        return self.parse_readers(self.tool("bench_readers", *args))

    def readers_start(self, paths):
        p = subprocess.Popen([str(self.tools / "bench_readers")] +
                             [str(x) for x in paths],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
        self.procs.append(p)
        return p

    def readers_finish(self, p):
        out, err = p.communicate()
        self.procs.remove(p)
        if p.returncode != 0:
            raise BenchError(f"bench_readers failed: {err.strip()[:300]}")
        return self.parse_readers(out.splitlines())

    # -- data

    def npy(self, name, array, where=None):
        path = (where or self.tmp) / f"{name}.npy"
        np.save(path, array)
        return path

    def row(self, *a, **k):
        r = Row(*a, **k)
        self.rows.append(r)
        return r


# ---- figures 1 and 2: warm hits ---------------------------------------------

def fig_warm_hits(b):
    cfg = b.cfg
    with b.mount(None, ["quiet"]) as m:
        mem, ref = [], []
        for c in (0, 1):
            data = m.read(f"mean/col{c}")
            (b.shm / f"mean_col{c}").write_bytes(data)
            mem.append(m.p(f"mean/col{c}"))
            ref.append(str(b.shm / f"mean_col{c}"))
        for fig, threads in (("1", 1), ("2", 2)):
            a, t = alternate(
                cfg["reps"],
                lambda: b.hit_ops(mem[:threads], threads, cfg["hit_s"]),
                lambda: b.hit_ops(ref[:threads], threads, cfg["hit_s"]))
            ratio = med(a) / med(t)
            what = ("warm hit, 1 thread (mean/col0)" if threads == 1 else
                    "warm hit, 2 threads (mean/col0, col1)")
            b.row(fig, what, f"{med(a):,.0f} ops/s",
                  f"tmpfs {med(t):,.0f} ops/s", f"{ratio:.2f}x",
                  ">= 0.5x", ratio >= 0.5)


# ---- figure 3: cold parallel -------------------------------------------------

def fig_cold_parallel(b):
    cfg = b.cfg
    delay, n = cfg["f3_delay"], 16
    data = b.npy("cols16", np.random.RandomState(3).randn(cfg["f3_rows"], n))
    for w in (1, 2, 4, 8):
        times = []
        for _ in range(cfg["cold_reps"]):
            with b.mount(data, [f"workers={w}", f"delay={delay}",
                                "quiet"]) as m:
                rd, elapsed = b.readers(
                    [m.p(f"mean/col{k}") for k in range(n)])
                if any(int(r["len"]) == 0 for r in rd):
                    raise BenchError("an empty result")
                times.append(elapsed)
        ideal = math.ceil(n / w) * delay
        eff = ideal / med(times)
        b.row("3", f"cold parallel, 16 x {delay:g} s, workers={w}",
              fmt_s(med(times)), f"ideal {fmt_s(ideal)}",
              f"eff {eff:.3f}", ">= 0.9", eff >= 0.9)


# ---- figure 4: single flight -------------------------------------------------

def fig_single_flight(b):
    cfg = b.cfg
    nread = cfg["f4_readers"]
    for delay in cfg["f4_delays"]:
        results = []
        for _ in range(cfg["f4_reps"]):
            with b.mount(None, ["workers=2", f"delay={delay}"]) as m:
                rd, _ = b.readers([m.p("mean/col0")] * nread, procs=True)
                got = {(r["len"], r["hash"]) for r in rd}
                warm, _ = b.readers([m.p("mean/col0")])
                comps = (m.count("mean", "col0"), m.count("column", "col0"))
                same = sum(1 for r in rd if (r["len"], r["hash"]) ==
                           (warm[0]["len"], warm[0]["hash"]))
                ok = (comps == (1, 1) and len(got) == 1 and
                      int(warm[0]["len"]) > 0 and same == nread)
                results.append((ok, comps, same))
        ok = all(r[0] for r in results)
        worst = min(results, key=lambda r: (r[0], -max(r[1]), r[2]))
        b.row("4", f"single flight, {nread} processes, delay {delay:g} s",
              f"{max(worst[1])} computation(s) per result, "
              f"{worst[2]}/{nread} same bytes ({len(results)} runs)",
              "-", "-", "exactly 1, all same", ok, check=True)


# ---- figure 5: head of line --------------------------------------------------

def wait_for(pred, timeout, what):
    t0 = time.perf_counter()
    while not pred():
        if time.perf_counter() - t0 > timeout:
            raise BenchError(f"timed out waiting for {what}")
        time.sleep(0.001)


def fig_head_of_line(b):
    cfg = b.cfg
    reps, nwait, delay = cfg["f5_reps"], cfg["f5_waiting"], cfg["f5_delay"]
    per_rep = nwait // len(REDUCTIONS)          # columns waited on per rep
    warm_col = 2 * reps + per_rep * reps
    data = b.npy("hol", np.random.RandomState(5).randn(1000, warm_col + 1))
    cache = b.tmp / "cache5"
    wait_cols = [list(range(2 * reps + per_rep * r,
                            2 * reps + per_rep * (r + 1)))
                 for r in range(reps)]
    # The columns the waiting reductions need, computed beforehand (no
    # delay), so that a waiting read only waits for a worker.
    with b.mount(data, ["workers=2", f"cache={cache}", "quiet"]) as m:
        b.readers([m.p(f"column/col{k}") for cols in wait_cols for k in cols]
                  + [m.p(f"column/col{warm_col}")])
    idle, loaded, held = [], [], []
    with b.mount(data, ["workers=2", f"delay={delay}",
                        f"cache={cache}"]) as m:
        warm = m.p(f"mean/col{warm_col}")
        m.read(f"mean/col{warm_col}")
        for r in range(reps):
            idle.append(b.hit_lat(warm, cfg["f5_measure"]))
            longs = [f"col{2 * r}", f"col{2 * r + 1}"]
            p_long = b.readers_start([m.p(f"column/{c}") for c in longs])
            wait_for(lambda: all(m.count("column", c) for c in longs), 10,
                     "the long computations to start")
            t_wait = time.perf_counter()
            p_wait = b.readers_start([m.p(f"{fn}/col{k}")
                                      for k in wait_cols[r]
                                      for fn in REDUCTIONS])
            time.sleep(cfg["f5_settle"])
            loaded.append(b.hit_lat(warm, cfg["f5_measure"]))
            t_end = time.perf_counter()
            rd_wait, _ = b.readers_finish(p_wait)
            b.readers_finish(p_long)
            # Every waiting read must still have been waiting when the
            # loaded measurement ended (t_wait is before their release).
            first_done = min(float(x["secs"]) for x in rd_wait)
            held.append(t_wait + first_done - t_end)
    p_idle = med([x["p99_ns"] for x in idle])
    p_load = med([x["p99_ns"] for x in loaded])
    ratio = p_load / p_idle
    ok_held = min(held) > 0
    b.row("5", f"head of line: warm-hit p99, 2 running x {delay:g} s + "
          f"{nwait} waiting", fmt_us(p_load), f"idle {fmt_us(p_idle)}",
          f"{ratio:.2f}x", "<= 2x idle, < 1 ms",
          ratio <= 2 and p_load < 1e6)
    b.row("5", "  (p50 loaded / idle; load held through measurement)",
          fmt_us(med([x["p50_ns"] for x in loaded])),
          f"idle {fmt_us(med([x['p50_ns'] for x in idle]))}", "-",
          "load held", ok_held, check=True)


# ---- figure 6: a large result ------------------------------------------------

def large_text(n):
    """The bytes of column/col0 for values 10000 + i % 90000: "12345.0\\n"."""
    v = 10000 + np.arange(n, dtype=np.int64) % 90000
    t = np.empty((n, 8), dtype=np.uint8)
    for d in range(5):
        t[:, 4 - d] = 48 + (v // 10 ** d) % 10
    t[:, 5], t[:, 6], t[:, 7] = ord("."), ord("0"), ord("\n")
    return v.astype("<f8"), t


def fig_large(b):
    cfg = b.cfg
    n = cfg["f6_rows"]
    values, text = large_text(n)
    data = b.npy("large", values, b.shm)
    ref = b.shm / "large.txt"
    text.tofile(ref)
    size = n * 8
    del values, text
    cold = []
    for rep in range(cfg["cold_reps"]):
        with b.mount(data, ["quiet"]) as m:
            got, secs = b.stream(m.p("column/col0"))
            if got != size:
                raise BenchError(f"cold read: {got} bytes, want {size}")
            cold.append(secs)
            if rep < cfg["cold_reps"] - 1:
                continue
            rd, _ = b.readers([m.p("column/col0"), ref])
            if rd[0]["hash"] != rd[1]["hash"]:
                raise BenchError("large result: bytes differ from numpy's")
            a, t = alternate(cfg["reps"],
                             lambda: b.stream(m.p("column/col0"))[1],
                             lambda: b.stream(ref)[1])
    mb = size / 1e6
    ratio = med(t) / med(a)
    b.row("6", f"large result warm, {mb:.0f} MB sequential read",
          f"{mb / med(a):,.0f} MB/s", f"tmpfs {mb / med(t):,.0f} MB/s",
          f"{ratio:.2f}x", ">= 0.5x", ratio >= 0.5)
    b.row("6", f"large result cold (compute + store + push)",
          f"{mb / med(cold):,.0f} MB/s ({fmt_s(med(cold))})",
          f"tmpfs {mb / med(t):,.0f} MB/s", f"{med(t) / med(cold):.3f}x",
          "- (includes compute)", None)
    b.row("6", "  (bytes equal numpy's repr text)", "equal", "-", "-",
          "same bytes", True, check=True)


# ---- figure 7: mount-time digest --------------------------------------------

def fig_digest(b):
    cfg = b.cfg
    rows = cfg["f7_rows"]
    path = b.shm / "digest.npy"
    arr = np.lib.format.open_memmap(path, mode="w+", dtype="<f8",
                                    shape=(rows, 4))
    block = np.random.RandomState(7).randn(min(rows, 1 << 18), 4)
    for i in range(0, rows, len(block)):
        k = min(len(block), rows - i)
        arr[i:i + k] = block[:k] + i
    arr.flush()
    del arr
    tiny = b.npy("tiny", np.zeros((1, 1)))
    size = path.stat().st_size
    b.stream(path)                      # into the page cache

    def mount_s(data):
        """(mount seconds, logged read/digest/parse seconds, peak RSS)."""
        with b.mount(data, ["quiet"], debug=True) as m:
            t = m.ready_s
            hwm = m.status_kib("VmHWM")
            log = m.log()
        got = re.search(r"bytes read in ([\d.]+) s, digest in ([\d.]+) s "
                        r"\(\d+ MB/s\), parsed in ([\d.]+) s", log)
        if not got:
            raise BenchError("memofs -d logged no dataset timings")
        return t, [float(x) for x in got.groups()], hwm

    ref, mnt = alternate(cfg["cold_reps"], lambda: b.stream(path)[1],
                         lambda: mount_s(path))
    base = [mount_s(tiny)[0] for _ in range(cfg["cold_reps"])]
    whole = [b.stream(path, whole=True)[1] for _ in range(cfg["cold_reps"])]
    gb = size / 1e9
    t_ref = med(ref)
    t_read, t_dig, t_parse = (med([x[1][i] for x in mnt]) for i in range(3))
    ratio = t_ref / t_dig
    b.row("7", f"mount-time digest of a {size / 2**30:.2f} GiB .npy "
          "(XXH3-128)", f"{gb / t_dig:.2f} GB/s ({fmt_s(t_dig)})",
          f"memcpy read {gb / t_ref:.2f} GB/s ({fmt_s(t_ref)})",
          f"{ratio:.2f}x", ">= 0.5x", ratio >= 0.5)
    t_mnt = med([x[0] for x in mnt])
    b.row("7", "  whole mount: read + digest + parse to doubles",
          f"{gb / t_mnt:.2f} GB/s ({fmt_s(t_mnt)})",
          f"read {fmt_s(t_read)}, parse {fmt_s(t_parse)}, empty mount "
          f"{fmt_s(med(base))}", f"{t_ref / t_mnt:.3f}x", "- (info)", None)
    b.row("7", "  read into a new whole-file buffer (faults incl.)",
          f"{gb / med(whole):.2f} GB/s ({fmt_s(med(whole))})",
          f"daemon peak RSS {med([x[2] for x in mnt]) / 2**20:.2f} GiB",
          f"{t_ref / med(whole):.3f}x", "- (info)", None)


# ---- figure 8: scale ---------------------------------------------------------

def one_row_expected(fn, v):
    if fn == "count":
        return b"1\n"
    if fn in ("var", "std"):
        return b"0.0\n"
    return (repr(float(v)) + "\n").encode()


def fig_scale(b):
    cfg = b.cfg
    ncols = cfg["f8_cols"]
    fns = ["column"] + REDUCTIONS
    values = np.random.RandomState(8).randn(1, ncols)
    data = b.npy("scale", values)
    cache = b.tmp / "cache8"
    pop = kv(b.tool("bench_populate", data, cache)[-1])
    nres = int(pop["records"])
    first = b.mount(data, [f"cache={cache}", "quiet"])
    first.close()
    remount, p50, p99, rss, hwm, rt = [], [], [], [], [], []
    rng = random.Random(8)
    for rep in range(cfg["f8_reps"]):
        with b.mount(data, [f"cache={cache}", "quiet"]) as m:
            remount.append(m.ready_s)
            picks = rng.sample(range(nres), cfg["f8_lookups"])
            paths = [m.p(f"{fns[i % 9]}/col{i // 9}") for i in picks]
            lst = b.tmp / "lookups.txt"
            lst.write_text("\n".join(paths) + "\n")
            lat = {k: int(v) for k, v in kv(b.tool(
                "bench_hit", "once", lst)[-1]).items()}
            p50.append(lat["p50_ns"])
            p99.append(lat["p99_ns"])
            for i in picks[:50]:
                fn, col = fns[i % 9], i // 9
                if m.read(f"{fn}/col{col}") != one_row_expected(
                        fn, values[0, col]):
                    raise BenchError(f"{fn}/col{col}: wrong bytes")
            rss.append(m.status_kib("VmRSS"))
            hwm.append(m.status_kib("VmHWM"))
            rt.append({k: int(v) for k, v in kv(b.tool(
                "bench_hit", "rt", cfg["hit_s"] / 2, m.p("mean"),
                "user.memofs.description")[-1]).items()})
    b.row("8", f"scale: remount with {nres:,} cached results",
          fmt_s(med(remount)),
          f"first open {fmt_s(first.ready_s)}; fill {float(pop['secs']):.1f} s",
          "-", "< 2 s", med(remount) < 2)
    b.row("8", f"  warm-from-disk lookup p99 ({cfg['f8_lookups']} firsts)",
          fmt_us(med(p99)), f"p50 {fmt_us(med(p50))}", "-", "< 200 us",
          med(p99) < 200e3)
    b.row("8", "  floor: 2 bare round trips (a first read needs 2)",
          fmt_us(med([x["p99_ns"] for x in rt])),
          f"p50 {fmt_us(med([x['p50_ns'] for x in rt]))}", "-", "- (info)",
          None)
    b.row("8", "  daemon RSS after the lookups", f"{med(rss) / 1024:.0f} MiB",
          f"peak {med(hwm) / 1024:.0f} MiB", "-", "< 256 MiB",
          med(rss) < 256 * 1024)


# ---- figure 9: the seed workload ---------------------------------------------

def read_float(path):
    with open(path) as f:
        return float(f.read())


def seed_memofs(b, delay):
    """The seed script's four steps, on memofs (as demo.sh does them)."""
    out = {}
    with b.mount(None, ["workers=1", f"delay={delay}", "quiet"]) as m:
        start = time.time()
        [read_float(m.p(f"mean/col{c}")) for c in range(4)]
        out["sequential"] = time.time() - start
    with b.mount(None, ["workers=2", f"delay={delay}", "quiet"]) as m:
        start = time.time()
        ex = ThreadPoolExecutor(4)
        means = list(ex.map(read_float, [m.p(f"mean/col{c}")
                                         for c in range(4)]))
        out["first"] = time.time() - start
        start = time.time()
        again = list(ex.map(read_float, [m.p(f"mean/col{c}")
                                         for c in range(4)]))
        out["second"] = time.time() - start
        start = time.time()
        list(ex.map(read_float, [m.p(f"max/col{c}") for c in range(4)]))
        out["reuse"] = time.time() - start
        ex.shutdown()
        if means != again:
            raise BenchError("seed: second round differs")
    return out


def seed_joblib(b, delay):
    cachedir = b.tmp / "joblib-seed"
    r = subprocess.run([PY, str(HERE / "joblib_ref.py"), "seed", "--delay",
                        str(delay), "--cachedir", str(cachedir)],
                       capture_output=True, text=True)
    shutil.rmtree(cachedir, ignore_errors=True)
    if r.returncode != 0:
        raise BenchError(f"joblib_ref.py seed: {r.stderr.strip()[-300:]}")
    return json.loads(r.stdout)


def fig_seed(b):
    cfg = b.cfg
    delay = cfg["f9_delay"]
    mem, jb = alternate(cfg["f9_reps"], lambda: seed_memofs(b, delay),
                        lambda: seed_joblib(b, delay))
    m = {k: med([x[k] for x in mem]) for k in mem[0]}
    j = {k: med([x[k] for x in jb]) for k in jb[0]}
    b.row("9", f"seed, delay {delay:g} s: sequential (1 worker)",
          fmt_s(m["sequential"]), f"joblib {fmt_s(j['sequential'])}",
          f"{m['sequential'] / (4 * delay):.3f}x ideal",
          f"- (ideal {fmt_s(4 * delay)})", None)
    ideal = 2 * delay
    r = m["first"] / ideal
    b.row("9", "  first round (2 workers)", fmt_s(m["first"]),
          f"ideal {fmt_s(ideal)}; joblib {fmt_s(j['first'])} "
          f"({j['first'] / ideal:.3f}x)", f"{r:.3f}x ideal",
          "<= 1.02x ideal", r <= 1.02)
    for key, what in (("second", "  second round (cached)"),
                      ("reuse", "  reusing checkpoints (max)")):
        s = j[key] / m[key]
        b.row("9", what, fmt_s(m[key]), f"joblib {fmt_s(j[key])}",
              f"{s:,.0f}x faster", ">= 20x faster", s >= 20)


# ---- figure 10: per-hit cost vs joblib ---------------------------------------

def py_hit_us(path, seconds, buffering):
    n = 0
    t0 = time.perf_counter()
    while True:
        for _ in range(100):
            with open(path, "rb", buffering=buffering) as f:
                f.read()
        n += 100
        t = time.perf_counter() - t0
        if t >= seconds:
            return t / n * 1e6


def joblib_hit_us(b, rows, seconds):
    cachedir = b.tmp / "joblib-hit"
    r = subprocess.run([PY, str(HERE / "joblib_ref.py"), "hit", "--rows",
                        str(rows), "--seconds", str(seconds), "--reps", "1",
                        "--cachedir", str(cachedir)],
                       capture_output=True, text=True)
    shutil.rmtree(cachedir, ignore_errors=True)
    if r.returncode != 0:
        raise BenchError(f"joblib_ref.py hit: {r.stderr.strip()[-300:]}")
    return json.loads(r.stdout)["us_per_call"][0]


def fig_per_hit(b):
    cfg = b.cfg
    secs = cfg["hit_s"]
    with b.mount(None, ["quiet"]) as m:     # RandomState(42).randn(10000, 4)
        p = m.p("mean/col0")
        shm = b.shm / "hit_mean_col0"
        shm.write_bytes(m.read("mean/col0"))
        c, py, py0, tpy, tpy0, jb = alternate(
            cfg["reps"],
            lambda: 1e6 / b.hit_ops([p], 1, secs),
            lambda: py_hit_us(p, secs, -1),
            lambda: py_hit_us(p, secs, 0),
            lambda: py_hit_us(shm, secs, -1),
            lambda: py_hit_us(shm, secs, 0),
            lambda: joblib_hit_us(b, 10000, secs))
    j = med(jb)
    s = j / med(c)
    b.row("10", "one cached read, C open+read+close (10000x4)",
          f"{med(c):.1f} us", f"joblib hit {j:.0f} us", f"{s:,.0f}x faster",
          ">= 100x faster", s >= 100)
    # Python adds its own cost, and open() an ioctl (isatty) that FUSE
    # sends to the daemon: information, beside the same code on tmpfs.
    for what, xs, ts in (("  Python open(p, 'rb').read()", py, tpy),
                         ("  Python open(p, 'rb', buffering=0).read()", py0,
                          tpy0)):
        b.row("10", what, f"{med(xs):.1f} us",
              f"joblib {j:.0f} us; tmpfs {med(ts):.1f} us "
              f"({j / med(ts):,.0f}x)", f"{j / med(xs):,.0f}x faster",
              "- (info)", None)
    rows = cfg["f10_big_rows"]
    data = b.npy("big4", np.random.RandomState(42).randn(rows, 4))
    with b.mount(data, ["quiet"]) as m:
        p = m.p("mean/col0")
        m.read("mean/col0")
        c_big, jb_big = alternate(
            max(1, cfg["reps"] // 2),
            lambda: 1e6 / b.hit_ops([p], 1, secs),
            lambda: joblib_hit_us(b, rows, max(secs, 0.5)))
    s = med(jb_big) / med(c_big)
    b.row("10", f"  C read, {rows:.0e}x4 dataset", f"{med(c_big):.1f} us",
          f"joblib hit {fmt_s(med(jb_big) / 1e6)}", f"{s:,.0f}x faster",
          ">= 100x faster", s >= 100)


# ---- figure 11: a cold but trivial result ------------------------------------

def daemon_switches(pid):
    """Voluntary context switches of every thread of pid: how often the
    daemon's threads slept (a hand-off is a sleep and a wake-up)."""
    n = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/status") as f:
            for line in f:
                if line.startswith("voluntary_ctxt_switches:"):
                    n += int(line.split()[1])
    return n


def joblib_miss_us(b, calls):
    cachedir = b.tmp / "joblib-miss"
    r = subprocess.run([PY, str(HERE / "joblib_ref.py"), "miss", "--calls",
                        str(calls), "--cachedir", str(cachedir)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise BenchError(f"joblib_ref.py miss: {r.stderr.strip()[-300:]}")
    return json.loads(r.stdout)["us_per_call"]


def fig_cold_trivial(b):
    """Cold reads of a plugin function that computes nothing
    (bench_trivial.so): each read is a lookup, the computation's
    scheduling, the store and the reply; against joblib's trivial miss."""
    cfg = b.cfg
    n = cfg["f11_results"]
    plugin = b.tools / "bench_trivial.so"
    data = b.npy("wide", np.random.RandomState(11).randn(
        2, n + cfg["f11_idle"] + 1))
    with b.mount(data, ["quiet", f"plugin={plugin}"]) as m:
        m.read(f"one/col{n + cfg['f11_idle']}")    # its cost is now known
        lst = b.tmp / "cold11.txt"
        lst.write_text("".join(m.p(f"one/col{k}") + "\n"
                               for k in range(n)))
        s0 = daemon_switches(m.proc.pid)
        lat = kv(b.tool("bench_hit", "once", lst)[-1])
        sleeps = (daemon_switches(m.proc.pid) - s0) / n
        idle = []
        for k in range(n, n + cfg["f11_idle"]):
            time.sleep(1.0)                 # let the machine go idle
            lst.write_text(m.p(f"one/col{k}") + "\n")
            idle.append(int(kv(b.tool("bench_hit", "once", lst)[-1])
                            ["p50_ns"]))
        if m.read("one/col0") != b"1\n":
            raise BenchError("one/col0: wrong bytes")
    jb = med(joblib_miss_us(b, cfg["f11_joblib"]))
    p50_us = int(lat["p50_ns"]) / 1e3
    b.row("11", "cold read of a trivial plugin result, p50 (compute ~0)",
          f"{p50_us:.0f} us (p99 {int(lat['p99_ns']) / 1e3:.0f} us)",
          f"joblib trivial miss {jb:.0f} us", f"{jb / p50_us:.1f}x faster",
          "<= 50 us", p50_us <= 50)
    b.row("11", "  the same after 1 s idle, p50", fmt_us(med(idle)),
          "-", "-", "- (info)", None)
    b.row("11", "  daemon thread sleeps per cold read", f"{sleeps:.2f}",
          "3 FUSE requests (LOOKUP, GETATTR, READ)", "-", "- (info)",
          None)


# ---- figures 12 to 17: a 5e6 x 8 table, typed results -----------------------

class BigTable:
    """The issue's table (f12_rows x f12_cols float64, randn), as .npy (in
    TMPDIR and a copy on tmpfs) and as CSV of 17 significant digits."""

    def __init__(self, b):
        cfg = b.cfg
        self.rows, self.cols = cfg["f12_rows"], cfg["f12_cols"]
        self.array = np.random.RandomState(12).randn(self.rows, self.cols)
        self.npy = b.npy("big", self.array)
        self.csv = b.tmp / "big.csv"
        with open(self.csv, "w") as f:
            f.write(",".join(f"c{k}" for k in range(self.cols)) + "\n")
            step = 100_000
            for i in range(0, self.rows, step):
                np.savetxt(f, self.array[i:i + step], fmt="%.17g",
                           delimiter=",")
        for path in (self.npy, self.csv):
            b.stream(path)              # into the page cache
        self.nbytes = self.array.nbytes


def has_npy_views(m):
    """Does this memofs show NAME.npy views of typed results?"""
    try:
        return "col0.npy" in os.listdir(m.p("column"))
    except OSError:
        return False


def mount_and_read(b, data, paths, opts=("quiet",)):
    """Mounts data, reads every path at once (8 threads for 8 paths) and
    returns (seconds from the start of memofs to the last byte, the
    bytes read by path, the daemon's peak RSS in KiB, the mount)."""
    t0 = time.perf_counter()
    m = b.mount(data, list(opts))
    try:
        rel = [m.p(p) for p in paths]
        if len(rel) == 1:
            got = {paths[0]: m.read(paths[0])}
        else:
            with ThreadPoolExecutor(len(rel)) as ex:
                got = dict(zip(paths, ex.map(m.read, paths)))
        t = time.perf_counter() - t0
        hwm = m.status_kib("VmHWM")
    finally:
        m.close()
    return t, got, hwm, rel


def check_means(got, array, what):
    for path, text in got.items():
        k = int(path.rsplit("col", 1)[1])
        want = array[:, k].mean()
        v = float(text)
        if not abs(v - want) <= 1e-12 * max(1.0, abs(want)):
            raise BenchError(f"{what} {path}: {v!r}, numpy {want!r}")


def fig_table(b):
    cfg = b.cfg
    t = BigTable(b)
    a, k = t.array, 3
    shape = f"{t.rows:.0e} x {t.cols}"
    means = [f"mean/col{c}" for c in range(t.cols)]

    def np_col():
        t0 = time.perf_counter()
        np.load(t.npy)[:, k].mean()
        return time.perf_counter() - t0

    def np_all():
        t0 = time.perf_counter()
        np.load(t.npy).mean(axis=0)
        return time.perf_counter() - t0

    def pd_all():
        import pandas as pd
        t0 = time.perf_counter()
        pd.read_csv(t.csv).mean()
        return time.perf_counter() - t0

    # 12: one cold mean after mount (mount excluded, then included).
    reps = cfg["f12_reps"]
    ref12, mem12 = alternate(reps, np_col, lambda: mount_and_read(
        b, t.npy, [f"mean/col{k}"]))
    check_means(mem12[0][1], a, "12")
    t12 = med([x[0] for x in mem12])
    r = t12 / med(ref12)
    b.row("12", f"mount + cold mean/col{k}, {shape} .npy", fmt_s(t12),
          f"np.load(f)[:,{k}].mean() {fmt_s(med(ref12))}", f"{r:.1f}x",
          "<= 1.5x", r <= 1.5)

    # 13 and 17: mount + 8 means, 8 concurrent readers; peak RSS.
    ref13, mem13 = alternate(reps, np_all,
                             lambda: mount_and_read(b, t.npy, means))
    check_means(mem13[0][1], a, "13")
    t13 = med([x[0] for x in mem13])
    r = t13 / med(ref13)
    b.row("13", f"mount + 8 means, 8 readers, {shape} .npy", fmt_s(t13),
          f"np.load(f).mean(axis=0) {fmt_s(med(ref13))}", f"{r:.1f}x",
          "<= 3x", r <= 3)
    hwm = med([x[2] for x in mem13]) * 1024
    r = hwm / t.nbytes
    b.row("17", "daemon peak RSS serving #13", f"{hwm / 2**20:.0f} MiB",
          f"dataset {t.nbytes / 2**20:.0f} MiB", f"{r:.2f}x", "<= 1.5x",
          r <= 1.5)

    # 14: the same from CSV, against pandas.
    ref14, mem14 = alternate(max(1, reps - 1), pd_all,
                             lambda: mount_and_read(b, t.csv, means))
    check_means(mem14[0][1], a, "14")
    t14 = med([x[0] for x in mem14])
    r = t14 / med(ref14)
    b.row("14", f"mount + 8 means, {shape} CSV (%.17g)", fmt_s(t14),
          f"pandas.read_csv(f).mean() {fmt_s(med(ref14))}", f"{r:.2f}x",
          "<= 0.5x", r <= 0.5)

    # 15 and 16 need the .npy views of typed results.
    with b.mount(t.npy, ["quiet"]) as m:
        if not has_npy_views(m):
            for fig, name in (("15", "text of column/col0, cold, binary "
                               "cached"),
                              ("16", "np.load(column/col0.npy, mmap).sum() "
                               "warm")):
                b.row(fig, name, "n/a: this memofs shows no NAME.npy "
                      "views (typed results)", ok=None)
            return
        fig_views(b, m, t)


def fig_views(b, m, t):
    """15: the text view rendered from a cached binary column; 16: the
    .npy view read warm through mmap, against the same file on tmpfs."""
    col = t.array[:, 0]
    npy = m.p("column/col0.npy")
    with open(npy, "rb") as f:          # computes the binary column
        raw = f.read()
    mine = np.load(npy)
    if mine.dtype != np.float64 or not np.array_equal(mine, col):
        raise BenchError("column/col0.npy differs from the dataset")
    t0 = time.perf_counter()
    text = m.read("column/col0")        # rendered from the cached binary
    t15 = time.perf_counter() - t0
    lst = col.tolist()
    t0 = time.perf_counter()
    ref = ("\n".join(map(repr, lst)) + "\n").encode()
    tref = time.perf_counter() - t0
    if text != ref:
        raise BenchError("column/col0 text differs from Python's repr")
    r = tref / t15
    b.row("15", f"text of column/col0 ({len(col):.0e} values), cold, "
          "binary cached", f"{fmt_s(t15)} ({len(col) / t15 / 1e6:.1f} "
          "M values/s)", f"Python join(map(repr)) {fmt_s(tref)}",
          f"{r:.1f}x faster", ">= 10x, >= 20 M/s",
          r >= 10 and len(col) / t15 >= 20e6)
    shm = b.shm / "col0.npy"
    shm.write_bytes(raw)

    def mm_sum(path):
        t0 = time.perf_counter()
        np.load(path, mmap_mode="r").sum()
        return time.perf_counter() - t0

    mm_sum(npy)
    mm_sum(shm)
    mem, ref = alternate(b.cfg["reps"] * 3, lambda: mm_sum(npy),
                         lambda: mm_sum(shm))
    r = med(ref) / med(mem)
    b.row("16", "np.load(column/col0.npy, mmap_mode='r').sum() warm",
          fmt_s(med(mem)), f"same .npy on tmpfs {fmt_s(med(ref))}",
          f"{r:.2f}x", ">= 0.8x", r >= 0.8)


# ---- figure 15 (part): the renderer alone --------------------------------------

def fig_fmt(b):
    """fmt_doubles() on one core against Python's repr, the same values
    (numpy's randn), bytes compared."""
    n = b.cfg["f15_values"]
    out = b.tmp / "fmt15.txt"
    d = kv(b.tool("bench_fmt", n, 15, out)[-1])
    x = np.random.RandomState(15).randn(n).tolist()
    t0 = time.process_time()
    ref = ("\n".join(map(repr, x)) + "\n").encode()
    tref = time.process_time() - t0
    if out.read_bytes() != ref:
        raise BenchError("fmt_doubles() text differs from Python's repr")
    rate = float(d["per_s"])
    r = rate * tref / n
    b.row("15", f"fmt_doubles(), {n:.0e} randn values, one core (CPU time)",
          f"{rate / 1e6:.1f} M values/s",
          f"Python repr {n / tref / 1e6:.2f} M values/s",
          f"{r:.1f}x faster", ">= 10x, >= 20 M/s", r >= 10 and rate >= 20e6)
    b.row("15", "  (bytes equal Python's repr)", "equal", "-", "-",
          "same bytes", True, check=True)


# ---- main --------------------------------------------------------------------

FIGURES = [
    ("1,2", fig_warm_hits),
    ("3", fig_cold_parallel),
    ("4", fig_single_flight),
    ("5", fig_head_of_line),
    ("6", fig_large),
    ("7", fig_digest),
    ("8", fig_scale),
    ("9", fig_seed),
    ("10", fig_per_hit),
    ("11", fig_cold_trivial),
    ("15", fig_fmt),
    ("12,13,14,15,16,17", fig_table),
]


def machine():
    def out(cmd):
        try:
            return subprocess.run(cmd, capture_output=True,
                                  text=True).stdout.strip()
        except OSError:
            return "?"
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    osname = "?"
    if os.path.exists("/etc/os-release"):
        for line in open("/etc/os-release"):
            if line.startswith("PRETTY_NAME="):
                osname = line.split("=", 1)[1].strip().strip('"')
    return (f"{osname}, kernel {platform.release()}, {os.cpu_count()} CPUs "
            f"({cpu}), libfuse {out(['pkg-config', '--modversion', 'fuse3'])}"
            f", RocksDB {out(['pkg-config', '--modversion', 'rocksdb'])}")


def print_table(rows, out=sys.stdout):
    head = ("#", "figure", "memofs", "reference (same run)", "ratio",
            "target", "result")
    cells = [head] + [(r.fig, r.name, r.value, r.ref, r.ratio, r.target,
                       r.result()) for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(head))]
    for k, c in enumerate(cells):
        print("| " + " | ".join(s.ljust(w) for s, w in zip(c, widths)) +
              " |", file=out)
        if k == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|",
                  file=out)


def main():
    ap = argparse.ArgumentParser(description="memofs benchmark (issue #4)")
    ap.add_argument("--quick", action="store_true",
                    help="short smoke run: fewer repetitions, smaller data")
    ap.add_argument("--build", default="build",
                    help="meson build directory (default: build)")
    ap.add_argument("--memofs", help="the memofs binary to measure "
                    "(default: BUILD/fs/memofs)")
    ap.add_argument("--only", default="",
                    help="comma-separated figure numbers, e.g. 1,5,8")
    ap.add_argument("--json", help="also write the rows to this file")
    args = ap.parse_args()
    only = {x for x in args.only.split(",") if x}

    def on_term(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_term)

    b = Bench(args)
    t_start = time.time()
    try:
        b.build_all()
        print(f"memofs benchmark{' (--quick)' if args.quick else ''}: "
              f"{machine()}", flush=True)
        for figs, fn in FIGURES:
            if only and not only & set(figs.split(",")):
                continue
            t0 = time.time()
            try:
                fn(b)
            except BenchError as e:
                b.errors.append(f"figure {figs}: {e}")
                b.row(figs, "ERROR", str(e)[:60], ok=False, check=True)
                for m in list(b.mounts):
                    m.close(check=False)
            print(f"  figure {figs}: {time.time() - t0:.0f} s", flush=True)
    except KeyboardInterrupt:
        print("\ninterrupted: cleaning up", file=sys.stderr)
        b.cleanup()
        return 1
    finally:
        b.cleanup()
    print()
    print_table(b.rows)
    print(f"\nmedians of {b.cfg['reps']} (hits), {b.cfg['cold_reps']} "
          f"(cold, mounts) runs; total {time.time() - t_start:.0f} s")
    for e in b.errors:
        print(f"error: {e}", file=sys.stderr)
    if args.json:
        with open(args.json, "w") as f:
            json.dump([r.__dict__ for r in b.rows], f, indent=1)
    bad = [r for r in b.rows if r.check and r.ok is False]
    return 1 if bad or b.errors else 0


if __name__ == "__main__":
    sys.exit(main())
