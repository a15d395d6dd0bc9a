"""test_operating.py -- operating memofs (issue 15): size and age limits,
memofs clear, memofs stats and .memofs/stats, .memofs/jobs and progress,
provenance xattrs and mtime, -o log.

Values that change on every computation come from a command function
printing time.time_ns(), so a test sees whether a read was recomputed.
"""
import errno
import fcntl
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from datetime import datetime, timezone

import numpy as np
import pytest

from conftest import wait_until

MEMOFS_SRC = os.environ.get("MEMOFS_SRC", "")

STAMP = """\
[stamp]
description = a fresh number at each computation
args = list: a, b
command = python3 -c "import time; print(time.time_ns())"

[fail]
args = list: x
command = false
"""

# MFS_IOC_CLEAR = _IOW('M', 0x51, struct { char what[4096]; })
IOC_CLEAR = (1 << 30) | (4096 << 16) | (ord("M") << 8) | 0x51
KEY_RE = re.compile(r"[0-9a-f]{32}")


def functions(tmp_path, text=STAMP):
    path = tmp_path / "f.ini"
    path.write_text(text)
    return path


def xattr(path, name):
    try:
        return os.getxattr(path, "user.memofs." + name).decode()
    except OSError as e:
        if e.errno == errno.ENODATA:
            return None
        raise


