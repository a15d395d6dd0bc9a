"""test_startup.py -- start-up, and start-up attacked from every side: the
daemon's fork before the load, the thread that prepares the cache and
opens the store meanwhile, RocksDB loaded at run time, the mount point's
line in /proc/self/mountinfo, the readahead, the digest a mount skips
(fs/mfs_main.c, fs/mfs_mountinfo.c, compute/engine/rdb.c,
compute/engine/cachedir.c).

Every kind of start-up failure, in daemon mode and with -f: one line on
stderr that names the cause, exit status 1, and nothing left behind (no
process, no mount, no temporary cache, a persistent cache's LOCK free); a
failure of both the dataset and the cache reports the dataset's, the one
the user asked about first.  A failed start leaves the file system as it
found it: a -o cache directory it made is gone, the user's own stays.  A
stop signal at any stage ends memofs, daemon or not, and never leaves a
mount.  Mount points with any name (blanks, backslashes, newlines, 3.6 KB
escaped to 14 KB) are found in mountinfo.  Keys name the data whenever
they outlive the mount.
"""
import gzip
import os
import shutil
import signal
import subprocess
import time
from collections import namedtuple

import numpy as np
import pytest

from conftest import fusermount_u, is_mounted, memofs_pids, wait_until
from test_remote import redis  # noqa: F401  (the fixture)

TP_RDB = os.environ.get("MEMOFS_TP_RDB")
BUILD = os.environ.get("MEMOFS_BUILD")
MODES = dict(argvalues=[False, True], ids=["daemon", "foreground"])


# ---- helpers ------------------------------------------------------------

def temp_caches(factory):
    """The temporary caches memofs made in the tests' TMPDIR."""
    return sorted(p.name for p in factory.tmpdir.iterdir()
                  if p.name.startswith("memofs-") and p.is_dir())


def lines_of(stderr):
    return [ln for ln in stderr.splitlines() if ln.strip()]


def one_line(stderr):
    """The one line stderr holds; fails if it holds more or none."""
    lines = lines_of(stderr)
    assert len(lines) == 1, stderr
    return lines[0]


def run_memofs(factory, args, foreground, env=None, timeout=30.0):
    """memofs [-f] ARGS with its own stdin/stdout/stderr; returns the
    CompletedProcess.  A memofs that mounted and keeps serving (not
    expected) is unmounted and killed, and the test fails."""
    argv = [factory.binary] + (["-f"] if foreground else []) + \
        [str(a) for a in args]
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, env=env or factory.env)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        fusermount_u(args[-1], lazy=True)
        p.kill()
        out, err = p.communicate()
        pytest.fail(f"{argv} still running after {timeout} s\n{err}")
    return subprocess.CompletedProcess(argv, p.returncode, out, err)


def rocksdb_soname():
    """The SONAME memofs loads (meson.build writes it to
    memofs_config.h)."""
    if not BUILD:
        pytest.skip("MEMOFS_BUILD is not set")
    with open(os.path.join(BUILD, "memofs_config.h")) as f:
        for line in f:
            if "MEMOFS_ROCKSDB_SONAME" in line:
                return line.split('"')[1]
    pytest.fail("no MEMOFS_ROCKSDB_SONAME in memofs_config.h")


def env_without_rocksdb(factory, tmp_path):
    """An environment in which the SONAME memofs loads is libm: a library
    that is not RocksDB, found first through LD_LIBRARY_PATH."""
    libdir = tmp_path / "fakelib"
    libdir.mkdir(exist_ok=True)
    libm = subprocess.run(["/usr/bin/python3", "-c",
                           "import ctypes.util, ctypes; "
                           "print(ctypes.util.find_library('m'))"],
                          capture_output=True, text=True).stdout.strip()
    src = next(os.path.join(d, libm) for d in
               ("/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu",
                "/lib64", "/usr/lib64", "/lib", "/usr/lib")
               if os.path.exists(os.path.join(d, libm)))
    shutil.copy(src, libdir / rocksdb_soname())
    return dict(factory.env, LD_LIBRARY_PATH=str(libdir))


