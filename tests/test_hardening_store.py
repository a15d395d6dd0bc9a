"""test_hardening_store.py -- the cache directory and the store under attack
and damage (issue 10, items 2, 5, 6 and 8).

- a cache directory that another user prepared is refused, with one line,
  before mounting; a good one is created 0700 (item 2);
- RocksDB's own damage (a flipped bit in an .sst file, a damaged MANIFEST
  or CURRENT) is recomputed or set aside, never an EIO forever (item 5);
- a full disk at mount is a one-line error, and a disk that fills while
  mounted never kills the mount, for -o cache and for TMPDIR (item 6);
- the temporary cache of a killed daemon is removed by the next memofs,
  never one in use (item 8).

The "other user" is nobody, acting through setpriv.  Tests that need root
(tmpfs mounts, chown, setpriv) skip without it.
"""
import errno
import glob
import os
import shutil
import signal
import stat
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import is_mounted, pid_alive, wait_until

NOBODY = 65534


def need_root():
    if os.geteuid() != 0:
        pytest.skip("needs root (chown, setpriv, tmpfs)")


def as_nobody(*argv):
    """Runs argv as the unprivileged user nobody; fails if it fails."""
    subprocess.run(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}",
                    "--clear-groups", *map(str, argv)], check=True,
                   stdin=subprocess.DEVNULL, capture_output=True)


def write_csv(path, data):
    np.savetxt(path, data, delimiter=",", fmt="%.17g")
    return path


def mean_of(data, c):
    return float(np.mean(data[:, c]))


def expect_refused(r, mnt, *needles):
    """memofs exited 1 before mounting, with one line holding needles."""
    assert r.returncode == 1, r
    assert not is_mounted(mnt)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    for n in needles:
        assert n in lines[0], (n, lines[0])


@pytest.fixture
def shared_dir():
    """A fresh directory in /tmp that nobody can enter (mode 0755, owned
    by root): /tmp/pytest-of-root, where tmp_path lives, is 0700."""
    need_root()
    d = Path(tempfile.mkdtemp(prefix="memofs-test-store-", dir="/tmp"))
    d.chmod(0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


# ---- item 2: a cache directory prepared by another user ---------------------

def prepare(kind, base):
    """Builds the hostile cache of kind under base as nobody would; returns
    (cache path, words the refusal must contain)."""
    victim = base / "victim"
    victim.write_text("precious\n")
    pub = base / "pub"
    pub.mkdir()
    os.chown(pub, NOBODY, NOBODY)
    c = pub / "c"
    if kind == "other_owner":
        as_nobody("mkdir", "-m", "0700", c)
        # Its parent pub is also nobody's: put c where only it counts.
        mine = base / "mine"
        mine.mkdir(mode=0o700)
        os.rename(c, mine / "c")
        return mine / "c", ["owned by uid 65534, not by you"]
    if kind == "parent_by_other":
        return pub / "new" / "c", ["parent", "owned by uid 65534"]
    if kind == "parent_other_sticky":
        pub.chmod(0o1777)
        return pub / "c", ["parent", "owned by uid 65534"]
    if kind == "parent_world_writable":
        shared = base / "shared"
        shared.mkdir()
        shared.chmod(0o777)
        return shared / "c", ["parent", "writable by group or others"]
    if kind == "parent_link_by_other":
        # nobody's link in a sticky directory, to a directory of root's:
        # it would choose where root's cache goes.
        (base / "rootdir").mkdir(mode=0o755)
        stick = base / "stick"
        stick.mkdir()
        stick.chmod(0o1777)
        as_nobody("ln", "-s", base / "rootdir", stick / "lnk")
        return stick / "lnk" / "c", ["symbolic link owned by uid 65534"]
    own = base / "own"
    own.mkdir(mode=0o700)
    c = own / "c"
    if kind in ("mode_0777", "mode_0770"):
        c.mkdir()
        c.chmod(int(kind[-4:], 8))
        return c, ["writable by group or others", kind[-4:]]
    if kind == "symlinked_path":
        as_nobody("mkdir", "-m", "0777", pub / "target")
        os.symlink(pub / "target", c)
        return c, ["symbolic link"]
    if kind == "symlink_inside":
        c.mkdir(mode=0o700)
        os.symlink(victim, c / "LOG")
        return c, ["LOG in it is a symbolic link"]
    if kind == "file_by_other":
        c.mkdir(mode=0o700)
        (c / "000012.sst").write_bytes(b"666\n")
        os.chown(c / "000012.sst", NOBODY, NOBODY)
        return c, ["000012.sst in it is owned by uid 65534"]
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", [
    "other_owner", "parent_by_other", "parent_other_sticky",
    "parent_world_writable", "mode_0777", "mode_0770", "symlinked_path",
    "symlink_inside", "file_by_other", "parent_link_by_other"])
