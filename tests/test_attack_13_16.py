"""test_attack_13_16.py -- faults found by attacking what issues 13 to 16
built (real-world tables, functions of several arguments, operating
memofs, the remote tier) as a hostile new user, each value compared with
numpy or pandas.  A test marked xfail(strict) is a fault in code another
helper owns: its reason says where and what the fix is.
"""
import errno
import json
import os
import subprocess

import numpy as np
import pytest

from conftest import wait_until


def cli(memofs_bin, *args, **kw):
    return subprocess.run([memofs_bin, *map(str, args)], capture_output=True,
                          text=True, timeout=30, **kw)


def write_csv(path, columns):
    """columns: {name: [float...]}, written with repr() (exact)."""
    names = list(columns)
    rows = zip(*(columns[n] for n in names))
    path.write_text(",".join(names) + "\n" +
                    "".join(",".join(repr(float(v)) for v in r) + "\n"
                            for r in rows))
    return path


def numpy_histogram(values, bins):
    """numpy's counts, or None when numpy fails on that range."""
    try:
        with np.errstate(all="ignore"):
            return [int(c) for c in np.histogram(np.array(values), bins)[0]]
    except (ValueError, IndexError):
        return None


# ---- issue 14: histogram over a range numpy cannot split --------------------

def test_histogram_of_a_range_numpy_cannot_split_fails_cleanly(
        mount_factory, tmp_path):
    """max - min overflowing to inf (values near +-1.8e308), a range so
    narrow that BINS / (max - min) is inf (0 and 5e-324), and a constant
    column so large that widening it by 0.5 changes nothing: the bin of
    each value was (size_t)NaN, undefined behaviour that counted values
    in the wrong bin (4 of 5 values in histogram/1) or out of the array.
    numpy fails on each (IndexError); memofs must fail the read (EIO),
    never serve wrong counts."""
    cols = {
        "wide": [1e308, -1e308, 0.0, 1.0, 2.0],
        "narrow": [0.0, 5e-324, 0.0, 0.0, 5e-324],
        "huge_const": [1.7e308] * 5,
        "fine": [1.0, 2.0, 2.5, 4.0, 5.0],
        "tiny_ok": [1e-300, 2e-300, 1.5e-300, 1e-300, 2e-300],
    }
    data = write_csv(tmp_path / "edge.csv", cols)
    m = mount_factory(data=data)
    for name, values in cols.items():
        for bins in (1, 3, 10):
            want = numpy_histogram(values, bins)
            rel = f"histogram/{bins}/{name}"
            if want is None:
                with pytest.raises(OSError) as e:
                    m.read(rel)
                assert e.value.errno == errno.EIO, rel
            else:
                got = [int(x) for x in m.read(rel).split()]
                assert got == want, rel
    m.unmount()


# ---- issue 15: clearing ------------------------------------------------------

def test_clear_with_an_empty_name_clears_nothing(mount_factory, memofs_bin):
    """`memofs clear MNT "$FN"` with FN unset or empty was `memofs clear
    MNT`: every stored result went.  An empty name is no function: it
    must be refused, as `nosuch` is, and clear nothing."""
    m = mount_factory(opts=["workers=1"])
    m.read("mean/col0")
    m.read("quantile/0.9/col1")
    r = cli(memofs_bin, "clear", m.path, "")
    assert r.returncode != 0, r.stdout
    assert "cleared" not in r.stdout
    for rel in ("mean/col0", "quantile/0.9/col1"):
        assert os.getxattr(m.p(rel), "user.memofs.state") == b"cached", rel
    # the documented forms still work
    r = cli(memofs_bin, "clear", m.path, "mean")
    assert r.returncode == 0 and "cleared 1 stored result" in r.stdout
    m.unmount()


# ---- issue 15: logs ----------------------------------------------------------