def readahead_kb(path):
    dev = os.stat(path).st_dev
    with open(f"/sys/class/bdi/{os.major(dev)}:{os.minor(dev)}/"
              "read_ahead_kb") as f:
        return int(f.read())


def write_csv(path, seed, rows=1000):
    arr = np.random.default_rng(seed).standard_normal((rows, 2))
    text = "".join(f"{a!r},{b!r}\n" for a, b in arr)
    if str(path).endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return arr


def big_csv(path, mb):
    """A CSV of about mb MB (a load of a fraction of a second or more)."""
    row = ",".join(["0.12345678901234567"] * 8) + "\n"
    with open(path, "w") as f:
        f.write("a,b,c,d,e,f,g,h\n")
        for _ in range(mb * 10 // 24):
            f.write(row * 15000)
    return path


def cache_opts(cache):
    """-o cache=CACHE, or nothing for a temporary cache (cache None)."""
    return ["-o", f"cache={cache}"] if cache else []


# ---- the daemon's fork, the store thread --------------------------------

def test_both_fail_the_dataset_is_reported(mount_factory, tmp_path):
    not_dir = tmp_path / "a-file"
    not_dir.write_text("x")
    missing = tmp_path / "missing.csv"
    for run in (lambda: mount_factory.daemon(
                    missing, opts=[f"cache={not_dir}/c"]).result,
                lambda: mount_factory.run(
                    ["-f", "-o", f"cache={not_dir}/c", missing,
                     mount_factory.mountpoint()])):
        r = run()
        assert r.returncode == 1
        assert str(missing) in one_line(r.stderr)


def test_daemon_mount_works_and_cache_is_temporary(mount_factory):
    d = mount_factory.daemon()
    assert d.result.returncode == 0, d.result.stderr
    assert d.result.stderr == ""
    assert len(temp_caches(mount_factory)) == 1
    with open(d.path / "mean" / "col0") as f:
        assert float(f.read()) != 0.0
    d.unmount()
    assert temp_caches(mount_factory) == []


# ---- every kind of start-up failure ---------------------------------------

# What a kind of failure runs: memofs's arguments before the mount point,
# the strings its one line must hold, its environment (None: the
# factory's), and a check of what it must have left alone (or None).
Failure = namedtuple("Failure", "args causes env check",
                     defaults=(None, None))


def _missing_data(f, tmp, cache):
    missing = tmp / "missing.csv"
    return Failure(cache_opts(cache) + [missing],
                   (str(missing), "No such file"))


def _unparsable_data(f, tmp, cache):
    bad = tmp / "bad.csv.gz"
    bad.write_bytes(b"\x1f\x8b\x08\x00not gzip at all")
    return Failure(cache_opts(cache) + [bad], (str(bad),))


def _unparsable_npy(f, tmp, cache):
    bad = tmp / "bad.npy"
    bad.write_bytes(b"\x93NUMPY\x01\x00\x10\x00{'descr': '<f8'")
    return Failure(cache_opts(cache) + [bad], (str(bad),))


def _bad_plugin(f, tmp, cache):
    lib = tmp / "notaplugin.so"
    lib.write_bytes(b"not an ELF file")
    return Failure(cache_opts(cache) + ["-o", f"plugin={lib}"],
                   ("notaplugin.so",))


def _bad_functions(f, tmp, cache):
    ini = tmp / "bad.ini"
    ini.write_text("garbage\n")
    return Failure(cache_opts(cache) + ["-o", f"functions={ini}"],
                   ("bad.ini: line 1",))


def _cache_not_a_dir(f, tmp, cache):
    """Its own cache: one below a file."""
    (tmp / "a-file").write_text("x")
    return Failure(["-o", f"cache={tmp}/a-file/cache"], ("cache ", "a-file"),
                   check=lambda: (tmp / "a-file").read_text() == "x")


def _cache_in_use(f, tmp, cache):
    """A cache another memofs serves from (its own one without cache)."""
    cache = cache or tmp / "shared-cache"
    other = f(opts=[f"cache={cache}"])      # the other mount, kept
    return Failure(cache_opts(cache), ("in use by another memofs",),
                   check=lambda: float(other.read("mean/col0")) != 0.0)


def _rocksdb_unloadable(f, tmp, cache):
    return Failure(cache_opts(cache), ("cannot load RocksDB",),
                   env_without_rocksdb(f, tmp))


def _remote_secret_readable(f, tmp, cache):
    pw = tmp / "pw"
    pw.write_text("secret\n")
    pw.chmod(0o644)
    return Failure(cache_opts(cache) + [
        "-o", f"remote=redis://127.0.0.1:1,remote_password_file={pw}"],
        ("chmod 600",))


FAILURES = {
    "missing_data": _missing_data,
    "unparsable_data": _unparsable_data,
    "unparsable_npy": _unparsable_npy,
    "bad_plugin": _bad_plugin,
    "bad_functions": _bad_functions,
    "cache_not_a_dir": _cache_not_a_dir,
    "cache_in_use": _cache_in_use,
    "rocksdb_unloadable": _rocksdb_unloadable,
    "remote_secret_readable": _remote_secret_readable,
}


def check_failed(r, fail, mnt):
    """r is a start that failed as fail says: exit 1, exactly one line
    "memofs: ..." naming the cause (no "during start-up" guess from the
    parent, no RocksDB log line besides the reason), no mount, no memofs
    left on the mount point, and what the kind must not touch
    untouched."""
    assert r.returncode == 1, r.stderr
    line = one_line(r.stderr)
    assert line.startswith("memofs: "), line
    for cause in fail.causes:
        assert cause in line, (cause, line)
    assert "during start-up" not in line
    assert not is_mounted(mnt)
    assert memofs_pids(mnt) == []
    assert fail.check is None or fail.check()


@pytest.mark.parametrize("foreground", **MODES)
@pytest.mark.parametrize("kind", sorted(FAILURES))
def test_start_failure_says_one_line_and_leaves_nothing(mount_factory,
                                                        tmp_path, kind,
                                                        foreground):
    """Each failure, with a temporary cache (or the one the kind needs):
    check_failed(), and no new temporary cache (the one it made removed).
    (What it leaves of a -o cache:
    test_failed_start_removes_only_the_cache_it_made.)"""
    fail = FAILURES[kind](mount_factory, tmp_path, None)
    before = temp_caches(mount_factory)
    mnt = mount_factory.mountpoint()
    r = run_memofs(mount_factory, fail.args + [mnt], foreground,
                   env=fail.env)
    check_failed(r, fail, mnt)
    assert temp_caches(mount_factory) == before


@pytest.mark.parametrize("foreground", **MODES)
@pytest.mark.parametrize("kind", ["missing", "a_file", "mounted"])
def test_mount_point_problems_say_one_line(mount_factory, tmp_path, kind,
                                           foreground):
    """A mount point that is not there, not a directory, or already a
    mount point: one line before any fork, exit 1, the existing mount
    untouched."""
    mnt = tmp_path / "mnt-x"
    other = None
    if kind == "a_file":
        mnt.write_text("x")
    elif kind == "mounted":
        other = mount_factory()
        mnt = other.path
    r = run_memofs(mount_factory, [mnt], foreground)
    assert r.returncode == 1, r.stderr
    line = one_line(r.stderr)
    assert str(mnt) in line, line
    if other:
        assert "already a mount point" in line
        assert float(other.read("mean/col0")) != 0.0
        assert memofs_pids(mnt) == [other.proc.pid]
        other.unmount()
    assert temp_caches(mount_factory) == []


def test_unreachable_remote_is_not_a_start_failure(mount_factory):
    """A Redis that does not answer is no error: the daemon mounts, says
    at most a warning naming the remote tier, and computes locally."""
    d = mount_factory.daemon(opts=["remote=redis://127.0.0.1:1",
                                   "remote_timeout=200"])
    assert d.result.returncode == 0, d.result.stderr
    for line in lines_of(d.result.stderr):
        assert "warning" in line and "127.0.0.1:1" in line, line
    with open(d.path / "mean" / "col0") as f:
        assert float(f.read()) != 0.0
    d.unmount()
    assert temp_caches(mount_factory) == []


# ---- a failed start leaves the file system as it found it -----------------

def cache_in(parent, whose):
    """The -o cache of a start that will fail, in parent: one memofs must
    make, with a parent of its own ("made": parent/new/c), or the user's
    own, empty ("users": parent/c, made here)."""
    if whose == "made":
        return parent / "new" / "c"
    (parent / "c").mkdir(mode=0o700)
    return parent / "c"


@pytest.mark.parametrize("foreground", **MODES)
@pytest.mark.parametrize("kind", ["cache_made", "cache_users", "tmpdir"])
def test_cache_inside_the_mount_point_is_refused(mount_factory, kind,
                                                 foreground):
    """-o cache, or TMPDIR for a temporary cache, inside the mount point:
    the mount would hide the cache, and memofs waited on itself for ever
    (a thread opening a path in the cache after the mount, before INIT is
    answered, and every reader with it).  Refused in one line; the mount
    point is left as it was: the cache memofs made there (with its
    parent) or its temporary cache removed, the user's cache directory or
    TMPDIR kept."""
    mnt = mount_factory.mountpoint()
    env = None
    if kind == "tmpdir":
        (mnt / "t").mkdir()
        env = dict(mount_factory.env, TMPDIR=str(mnt / "t"))
        args = [mnt]
    else:
        cache = cache_in(mnt, kind.split("_")[1])
        args = ["-o", f"cache={cache}", mnt]
    before = sorted(os.listdir(mnt))
    r = run_memofs(mount_factory, args, foreground, env=env)
    assert r.returncode == 1, r.stderr
    line = one_line(r.stderr)
    assert f"is inside the mount point {mnt}" in line, line
    assert not is_mounted(mnt) and memofs_pids(mnt) == []
    assert sorted(os.listdir(mnt)) == before
    if kind != "cache_made":                # the user's, kept empty
        assert os.listdir(mnt / ("t" if kind == "tmpdir" else "c")) == []


@pytest.mark.parametrize("foreground", **MODES)
@pytest.mark.parametrize("kind,whose", [
    (kind, whose) for kind in sorted(FAILURES) for whose in ("made", "users")
    if kind != "cache_not_a_dir"            # its cache is no directory
    and (kind, whose) != ("cache_in_use", "made")])   # is the user's
def test_failed_start_removes_only_the_cache_it_made(mount_factory,
                                                     tmp_path, kind, whose,
                                                     foreground):
    """Every kind of failure with -o cache, whether the store was open by
    then or not: check_failed() as with a temporary cache; a cache
    directory this start made, and its parent made with it, are gone
    (RocksDB's files in them too); the user's own directory stays, and
    its LOCK is free for the next start."""
    home = tmp_path / "home"
    home.mkdir()
    cache = cache_in(home, whose)
    fail = FAILURES[kind](mount_factory, tmp_path, cache)
    before = sorted(os.listdir(home))
    mnt = mount_factory.mountpoint()
    r = run_memofs(mount_factory, fail.args + [mnt], foreground,
                   env=fail.env)
    check_failed(r, fail, mnt)
    assert sorted(os.listdir(home)) == before
    if whose == "users":
        assert cache.is_dir()
        if kind != "cache_in_use":          # its LOCK is free
            m = mount_factory(opts=[f"cache={cache}"])
            assert float(m.read("mean/col0")) != 0.0
            m.unmount()


@pytest.mark.skipif(os.geteuid() != 0, reason="mounts a tmpfs: root only")
@pytest.mark.parametrize("foreground", **MODES)
@pytest.mark.parametrize("whose", ["made", "users"])
def test_full_disk_removes_only_the_cache_it_made(mount_factory, tmp_path,
                                                  whose, foreground):
    """A store that cannot be opened in the directory memofs made (a file
    system with less than the 1 MiB an open needs): refused in one line,
    and the file system left as it was."""
    small = tmp_path / "small"
    small.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k,mode=0700",
                        "memofs-small", str(small)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr}")
    try:
        cache = cache_in(small, whose)
        before = sorted(os.listdir(small))
        mnt = mount_factory.mountpoint()
        r = run_memofs(mount_factory, ["-o", f"cache={cache}", mnt],
                       foreground)
        assert r.returncode == 1, r.stderr
        line = one_line(r.stderr)
        assert "cannot open cache" in line and \
            "No space left on device" in line, line
        assert sorted(os.listdir(small)) == before
        if whose == "users":
            assert os.listdir(cache) == []
    finally:
        subprocess.run(["umount", str(small)], capture_output=True)
    assert not is_mounted(small)