def other_xattrs(m, name, *rels):
    """user.memofs.NAME of each of rels, read by another process."""
    code = ("import os, sys\n"
            "for p in sys.argv[2:]:\n"
            "    print(os.getxattr(p, 'user.memofs.' + sys.argv[1]).decode())")
    r = subprocess.run(["/usr/bin/python3", "-c", code, name,
                        *(str(m.p(r)) for r in rels)],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return r.stdout.split()


def stats_json(m):
    with open(m.p(".memofs/stats.json")) as f:
        return json.load(f)


def cli(memofs_bin, *args, **kw):
    return subprocess.run([memofs_bin, *map(str, args)], capture_output=True,
                          text=True, timeout=30, **kw)


def disk_bytes(path):
    """What du counts for the cache directory: allocated blocks."""
    return sum(os.stat(path / n).st_blocks * 512 for n in os.listdir(path)
               if os.path.isfile(path / n))


def reread(path):
    """Drops path's pages from the kernel's cache, then reads it: the read
    reaches memofs (the way a page-cache miss under memory pressure
    does)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        return os.read(fd, 1 << 30)
    finally:
        os.close(fd)


# ---- .memofs, stats ----------------------------------------------------------

def test_control_directory_is_hidden_but_there(mount_factory):
    m = mount_factory()
    assert ".memofs" not in os.listdir(m.path)
    assert sorted(os.listdir(m.p(".memofs"))) == ["clear", "jobs", "stats",
                                                  "stats.json"]
    assert os.path.isdir(m.p(".memofs"))
    assert m.read(".memofs/jobs") == b""
    with pytest.raises(OSError) as e:
        open(m.p(".memofs/nosuch"))
    assert e.value.errno == errno.ENOENT
    with pytest.raises(OSError) as e:
        open(m.p(".memofs/stats/x"))
    assert e.value.errno == errno.ENOTDIR
    m.unmount()


def test_stats_exact_for_a_scripted_sequence(mount_factory, tmp_path,
                                             memofs_bin):
    cache = tmp_path / "cache"
    f = functions(tmp_path)
    m = mount_factory(opts=[f"cache={cache}", f"functions={f}",
                            "delay=0.001",
                            "workers=2"])
    m.read("mean/col0")          # mean and the column it reads
    reads = stats_json(m)["functions"]["mean"]["reads"]
    assert reads >= 1
    m.read("mean/col0")          # from the page cache: memofs sees nothing
    m.read("max/col0")           # the column again: from memory
    with pytest.raises(OSError):
        m.read("fail/x")
    s = stats_json(m)
    fns, tot = s["functions"], s["total"]
    assert fns["mean"]["reads"] == reads
    assert (fns["mean"]["computed"], fns["max"]["computed"],
            fns["column"]["computed"]) == (1, 1, 1)
    assert fns["fail"]["failed"] >= 1 and fns["fail"]["computed"] == 0
    assert fns["column"]["memory_hits"] >= 1
    assert tot["computed"] == 3 and tot["store_hits"] == 0
    assert tot["failed"] == fns["fail"]["failed"]
    assert [fns[k]["entries"] for k in ("column", "mean", "max", "fail")] \
        == [1, 1, 1, 0]
    # what the store holds of a typed result is its .npy view's bytes
    assert fns["mean"]["bytes"] == os.stat(m.p("mean/col0.npy")).st_size
    assert fns["column"]["bytes"] == \
        os.stat(m.p("column/col0.npy")).st_size
    assert tot["entries"] == 3
    assert tot["bytes"] == sum(fns[k]["bytes"] for k in fns)
    assert s["cache"] == str(cache) and s["max_size"] == 5 << 30
    # the text form says the same
    r = cli(memofs_bin, "stats", m.path)
    assert r.returncode == 0, r.stderr
    rows = {l.split()[0]: l.split()[1:] for l in r.stdout.splitlines()
            if l and l.split()[0] in ("function", "total", "mean")}
    head = rows["function"]
    assert rows["total"][head.index("computed")] == "3"
    assert rows["mean"][head.index("entries")] == "1"
    assert json.loads(cli(memofs_bin, "stats", m.path, "--json").stdout) \
        ["total"]["computed"] == 3
    m.unmount()
    # a remount serves from the store: one store hit, nothing computed
    m = mount_factory(opts=[f"cache={cache}", f"functions={f}",
                            "delay=0.001"])
    m.read("mean/col0")
    s = stats_json(m)
    assert s["functions"]["mean"]["store_hits"] == 1
    assert s["total"]["computed"] == 0 and s["total"]["entries"] == 3
    m.unmount()


def test_stats_and_clear_usage_errors(mount_factory, memofs_bin, tmp_path):
    for args in (["stats"], ["stats", tmp_path, "--yaml"],
                 ["clear"], ["clear", tmp_path, "a", "b"]):
        r = cli(memofs_bin, *args)
        assert r.returncode == 1 and "usage: memofs" in r.stderr
    r = cli(memofs_bin, "stats", tmp_path)
    assert r.returncode == 1
    assert "not a memofs mount point" in r.stderr
    m = mount_factory()
    r = cli(memofs_bin, "clear", m.path, "nosuch")
    assert r.returncode == 1 and "no such function" in r.stderr
    r = cli(memofs_bin, "clear", m.path, "mean/col99")
    assert r.returncode == 1 and "no such function or argument" in r.stderr
    r = cli(memofs_bin, "clear", m.path, "mean/")
    assert r.returncode == 1
    # hostile ioctls: another command, another file
    fd = os.open(m.p(".memofs/clear"), os.O_RDONLY)
    try:
        with pytest.raises(OSError) as e:
            fcntl.ioctl(fd, IOC_CLEAR + 1, bytearray(4096))
        assert e.value.errno == errno.ENOTTY
        with pytest.raises(OSError) as e:
            fcntl.ioctl(fd, IOC_CLEAR, bytearray(b"\xff" * 4096))    # no NUL
        assert e.value.errno == errno.EINVAL
    finally:
        os.close(fd)
    fd = os.open(m.p(".memofs/stats"), os.O_RDONLY)
    try:
        with pytest.raises(OSError) as e:
            fcntl.ioctl(fd, IOC_CLEAR, bytearray(4096))
        assert e.value.errno == errno.ENOTTY
    finally:
        os.close(fd)
    m.unmount()


# ---- clearing ----------------------------------------------------------------

def test_clear_each_scope_while_pages_are_cached(mount_factory, tmp_path,
                                                 memofs_bin):
    f = functions(tmp_path)
    m = mount_factory(opts=[f"functions={f}", "delay=0.001"])
    files = {a: open(m.p(f"stamp/{a}"), "rb") for a in "ab"}
    try:
        def values():
            out = {}
            for a, fh in files.items():
                fh.seek(0)
                out[a] = fh.read()
            return out

        v0 = values()
        assert values() == v0            # from the page cache
        r = cli(memofs_bin, "clear", m.path, "stamp/a")
        assert r.returncode == 0 and r.stdout == "cleared 1 stored result\n"
        v1 = values()
        assert v1["a"] != v0["a"] and v1["b"] == v0["b"]
        r = cli(memofs_bin, "clear", m.path, "stamp")
        assert r.stdout == "cleared 2 stored results\n"
        v2 = values()
        assert v2["a"] != v1["a"] and v2["b"] != v1["b"]
        m.read("mean/col1")
        r = cli(memofs_bin, "clear", m.path)
        assert r.returncode == 0, r.stderr
        assert r.stdout == "cleared 4 stored results\n"   # 2 + mean, column
        v3 = values()
        assert v3["a"] != v2["a"] and v3["b"] != v2["b"]
        m.read("mean/col1")
        assert m.count("mean", "col1") == 2
        assert m.count("column", "col1") == 2
        s = stats_json(m)
        assert s["functions"]["stamp"]["cleared"] == 5     # 1 + 2 + 2
        assert s["total"]["cleared"] == 7
    finally:
        for fh in files.values():
            fh.close()
    m.unmount()


def test_clear_refused_for_another_user(mount_factory, memofs_bin):
    if os.getuid() != 0:
        pytest.skip("needs root to act as another user (the suite also "
                    "runs as nobody)")
    # a mount point that user nobody can reach (tmp_path is 0700)
    mnt = tempfile.mkdtemp(prefix="op-mnt-")
    os.chmod(mnt, 0o755)
    m = mount_factory(opts=["allow_other", "delay=0.001"], mnt=mnt)
    # and a copy of memofs that nobody can run (the build directory may be
    # in a 0700 clone, as CI's is)
    bindir = tempfile.mkdtemp(prefix="op-bin-")
    os.chmod(bindir, 0o755)
    nobody_bin = os.path.join(bindir, "memofs")
    shutil.copy(memofs_bin, nobody_bin)
    os.chmod(nobody_bin, 0o755)
    try:
        m.read("mean/col0")
        r = cli(nobody_bin, "clear", m.path, user=65534, group=65534)
        assert r.returncode == 1
        assert "only the user who mounted it, or root" in r.stderr
        assert stats_json(m)["total"]["entries"] == 2
        # the mounting user may: the daemon runs as root here
        assert cli(memofs_bin, "clear", m.path).returncode == 0
        assert stats_json(m)["total"]["entries"] == 0
    finally:
        m.unmount(check=False)
        os.rmdir(mnt)
        shutil.rmtree(bindir)


# ---- jobs and progress -------------------------------------------------------

def test_jobs_list_running_and_queued_with_progress(mount_factory):
    m = mount_factory(opts=["workers=1", "delay=3"])
    t1 = threading.Thread(target=m.read, args=("column/col1",))
    t1.start()
    wait_until(lambda: b"computing" in m.read(".memofs/jobs"), 5)
    t2 = threading.Thread(target=m.read, args=("column/col2",))
    t2.start()
    lines = []

    def seen():
        lines[:] = [l.split("\t") for l in
                    m.read(".memofs/jobs").decode().splitlines()]
        run = [l for l in lines if l[1] == "col1"]
        return (run and run[0][5] not in ("-", "0%") and
                any(l[1] == "col2" for l in lines))

    wait_until(seen, 5)
    by_arg = {l[1]: l for l in lines}
    fn, _, state, secs, waiters, progress = by_arg["col1"]
    assert (fn, state) == ("column", "computing")
    assert 0 < float(secs) < 10 and int(waiters) >= 1
    assert 0 < int(progress.rstrip("%")) <= 100
    assert by_arg["col2"][2] == "queued"
    assert by_arg["col2"][5] == "-"
    # the xattr agrees, and reading it does not compute (asked from
    # another process: in this one, whose threads wait on those files,
    # the kernel held getxattr back until they were answered)
    assert other_xattrs(m, "state", "column/col1", "column/col2",
                        "column/col3") == ["computing", "queued", "absent"]
    t1.join()
    t2.join()
    assert m.read(".memofs/jobs") == b""
    assert m.count("column", "col3") == 0
    m.unmount()


def test_command_progress_lines_on_stderr(mount_factory, tmp_path):
    f = functions(tmp_path, """\
[slow]
args = list: x
command = sh -c 'echo "memofs-progress: 37.5%" >&2; echo noise >&2; echo "memofs-progress: 250%" >&2; sleep 2; echo done'
""")
    m = mount_factory(opts=[f"functions={f}"])
    t = threading.Thread(target=m.read, args=("slow/x",))
    t.start()
    lines = []

    def seen():
        lines[:] = m.read(".memofs/jobs").decode().splitlines()
        return any(l.endswith("\t38%") for l in lines)

    try:
        wait_until(seen, 5)         # 250% is no progress line: ignored
        assert lines == [l for l in lines if l.startswith("slow\tx\t")]
    finally:
        t.join()
    assert m.read("slow/x") == b"done\n"
    m.unmount()


# ---- provenance --------------------------------------------------------------

def test_provenance_xattrs_and_mtime(mount_factory, tmp_path):
    cache = tmp_path / "cache"
    m = mount_factory(opts=[f"cache={cache}", "delay=0.5"])
    p = m.p("column/col2")
    assert xattr(p, "state") == "absent"
    key = xattr(p, "key")
    assert KEY_RE.fullmatch(key)
    assert xattr(p, "created") is None and xattr(p, "compute_seconds") is None
    assert sorted(os.listxattr(p)) == ["user.memofs.key",
                                       "user.memofs.state"]
    assert m.count("column", "col2") == 0       # nothing computed
    before = time.time()
    m.read("column/col2")
    after = time.time()
    assert xattr(p, "state") == "cached"
    assert 0.5 <= float(xattr(p, "compute_seconds")) < 5
    created = xattr(p, "created")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z", created)
    when = datetime.strptime(created[:19], "%Y-%m-%dT%H:%M:%S").replace(
        tzinfo=timezone.utc).timestamp() + int(created[20:29]) / 1e9
    assert before <= when <= after
    st = os.stat(p)
    assert st.st_mtime_ns == int(when * 1e9) // 1000 * 1000 or \
        abs(st.st_mtime_ns / 1e9 - when) < 1e-6
    assert len(os.listxattr(p)) == 4
    assert os.stat(m.p("mean/col0")).st_mtime < before   # mount time
    m.unmount()
    # the same on the next mount, from the store
    m = mount_factory(opts=[f"cache={cache}", "delay=0.001"])
    p = m.p("column/col2")
    assert xattr(p, "key") == key and xattr(p, "created") == created
    assert abs(os.stat(p).st_mtime_ns / 1e9 - when) < 1e-6
    m.unmount()


# ---- limits ------------------------------------------------------------------

def big_table(tmp_path, rows=480000, cols=12):
    path = tmp_path / "big.npy"
    np.save(path, np.random.RandomState(1).randn(rows, cols))
    return path


# README, "Operating memofs": the slack is RocksDB's 64 MiB plus what is
# stored between two upkeep rounds (1 s); the test reads one result (3.84
# MB) per half second, so at most 2 of them.
SLACK = (64 << 20) + 2 * 3840128


def test_max_size_bounds_the_disk_and_evicts_lru(mount_factory, tmp_path):
    cache = tmp_path / "cache"
    limit = 24 << 20
    m = mount_factory(data=big_table(tmp_path),
                      opts=[f"cache={cache}", "max_size=24M", "workers=1",
                            "delay=0.001"])   # column: stored, not a view
    peak = 0
    for i in range(4):                        # 4 x 3.84 MB (.npy)
        m.read(f"column/col{i}.npy")
        peak = max(peak, disk_bytes(cache))
    time.sleep(1.5)
    reread(m.p("column/col0.npy"))          # col0 is now the most recent
    time.sleep(2.5)                          # the use reaches the store
    for i in range(4, 12):           # each eviction leaves 5 columns
        m.read(f"column/col{i}.npy")
        peak = max(peak, disk_bytes(cache))
        time.sleep(0.5)
        if i == 5:
            # 6 x 3.84 MB > 0.8 x 24 MiB: the least recently used goes,
            # col1, not col0 (made first, used after col3)
            wait_until(lambda: stats_json(m)["total"]["evicted"] >= 1, 10)
            time.sleep(0.5)
            states = [xattr(m.p(f"column/col{j}"), "state")
                      for j in range(6)]
            assert states == ["cached", "absent", "cached", "cached",
                              "cached", "cached"], states
    assert peak <= limit + SLACK, peak
    wait_until(lambda: disk_bytes(cache) <= limit, 10)
    s = stats_json(m)
    assert s["total"]["evicted"] >= 7        # 12 columns, 5 fit
    assert s["total"]["bytes"] <= limit
    assert s["functions"]["column"]["entries"] == 12 - s["total"]["evicted"]
    # an evicted result is recomputed, also for a reader whose pages the
    # kernel held: eviction dropped them
    assert m.count("column", "col1") == 1
    m.read("column/col1.npy")
    assert m.count("column", "col1") == 2
    m.unmount()


def test_max_age_expires_results(mount_factory, tmp_path):
    f = functions(tmp_path)
    m = mount_factory(opts=[f"functions={f}", "max_age=2s"])
    fh = open(m.p("stamp/a"), "rb")
    try:
        v0 = fh.read()
        assert xattr(m.p("stamp/a"), "state") == "cached"
        # (not polled by xattr: a stat from a process that has the file
        # open computes it again, by design)
        wait_until(lambda: stats_json(m)["functions"]["stamp"]["evicted"]
                   == 1, 6)
        fh.seek(0)
        assert fh.read() != v0          # its pages went with it
        assert m.count("stamp", "a") == 2
    finally:
        fh.close()
    m.unmount()


@pytest.mark.parametrize("opt, msg", [
    ("max_size=5X", "max_size=5X: expected a size"),
    ("max_size=-1", "max_size=-1: expected a size"),
    ("max_size=99999999999999999999", "expected a size"),
    ("max_size=17179869184T", "expected a size"),
    ("max_age=7y", "max_age=7y: expected a duration"),
    ("max_age=1.5h", "expected a duration"),
    ("max_age=", "expected a duration"),
    ("log=", "log=: expected a file"),
])
def test_bad_limit_and_log_options(mount_factory, opt, msg):
    r = mount_factory.run(["-o", opt, mount_factory.mountpoint()])
    assert r.returncode == 1
    assert msg in r.stderr and len(r.stderr.splitlines()) == 1


# ---- logs --------------------------------------------------------------------

def test_log_file_option_and_fallback_without_syslog(mount_factory,
                                                     tmp_path):
    log = tmp_path / "memofs.log"
    d = mount_factory.daemon(opts=[f"log={log}"])
    assert d.result.returncode == 0, d.result.stderr
    (d.path / "mean" / "col0").read_bytes()
    d.unmount()
    text = log.read_text()
    assert re.search(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ memofs\[\d+\]: "
                     r"info: mounted demo", text, re.M), text
    assert "mean(col0): done in" in text
    assert os.stat(log).st_mode & 0o777 == 0o600
    # a log file that is another user's, or a link, is refused
    os.symlink("/etc/passwd", tmp_path / "link.log")
    r = mount_factory.run(["-o", f"log={tmp_path / 'link.log'}",
                           mount_factory.mountpoint()])
    assert r.returncode == 1 and "log=" in r.stderr
    if os.path.exists("/dev/log"):
        return      # the fallback below is for machines without syslog
    cache = tmp_path / "cache"
    d = mount_factory.daemon(opts=[f"cache={cache}"])
    assert d.result.returncode == 0, d.result.stderr
    (d.path / "mean" / "col0").read_bytes()
    d.unmount()
    text = (cache / "memofs.log").read_text()
    assert "no syslog on this machine: logging to" in text
    assert "mean(col0): done in" in text


def test_command_failure_reason_reaches_the_log(mount_factory, tmp_path):
    log = tmp_path / "m.log"
    f = functions(tmp_path)
    d = mount_factory.daemon(opts=[f"functions={f}", f"log={log}"])
    assert d.result.returncode == 0, d.result.stderr
    with pytest.raises(OSError) as e:
        (d.path / "fail" / "x").read_bytes()
    assert e.value.errno == errno.EIO
    d.unmount()
    assert re.search(r"warning: fail\(x\): failed after [0-9.]+ s",
                     log.read_text())


# ---- running as a service ----------------------------------------------------

MEMOFS_BUILD = os.environ.get("MEMOFS_BUILD", "")


@pytest.mark.skipif(not MEMOFS_BUILD or not os.access(MEMOFS_BUILD, os.W_OK),
                    reason="meson install writes its log into the build "
                    "directory, not writable here (the run as nobody)")
def test_meson_install_puts_the_mount_helper_where_mount_finds_it(tmp_path):
    dest = tmp_path / "dest"
    r = subprocess.run(["meson", "install", "-C", MEMOFS_BUILD, "--destdir",
                        str(dest), "--no-rebuild"], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    helper = dest / "sbin" / "mount.fuse.memofs"
    assert helper.is_file() and not helper.is_symlink()
    assert os.access(helper, os.X_OK)
    mm = [p for p in dest.rglob("memofs-mount")]
    assert len(mm) == 1 and os.access(mm[0], os.X_OK)
    assert (mm[0].parent / "memofs").is_file()      # the same bin directory
    # the installed helper, away from the source tree, runs memofs-mount
    # from PATH
    env = dict(os.environ, PATH=f"{tmp_path / 'fake'}:/usr/bin:/bin")
    (tmp_path / "fake").mkdir()
    fake = tmp_path / "fake" / "memofs-mount"
    fake.write_text('#!/bin/sh\necho "memofs-mount $*"\n')
    fake.chmod(0o755)
    r = subprocess.run([helper, "/d/t.csv", "/mnt/x", "-o",
                        "noauto,_netdev,workers=2,max_size=1G"],
                       capture_output=True, text=True, env=env, timeout=30)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "memofs-mount -o workers=2,max_size=1G /d/t.csv /mnt/x\n"


@pytest.mark.skipif(not shutil.which("systemd-analyze"),
                    reason="systemd-analyze is not installed")
def test_systemd_units_verify(tmp_path, memofs_bin):
    scripts = os.path.join(MEMOFS_SRC, "mount-scripts")
    units = {"mnt-memo.mount": None, "memofs.service": None}
    for name in units:
        text = open(os.path.join(scripts, name)).read()
        # verify checks that ExecStart's program exists: the built one
        text = text.replace("/usr/local/bin/memofs", memofs_bin)
        (tmp_path / name).write_text(text)
        r = subprocess.run(["systemd-analyze", "verify", str(tmp_path / name)],
                           capture_output=True, text=True, timeout=60)
        mine = [l for l in r.stderr.splitlines() if name in l]
        assert r.returncode == 0 and not mine, r.stderr
    # and verify does catch a broken unit
    bad = (tmp_path / "mnt-memo.mount").read_text().replace(
        "Where=/mnt/memo", "Where=/mnt/elsewhere")
    (tmp_path / "mnt-memo.mount").write_text(bad)
    r = subprocess.run(["systemd-analyze", "verify",
                        str(tmp_path / "mnt-memo.mount")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode != 0