def test_log_option_naming_a_fifo_is_refused_not_a_hang(mount_factory,
                                                       tmp_path):
    """-o log=FIFO: open(2) for writing blocks until a reader comes, so
    memofs hung before mounting, forever.  A FIFO is not a log file:
    refused at once with one line, as a link or another user's file."""
    fifo = tmp_path / "log.fifo"
    os.mkfifo(fifo, 0o600)
    r = mount_factory.run(["-f", "-o", f"log={fifo}",
                           mount_factory.mountpoint()], timeout=10)
    assert r.returncode == 1
    assert "log=" in r.stderr


def test_fallback_log_planted_as_a_fifo_never_hangs_the_mount(mount_factory):
    """On a machine without syslog, a background memofs with a temporary
    cache and no XDG_RUNTIME_DIR logs to $TMPDIR/memofs-UID.log, a name
    anyone can predict in /tmp.  Another user who makes a FIFO there
    hung the daemon in open(2) right after the mount was ready: every
    access to the mount then waited forever.  The FIFO must be refused
    (the daemon falls back to syslog) and the mount must serve."""
    if os.path.exists("/dev/log"):
        pytest.skip("the fallback log file is for machines without syslog")
    mount_factory.env.pop("XDG_RUNTIME_DIR", None)
    fifo = mount_factory.tmpdir / f"memofs-{os.getuid()}.log"
    os.mkfifo(fifo, 0o666)
    d = mount_factory.daemon()
    assert d.result.returncode == 0, d.result.stderr
    r = subprocess.run(["timeout", "-s", "KILL", "10", "cat",
                        str(d.path / "max/col0")], capture_output=True)
    if r.returncode != 0:
        d.cleanup()     # the daemon is stuck in open(2): kill it first
        pytest.fail("the mount hung: the daemon blocked on the FIFO")
    assert float(r.stdout) == float(np.random.RandomState(42)
                                    .randn(10000, 4)[:, 0].max())
    d.unmount()


# ---- issue 15: extended attributes on every kind of node ---------------------

CONTROL_FILES = (".memofs", ".memofs/stats", ".memofs/stats.json",
                 ".memofs/jobs", ".memofs/clear")


def test_listxattr_of_control_files(mount_factory):
    """Every node answers listxattr: results, directories, argument
    directories and the hidden .memofs files (none of their own)."""
    m = mount_factory()
    for rel in ("", "mean", "quantile/0.9", "mean/col0", "mean/col0.npy"):
        os.listxattr(m.p(rel))      # these work
    for rel in CONTROL_FILES:
        assert os.listxattr(m.p(rel)) == [], rel
    m.unmount()


# ---- issue 15: modification times -------------------------------------------

def test_npy_view_mtime_is_its_creation_time(mount_factory, tmp_path):
    """README: 'The modification time of a computed result is its
    creation time' -- for both views of one result."""
    m = mount_factory(opts=["delay=1.2", "workers=2"])
    for rel in ("mean/col1", "column/col2", "quantile/0.5/col3"):
        m.read(rel)
        created = os.getxattr(m.p(rel), "user.memofs.created").decode()
        want = os.stat(m.p(rel)).st_mtime_ns
        assert str(want % 10**9).zfill(9) in created, rel
        npy = os.stat(m.p(rel + ".npy")).st_mtime_ns
        assert npy == want, (rel + ".npy", npy, want)
    m.unmount()


# ---- issue 16: secrets -------------------------------------------------------

def test_remote_password_file_naming_a_fifo_is_refused(mount_factory,
                                                       tmp_path):
    fifo = tmp_path / "pw"
    os.mkfifo(fifo, 0o600)
    r = mount_factory.run(["-f", "-o", "remote=redis://127.0.0.1:1,"
                           f"remote_password_file={fifo}",
                           mount_factory.mountpoint()], timeout=3)
    assert r.returncode == 1
    assert "not a regular file" in r.stderr


# ---- issue 13: a one-column text table is not whitespace-separated ----------