# ---- RocksDB loaded at run time -----------------------------------------

def test_version_and_functions_need_no_rocksdb(mount_factory, tmp_path):
    """--version, --help and --functions never load RocksDB: they work
    where it cannot be loaded."""
    env = env_without_rocksdb(mount_factory, tmp_path)
    for args, want in ((["--version"], "memofs "),
                       (["--help"], "usage"),
                       (["--functions"], "mean COLUMN")):
        r = subprocess.run([mount_factory.binary, *args], env=env,
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, (args, r.stderr)
        assert want in (r.stdout + r.stderr).lower() or \
            want in r.stdout, (args, r.stdout)
        assert "RocksDB" not in r.stderr


@pytest.mark.skipif(not TP_RDB, reason="MEMOFS_TP_RDB unset")
@pytest.mark.parametrize("foreground", **MODES)
def test_plugin_linking_rocksdb_shares_its_copy(mount_factory, tmp_path,
                                                foreground):
    """A plugin linked with librocksdb (tests/plugins/rdbuser.c) and the
    RocksDB memofs loads at run time are one library in the process: one
    librocksdb object, and the plugin's calls go to it; memofs's store
    works beside it (a persistent cache serves the result again)."""
    cache = tmp_path / "cache"
    opts = [f"plugin={TP_RDB}", f"cache={cache}"]
    for _ in range(2):
        if foreground:
            m = mount_factory(opts=opts)
            path, stop = m.path, m.unmount
        else:
            d = mount_factory.daemon(opts=opts)
            assert d.result.returncode == 0, d.result.stderr
            path, stop = d.path, d.unmount
        with open(path / "tp_rdb" / "col0") as f:
            assert f.read() == "1 1\n"
        with open(path / "mean" / "col0") as f:
            assert float(f.read()) != 0.0
        stop()
    r = subprocess.run([mount_factory.binary, "--functions", "-o",
                        f"plugin={TP_RDB}"], capture_output=True, text=True,
                       env=mount_factory.env, timeout=30)
    assert r.returncode == 0 and "tp_rdb" in r.stdout, r.stderr


# ---- stop signals at every start-up stage --------------------------------

STOPS = [signal.SIGINT, signal.SIGTERM, signal.SIGHUP]


@pytest.mark.parametrize("foreground,sig", [
    (False, sig) for sig in STOPS + [signal.SIGKILL]] + [
    (True, signal.SIGINT)], ids=lambda v: v.name if isinstance(
        v, signal.Signals) else ("foreground" if v else "daemon"))
def test_stop_signal_during_load_ends_memofs(mount_factory, tmp_path,
                                             foreground, sig):
    """A ^C (the terminal signals the process group) while memofs loads
    its dataset ends it, memofs -f (the store thread blocks the stop
    signals, the main thread does not) or a daemon: a ^C or a kill of the
    waiting parent ends both, the parent by that signal, and no daemon
    goes on to mount (it had left the terminal's session, and used to
    mount all the same; after a SIGKILL of the parent, its
    PR_SET_PDEATHSIG stops it).  The killed start's temporary cache is
    swept by the next start."""
    big = big_csv(tmp_path / "big.csv", 120)
    mnt = mount_factory.mountpoint()
    p = subprocess.Popen([mount_factory.binary] +
                         (["-f"] if foreground else []) + [str(big), str(mnt)],
                         stdin=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         env=mount_factory.env, start_new_session=True)
    try:
        time.sleep(0.05)
        assert p.poll() is None and not is_mounted(mnt)   # still loading
        if sig == signal.SIGINT:
            os.killpg(p.pid, sig)           # the terminal's ^C
        else:
            os.kill(p.pid, sig)
        assert wait_until(lambda: p.poll() is not None, 20.0)
        assert p.returncode == -sig, p.stderr.read()
        err = p.stderr.read().decode()
        assert err == "", err
        assert wait_until(lambda: memofs_pids(mnt) == [], 10.0)
        time.sleep(0.5)
        assert not is_mounted(mnt)
    finally:
        if p.poll() is None:
            p.kill()
        p.wait()
        p.stderr.close()
        if is_mounted(mnt):
            fusermount_u(mnt, lazy=True)
    m = mount_factory()
    assert wait_until(lambda: len(temp_caches(mount_factory)) == 1, 5.0), \
        temp_caches(mount_factory)
    m.unmount()


@pytest.mark.parametrize("foreground", **MODES)
@pytest.mark.parametrize("sig", STOPS, ids=lambda s: s.name)
def test_stop_signal_at_every_stage_leaves_no_mount(mount_factory, tmp_path,
                                                    sig, foreground):
    """The signal comes 0 to 300 ms after the start, so at each stage in
    turn (options, fork, load and store thread, mount, serving): memofs
    ends (by the signal, or with 0 once it had stopped cleanly), and
    leaves no mount, no process, and its persistent cache ready for the
    next start."""
    cache = tmp_path / "cache"
    data = tmp_path / "d.csv"
    write_csv(data, 3, rows=20000)
    for delay in (0.0, 0.002, 0.01, 0.03, 0.1, 0.3):
        mnt = mount_factory.mountpoint()
        argv = [mount_factory.binary] + (["-f"] if foreground else []) + \
            ["-o", f"cache={cache}", str(data), str(mnt)]
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL,
                             env=mount_factory.env, start_new_session=True)
        try:
            time.sleep(delay)
            if p.poll() is None:
                os.kill(p.pid, sig)
            assert wait_until(lambda: p.poll() is not None, 20.0), delay
            if p.returncode == 0 and not foreground:
                # the daemon was ready before the signal: stop it so
                for pid in memofs_pids(mnt):
                    os.kill(pid, sig)
            assert p.returncode in (0, -sig), (delay, p.returncode)
            assert wait_until(lambda: memofs_pids(mnt) == [], 10.0), delay
            assert wait_until(lambda: not is_mounted(mnt), 5.0), delay
        finally:
            if p.poll() is None:
                p.kill()
            p.wait()
            for pid in memofs_pids(mnt):
                os.kill(pid, signal.SIGKILL)
            if is_mounted(mnt):
                fusermount_u(mnt, lazy=True)
    m = mount_factory(data=data, opts=[f"cache={cache}"])
    assert float(m.read("mean/col0")) != 0.0
    m.unmount()


