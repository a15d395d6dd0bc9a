"""test_faults.py -- memofs under faults and hostile input.

Each test is bounded in time and cleans up its mounts (mount_factory) and
anything else it sets up (tmpfs, processes) even when it fails.
"""
import errno
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import is_mounted, memofs_pids

SRC = Path(os.environ.get("MEMOFS_SRC",
                          Path(__file__).resolve().parent.parent))
FUNCS = ["column", "sum", "mean", "var", "std", "min", "max", "median",
         "count"]


def write_csv(path, data):
    np.savetxt(path, data, delimiter=",", fmt="%.17g")
    return path


def expected(fn, col):
    """The bytes memofs must serve for fn over the values col."""
    if fn == "column":
        return "".join(repr(float(x)) + "\n" for x in col)
    if fn == "count":
        return f"{len(col)}\n"
    ref = {"sum": np.sum, "mean": np.mean, "var": np.var, "std": np.std,
           "min": np.min, "max": np.max, "median": np.median}[fn](col)
    return float(ref)


def check(data, fn, col):
    """Asserts that the text read for fn/col matches numpy."""
    want = expected(fn, col)
    if isinstance(want, str):
        assert data.decode() == want, f"{fn}: wrong bytes"
    else:
        got = float(data)
        assert got == pytest.approx(want, rel=1e-12, abs=1e-12), fn


# ---- stress -----------------------------------------------------------------

