"""test_mount.py -- memofs end to end: mount, read, compute, cache, unmount.

Covers issue #3: the tree, the values (against numpy), number formatting,
datasets (CSV, .npy), start-up errors, read-only semantics, every kind of
reader, delays and single flight, concurrent cold readers (the kernel cache
trap of KERNEL-CACHING.md), nested reuse, no deadlock with one worker,
warm reads while the workers are busy, Ctrl-C, the persistent cache, the
temporary cache, daemon mode.

Computations are counted from the log lines of memofs -f:
    memofs: info: mean(col3): computing
Timing checks are ratios to the configured delay, never absolute speeds.
"""
import errno
import mmap
import os
import re
import signal
import stat
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from conftest import (fusermount_u, is_mounted, memofs_pids, pid_alive,
                      wait_until)

FUNCTIONS = ["column", "sum", "mean", "var", "std", "min", "max", "median",
             "nansum", "nanmean", "nanvar", "nanstd", "nanmin", "nanmax",
             "nanmedian", "count", "size", "nunique", "value_counts"]
# The built-ins of several arguments (test_args.py tests them).
ARGS_FUNCTIONS = ["quantile", "percentile", "corr", "cov", "histogram",
                  "var_ddof", "std_ddof", "nanvar_ddof", "nanstd_ddof",
                  "head", "tail"]
REDUCTIONS = {
    "sum": np.sum, "mean": np.mean, "var": np.var, "std": np.std,
    "min": np.min, "max": np.max, "median": np.median,
}
PY_READER = "import sys; sys.stdout.buffer.write(open(sys.argv[1], 'rb').read())"
# The size stat shows for a result not computed yet (mfs_ops.c).
PLACEHOLDER_SIZE = 4096


# ---- expected values --------------------------------------------------------

@pytest.fixture(scope="session")
def demo():
    """The demo dataset, as numpy makes it."""
    return np.random.RandomState(42).randn(10000, 4)


def column_bytes(values):
    """What column/colN holds: repr(float(x)) of each value, one a line."""
    return "".join(repr(float(x)) + "\n" for x in values).encode()


def one_number(data, what):
    """Parses a reduction result: one number and a newline."""
    text = data.decode()
    assert text.endswith("\n") and text.count("\n") == 1, \
        f"{what}: expected one number and a newline, got {data!r}"
    value = float(text)
    assert text[:-1] == repr(value), \
        f"{what}: expected Python's repr {repr(value)!r}, got {text!r}"
    return value


def check_column(m, arg, values, what="data"):
    """Asserts that every function of arg on mount m agrees with numpy;
    an integer array's column prints integers (issue 13)."""
    values = np.asarray(values)
    if values.dtype.kind in "biu":
        want = "".join(f"{int(x)}\n" for x in values).encode().splitlines()
    else:
        want = column_bytes(values).splitlines()
    got = m.read(f"column/{arg}").splitlines()
    for i, w in enumerate(want):
        g = got[i] if i < len(got) else b"(missing)"
        assert g == w, f"{what} column/{arg}: line {i + 1}: expected " \
                       f"{w!r}, got {g!r}"
    assert len(got) == len(want), \
        f"{what} column/{arg}: expected {len(want)} lines, got {len(got)}"
    for fn, ref in REDUCTIONS.items():
        expect = float(ref(values.astype(np.float64)))
        value = one_number(m.read(f"{fn}/{arg}"), f"{fn}/{arg}")
        assert value == pytest.approx(expect, rel=1e-12, abs=0), \
            f"{what} {fn}/{arg}: expected {expect!r} (numpy), got {value!r}"
    count = m.read(f"count/{arg}")
    assert count == f"{len(values)}\n".encode(), \
        f"{what} count/{arg}: expected {len(values)}, got {count!r}"