def test_one_column_of_two_word_names_stays_one_column(mount_factory,
                                                       tmp_path):
    import pandas as pd
    data = tmp_path / "names.csv"
    data.write_text("full name\nJohn Smith\nJane Doe\nAda Lovelace\n")
    want = pd.read_csv(data)
    assert list(want.columns) == ["full name"]
    m = mount_factory(data=data)
    names = sorted(n for n in os.listdir(m.p("count"))
                   if not n.endswith(".npy"))
    assert names == ["col0", "full name"]
    assert m.read("column/col0").decode().splitlines() == \
        list(want["full name"])
    m.unmount()


# ---- issue 13: a text file that starts like a compressed one ----------------

def test_a_csv_starting_with_bzh_digit_is_text(mount_factory, tmp_path):
    import pandas as pd
    data = tmp_path / "t.csv"
    data.write_text("BZh1,b\n1,2\n3,4\n")
    assert list(pd.read_csv(data).columns) == ["BZh1", "b"]
    m = mount_factory(data=data)
    assert m.read("sum/BZh1") == b"4.0\n"
    m.unmount()


# ---- issue 13: options that skip past the end ---------------------------------

@pytest.mark.parametrize("opt,lines", [("header=5", 4), ("skiprows=100", 4),
                                       ("skiprows=4", 4)])
def test_skipping_past_the_end_is_not_called_an_empty_file(
        mount_factory, tmp_path, opt, lines):
    """-o header=N or skiprows=N beyond the file's rows was refused as
    'empty file', of a file that is not: the line now says what was
    skipped and how many lines the file has."""
    data = tmp_path / "t.csv"
    data.write_text("# source: here\na,b\n1,2\n3,4\n")
    r = mount_factory.run(["-f", "-o", opt, data,
                           mount_factory.mountpoint()])
    assert r.returncode == 1
    assert "empty file" not in r.stderr
    assert "no row left after -o skiprows=" in r.stderr
    assert f"(the file has {lines} lines)" in r.stderr, r.stderr


# ---- issue 14: cov over an inf, as DataFrame.cov() ----------------------------

@pytest.mark.parametrize("gap", [False, True])
def test_cov_over_an_inf_is_dataframe_cov(mount_factory, tmp_path, gap):
    """DataFrame.cov() of a table without a missing value is numpy.cov
    over every row: an inf makes the covariance nan.  memofs skipped the
    inf's row (pandas' nancorr, which pandas uses only when the table
    misses a value somewhere), giving a number where pandas gives nan.
    With a gap anywhere in the table, pandas skips non-finite rows:
    memofs must then too, bit for bit."""
    import pandas as pd
    c = ["" if gap else "3", "1", "2", "9", "5"]
    data = tmp_path / "inf.csv"
    data.write_text("a,b,c\n" + "".join(
        f"{a},{b},{cc}\n" for a, b, cc in zip(
            ["1", "inf", "3", "4", "-2"], ["2", "4", "7", "1", "8"], c)))
    want = pd.read_csv(data).cov()
    m = mount_factory(data=data)
    for i in range(3):
        for j in range(3):
            got = float(m.read(f"cov/col{i}/col{j}"))
            exp = float(want.iloc[i, j])
            if np.isnan(exp):
                assert np.isnan(got), (i, j, got)
            elif gap:
                assert got == exp, (i, j, got, exp)
            else:
                assert abs(got - exp) <= 1e-12 * abs(exp), (i, j, got, exp)
    m.unmount()


# ---- issue 14: quantile of an int64 column -----------------------------------

