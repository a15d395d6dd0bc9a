#!/usr/bin/python3
"""joblib_ref.py -- the joblib reference of the memofs benchmark (run.py).

Run with Debian's /usr/bin/python3 (python3-numpy, python3-joblib):

    joblib_ref.py seed --delay 2 --cachedir DIR
        replays shared/seed/nested_parallel_memory.rst (joblib's
        "Checkpoint using joblib.Memory and joblib.Parallel") with
        time.sleep(delay) in costly_compute, and prints its four timings
        as JSON: {"sequential": s, "first": s, "second": s, "reuse": s}.

    joblib_ref.py hit --rows 10000 --seconds 1 --reps 5 --cachedir DIR
        caches costly_compute(data, 0) for RandomState(42).randn(rows, 4),
        then times calls of the cached function with that same, already
        cached argument, and prints JSON: {"us_per_call": [one per rep]}.

    joblib_ref.py miss --calls 200 --cachedir DIR
        times calls of a cached trivial function (it returns 1), each with
        an argument never seen before (a miss: hash, compute, store), and
        prints JSON: {"us_per_call": [one per call]}.

DIR is used as the joblib.Memory location and cleared at the end.
"""
import argparse
import json
import sys
import time

import numpy as np
from joblib import Memory, Parallel, delayed

DELAY = 2.0     # set from --delay before any function runs


def costly_compute(data, column):
    """Emulate a costly function by sleeping and returning a column."""
    time.sleep(DELAY)
    return data[column]


def data_processing_mean(data, column):
    """Compute the mean of a column."""
    return costly_compute(data, column).mean()


def seed(args):
    """The seed script, step by step; returns the four elapsed times."""
    global DELAY
    DELAY = args.delay
    rng = np.random.RandomState(42)
    data = rng.randn(int(1e4), 4)
    out = {}

    start = time.time()
    [data_processing_mean(data, col) for col in range(data.shape[1])]
    out["sequential"] = time.time() - start

    memory = Memory(args.cachedir, verbose=0)
    costly_compute_cached = memory.cache(costly_compute)

    def data_processing_mean_using_cache(data, column):
        """Compute the mean of a column."""
        return costly_compute_cached(data, column).mean()

    def data_processing_max_using_cache(data, column):
        """Compute the max of a column."""
        return costly_compute_cached(data, column).max()

    start = time.time()
    Parallel(n_jobs=2)(delayed(data_processing_mean_using_cache)(data, col)
                       for col in range(data.shape[1]))
    out["first"] = time.time() - start

    start = time.time()
    Parallel(n_jobs=2)(delayed(data_processing_mean_using_cache)(data, col)
                       for col in range(data.shape[1]))
    out["second"] = time.time() - start

    start = time.time()
    Parallel(n_jobs=2)(delayed(data_processing_max_using_cache)(data, col)
                       for col in range(data.shape[1]))
    out["reuse"] = time.time() - start

    memory.clear(warn=False)
    return out


def hit(args):
    """Per-call cost of a cache hit; returns {"us_per_call": [...]}."""
    global DELAY
    DELAY = 0.0
    data = np.random.RandomState(42).randn(args.rows, 4)
    memory = Memory(args.cachedir, verbose=0)
    cached = memory.cache(costly_compute)
    cached(data, 0)             # computes and stores
    cached(data, 0)             # first hit: warms every lazy import
    per_call = []
    for _ in range(args.reps):
        n = 0
        t0 = time.perf_counter()
        while True:
            cached(data, 0)
            n += 1
            t = time.perf_counter() - t0
            if t >= args.seconds:
                break
        per_call.append(t / n * 1e6)
    memory.clear(warn=False)
    return {"us_per_call": per_call}


def trivial(k):
    """Nothing to compute: what a miss costs is joblib's own work."""
    return 1


def miss(args):
    """Per-call cost of a miss; returns {"us_per_call": [...]}."""
    memory = Memory(args.cachedir, verbose=0)
    cached = memory.cache(trivial)
    cached(-1)                  # warms every lazy import
    per_call = []
    for k in range(args.calls):
        t0 = time.perf_counter()
        cached(k)
        per_call.append((time.perf_counter() - t0) * 1e6)
    memory.clear(warn=False)
    return {"us_per_call": per_call}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("seed")
    s.add_argument("--delay", type=float, default=2.0)
    s.add_argument("--cachedir", required=True)
    h = sub.add_parser("hit")
    h.add_argument("--rows", type=int, default=10000)
    h.add_argument("--seconds", type=float, default=1.0)
    h.add_argument("--reps", type=int, default=5)
    h.add_argument("--cachedir", required=True)
    m = sub.add_parser("miss")
    m.add_argument("--calls", type=int, default=200)
    m.add_argument("--cachedir", required=True)
    args = p.parse_args()
    out = {"seed": seed, "hit": hit, "miss": miss}[args.cmd](args)
    json.dump(out, sys.stdout)
    print()


if __name__ == "__main__":
    main()