def write_csv(path, arr, header=None):
    arr = np.asarray(arr, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[:, None]
    lines = [",".join(header)] if header else []
    lines += [",".join(repr(float(x)) for x in row) for row in arr]
    path.write_text("\n".join(lines) + "\n")
    return path


def run_readers(cmds, timeout=30):
    """Starts every command at once; returns their outputs, in order."""
    procs = [subprocess.Popen(c, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE) for c in cmds]
    outs = []
    try:
        for p in procs:
            out, err = p.communicate(timeout=timeout)
            assert p.returncode == 0, \
                f"{p.args} exited with {p.returncode} (expected 0): {err!r}"
            outs.append(out)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    return outs


def in_thread(fn, timeout, what):
    """Runs fn() in a thread; fails if it has not returned after timeout
    (the watchdog in conftest then unblocks the thread).  Returns fn()."""
    box = {}

    def run():
        try:
            box["value"] = fn()
        except BaseException as e:   # reported in the test's thread
            box["error"] = e
    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(timeout)
    if t.is_alive():
        pytest.fail(f"{what}: still blocked after {timeout} s "
                    f"(expected it to finish)")
    if "error" in box:
        raise box["error"]
    return box["value"]


def expect_startup_error(r, *needles, one_line=True):
    """r exited non-zero with one stderr line naming every needle (without
    one_line: the last line names them)."""
    assert r.returncode != 0, \
        f"expected a non-zero exit, got 0; stderr: {r.stderr!r}"
    assert r.stderr.strip(), "expected an error message on stderr, got nothing"
    if one_line:
        assert len(r.stderr.strip().splitlines()) == 1, \
            f"expected a one-line error message, got:\n{r.stderr}"
    err = r.stderr.strip().splitlines()[-1]
    assert err.startswith("memofs: "), \
        f"expected the message to start with 'memofs: ', got {err!r}"
    for n in needles:
        assert n in err, f"expected {n!r} in the message, got {err!r}"
    return err


# ---- the tree ---------------------------------------------------------------

def test_root_lists_functions(mount_factory):
    m = mount_factory()
    assert sorted(os.listdir(m.path)) == sorted(FUNCTIONS + ARGS_FUNCTIONS), \
        f"root: expected exactly {FUNCTIONS + ARGS_FUNCTIONS}"
    for fn in FUNCTIONS:
        st = os.stat(m.p(fn))
        assert stat.S_ISDIR(st.st_mode), f"{fn}: expected a directory"


def with_npy(names):
    """A typed function's listing of names: each, and its .npy view."""
    return sorted(list(names) + [n + ".npy" for n in names])


def test_function_dir_lists_columns(mount_factory, tmp_path):
    m = mount_factory()
    # value_counts is text: no .npy views
    views = {fn: with_npy if fn != "value_counts" else sorted
             for fn in FUNCTIONS}
    for fn in FUNCTIONS:
        assert sorted(os.listdir(m.p(fn))) == \
            views[fn](["col0", "col1", "col2", "col3"]), \
            f"{fn}/ of the demo: expected col0..col3 and their .npy"
    data = write_csv(tmp_path / "h.csv", np.arange(6.0).reshape(2, 3),
                     header=["alpha", "beta", "gamma_1"])
    m2 = mount_factory(data=data)
    names = ["col0", "col1", "col2", "alpha", "beta", "gamma_1"]
    for fn in FUNCTIONS:
        want = views[fn](names)
        assert sorted(os.listdir(m2.p(fn))) == want, \
            f"{fn}/ with a header: expected {want}"


def test_listing_and_stat_never_compute(mount_factory, demo):
    m = mount_factory()
    for fn in FUNCTIONS:
        for arg in os.listdir(m.p(fn)):
            st = os.stat(m.p(f"{fn}/{arg}"))
            assert stat.S_ISREG(st.st_mode), f"{fn}/{arg}: expected a file"
            assert stat.S_IMODE(st.st_mode) == 0o444, \
                f"{fn}/{arg}: expected mode 0444, got {oct(st.st_mode)}"
            # A .npy view's size is known before computing (README).
            want = PLACEHOLDER_SIZE if not arg.endswith(".npy") else \
                128 + 8 * (len(demo) if fn == "column" else 1)
            assert st.st_size == want, \
                f"{fn}/{arg}: expected the size {want} before " \
                f"computing, got {st.st_size}"
    r = subprocess.run(["ls", "-lR", str(m.path)], capture_output=True,
                       timeout=20)
    assert r.returncode == 0, f"ls -lR failed: {r.stderr!r}"
    assert m.computing_lines() == [], \
        f"expected no computation from listing and stat, got " \
        f"{m.computing_lines()}"

    data = m.read("mean/col0")
    assert os.stat(m.p("mean/col0")).st_size == len(data), \
        "mean/col0: expected stat to show the true size after reading"
    # The intermediate is computed too, so its size is known now.
    assert os.stat(m.p("column/col0")).st_size == len(column_bytes(
        demo[:, 0])), "column/col0: expected its true size once computed"
    assert os.stat(m.p("mean/col1")).st_size == PLACEHOLDER_SIZE, \
        "mean/col1: expected the placeholder size while not computed"
    assert m.count("mean", "col1") == 0 and m.count("column", "col1") == 0


def test_fstat_after_reading_gives_true_size(mount_factory, demo):
    m = mount_factory()
    want = column_bytes(demo[:, 2])
    fd = os.open(m.p("column/col2"), os.O_RDONLY)
    try:
        assert os.read(fd, 10) == want[:10]
        assert os.fstat(fd).st_size == len(want), \
            "fstat on a file open while it was computed: expected the " \
            "true size"
        assert os.pread(fd, len(want) + 10, 0) == want
    finally:
        os.close(fd)
    assert m.count("column", "col2") == 1


# fstat() reaches FUSE as a getattr *without* a file handle, exactly like
# stat(); memofs computes when the process asking has the file open (it
# looks in /proc/PID/fd), so fstat of an open cold file has the true size.
def test_fstat_of_cold_file_computes(mount_factory, demo):
    m = mount_factory()
    want = column_bytes(demo[:, 2])
    fd = os.open(m.p("column/col2"), os.O_RDONLY)
    try:
        assert os.fstat(fd).st_size == len(want), \
            "fstat on an open cold file: expected the true size"
    finally:
        os.close(fd)


def test_mmap_of_cold_file(mount_factory, demo):
    m = mount_factory()
    with open(m.p("column/col3"), "rb") as f:
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            assert bytes(mm) == column_bytes(demo[:, 3])


def test_description_xattr(mount_factory):
    m = mount_factory()
    assert os.listxattr(m.p("mean")) == ["user.memofs.description"]
    desc = os.getxattr(m.p("mean"), "user.memofs.description")
    assert b"mean" in desc, f"expected a description of mean, got {desc!r}"
    with pytest.raises(OSError) as e:
        os.getxattr(m.p("mean/col0"), "user.memofs.description")
    assert e.value.errno == errno.ENODATA


# ---- values -----------------------------------------------------------------

def test_demo_dataset_values(mount_factory, demo):
    m = mount_factory()
    for j in range(4):
        check_column(m, f"col{j}", demo[:, j], "demo")


def test_number_formatting(mount_factory, tmp_path):
    texts = ["0.1", "1e16", "1e-5", "1e300", "-0.0", "3", "0.0001",
             "1.5e16", "123456789012345678", "9999999999999998", "1e15",
             "0.30000000000000004", "5e-324", "-2.5", "1e-300",
             "2.2250738585072014e-308", "1.7976931348623157e308",
             "0.333333333333333314829616256247", "100", "-1e22", "1e21",
             "12345.678", "inf", "-inf", "nan"]
    data = tmp_path / "fmt.csv"
    data.write_text("\n".join(texts) + "\n")
    m = mount_factory(data=data)
    got = m.read("column/col0").decode().splitlines()
    want = [repr(float(t)) for t in texts]
    assert len(got) == len(want), f"expected {len(want)} lines, got {got}"
    for t, g, w in zip(texts, got, want):
        assert g == w, f"{t}: expected {w!r} (repr(float)), got {g!r}"
    for t, w in [("0.1", "0.1"), ("1e16", "1e+16"), ("1e-5", "1e-05"),
                 ("1e300", "1e+300"), ("-0.0", "-0.0"), ("3", "3.0")]:
        assert got[texts.index(t)] == w, f"{t}: expected {w!r}"


def test_random_doubles_round_trip(mount_factory, tmp_path):
    # Random bit patterns: every magnitude, printed shortest, exactly.
    rng = np.random.default_rng(7)
    bits = rng.integers(0, 2**64, size=3000, dtype=np.uint64)
    vals = bits.view(np.float64)
    vals = vals[np.isfinite(vals)]
    vals = np.concatenate([vals, rng.standard_normal(1000) * 1e-3,
                           np.round(rng.standard_normal(500) * 1e6, 2)])
    np.save(tmp_path / "r.npy", vals)
    m = mount_factory(data=tmp_path / "r.npy")
    got = m.read("column/col0").splitlines()
    want = column_bytes(vals).splitlines()
    assert len(got) == len(want)
    bad = [(w, g) for w, g in zip(want, got) if w != g]
    assert not bad, f"{len(bad)} values printed wrong, e.g. expected " \
                    f"{bad[0][0]!r} got {bad[0][1]!r}"


def test_csv_header_names_are_paths(mount_factory, tmp_path):
    rng = np.random.default_rng(3)
    arr = rng.standard_normal((50, 3))
    data = write_csv(tmp_path / "h.csv", arr, header=["alpha", "beta", "x"])
    m = mount_factory(data=data)
    for j, name in enumerate(["alpha", "beta", "x"]):
        for fn in FUNCTIONS:
            assert m.read(f"{fn}/{name}") == m.read(f"{fn}/col{j}"), \
                f"{fn}/{name}: expected the bytes of {fn}/col{j}"
        check_column(m, name, arr[:, j], "h.csv")
        # A header name and colN are one cache entry.
        assert m.count("column", f"col{j}") == 1, \
            f"column(col{j}): expected 1 computation for both names"
        assert m.count("mean", f"col{j}") == 1


def test_header_names_that_cannot_be_paths(mount_factory, tmp_path):
    # colN-like names would be ambiguous, "a/b" and ".." are no file
    # names, a duplicated name says nothing: none of them is an alias.
    data = tmp_path / "odd.csv"
    data.write_text("col1,col0,a/b,..,x,x,y\n1,2,3,4,5,6,7\n8,9,10,11,12,13,14\n")
    m = mount_factory(data=data)
    want = with_npy([f"col{j}" for j in range(7)] + ["y"])
    assert sorted(os.listdir(m.p("mean"))) == want, \
        "expected only the usable header name 'y' next to col0..col6"
    # (integers print as integers since issue 13)
    assert m.read("column/col0") == b"1\n8\n", \
        "col0: expected the first column, whatever the header says"
    assert m.read("column/col1") == b"2\n9\n"
    assert m.read("column/y") == b"7\n14\n"
    for name in ["x", "a"]:
        assert not os.path.exists(m.p(f"mean/{name}")), \
            f"mean/{name}: expected ENOENT for an unusable header name"


def test_csv_dialect(mount_factory, tmp_path):
    data = tmp_path / "d.csv"
    data.write_bytes(b'"a", "b"\r\n 1.5 ,"2"\r\n\r\n3, -4e2\r\n')
    m = mount_factory(data=data)
    assert m.read("column/a") == b"1.5\n3.0\n"
    assert m.read("column/b") == b"2.0\n-400.0\n"
    assert m.read("count/col1") == b"2\n"


NPY_CASES = [(dt, order, ndim)
             for dt in ["<f8", "<f4", "<i4", "<i8", ">f8", ">i4"]
             for order, ndim in [("C", 1), ("C", 2), ("F", 2)]]


@pytest.mark.parametrize("dtype,order,ndim", NPY_CASES,
                         ids=[f"{d}-{o}-{n}d".replace("<", "le-")
                              .replace(">", "be-") for d, o, n in NPY_CASES])
def test_npy_dtypes(mount_factory, tmp_path, dtype, order, ndim):
    rng = np.random.default_rng(11)
    shape = (257,) if ndim == 1 else (257, 3)
    if dtype[1] == "f":
        arr = (rng.standard_normal(shape) * 100).astype(dtype)
    else:
        arr = rng.integers(-10**6, 10**6, size=shape).astype(dtype)
        if dtype[1:] == "i8":
            arr.flat[5] = 2**62 + 1     # not exact as a double
    arr = np.asarray(arr, order=order)
    assert arr.flags.f_contiguous if order == "F" else arr.flags.c_contiguous
    path = tmp_path / "a.npy"
    np.save(path, arr)
    m = mount_factory(data=path)
    cols = arr.reshape(len(arr), -1)
    assert sorted(os.listdir(m.p("mean"))) == \
        with_npy([f"col{j}" for j in range(cols.shape[1])])
    for j in range(cols.shape[1]):
        check_column(m, f"col{j}", cols[:, j], f"{dtype} {order} {ndim}-D")


def test_large_result(mount_factory, tmp_path):
    # ~10 MB: pushed to the kernel in many chunks, read by many pages.
    vals = np.random.default_rng(5).standard_normal(500_000)
    np.save(tmp_path / "big.npy", vals)
    m = mount_factory(data=tmp_path / "big.npy", opts=["delay=0.2"])
    want = column_bytes(vals)
    outs = run_readers([["cat", str(m.p("column/col0"))]] * 2 +
                       [[sys.executable, "-c", PY_READER,
                         str(m.p("column/col0"))]] * 2)
    for i, out in enumerate(outs):
        assert out == want, f"reader {i}: expected {len(want)} bytes " \
                            f"equal to numpy's, got {len(out)} bytes"
    assert m.count("column", "col0") == 1


# ---- start-up errors --------------------------------------------------------

def _bad_npy(path, kind):
    good = tmp = path.with_suffix(".tmp.npy")
    np.save(tmp, np.arange(8.0))
    raw = good.read_bytes()
    tmp.unlink()
    if kind == "magic":
        return raw.replace(b"NUMPY", b"NUMPX", 1)
    if kind == "truncated":
        return raw[:-12]
    raise ValueError(kind)


BAD_DATA = {
    "missing": (lambda p: None, ["No such file"]),
    # (short rows, empty cells and text load since issue 13)
    "ragged_csv": (lambda p: p.write_text("1,2\n4,5\n7,8,9\n"),
                   ["line 3"]),
    "ragged_csv_header": (lambda p: p.write_text("a,b\n1,2\n3,4\n5,6,7\n"),
                          ["line 4"]),
    "unterminated_quote_csv": (lambda p: p.write_text('1,2\n3,"4\n'),
                               ["line 2"]),
    "bad_npy_magic": (lambda p: p.write_bytes(_bad_npy(p, "magic")), []),
    "truncated_npy": (lambda p: p.write_bytes(_bad_npy(p, "truncated")), []),
    "npy_3d": (lambda p: np.save(p, np.zeros((2, 2, 2))), []),
    "npy_complex": (lambda p: np.save(p, np.zeros(3, dtype=complex)), []),
    "npy_object": (lambda p: np.save(p, np.array([1, "a"], dtype=object),
                                     allow_pickle=True), []),
    "device": (lambda p: p.symlink_to("/dev/null"), ["not a regular file"]),
}


@pytest.mark.parametrize("case", list(BAD_DATA))
def test_bad_data_fails_before_mounting(mount_factory, tmp_path, case):
    make, needles = BAD_DATA[case]
    name = {"missing": "absent.csv", "device": "devnull"}.get(
        case, f"bad_{case}" + (".npy" if "npy" in case else ".csv"))
    path = tmp_path / name
    make(path)
    mnt = mount_factory.mountpoint()
    r = mount_factory.run(["-f", path, mnt])
    expect_startup_error(r, name, *needles)
    assert not is_mounted(mnt), f"{mnt}: expected nothing mounted"
    # Daemon mode reports the same error on the terminal.
    r = mount_factory.run([path, mnt])
    expect_startup_error(r, name, *needles)
    assert not is_mounted(mnt), f"{mnt}: expected nothing mounted"


BAD_OPTIONS = {
    "unknown_o": (["-o", "foo", "MNT"], ["foo"]),
    "unknown_o_with_value": (["-o", "foo=1", "MNT"], ["foo"]),
    "quiet_with_value": (["-o", "quiet=1", "MNT"], ["quiet"]),
    "workers_0": (["-o", "workers=0", "MNT"], ["workers=0"]),
    "workers_text": (["-o", "workers=two", "MNT"], ["workers=two"]),
    "workers_huge": (["-o", "workers=100000", "MNT"], ["workers=100000"]),
    "delay_negative": (["-o", "delay=-1", "MNT"], ["delay=-1"]),
    "delay_nan": (["-o", "delay=nan", "MNT"], ["delay=nan"]),
    "cache_empty": (["-o", "cache=", "MNT"], ["cache"]),
    "o_without_list": (["MNT", "-o"], ["-o"]),
    "unknown_flag": (["--bogus", "MNT"], ["--bogus"]),
    "missing_mountpoint": ([], ["MOUNTPOINT"]),
    "extra_args": (["DATA", "MNT", "surplus"], ["surplus"]),
}


@pytest.mark.parametrize("case", list(BAD_OPTIONS))
def test_bad_options(mount_factory, tmp_path, case):
    args, needles = BAD_OPTIONS[case]
    mnt = mount_factory.mountpoint()
    data = write_csv(tmp_path / "d.csv", [1.0, 2.0])
    args = [{"MNT": mnt, "DATA": data}.get(a, a) for a in args]
    r = mount_factory.run(["-f", *args])
    expect_startup_error(r, *needles)
    assert r.stdout == "", f"expected nothing on stdout, got {r.stdout!r}"
    assert not is_mounted(mnt)


def test_help_and_version(mount_factory):
    for flag in ["--help", "-h"]:
        r = mount_factory.run([flag])
        assert r.returncode == 0, f"{flag}: expected exit 0, got {r}"
        assert "usage:" in r.stdout and "-o workers" in r.stdout, \
            f"{flag}: expected the usage text, got {r.stdout!r}"
        assert r.stderr == ""
    for flag in ["--version", "-V"]:
        r = mount_factory.run([flag])
        assert r.returncode == 0, f"{flag}: expected exit 0, got {r}"
        assert re.match(r"memofs \d+\.\d+\.\d+", r.stdout), \
            f"{flag}: expected 'memofs X.Y.Z', got {r.stdout!r}"


@pytest.mark.parametrize("kind", ["missing", "file"])
def test_bad_mountpoint(mount_factory, tmp_path, kind):
    mnt = tmp_path / ("nowhere" if kind == "missing" else "afile")
    if kind == "file":
        mnt.write_text("x")
    r = mount_factory.run(["-f", mnt])
    expect_startup_error(r, str(mnt), "No such file or directory"
                         if kind == "missing" else "Not a directory")
    r = mount_factory.run([mnt])        # daemon mode
    expect_startup_error(r, str(mnt))


def test_two_mounts_on_one_cache(mount_factory, tmp_path, demo):
    cache = tmp_path / "cache"
    m1 = mount_factory(opts=[f"cache={cache}"])
    m1.read("mean/col0")
    mnt2 = mount_factory.mountpoint()
    # store.c logs RocksDB's reason on a line of its own before the
    # message from mfs_main.c: two lines here.
    r = mount_factory.run(["-f", "-o", f"cache={cache}", mnt2])
    err = expect_startup_error(r, str(cache), one_line=False)
    assert "in use" in err or "lock" in err.lower(), \
        f"expected the message to say the cache is in use, got {err!r}"
    assert not is_mounted(mnt2)
    r = mount_factory.run(["-o", f"cache={cache}", mnt2])    # daemon
    expect_startup_error(r, str(cache), one_line=False)
    assert not is_mounted(mnt2)
    # The first mount is unharmed.
    assert m1.read("column/col1") == column_bytes(demo[:, 1])
    m1.unmount()


# ---- read-only --------------------------------------------------------------

READONLY_OPS = {
    "write": lambda m: open(m.p("mean/col0"), "wb"),
    "open_rdwr": lambda m: os.open(m.p("mean/col0"), os.O_RDWR),
    "append": lambda m: os.open(m.p("mean/col0"), os.O_WRONLY | os.O_APPEND),
    "create": lambda m: open(m.p("mean/new"), "wb"),
    "create_root": lambda m: os.open(m.p("newfile"),
                                     os.O_WRONLY | os.O_CREAT, 0o644),
    "mknod": lambda m: os.mknod(m.p("mean/fifo"), 0o600 | stat.S_IFIFO),
    "unlink": lambda m: os.unlink(m.p("mean/col0")),
    "mkdir": lambda m: os.mkdir(m.p("newdir")),
    "rmdir": lambda m: os.rmdir(m.p("mean")),
    "rename": lambda m: os.rename(m.p("mean/col0"), m.p("mean/col9")),
    "rename_dir": lambda m: os.rename(m.p("mean"), m.p("average")),
    "symlink": lambda m: os.symlink("col0", m.p("mean/link")),
    "link": lambda m: os.link(m.p("mean/col0"), m.p("mean/hard")),
    "chmod": lambda m: os.chmod(m.p("mean/col0"), 0o644),
    "chown": lambda m: os.chown(m.p("mean/col0"), 1, 1),
    "utime": lambda m: os.utime(m.p("mean/col0"), (1, 1)),
    "truncate": lambda m: os.truncate(m.p("mean/col0"), 0),
    "setxattr": lambda m: os.setxattr(m.p("mean/col0"), "user.x", b"1"),
    "removexattr": lambda m: os.removexattr(m.p("mean"),
                                            "user.memofs.description"),
}


def test_read_only(mount_factory):
    m = mount_factory()
    wrong = []
    for name, op in READONLY_OPS.items():
        try:
            r = op(m)
        except OSError as e:
            if e.errno != errno.EROFS:
                wrong.append(f"{name}: {errno.errorcode.get(e.errno)}")
        else:
            if hasattr(r, "close"):
                r.close()
            elif isinstance(r, int):
                os.close(r)
            wrong.append(f"{name}: succeeded")
    assert not wrong, f"expected EROFS from every change, got: {wrong}"
    assert os.statvfs(m.path).f_flag & os.ST_RDONLY, \
        "expected statvfs to report a read-only filesystem"
    assert m.computing_lines() == [], \
        f"expected no computation, got {m.computing_lines()}"
    assert sorted(os.listdir(m.path)) == sorted(FUNCTIONS + ARGS_FUNCTIONS)


# ---- lookups that fail ------------------------------------------------------

NO_SUCH = ["nope", "nope/col0", "mean/col4", "mean/col00", "mean/col01",
           "mean/colNaN", "mean/col-1", "mean/col+1", "mean/col 0",
           "mean/COL0", "mean/col", "mean/0", "mean/col4294967296",
           "mean/col18446744073709551616", "mean/alpha", "col0"]


def test_nonexistent_paths(mount_factory):
    m = mount_factory()
    for rel in NO_SUCH:
        for op in (os.stat, lambda p: open(p, "rb")):
            with pytest.raises(OSError) as e:
                op(m.p(rel))
            assert e.value.errno == errno.ENOENT, \
                f"{rel}: expected ENOENT, got " \
                f"{errno.errorcode.get(e.value.errno)}"
    with pytest.raises(OSError) as e:
        os.stat(m.p("mean/col0/x"))
    assert e.value.errno == errno.ENOTDIR, "mean/col0/x: expected ENOTDIR"
    assert m.computing_lines() == []


def test_reading_a_directory_is_eisdir(mount_factory):
    m = mount_factory()
    for rel in ["", "mean"]:
        fd = os.open(m.p(rel), os.O_RDONLY)
        try:
            with pytest.raises(OSError) as e:
                os.read(fd, 100)
            assert e.value.errno == errno.EISDIR, \
                f"read of {rel or '/'}: expected EISDIR"
        finally:
            os.close(fd)
        with pytest.raises(IsADirectoryError):
            open(m.p(rel), "rb").read()


# ---- every kind of reader ---------------------------------------------------

def _reader_cat(m, rel, tmp):
    return subprocess.run(["cat", str(m.p(rel))], capture_output=True,
                          check=True, timeout=30).stdout, slice(None)


def _reader_head(m, rel, tmp):
    return subprocess.run(["head", "-c", "7", str(m.p(rel))],
                          capture_output=True, check=True,
                          timeout=30).stdout, slice(0, 7)


def _reader_tail(m, rel, tmp):
    return subprocess.run(["tail", "-c", "7", str(m.p(rel))],
                          capture_output=True, check=True,
                          timeout=30).stdout, slice(-7, None)


def _reader_dd(m, rel, tmp):
    return subprocess.run(["dd", f"if={m.p(rel)}", "bs=1", "skip=5",
                           "count=10", "status=none"], capture_output=True,
                          check=True, timeout=30).stdout, slice(5, 15)


def _reader_cp(m, rel, tmp):
    dst = tmp / ("copy-" + rel.replace("/", "-"))
    subprocess.run(["cp", str(m.p(rel)), str(dst)], check=True, timeout=30)
    return dst.read_bytes(), slice(None)


def _reader_wc(m, rel, tmp):
    out = subprocess.run(["wc", "-c", str(m.p(rel))], capture_output=True,
                         check=True, timeout=30).stdout
    return int(out.split()[0]), len


def _reader_python(m, rel, tmp):
    with open(m.p(rel), "rb") as f:
        return f.read(), slice(None)


def _reader_python_chunks(m, rel, tmp):
    out = b""
    with open(m.p(rel), "rb", buffering=0) as f:
        while True:
            b = f.read(1000)
            if not b:
                break
            out += b
    return out, slice(None)


def _reader_pread(m, rel, tmp):
    fd = os.open(m.p(rel), os.O_RDONLY)
    try:
        # Past the end first: a cold read at an offset must compute too.
        after = os.pread(fd, 100, 1 << 30)
        assert after == b"", f"pread past the end: expected b'', got {after!r}"
        return os.pread(fd, 11, 3), slice(3, 14)
    finally:
        os.close(fd)


def _reader_mmap(m, rel, tmp):
    with open(m.p(rel), "rb") as f:
        f.read(1)   # a read first: test_mmap_of_cold_file mmaps cold
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            return bytes(mm), slice(None)


READERS = {
    "cat": _reader_cat, "head_c7": _reader_head, "tail_c7": _reader_tail,
    "dd_skip": _reader_dd, "cp": _reader_cp, "wc_c": _reader_wc,
    "python_read": _reader_python, "python_chunks": _reader_python_chunks,
    "pread": _reader_pread, "mmap": _reader_mmap,
}


@pytest.mark.parametrize("reader", list(READERS))
def test_reader_gets_full_bytes(mount_factory, tmp_path, demo, reader):
    m = mount_factory()
    read = READERS[reader]
    col1 = column_bytes(demo[:, 1])
    for temp in ("cold", "warm"):
        for rel in ("column/col1", "mean/col2"):
            got, part = read(m, rel, tmp_path)
            # A plain read once the reader is done: the reference bytes.
            want = m.read(rel)
            if rel == "column/col1":
                assert want == col1, f"{rel}: expected numpy's column"
            else:
                assert one_number(want, rel) == pytest.approx(
                    float(np.mean(demo[:, 2])), rel=1e-12)
            expect = part(want) if callable(part) else want[part]
            assert got == expect, \
                f"{reader} on {temp} {rel}: expected {expect!r:.80}, " \
                f"got {got!r:.80}"
    assert m.count("column", "col1") == 1
    assert m.count("mean", "col2") == 1


def test_numpy_loadtxt(mount_factory, demo):
    m = mount_factory()
    for j in range(4):
        got = np.loadtxt(m.p(f"column/col{j}"))
        assert np.array_equal(got, demo[:, j]), \
            f"loadtxt(column/col{j}): expected the data column exactly"


# ---- delays, single flight, concurrency -------------------------------------

def test_delay_then_cached(mount_factory):
    m = mount_factory(opts=["delay=0.5"])
    t0 = time.monotonic()
    first = m.read("mean/col0")
    t1 = time.monotonic() - t0
    t0 = time.monotonic()
    second = m.read("mean/col0")
    t2 = time.monotonic() - t0
    assert first == second
    assert t1 >= 0.5, f"first read: expected >= 0.5 s (delay), took {t1:.3f}"
    assert t2 < t1 / 5, \
        f"second read: expected much faster than the first ({t1:.3f} s), " \
        f"took {t2:.3f} s"
    assert m.count("mean", "col0") == 1 and m.count("column", "col0") == 1


@pytest.mark.parametrize("rel", ["column/col1", "mean/col2"])
def test_single_flight(mount_factory, demo, rel):
    m = mount_factory(opts=["delay=0.3"])
    outs = run_readers([["cat", str(m.p(rel))]] * 16)
    want = m.read(rel)
    if rel.startswith("column"):
        assert want == column_bytes(demo[:, 1])
    for i, out in enumerate(outs):
        assert out == want, f"cold reader {i} of {rel}: expected " \
                            f"{len(want)} bytes, got {out!r:.60}"
    fn, arg = rel.split("/")
    assert m.count(fn, arg) == 1, \
        f"{fn}({arg}): expected 1 computation for 16 readers, got " \
        f"{m.count(fn, arg)}"
    assert m.count("column", arg) == 1


@pytest.mark.parametrize("round_", range(2))
def test_concurrent_cold_readers_mixed(mount_factory, demo, round_):
    # The kernel-cache trap: racing getattrs must not leave an empty file.
    m = mount_factory(opts=["delay=0.3"])
    paths = ["column/col0", "mean/col1", "column/col2", "std/col3"]
    cmds = []
    for i in range(40):
        p = str(m.p(paths[i % 4]))
        cmds.append(["cat", p] if (i // 4) % 2 == 0
                    else [sys.executable, "-c", PY_READER, p])
    outs = run_readers(cmds)
    want = {"column/col0": column_bytes(demo[:, 0]),
            "column/col2": column_bytes(demo[:, 2])}
    want["mean/col1"] = m.read("mean/col1")
    want["std/col3"] = m.read("std/col3")
    assert float(want["mean/col1"]) == pytest.approx(np.mean(demo[:, 1]),
                                                     rel=1e-12)
    assert float(want["std/col3"]) == pytest.approx(np.std(demo[:, 3]),
                                                    rel=1e-12)
    wrong = [f"reader {i} ({cmds[i][0]}) of {paths[i % 4]}: "
             f"{len(out)} bytes" for i, out in enumerate(outs)
             if out != want[paths[i % 4]]]
    assert not wrong, f"expected every byte of every read; wrong: {wrong}"
    for rel in paths:
        fn, arg = rel.split("/")
        assert m.count(fn, arg) == 1, f"{rel}: expected 1 computation"
        assert m.count("column", arg) == 1


def test_nested_reuse(mount_factory, demo):
    m = mount_factory()
    mean = m.read("mean/col3")
    mx = m.read("max/col3")
    assert one_number(mx, "max/col3") == float(np.max(demo[:, 3]))
    assert m.count("column", "col3") == 1, \
        f"column(col3): expected 1 computation shared by mean and max, " \
        f"got {m.count('column', 'col3')}"
    assert m.count("mean", "col3") == 1 and m.count("max", "col3") == 1
    for fn in REDUCTIONS:
        m.read(f"{fn}/col3")
    m.read("count/col3")
    m.read("column/col3")
    assert m.count("column", "col3") == 1, \
        "column(col3): expected 1 computation for every reduction"
    done = re.search(r"memofs: info: mean\(col3\): done in \d+\.\d{3} s, "
                     r"(\d+) bytes", m.log())
    npy = m.read("mean/col3.npy")    # what is stored: a typed result
    assert done and int(done.group(1)) == len(npy), \
        f"expected 'mean(col3): done in X s, {len(npy)} bytes' in the log"


@pytest.mark.parametrize("paths", [
    ["mean/col0", "column/col0"],
    ["mean/col0", "column/col0", "max/col1", "std/col2", "column/col2",
     "median/col3", "sum/col3"],
], ids=["pair", "many"])
def test_one_worker_no_deadlock(mount_factory, demo, paths):
    m = mount_factory(opts=["workers=1", "delay=0.2"])
    outs = in_thread(lambda: run_readers([["cat", str(m.p(p))]
                                          for p in paths], timeout=20),
                     25, f"concurrent reads of {paths} with workers=1")
    for p, out in zip(paths, outs):
        fn, arg = p.split("/")
        j = int(arg[3:])
        if fn == "column":
            assert out == column_bytes(demo[:, j]), f"{p}: wrong bytes"
        else:
            assert float(out) == pytest.approx(
                float(REDUCTIONS[fn](demo[:, j])), rel=1e-12), \
                f"{p}: expected numpy's value"


def test_cached_reads_fast_while_workers_busy(mount_factory, tmp_path):
    delay = 3.0
    cache = tmp_path / "cache"
    warm = ["mean/col0", "sum/col0", "column/col0", "max/col0", "std/col0"]
    # A delay makes column a stored computation (without one it is a view
    # of the dataset, never stored), so that m finds column/col0 cached.
    m0 = mount_factory(opts=[f"cache={cache}", "delay=0.001"])
    want = {p: m0.read(p) for p in warm}
    m0.unmount()

    m = mount_factory(opts=["workers=2", f"delay={delay}",
                            f"cache={cache}"])
    cold = ["column/col1", "column/col2"]
    more = [f"{fn}/col{j}" for j in (1, 2)
            for fn in ["sum", "mean", "var", "std", "min", "max", "median",
                       "count", "column", "mean"]]
    results = {}

    def cold_read(p, i):
        results[i] = (p, m.read(p))
    threads = [threading.Thread(target=cold_read, args=(p, i), daemon=True)
               for i, p in enumerate(cold)]
    for t in threads:
        t.start()
    time.sleep(0.3)     # both workers are now busy for ~delay seconds
    more_threads = [threading.Thread(target=cold_read, args=(p, 100 + i),
                                     daemon=True)
                    for i, p in enumerate(more)]
    for t in more_threads:
        t.start()
    threads += more_threads

    def timed_reads():
        times = []
        for i in range(50):
            p = warm[i % len(warm)]
            t0 = time.monotonic()
            fd = os.open(m.p(p), os.O_RDONLY)
            try:
                # Drop the pages so that most reads reach memofs.
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
                data = b""
                while True:
                    b = os.read(fd, 1 << 16)
                    if not b:
                        break
                    data += b
            finally:
                os.close(fd)
            times.append(time.monotonic() - t0)
            assert data == want[p], f"{p}: expected the cached bytes"
        return times
    t_start = time.monotonic()
    times = in_thread(timed_reads, 20, "50 reads of computed results")
    busy = time.monotonic() - t_start < delay - 0.3
    median = sorted(times)[len(times) // 2]
    assert median < 0.5, \
        f"median read of a computed result took {median:.3f} s with " \
        f"workers busy for {delay} s: expected < 0.5 s (not blocked " \
        f"behind a computation)"
    assert busy, "the timed reads did not overlap the busy workers " \
                 "(test did not test anything)"
    for t in threads:
        t.join(30)
    assert all(not t.is_alive() for t in threads), \
        "expected every cold read to finish within 30 s"
    assert len(results) == len(cold) + len(more)
    for j in (1, 2):
        assert m.count("column", f"col{j}") == 1
    assert m.computing_lines() and not any(
        "(col0)" in l for l in m.computing_lines()), \
        "col0 results come from the persistent cache: expected no computation"


@pytest.mark.parametrize("reader", ["cat", "python"])
def test_ctrl_c_interrupts_a_cold_read(mount_factory, demo, reader):
    delay = 3.0
    m = mount_factory(opts=[f"delay={delay}"])
    path = str(m.p("column/col0"))
    cmd = ["cat", path] if reader == "cat" else \
        [sys.executable, "-c", PY_READER, path]
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    try:
        m.wait_log(r"column\(col0\): computing", timeout=5)
        time.sleep(0.5)
        assert p.poll() is None, "the reader finished before the delay"
        t0 = time.monotonic()
        p.send_signal(signal.SIGINT)
        try:
            p.wait(timeout=1.5)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{reader} still running 1.5 s after SIGINT "
                        f"(expected the read to be interrupted)")
        assert time.monotonic() - t0 < 1.5
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    m.wait_log(r"column\(col0\): done in", timeout=delay + 5)
    t0 = time.monotonic()
    data = m.read("column/col0")
    took = time.monotonic() - t0
    assert data == column_bytes(demo[:, 0]), \
        "after Ctrl-C: expected the finished result"
    assert took < delay / 3, \
        f"read after the computation finished took {took:.3f} s: " \
        f"expected it served from the cache, not recomputed"
    assert m.count("column", "col0") == 1, \
        "expected the interrupted computation to finish once and be cached"


# ---- caches -----------------------------------------------------------------

def test_persistent_cache(mount_factory, tmp_path, demo):
    cache = tmp_path / "cache"
    m1 = mount_factory(opts=[f"cache={cache}"])
    first = m1.read("mean/col0")
    col = m1.read("column/col0")
    assert m1.count("mean", "col0") == 1
    m1.unmount()
    assert cache.is_dir(), "expected -o cache=DIR to remain after unmount"

    m2 = mount_factory(opts=[f"cache={cache}"])
    assert os.stat(m2.p("mean/col0")).st_size == len(first), \
        "a result in the persistent cache: expected stat to know its size"
    assert m2.read("mean/col0") == first
    assert m2.read("column/col0") == col
    # column/col0 is a view of the dataset (never stored): made again, for
    # nothing; everything else comes from the cache.
    assert [x for x in m2.computing_lines() if "column(" not in x] == [], \
        f"remount on the same cache: expected 0 computations, got " \
        f"{m2.computing_lines()}"
    # (Its time is the machine's: 0.000 s idle, more when loaded.)
    assert re.search(r"column\(col0\): done in [0-9.]+ s, a view of the "
                     r"dataset", m2.log())
    m2.unmount()

    # Another dataset, same cache: computed anew.
    data = write_csv(tmp_path / "other.csv", [[1.0, 2.0], [4.0, 8.0]])
    m3 = mount_factory(data=data, opts=[f"cache={cache}"])
    other = m3.read("mean/col0")
    assert other == b"2.5\n" and other != first
    assert m3.count("mean", "col0") == 1 and m3.count("column", "col0") == 1
    m3.unmount()

    # The same file name with new content: computed anew too.
    write_csv(data, [[10.0, 2.0], [40.0, 8.0]])
    m4 = mount_factory(data=data, opts=[f"cache={cache}"])
    assert m4.read("mean/col0") == b"25.0\n"
    assert m4.count("mean", "col0") == 1
    assert m4.read("mean/col1") == b"5.0\n"
    m4.unmount()


def test_temporary_cache_removed_at_unmount(mount_factory):
    m = mount_factory()
    found = m.wait_log(r"cache (\S+) \(temporary\)")
    cache = found.group(1)
    assert os.path.isdir(cache), f"expected the temporary cache {cache}"
    assert os.path.basename(cache).startswith("memofs-"), \
        f"expected a memofs-XXXXXX directory, got {cache}"
    assert os.path.dirname(cache) == str(mount_factory.tmpdir), \
        f"expected the temporary cache in $TMPDIR, got {cache}"
    m.read("mean/col0")
    m.unmount()
    assert not os.path.exists(cache), \
        f"expected {cache} removed at unmount"


def test_quiet(mount_factory):
    m = mount_factory(opts=["quiet"])
    m.read("mean/col0")
    m.read("max/col1")
    assert "computing" not in m.log(), \
        f"-o quiet: expected no 'computing' lines, got:\n{m.log()}"
    assert m.count("mean", "col0") == 0


def test_lazy_unmount_during_a_computation(mount_factory, demo):
    m = mount_factory(opts=["delay=1"])
    cache = m.wait_log(r"cache (\S+) \(temporary\)").group(1)
    p = subprocess.Popen(["cat", str(m.p("column/col0"))],
                         stdout=subprocess.PIPE)
    try:
        m.wait_log(r"column\(col0\): computing", timeout=5)
        r = fusermount_u(m.path, lazy=True)
        assert r.returncode == 0, f"fusermount3 -uz: {r.stderr}"
        out, _ = p.communicate(timeout=10)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert out == column_bytes(demo[:, 0]), \
        "a reader waiting when the mount was detached: expected the bytes"
    try:
        rc = m.proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pytest.fail("memofs still running 10 s after the lazy unmount "
                    "and its last reader")
    m.unmounted = True
    assert rc == 0, f"expected exit 0 after the unmount, got {rc}"
    assert not os.path.exists(cache), f"expected {cache} removed"


def test_sigterm_unmounts_and_cleans_up(mount_factory):
    m = mount_factory()
    cache = m.wait_log(r"cache (\S+) \(temporary\)").group(1)
    m.read("mean/col0")
    m.proc.send_signal(signal.SIGTERM)
    try:
        m.proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pytest.fail("memofs still running 10 s after SIGTERM")
    m.unmounted = True
    assert not is_mounted(m.path), "expected SIGTERM to unmount"
    assert not os.path.exists(cache), \
        f"expected the temporary cache {cache} removed after SIGTERM"


# ---- daemon mode ------------------------------------------------------------

def test_daemon_mode(mount_factory, demo):
    d = mount_factory.daemon(opts=["workers=2"])
    r = d.result
    assert r.returncode == 0, \
        f"memofs (daemon): expected exit 0 once mounted, got " \
        f"{r.returncode}: {r.stderr!r}"
    # The daemon logs to the terminal until it is mounted: at most the
    # "mounted ..." line, no warning or error.
    noise = [l for l in r.stderr.splitlines()
             if not l.startswith("memofs: info: mounted ")]
    assert r.stdout == "" and not noise, \
        f"daemon start: expected no output, got {r.stdout!r} {r.stderr!r}"
    assert is_mounted(d.path), "expected the mount ready when memofs returns"
    # A read right after the return works.
    assert (d.path / "column" / "col0").read_bytes() == \
        column_bytes(demo[:, 0])
    assert d.pid, f"expected one memofs daemon for {d.path}, found " \
                  f"{memofs_pids(d.path)}"
    d.unmount()
    assert not is_mounted(d.path)
    assert not pid_alive(d.pid), "expected the daemon to exit at unmount"


def test_daemon_mode_temporary_cache(mount_factory):
    before = set(os.listdir(mount_factory.tmpdir))
    d = mount_factory.daemon()
    assert d.result.returncode == 0, d.result.stderr
    created = set(os.listdir(mount_factory.tmpdir)) - before
    # Without syslog (no /dev/log) the daemon logs to $TMPDIR's
    # memofs-UID.log (README, "Operating memofs"), next to the cache.
    log = f"memofs-{os.getuid()}.log"
    if not os.path.exists("/dev/log"):
        assert log in created, created
    created.discard(log)
    assert len(created) == 1, \
        f"expected one temporary cache in $TMPDIR, got {created}"
    cache = mount_factory.tmpdir / created.pop()
    (d.path / "mean" / "col0").read_bytes()
    d.unmount()
    assert wait_until(lambda: not cache.exists(), 5), \
        "expected the daemon's temporary cache removed at unmount"