def test_quantile_of_an_int64_column_is_numpys_of_its_float64_values(
        mount_factory, tmp_path):
    """numpy.quantile of an int64 array interpolates with int64
    differences, which wrap around past 2^63 (numpy gives a positive 10th
    percentile of a column whose lower half is negative) and round
    otherwise than doubles past 2^53.  memofs computes on the column's
    float64 values, bit for bit numpy.quantile(col.astype(float), q):
    the README says so, and this pins it."""
    import pandas as pd
    vals = [2**53 + 1, 2**53 + 3, 2**62 + 1, 2**62 + 1025, -2**63,
            2**63 - 1, 12345678901234567]
    data = tmp_path / "ints.csv"
    data.write_text("a,b\n" + "".join(f"{v},{i}\n"
                                       for i, v in enumerate(vals)))
    a = pd.read_csv(data)["a"].to_numpy()
    assert a.dtype == np.int64
    m = mount_factory(data=data)
    for q in ("0", "0.1", "0.25", "0.5", "0.9", "1"):
        got = m.read(f"quantile/{q}/a").decode().strip()
        assert got == repr(float(np.quantile(a.astype(float), float(q)))), q
    with np.errstate(all="ignore"):
        wrapped = float(np.quantile(a, 0.1))
    assert wrapped > 0      # numpy's int64 arithmetic wrapped
    assert float(m.read("quantile/0.1/a")) < 0
    m.unmount()


# ---- issues 15 and 16: clear on a mount that shares through Redis -----------

@pytest.fixture
def redis(tmp_path):
    from redis_server import RedisServer
    r = RedisServer(tmp_path / "redis").start()
    yield r
    r.stop()


def test_clear_with_remote_serves_the_clusters_copy_until_deleted_there(
        mount_factory, memofs_bin, redis, tmp_path):
    """`memofs clear` drops this machine's copies; with -o remote the
    next read finds the cluster's copy in Redis and serves it, without
    computing (the README said 'the next read recomputes', which a user
    clearing a bad result relied on).  Deleting the value in Redis
    (PREFIX:v: and the result's user.memofs.key) makes it recompute."""
    data = write_csv(tmp_path / "d.csv", {"a": [1.0, 2.0, 4.0],
                                          "b": [3.0, 5.0, 7.0]})
    m = mount_factory(data=data, opts=[f"remote={redis.url}", "delay=0.2",
                                       "remote_timeout=5000"])
    assert m.read("mean/a") == b"2.3333333333333335\n"
    assert m.count("mean", "col0") == 1
    r = cli(memofs_bin, "clear", m.path, "mean/a")
    assert r.returncode == 0 and "cleared 1 stored result" in r.stdout
    assert m.read("mean/a") == b"2.3333333333333335\n"
    assert m.count("mean", "col0") == 1         # served from Redis
    stats = json.loads(cli(memofs_bin, "stats", m.path, "--json").stdout)
    assert stats["functions"]["mean"]["remote_hits"] == 1
    key = os.getxattr(m.p("mean/a"), "user.memofs.key").decode()
    assert redis.call("DEL", f"memofs:v:{key}") == 1
    assert cli(memofs_bin, "clear", m.path, "mean/a").returncode == 0
    assert m.read("mean/a") == b"2.3333333333333335\n"
    assert m.count("mean", "col0") == 2         # computed again
    m.unmount()


def test_remote_record_older_than_max_age_is_recomputed_not_eio(
        mount_factory, redis, tmp_path):
    """Machine A (no max_age) publishes a result; 3 s later machine B,
    with -o max_age=2s, reads it.  B used to take A's record from Redis
    (keeping its creation time), find it expired in its own cache, take
    it from Redis again, three times, and fail the read with EIO: an
    error because of the remote tier, for a result B could compute.  A
    record in Redis older than max_age must count as absent: B computes
    it, serves it, and publishes the fresh one."""
    data = write_csv(tmp_path / "d.csv", {"a": [1.0, 2.0, 4.0],
                                          "b": [3.0, 5.0, 7.0]})
    opts = [f"remote={redis.url}", "delay=0.2", "remote_timeout=5000"]
    a = mount_factory(data=data, opts=opts)
    assert a.read("mean/a") == b"2.3333333333333335\n"
    old = os.getxattr(a.p("mean/a"), "user.memofs.created")
    key = os.getxattr(a.p("mean/a"), "user.memofs.key").decode()
    published = redis.call("GET", f"memofs:v:{key}")
    assert published
    a.unmount()
    wait_until(lambda: False, 3.2)      # A's record is now 3 s old
    b = mount_factory(data=data, opts=opts + ["max_age=2s"])
    assert b.read("mean/a") == b"2.3333333333333335\n"
    assert b.count("mean", "col0") == 1
    assert os.getxattr(b.p("mean/a"), "user.memofs.created") > old
    assert redis.call("GET", f"memofs:v:{key}") != published
    b.unmount()