def test_untrusted_cache_dir_is_refused(mount_factory, shared_dir, kind):
    """Each way another user can prepare or reach into the cache is
    refused with its own line, before mounting; nothing is written
    through it."""
    cache, needles = prepare(kind, shared_dir)
    before = sorted(os.listdir(cache)) if cache.is_dir() else None
    mnt = mount_factory.mountpoint()
    r = mount_factory.run(["-o", f"cache={cache}", mnt], mnt=mnt)
    expect_refused(r, mnt, f"cache {cache}", *needles)
    assert (shared_dir / "victim").read_text() == "precious\n"
    if before is not None:
        assert sorted(os.listdir(cache)) == before
    assert not (shared_dir / "pub" / "new").exists()
    assert not (shared_dir / "rootdir" / "c").exists()


def test_untrusted_tmpdir_is_refused(mount_factory, shared_dir):
    """The temporary cache follows the same rule: a TMPDIR another user
    owns is refused with one line, and nothing is left in it."""
    pub = shared_dir / "pubtmp"
    pub.mkdir()
    pub.chmod(0o1777)
    os.chown(pub, NOBODY, NOBODY)
    mount_factory.env["TMPDIR"] = str(pub)
    mnt = mount_factory.mountpoint()
    r = mount_factory.run([mnt], mnt=mnt)
    expect_refused(r, mnt, f"its parent {pub} is owned by uid 65534")
    assert os.listdir(pub) == []


def test_trusted_cache_dirs_work(mount_factory, tmp_path, shared_dir):
    """A fresh nested path is created 0700 (every missing part); an
    existing own 0700 directory and a path directly under the sticky
    /tmp are accepted; a temporary cache is 0700."""
    fresh = tmp_path / "a" / "b" / "c"
    m = mount_factory(opts=[f"cache={fresh}"])
    float(m.read("mean/col0"))
    m.unmount()
    for p in (tmp_path / "a", tmp_path / "a" / "b", fresh):
        assert stat.S_IMODE(p.stat().st_mode) == 0o700, p
    # Existing, own, 0700 (the same, remounted) and 0750 (not writable).
    fresh.chmod(0o750)
    m = mount_factory(opts=[f"cache={fresh}"])
    float(m.read("mean/col1"))
    m.unmount()
    # Directly under /tmp (sticky, root's): shared_dir is one.
    m = mount_factory(opts=[f"cache={shared_dir / 'c'}"])
    float(m.read("mean/col2"))
    # The temporary cache of a mount without -o cache.
    t = mount_factory()
    temps = list(mount_factory.tmpdir.glob("memofs-*"))
    assert len(temps) == 1
    assert stat.S_IMODE(temps[0].stat().st_mode) == 0o700
    assert temps[0].stat().st_uid == os.geteuid()
    t.unmount()
    m.unmount()


def test_record_planted_by_another_user_is_never_served(mount_factory,
                                                        tmp_path,
                                                        shared_dir):
    """nobody copies a real cache (whose mean/col0 it could have forged)
    into a directory it owns and offers it: refused, not served."""
    data = np.random.RandomState(2).randn(50, 2)
    csv = write_csv(tmp_path / "d.csv", data)
    good = tmp_path / "good"
    m = mount_factory(csv, opts=[f"cache={good}"])
    m.read("mean/col0")
    m.unmount()
    offered = shared_dir / "offered"
    shutil.copytree(good, offered)
    for p in [offered, *offered.iterdir()]:
        os.chown(p, NOBODY, NOBODY)
    mnt = mount_factory.mountpoint()
    r = mount_factory.run(["-o", f"cache={offered}", csv, mnt], mnt=mnt)
    expect_refused(r, mnt, "owned by uid 65534")


def test_cachedir_rules_hold_for_an_unprivileged_user(shared_dir):
    """The cachedir unit test, run as nobody in a TMPDIR of its own: the
    same rules for a user who is not root (root's directories are fine as
    parents, never as the cache itself).  Mounting itself needs /dev/fuse,
    which only root may open on this machine."""
    build = os.environ.get("MEMOFS_BUILD")
    if not build:
        pytest.skip("MEMOFS_BUILD is not set")
    home = shared_dir / "nobody"
    home.mkdir(mode=0o700)
    os.chown(home, NOBODY, NOBODY)
    # The build directory may be where nobody cannot go (a clone in
    # /root, or in a mktemp -d directory): run a copy from shared_dir.
    exe = shared_dir / "test_cachedir"
    shutil.copy(os.path.join(build, "tests", "test_cachedir"), exe)
    exe.chmod(0o755)
    r = subprocess.run(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}",
                        "--clear-groups", "env", f"TMPDIR={home}", str(exe)],
                       stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "0 failed" in r.stderr + r.stdout
    assert os.listdir(home) == []