def test_auto_unmount_daemon_killed(mount_factory):
    """-o auto_unmount: a daemon killed with SIGKILL leaves no mount
    (fusermount3 unmounts it), and its temporary cache is swept by the
    next start."""
    d = mount_factory.daemon(opts=["auto_unmount"])
    assert d.result.returncode == 0, d.result.stderr
    assert d.result.stderr == ""
    assert d.pid
    os.kill(d.pid, signal.SIGKILL)
    assert wait_until(lambda: not is_mounted(d.path), 10.0)
    assert len(temp_caches(mount_factory)) == 1
    m = mount_factory()
    assert wait_until(lambda: len(temp_caches(mount_factory)) == 1, 5.0), \
        temp_caches(mount_factory)
    m.unmount()


# ---- mount points: their names, shadowed ones ---------------------------

NAMES = {
    "plain": "mnt",                         # none: the ordinary case
    "space": "a mount point",
    "backslash": "back\\slash\\040",
    "tab": "tab\there",
    "newline": "new\nline",
    "all": " \\\t\n\\134 ",
}


def check_found(mount_factory, mnt, daemon):
    """mnt is served, a second memofs on it is refused as already mounted
    (mfs_mountinfo_find() found its line), and as root its readahead was
    raised to 1024 KiB before INIT was answered (found again, with its
    device; fs/mfs_mountinfo.h): a large cold read is then one READ per
    MiB, not per 128 KiB.  Another user's mount keeps the kernel's
    default, and reads the same."""
    with open(os.path.join(mnt, "mean", "col0")) as f:
        assert float(f.read()) != 0.0
    r = run_memofs(mount_factory, [mnt], foreground=not daemon)
    assert r.returncode == 1
    assert "already a mount point" in r.stderr, r.stderr
    if os.geteuid() == 0:
        assert readahead_kb(mnt) == 1024
    else:
        assert readahead_kb(mnt) <= 1024
    with open(os.path.join(mnt, "column", "col0")) as f:
        assert len(f.read().splitlines()) == 10000


