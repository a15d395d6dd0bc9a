#!/usr/bin/python3
"""seed_joblib.py -- the joblib reference of the memofs benchmark.

    seed_joblib.py DELAY CACHEDIR   the shared/seed example with
                                    costly_compute sleeping DELAY seconds;
                                    prints sequential, first round, second
                                    round and reuse-max times in seconds
    seed_joblib.py hit CACHEDIR     microseconds of one call of a
                                    joblib.Memory-cached function on an
                                    already-cached (10000x4 array, column)

It follows the seed (nested_parallel_memory.rst) line for line, with the
delay as a parameter so the benchmark can run a shorter version.
"""
import shutil
import sys
import time

import numpy as np
from joblib import Memory, Parallel, delayed

DELAY = 2.0


def costly_compute(data, column):
    """Emulate a costly function by sleeping and returning a column."""
    time.sleep(DELAY)
    return data[column]


def data_processing_mean(data, column):
    return costly_compute(data, column).mean()


def seed(location):
    rng = np.random.RandomState(42)
    data = rng.randn(int(1e4), 4)
    times = []

    start = time.time()
    [data_processing_mean(data, col) for col in range(data.shape[1])]
    times.append(time.time() - start)

    memory = Memory(location, verbose=0)
    costly_compute_cached = memory.cache(costly_compute)

    def data_processing_mean_using_cache(data, column):
        return costly_compute_cached(data, column).mean()

    def data_processing_max_using_cache(data, column):
        return costly_compute_cached(data, column).max()

    for fn in (data_processing_mean_using_cache,
               data_processing_mean_using_cache,
               data_processing_max_using_cache):
        start = time.time()
        Parallel(n_jobs=2)(delayed(fn)(data, col)
                           for col in range(data.shape[1]))
        times.append(time.time() - start)
    memory.clear(warn=False)
    return times


def hit(location):
    global DELAY
    DELAY = 0.0
    data = np.random.RandomState(42).randn(int(1e4), 4)
    memory = Memory(location, verbose=0)
    cached = memory.cache(costly_compute)
    cached(data, 0)
    n = 200
    start = time.perf_counter()
    for _ in range(n):
        cached(data, 0)
    per = (time.perf_counter() - start) / n * 1e6
    memory.clear(warn=False)
    return per


def main():
    global DELAY
    if sys.argv[1] == "hit":
        print(f"{hit(sys.argv[2]):.1f}")
    else:
        DELAY = float(sys.argv[1])
        print(" ".join(f"{t:.6f}" for t in seed(sys.argv[2])))
    shutil.rmtree(sys.argv[-1], ignore_errors=True)


if __name__ == "__main__":
    main()