# ---- item 5: damage that RocksDB itself finds ---------------------------------

def fill_cache(mount_factory, csv, cache, ncols):
    m = mount_factory(csv, opts=[f"cache={cache}", "quiet"])
    vals = [m.read(f"mean/col{c}") for c in range(ncols)]
    m.unmount()
    # A second mount flushes nothing new but leaves only .sst files.
    m = mount_factory(csv, opts=[f"cache={cache}", "quiet"])
    m.unmount()
    return vals


def flip_bit_in_data(sst):
    """Flips one bit a quarter into the file: among the data blocks,
    which come first and fill most of an SST of many results."""
    b = bytearray(sst.read_bytes())
    b[len(b) // 4] ^= 0x10
    sst.write_bytes(bytes(b))


def test_flipped_bit_in_sst_is_recomputed(mount_factory, tmp_path):
    """Every result reads correctly after a bit flip in an .sst: those in
    the damaged block are recomputed and the file is dropped; the log
    names it once; remounts (and the compactions they run) serve
    everything, recomputing only what the dropped file held."""
    ncols = 300
    data = np.random.RandomState(5).randn(60, ncols)
    csv = write_csv(tmp_path / "d.csv", data)
    cache = tmp_path / "cache"
    fill_cache(mount_factory, csv, cache, ncols)
    ssts = sorted(cache.glob("*.sst"), key=lambda p: p.stat().st_size)
    assert ssts, os.listdir(cache)
    flip_bit_in_data(ssts[-1])
    for rnd in range(3):
        m = mount_factory(csv, opts=[f"cache={cache}"])
        for c in range(ncols):
            got = float(m.read(f"mean/col{c}"))
            assert got == pytest.approx(mean_of(data, c), rel=1e-12,
                                        abs=1e-12), c
        log = m.log()
        m.unmount()
        named = log.count(f"damaged file {cache}/{ssts[-1].name}")
        if rnd == 0:
            assert named == 1, log[-3000:]
            assert m.computing_lines(), "nothing was recomputed"
        else:
            assert named == 0 and "damaged" not in log, log[-3000:]
        if rnd == 2:
            # Round 1 recomputed what round 0 had read from the file
            # before it was dropped; then everything is stored again.
            assert not m.computing_lines(), "recomputed again"


@pytest.mark.parametrize("what", ["MANIFEST", "CURRENT"])
def test_unopenable_cache_is_moved_aside(mount_factory, tmp_path, what):
    """A cache RocksDB cannot open is renamed aside (kept), said on
    stderr, and the mount proceeds with a fresh, working one."""
    data = np.random.RandomState(6).randn(30, 3)
    csv = write_csv(tmp_path / "d.csv", data)
    cache = tmp_path / "cache"
    fill_cache(mount_factory, csv, cache, 3)
    if what == "CURRENT":
        (cache / "CURRENT").write_bytes(b"MANIFEST-999999\n")
    else:
        for mf in cache.glob("MANIFEST-*"):
            b = bytearray(mf.read_bytes())
            for i in range(7, len(b), 11):
                b[i] ^= 0x5a
            mf.write_bytes(bytes(b))
    d = mount_factory.daemon(csv, opts=[f"cache={cache}"])
    assert d.result.returncode == 0, d.result.stderr
    assert "moved to" in d.result.stderr, d.result.stderr
    aside = glob.glob(f"{cache}.damaged-*")
    assert len(aside) == 1, os.listdir(tmp_path)
    assert (Path(aside[0]) / "CURRENT").exists()
    with open(d.path / "mean/col1", "rb") as f:
        assert float(f.read()) == pytest.approx(mean_of(data, 1))
    d.unmount()
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700


# ---- item 6: a full disk ------------------------------------------------------

@pytest.fixture
def small_tmpfs(tmp_path):
    """A 2 MiB tmpfs made by the test, unmounted at the end."""
    need_root()
    d = tmp_path / "small"
    d.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2M,mode=0700",
                    "tmpfs", str(d)], check=True)
    yield d
    subprocess.run(["umount", "-l", str(d)])


def fill_up(d):
    """Fills the filesystem of d; returns the filler file."""
    f = d / "filler"
    with open(f, "wb") as out:
        try:
            while True:
                out.write(b"\0" * 65536)
                out.flush()
        except OSError as e:
            assert e.errno == errno.ENOSPC
    return f