@pytest.mark.parametrize("name", sorted(NAMES))
def test_mount_point_names_that_mountinfo_escapes(mount_factory, tmp_path,
                                                  name):
    mnt = tmp_path / NAMES[name]
    mnt.mkdir()
    m = mount_factory(mnt=mnt)
    check_found(mount_factory, mnt, daemon=False)
    m.unmount()
    d = mount_factory.daemon(mnt=mnt, opts=["auto_unmount"])
    assert d.result.returncode == 0, d.result.stderr
    check_found(mount_factory, mnt, daemon=True)
    d.unmount()
    assert memofs_pids(mnt) == []


def test_very_long_mount_point(mount_factory, tmp_path):
    """A 3.6 KB mount point of blanks is 14 KB in mountinfo: its line was
    cut at 4.5 KB, so memofs neither saw it mounted (a second memofs
    stacked itself on the first) nor raised its readahead."""
    mnt = str(tmp_path)
    while len(mnt) < 3600:
        mnt = os.path.join(mnt, " " * 200 + str(len(mnt)))
    os.makedirs(mnt)
    m = mount_factory(mnt=mnt)
    check_found(mount_factory, mnt, daemon=False)
    m.unmount()
    assert not is_mounted(mnt)


@pytest.mark.skipif(os.geteuid() != 0, reason="mounts a tmpfs: root only")
@pytest.mark.parametrize("layers", [1, 2])
def test_shadowed_mount_point_is_refused(mount_factory, tmp_path, layers):
    """A directory with a mount on it (one line in mountinfo), or two
    stacked (two lines): memofs refuses it in both modes and leaves both
    mounts as they were."""
    mnt = tmp_path / "shadowed"
    mnt.mkdir()
    done = 0
    try:
        for _ in range(layers):
            r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m",
                                "memofs-attack", str(mnt)],
                               capture_output=True, text=True)
            if r.returncode != 0:
                pytest.skip(f"cannot mount a tmpfs here: {r.stderr}")
            done += 1
        for foreground in (True, False):
            r = run_memofs(mount_factory, [mnt], foreground)
            assert r.returncode == 1
            assert len(lines_of(r.stderr)) == 1
            assert "already a mount point" in r.stderr
        with open("/proc/self/mountinfo") as f:
            assert sum(f" {mnt} " in ln for ln in f) == layers
    finally:
        for _ in range(done):
            subprocess.run(["umount", str(mnt)], capture_output=True)
    assert not is_mounted(mnt)