def test_remote_record_from_a_clock_ahead_never_fails_a_read(
        mount_factory, redis, tmp_path):
    """Machines' clocks differ.  A record published by a machine whose
    clock is a minute ahead has a creation time in this machine's
    future; with -o max_age, `now - created` wrapped around (unsigned)
    to an age of centuries: the record was taken from Redis, expired at
    once in the local cache, taken again, and the read failed with EIO.
    Served, never an error: a record from the future is new, in the
    local cache (memo_expired()) as in the remote tier."""
    import struct
    import time
    data = write_csv(tmp_path / "d.csv", {"a": [1.0, 2.0, 4.0],
                                          "b": [3.0, 5.0, 7.0]})
    opts = [f"remote={redis.url}", "delay=0.2", "remote_timeout=5000"]
    a = mount_factory(data=data, opts=opts)
    assert a.read("mean/a") == b"2.3333333333333335\n"
    key = os.getxattr(a.p("mean/a"), "user.memofs.key").decode()
    a.unmount()
    rec = bytearray(redis.call("GET", f"memofs:v:{key}"))
    ahead = time.time_ns() + 60 * 10**9     # created_ns: header offset 32
    rec[32:40] = struct.pack("<Q", ahead)
    redis.call("SET", f"memofs:v:{key}", bytes(rec))
    b = mount_factory(data=data, opts=opts + ["max_age=1h"])
    assert b.read("mean/a") == b"2.3333333333333335\n"
    assert b.read("mean/a.npy")[128:] == np.float64(7 / 3).tobytes()
    b.unmount()


# ---- issues 13 and 14: a variance that overflows ------------------------------

@pytest.mark.parametrize("values", [[1e308, 1e308, 5.0],
                                    [1e200, -1e200, 0.0]])
def test_variance_of_finite_values_that_overflows_is_inf(
        mount_factory, tmp_path, values):
    data = write_csv(tmp_path / "ov.csv", {"a": values,
                                           "b": [1.0, 2.0, 3.0]})
    a = np.array(values)
    m = mount_factory(data=data)
    with np.errstate(all="ignore"):
        want = {"var/a": np.var(a), "std/a": np.std(a),
                "nanvar/a": np.nanvar(a), "var_ddof/1/a": np.var(a, ddof=1),
                "std_ddof/1/a": np.std(a, ddof=1)}
    for rel, w in want.items():
        assert float(m.read(rel)) == float(w) == np.inf, rel
    m.unmount()


# ---- issue 15: -o log=stderr in the background -------------------------------

def test_log_stderr_in_the_background_reaches_stderr(mount_factory,
                                                     memofs_bin, tmp_path):
    from conftest import fusermount_u, is_mounted, memofs_pids
    mnt = mount_factory.mountpoint()
    err = tmp_path / "stderr.log"
    with open(err, "wb") as f:
        r = subprocess.run([memofs_bin, "-o", "log=stderr", mnt],
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=f, env=mount_factory.env, timeout=30)
    try:
        assert r.returncode == 0
        (mnt / "mean" / "col0").read_bytes()
    finally:
        if is_mounted(mnt):
            fusermount_u(mnt)
        wait_until(lambda: not memofs_pids(mnt), 10)
        for pid in memofs_pids(mnt):
            os.kill(pid, 9)
    assert "mean(col0): done in" in err.read_text()