@pytest.mark.parametrize("where", ["cache", "TMPDIR"])
def test_full_disk_at_mount_is_one_line(mount_factory, small_tmpfs, where):
    """No space for the cache at mount: one line, exit 1, nothing left
    mounted, no abort."""
    fill_up(small_tmpfs)
    mnt = mount_factory.mountpoint()
    if where == "cache":
        r = mount_factory.run(["-o", f"cache={small_tmpfs / 'c'}", mnt],
                              mnt=mnt)
    else:
        mount_factory.env["TMPDIR"] = str(small_tmpfs)
        r = mount_factory.run([mnt], mnt=mnt)
    expect_refused(r, mnt, "No space left on device")
    assert "Assertion" not in r.stderr
    assert list(small_tmpfs.glob("memofs-*")) == []


@pytest.mark.parametrize("where", ["cache", "TMPDIR"])
def test_disk_filling_while_mounted_never_kills(mount_factory, tmp_path,
                                                small_tmpfs, where):
    """The disk fills after the mount: fresh results, computed over four
    seconds (so that the store tries to reopen while the disk is full),
    are served correctly or fail with EIO, the daemon never aborts; when
    space returns, the store reopens and caches again."""
    ncols = 48
    data = np.random.RandomState(7).randn(3000, ncols)
    csv = write_csv(tmp_path / "d.csv", data)
    if where == "cache":
        m = mount_factory(csv, opts=[f"cache={small_tmpfs / 'c'}"])
    else:
        mount_factory.env["TMPDIR"] = str(small_tmpfs)
        m = mount_factory(csv)
    fill_up(small_tmpfs)
    served = 0
    for c in range(0, 40, 3):           # 14 rounds, 0.3 s apart
        for fn in ("column", "mean", "std"):
            for cc in (c, c + 1, c + 2):
                try:
                    got = m.read(f"{fn}/col{cc}")
                except OSError as e:
                    assert e.errno == errno.EIO, e
                    continue
                served += 1
                if fn == "mean":
                    assert float(got) == pytest.approx(mean_of(data, cc))
        assert m.proc.poll() is None, m.log()[-2000:]
        time.sleep(0.3)
    assert served > 0
    assert "No space left on device" in m.log()
    # Space returns: the store reopens and new results are stored again.
    (small_tmpfs / "filler").unlink()
    fresh = iter([f"{fn}/col{c}" for fn in ("min", "max", "var", "sum")
                  for c in range(ncols)])
    assert wait_until(lambda: m.read(next(fresh)) and
                      "reopened for writing" in m.log(), 8, 0.3), \
        m.log()[-2000:]
    m.unmount()
    assert "Assertion" not in m.log()


# ---- item 8: the temporary cache of a killed daemon ---------------------------

def test_killed_daemon_temporary_cache_is_swept(mount_factory):
    """kill -9 leaves a memofs-XXXXXX directory; the next memofs removes
    it and leaves a live mount's own temporary cache alone."""
    tmpdir = mount_factory.tmpdir
    live = mount_factory()
    live.read("mean/col0")
    live_dir = set(tmpdir.glob("memofs-*"))
    assert len(live_dir) == 1
    doomed = mount_factory()
    doomed.read("mean/col1")
    stale = set(tmpdir.glob("memofs-*")) - live_dir
    assert len(stale) == 1
    doomed.proc.send_signal(signal.SIGKILL)
    doomed.proc.wait()
    subprocess.run(["fusermount3", "-uz", str(doomed.path)])
    doomed.unmounted = True
    assert all(p.exists() for p in stale)
    # Not ours, or not 0700, or a symbolic link: never touched.
    other = tmpdir / "memofs-OTHER1"
    other.mkdir(mode=0o700)
    os.chown(other, NOBODY, NOBODY)
    wide = tmpdir / "memofs-WIDE01"
    wide.mkdir(mode=0o755)
    wide.chmod(0o755)
    (wide / "memofs-lock").touch()
    link = tmpdir / "memofs-LINK01"
    os.symlink(next(iter(stale)), link)
    nxt = mount_factory()
    assert float(nxt.read("mean/col2"))
    assert not any(p.exists() for p in stale)
    assert all(p.exists() for p in live_dir)
    assert other.exists() and wide.exists() and os.path.lexists(link)
    assert float(live.read("mean/col3"))     # the live mount still works
    assert "temporary cache of a memofs that is gone" in nxt.log()
    nxt.unmount()
    live.unmount()
    assert sorted(p.name for p in tmpdir.iterdir()) == \
        sorted(["memofs-LINK01", "memofs-OTHER1", "memofs-WIDE01"])