# ---- the digest: when keys outlive the mount -----------------------------

def test_persistent_cache_serves_two_datasets_plain_and_compressed(
        mount_factory, tmp_path):
    """One -o cache used by a plain and a gzip file, then each rewritten:
    every mount serves its own data's mean; a file whose uncompressed
    bytes are unchanged is a hit, whatever the file is called."""
    cache = tmp_path / "cache"
    plain, packed = tmp_path / "t.csv", tmp_path / "t.csv.gz"
    runs = [(plain, 1), (packed, 2), (packed, 3), (plain, 4), (packed, 1)]
    seen = []
    for path, seed in runs:
        arr = write_csv(path, seed)
        m = mount_factory(data=path, opts=[f"cache={cache}"])
        got = float(m.read("mean/col0"))
        assert abs(got - arr[:, 0].mean()) < 1e-12, (path.name, seed)
        seen.append(m.count("mean", "col0"))
        m.unmount()
    assert seen[:4] == [1, 1, 1, 1]
    assert seen[4] == 0      # seed 1's bytes, first read as t.csv


def test_remote_with_temporary_cache_keys_name_the_data(mount_factory,
                                                        tmp_path, redis):
    """A temporary cache with a remote tier: the keys outlive the mount in
    Redis, so the digest is taken: a file rewritten between two mounts
    (same name, shape and size) gets its own mean, not the one Redis
    holds; the first content again is served from Redis."""
    data = tmp_path / "t.csv"
    opts = [f"remote={redis.url}", "remote_timeout=5000"]
    got = []
    for seed in (1, 2, 1):
        arr = write_csv(data, seed)
        m = mount_factory(data=data, opts=opts)
        v = float(m.read("mean/col0"))
        assert abs(v - arr[:, 0].mean()) < 1e-12, seed
        got.append(m.count("mean", "col0"))
        m.unmount()
    assert got == [1, 1, 0]