STRESS_S = float(os.environ.get("MEMOFS_STRESS_S", "30"))


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def test_stress_mixed_cold_and_warm(mount_factory, tmp_path):
    """64 reader threads for STRESS_S seconds over cold and warm paths on
    2 workers: every byte checked against numpy, RSS stable."""
    data = np.random.RandomState(11).randn(300, 120)
    m = mount_factory(write_csv(tmp_path / "d.csv", data),
                      opts=["workers=2", "delay=0.002", "quiet"])
    stats = {"reads": 0, "errors": [], "wrong": []}
    lock = threading.Lock()
    stop = time.monotonic() + STRESS_S
    rss = []

    def reader(seed):
        rng = np.random.RandomState(seed)
        while time.monotonic() < stop:
            fn = FUNCS[rng.randint(len(FUNCS))]
            c = rng.randint(data.shape[1])
            try:
                got = m.read(f"{fn}/col{c}")
                check(got, fn, data[:, c])
            except AssertionError as e:
                with lock:
                    stats["wrong"].append(f"{fn}/col{c}: {e}")
            except OSError as e:
                with lock:
                    stats["errors"].append(f"{fn}/col{c}: {e}")
            with lock:
                stats["reads"] += 1

    threads = [threading.Thread(target=reader, args=(i,)) for i in range(64)]
    for t in threads:
        t.start()
    while time.monotonic() < stop:
        rss.append(rss_kib(m.proc.pid))
        time.sleep(0.2)
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a reader hung"
    assert not stats["wrong"], stats["wrong"][:5]
    assert not stats["errors"], stats["errors"][:5]
    assert stats["reads"] > 1000, stats
    third = max(1, len(rss) // 3)
    first, last = max(rss[:third]), max(rss[-third:])
    assert last <= first * 1.5 + 20 * 1024, \
        f"RSS grew from {first} KiB to {last} KiB"


# ---- kill -9 -------------------------------------------------------------------

def test_kill_9_mid_computation_then_remount(mount_factory, tmp_path):
    """SIGKILL while readers wait: they fail promptly; the stale mount is
    cleared by memofs-mount; every result afterwards is correct, and the
    ones stored before the kill are not recomputed."""
    data = np.random.RandomState(12).randn(500, 6)
    csv = write_csv(tmp_path / "d.csv", data)
    cache = tmp_path / "cache"
    env = dict(mount_factory.env, MEMOFS=mount_factory.binary)
    mnt = mount_factory.mountpoint()
    script = SRC / "mount-scripts/memofs-mount"
    opts = f"cache={cache},delay=0.5,workers=2"
    subprocess.run([script, "-o", opts, csv, mnt], env=env, check=True)
    try:
        for c in range(2):                  # computed and stored
            check((mnt / f"mean/col{c}").read_bytes(), "mean", data[:, c])
        pid = memofs_pids(mnt)[0]
        readers = [subprocess.Popen(["cat", str(mnt / f"max/col{c}")],
                                    stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
                   for c in range(2, 6)]
        time.sleep(0.2)
        os.kill(pid, signal.SIGKILL)
        for r in readers:
            assert r.wait(timeout=5) != 0, "a reader of a killed mount " \
                "succeeded or hung"
        with pytest.raises(OSError) as e:
            os.listdir(mnt)
        assert e.value.errno == errno.ENOTCONN
    finally:
        r = subprocess.run([script, "-u", mnt], env=env,
                           capture_output=True)
    # Remount with the script (clears the stale mount), then with -f to
    # read the log: stored results are served, the rest recomputed.
    subprocess.run([script, "-o", opts, csv, mnt], env=env, check=True)
    subprocess.run([script, "-u", mnt], env=env, check=True)
    m = mount_factory(csv, opts=[f"cache={cache}"], mnt=mnt)
    for c in range(6):
        for fn in ("mean", "max", "column"):
            check(m.read(f"{fn}/col{c}"), fn, data[:, c])
    assert m.count("mean", "col0") == 0 and m.count("mean", "col1") == 0


# ---- disk full ---------------------------------------------------------------

@pytest.fixture
def tiny_tmpfs(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    d = tmp_path / "tiny"
    d.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3M", "tmpfs",
                    str(d)], check=True)
    yield d
    subprocess.run(["umount", "-l", str(d)])


def test_disk_full_serves_correct_bytes_or_eio(mount_factory, tmp_path,
                                               tiny_tmpfs):
    """The cache on a 3 MiB tmpfs: results are served (uncached) or a
    clean EIO, never wrong; the log says why; with space again results
    are cached again."""
    # 12 columns of 480 KB each (typed, as .npy): more than 3 MiB.
    data = np.random.RandomState(13).randn(60000, 12)
    m = mount_factory(write_csv(tmp_path / "d.csv", data),
                      opts=[f"cache={tiny_tmpfs / 'c'}", "workers=2",
                            "delay=0.001"])   # column: stored, not a view
    served = eio = 0
    for c in range(12):
        try:
            check(m.read(f"column/col{c}"), "column", data[:, c])
            served += 1
        except OSError as e:
            assert e.errno == errno.EIO
            eio += 1
    assert served > 0
    log = m.log()
    assert "No space left" in log or "not cached" in log, log[-2000:]
    # Space returns: new results are stored again.
    subprocess.run(["mount", "-o", "remount,size=256M", str(tiny_tmpfs)],
                   check=True)
    time.sleep(0.5)
    # RocksDB resumes writing by itself once it sees free space again:
    # fresh results stop being reported "not cached".
    before = log.count("not cached")
    fresh = [f"{fn}/col{c}" for fn in ("min", "max", "std", "var")
             for c in range(12)]
    deadline = time.monotonic() + 20
    ok = False
    for path in fresh:
        m.read(path)
        now = m.log().count("not cached")
        ok, before = now == before, now
        if ok or time.monotonic() > deadline:
            break
        time.sleep(0.3)     # the store retries at most once a second
    assert ok, "results were still not cached after space returned:\n" \
        + m.log()[-1500:]


# ---- the dataset changes -----------------------------------------------------

@pytest.mark.parametrize("change", ["rewrite", "delete"])
def test_dataset_changed_while_mounted(mount_factory, tmp_path, change):
    """memofs serves the dataset as it was at mount; a remount of the
    same cache with new content serves new values, never the old ones."""
    old = np.random.RandomState(14).randn(50, 3)
    new = old + 1000
    csv = write_csv(tmp_path / "d.csv", old)
    cache = tmp_path / "cache"
    m = mount_factory(csv, opts=[f"cache={cache}"])
    check(m.read("mean/col0"), "mean", old[:, 0])
    if change == "rewrite":
        write_csv(csv, new)
    else:
        csv.unlink()
    check(m.read("mean/col0"), "mean", old[:, 0])       # warm
    check(m.read("mean/col1"), "mean", old[:, 1])       # cold
    check(m.read("column/col2"), "column", old[:, 2])
    m.unmount()
    write_csv(csv, new)
    m = mount_factory(csv, opts=[f"cache={cache}"])
    check(m.read("mean/col0"), "mean", new[:, 0])
    check(m.read("mean/col1"), "mean", new[:, 1])
    assert m.count("mean", "col0") == 1


# ---- hostile paths -----------------------------------------------------------

HOSTILE = [
    ("long255", "mean/" + "a" * 255, errno.ENOENT),
    ("long256", "mean/" + "a" * 256, errno.ENOENT),
    ("long1100", "mean/" + "a" * 1100, (errno.ENOENT, errno.ENAMETOOLONG)),
    ("non_utf8", b"mean/col\xff\xfe", errno.ENOENT),
    ("dotdot_ok", "mean/../mean/col0", None),
    ("empty_component_ok", "mean//col0", None),
    ("out_of_range", "mean/col4", errno.ENOENT),
    ("nan", "mean/colNaN", errno.ENOENT),
    ("leading_zero", "mean/col01", errno.ENOENT),
    ("plus", "mean/col+1", errno.ENOENT),
    ("minus", "mean/col-1", errno.ENOENT),
    ("space", "mean/col 1", errno.ENOENT),
    ("newline", "mean/col1\n", errno.ENOENT),
    ("upper", "mean/COL1", errno.ENOENT),
    ("no_function", "nope/col0", errno.ENOENT),
    ("below_a_file", "mean/col0/x", errno.ENOTDIR),
    ("huge_index", "mean/col99999999999999999999999", errno.ENOENT),
    ("shell", "mean/$(touch x)", errno.ENOENT),
    # a level per argument kind (more in test_args.py::test_hostile_levels)
    ("real_level", "quantile/0.90/col0", errno.ENOENT),
    ("real_level_nan", "quantile/nan/col0", errno.ENOENT),
    ("integer_level", "histogram/010/col0", errno.ENOENT),
    ("column_level2", "corr/col0/col4", errno.ENOENT),
    ("below_a_level_file", "quantile/0.5/col0/x", errno.ENOTDIR),
]


@pytest.mark.parametrize("name,path,err", HOSTILE,
                         ids=[h[0] for h in HOSTILE])
def test_hostile_paths(mount_factory, name, path, err):
    m = mount_factory()
    full = (os.fsencode(str(m.path)) + b"/" + path) \
        if isinstance(path, bytes) else m.path / path
    if err is None:
        assert float(Path(os.fsdecode(full)).read_text()) == pytest.approx(
            np.random.RandomState(42).randn(10000, 4)[:, 0].mean(),
            rel=1e-12)
        return
    with pytest.raises(OSError) as e:
        with open(full, "rb") as f:
            f.read()
    assert e.value.errno in (err if isinstance(err, tuple) else (err,)), \
        (name, e.value)
    assert m.computing_lines() == []


# (short rows, text cells and huge text fields load since issue 13)
BAD_DATA = [
    ("ragged.csv", "1,2\n3,4,5\n", "line 2"),
    ("empty.csv", "", "empty file"),
    ("header_only.csv", "a,b\n", "no data rows"),
    ("open_quote.csv", "1,2\n3,\"x\n", "line 2"),
    ("huge_field.csv", "1,\"" + "9" * 1000000 + "x\n", "line 1"),
    ("bad_magic.npy", "not numpy at all", "bad .npy magic"),
]


@pytest.mark.parametrize("name,content,message", BAD_DATA,
                         ids=[b[0] for b in BAD_DATA])
def test_bad_data_table(mount_factory, tmp_path, name, content, message):
    data = tmp_path / name
    data.write_text(content)
    mnt = mount_factory.mountpoint()
    r = mount_factory.run([data, mnt])
    assert r.returncode != 0
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and name in lines[0] and message in lines[0], \
        r.stderr
    assert not is_mounted(mnt)


def test_nan_inf_cells_mount(mount_factory, tmp_path):
    csv = tmp_path / "special.csv"
    csv.write_text("a,b\nnan,1\n2,inf\n3,-inf\n")
    m = mount_factory(csv)
    assert m.read("column/a") == b"nan\n2.0\n3.0\n"
    assert m.read("column/b") == b"1.0\ninf\n-inf\n"
    assert m.read("mean/a") == b"nan\n"
    assert m.read("mean/b") == b"nan\n"          # inf + -inf, as numpy
    assert m.read("max/a") == b"nan\n"
    # count is pandas' since issue 13: "nan" is a missing value
    assert m.read("count/a") == b"2\n"
    assert m.read("size/a") == b"3\n"


def test_big_endian_npy(mount_factory, tmp_path):
    data = np.arange(12, dtype=">f8").reshape(4, 3) / 7
    np.save(tmp_path / "be.npy", data)
    m = mount_factory(tmp_path / "be.npy")
    check(m.read("column/col1"), "column", data[:, 1].astype("<f8"))


# ---- access ------------------------------------------------------------------

def as_nobody(*argv):
    return subprocess.run(["setpriv", "--reuid=65534", "--regid=65534",
                           "--clear-groups", *map(str, argv)],
                          capture_output=True, text=True, timeout=10)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to switch users")
def test_only_the_mounting_user_reads(mount_factory, tmp_path):
    # Let other users reach the mount points (pytest's dirs are 0700).
    for d in [tmp_path, *tmp_path.parents]:
        if d == Path("/tmp") or d == d.parent:
            break
        os.chmod(d, 0o755)
    m = mount_factory()
    m.read("mean/col0")
    r = as_nobody("cat", m.p("mean/col0"))
    assert r.returncode != 0 and "ermission denied" in r.stderr, r
    m.unmount()
    m = mount_factory(opts=["allow_other"])
    r = as_nobody("cat", m.p("mean/col0"))
    assert r.returncode == 0 and float(r.stdout) == pytest.approx(
        np.random.RandomState(42).randn(10000, 4)[:, 0].mean(), rel=1e-12)
    r = as_nobody("sh", "-c", f"echo x > {m.p('mean/col0')}")
    assert r.returncode != 0


def test_writes_create_nothing(mount_factory, tmp_path):
    cache = tmp_path / "cache"
    m = mount_factory(opts=[f"cache={cache}"])
    m.read("mean/col0")
    before = sorted(p.name for p in cache.rglob("*"))
    for op in (lambda: open(m.p("evil"), "w"),
               lambda: open(m.p("mean/evil"), "w"),
               lambda: open(m.p("mean/col0"), "a"),
               lambda: os.mkdir(m.p("evil")),
               lambda: os.symlink("/etc/passwd", m.p("evil")),
               lambda: os.link(m.p("mean/col0"), m.p("mean/evil")),
               lambda: os.rename(m.p("mean/col0"), m.p("evil"))):
        with pytest.raises(OSError) as e:
            op()
        assert e.value.errno in (errno.EROFS, errno.EXDEV, errno.EACCES)
    assert not (m.path.parent / "evil").exists()
    after = sorted(p.name for p in cache.rglob("*") if "evil" in p.name)
    assert after == [] and before