def test_persistent_cache_keys_name_the_data(mount_factory, tmp_path):
    """A temporary cache skips the dataset's digest (it dies with the
    mount); a persistent one must not: two files of the same shape and
    name get their own results from one cache, and each its own hits."""
    cache = tmp_path / "cache"
    data = tmp_path / "t.npy"
    means = []
    for seed in (1, 2, 1):
        arr = np.random.default_rng(seed).standard_normal((1000, 2))
        np.save(data, arr)
        m = mount_factory(data=data, opts=[f"cache={cache}"])
        got = float(m.read("mean/col0"))
        assert abs(got - arr[:, 0].mean()) < 1e-12
        means.append((got, m.count("mean", "col0")))
        m.unmount()
    assert means[0][0] != means[1][0]
    assert means[1][1] == 1                 # computed: another file
    assert means[2] == (means[0][0], 0)     # the first file's, a hit


# ---- another user ------------------------------------------------------

@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"),
                    reason="needs root to become nobody")
def test_as_nobody(mount_factory, tmp_path):
    """As nobody: --version and --functions work; where nobody can mount
    at all (this machine's /dev/fuse may be root's only), a mount works,
    keeps the kernel's readahead (only root may raise it: see
    test_mfs_mountinfo.c) and removes its temporary cache."""
    import tempfile
    top = tempfile.mkdtemp(prefix="memofs-attack-nobody-")
    try:
        os.chmod(top, 0o755)
        mnt, tmp = os.path.join(top, "mnt"), os.path.join(top, "tmp")
        os.mkdir(mnt)
        os.mkdir(tmp)
        for d in (mnt, tmp):
            shutil.chown(d, "nobody")
        # A copy nobody can run: the build may sit in a 0700 directory
        # (a CI's mktemp -d clone).
        binary = os.path.join(top, "memofs")
        shutil.copy2(mount_factory.binary, binary)
        os.chmod(binary, 0o755)
        as_nobody = ["setpriv", "--reuid=nobody", "--regid=nogroup",
                     "--clear-groups", "env", f"TMPDIR={tmp}"]
        for args in (["--version"], ["--functions"]):
            r = subprocess.run(as_nobody + [binary, *args],
                               capture_output=True, text=True, timeout=30)
            assert r.returncode == 0 and r.stdout, (args, r.stderr)
        r = subprocess.run(as_nobody + [binary, mnt],
                           capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            assert "/dev/fuse" in r.stderr and not is_mounted(mnt), r.stderr
            assert os.listdir(tmp) == []
            pytest.skip(f"nobody cannot mount here: {r.stderr.strip()}")
        try:
            with open(os.path.join(mnt, "mean", "col0")) as f:
                assert float(f.read()) != 0.0
            assert readahead_kb(mnt) <= 1024
            assert len(os.listdir(tmp)) == 1
        finally:
            subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup",
                            "--clear-groups", "fusermount3", "-u", mnt],
                           capture_output=True)
        assert wait_until(lambda: memofs_pids(mnt) == [], 10.0)
        assert wait_until(lambda: os.listdir(tmp) == [], 5.0)
    finally:
        if is_mounted(os.path.join(top, "mnt")):
            fusermount_u(os.path.join(top, "mnt"), lazy=True)
        shutil.rmtree(top, ignore_errors=True)
