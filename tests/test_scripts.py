"""test_scripts.py -- the mount scripts and the demo, as a user runs them."""
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import is_mounted, pid_alive, wait_until

SRC = Path(os.environ.get("MEMOFS_SRC",
                          Path(__file__).resolve().parent.parent))
SCRIPTS = SRC / "mount-scripts"
DEMO = np.random.RandomState(42).randn(10000, 4)


@pytest.fixture
def env(memofs_bin, tmp_path):
    tmpdir = tmp_path / "tmpdir"
    tmpdir.mkdir()
    return dict(os.environ, MEMOFS=memofs_bin, TMPDIR=str(tmpdir))


@pytest.fixture
def mnt(tmp_path):
    """A mount point that is unmounted (lazily, if need be) at the end."""
    path = tmp_path / "mnt"
    yield path
    if is_mounted(path):
        subprocess.run(["fusermount3", "-uz", str(path)])


def daemon_pid(path):
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if args and args[0].endswith(b"memofs") and \
                os.fsencode(str(path)) in args:
            return int(pid)
    return None


def run(argv, env, **kw):
    return subprocess.run([str(a) for a in argv], env=env, text=True,
                          capture_output=True, timeout=30, **kw)


def test_memofs_mount_and_unmount(env, mnt):
    r = run([SCRIPTS / "memofs-mount", "-o", "workers=2", mnt], env)
    assert r.returncode == 0, r.stderr
    assert mnt.is_dir() and is_mounted(mnt)    # created, then mounted
    pid = daemon_pid(os.path.realpath(mnt))
    assert pid, "no memofs daemon found for the mount point"
    assert float((mnt / "mean/col0").read_text()) == \
        pytest.approx(DEMO[:, 0].mean(), rel=1e-12)
    r = run([SCRIPTS / "memofs-mount", "-u", mnt], env)
    assert r.returncode == 0, r.stderr
    assert not is_mounted(mnt)
    assert not pid_alive(pid), "-u returned before the daemon exited"
    r = run([SCRIPTS / "memofs-mount", "-u", mnt], env)
    assert r.returncode != 0 and "not mounted" in r.stderr


def test_memofs_mount_clears_a_stale_mount(env, mnt, tmp_path):
    cache = tmp_path / "cache"
    r = run([SCRIPTS / "memofs-mount", "-o", f"cache={cache}", mnt], env)
    assert r.returncode == 0, r.stderr
    pid = daemon_pid(os.path.realpath(mnt))
    assert (mnt / "max/col1").read_text()
    os.kill(pid, 9)
    assert wait_until(lambda: not pid_alive(pid), 5)
    with pytest.raises(OSError):
        os.listdir(mnt)                      # ENOTCONN: stale
    r = run([SCRIPTS / "memofs-mount", "-o", f"cache={cache}", mnt], env)
    assert r.returncode == 0, r.stderr
    assert "stale" in r.stderr
    assert float((mnt / "max/col1").read_text()) == DEMO[:, 1].max()
    assert run([SCRIPTS / "memofs-mount", "-u", mnt], env).returncode == 0


def test_mount_helper_takes_fstab_options(env, mnt, tmp_path):
    data = tmp_path / "t.csv"
    data.write_text("a,b\n1,2\n3,5\n")
    mnt.mkdir()
    # As mount(8) calls it for an fstab line with mount-only options.
    r = run([SCRIPTS / "mount.memofs", data, mnt, "-o",
             "rw,noauto,_netdev,nofail,workers=1,x-systemd.automount"], env)
    assert r.returncode == 0, r.stderr
    assert (mnt / "sum/b").read_text() == "7.0\n"
    args = Path(f"/proc/{daemon_pid(mnt)}/cmdline").read_bytes()
    assert b"workers=1" in args and b"noauto" not in args
    assert run([SCRIPTS / "memofs-mount", "-u", mnt], env).returncode == 0
    # The demo dataset, and an option memofs does not know.
    r = run([SCRIPTS / "mount.memofs", "demo", mnt, "-o", "bogus=1"], env)
    assert r.returncode != 0 and "unknown option" in r.stderr
    assert not is_mounted(mnt)


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("mount"),
                    reason="needs root to install the mount(8) helper")
def test_mount_t_fuse_memofs(env, mnt):
    """mount -t fuse.memofs, with the helper installed as the README says
    (and removed again)."""
    helper = Path("/sbin/mount.fuse.memofs")
    if helper.exists() or helper.is_symlink():
        pytest.skip(f"{helper} exists already; not touching it")
    mnt.mkdir()
    helper.symlink_to(SCRIPTS / "mount.memofs")
    try:
        r = run(["mount", "-t", "fuse.memofs", "demo", mnt, "-o",
                 "workers=2"], env)
        assert r.returncode == 0, r.stderr
        assert float((mnt / "min/col2").read_text()) == DEMO[:, 2].min()
    finally:
        helper.unlink()
    assert run([SCRIPTS / "memofs-mount", "-u", mnt], env).returncode == 0


def test_demo_replays_the_seed(env):
    r = run(["bash", SCRIPTS / "demo.sh", "--delay", "0.2"], env)
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout
    times = [float(t) for t in
             re.findall(r"Elapsed time for the entire processing: "
                        r"([\d.]+) s", out)]
    assert len(times) == 4, out
    seq, first, second, reuse = times
    # 4 columns x 0.2 s on 1 worker, then on 2 workers; then cached.
    assert seq >= 0.8 and first >= 0.4, out
    assert second < first and reuse < first, out
    means = [float(x) for x in re.search(r"means: (.*)", out).group(1).split()]
    np.testing.assert_allclose(means, DEMO.mean(axis=0), rtol=1e-12)
    maxes = [float(x) for x in re.search(r"maxes: (.*)", out).group(1).split()]
    assert maxes == DEMO.max(axis=0).tolist()
    assert "unmounted" in out


def test_memofs_mount_never_unmounts_another_filesystem(env, tmp_path):
    """memofs-mount -u (and the stale-mount clearing of a mount) touch
    memofs mounts only: a tmpfs, and a bind mount of a directory, stay
    mounted with their files."""
    t = tmp_path / "tfs"
    t.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs",
                    str(t)], check=True)
    try:
        (t / "file").write_text("keep\n")
        r = run([SCRIPTS / "memofs-mount", "-u", t], env)
        assert r.returncode == 1
        assert "not a memofs mount (tmpfs)" in r.stderr
        assert is_mounted(t) and (t / "file").read_text() == "keep\n"
        # Mounting over it refuses as memofs does, and clears nothing.
        r = run([SCRIPTS / "memofs-mount", t], env)
        assert r.returncode != 0
        assert is_mounted(t) and (t / "file").read_text() == "keep\n"
    finally:
        subprocess.run(["umount", str(t)])


def test_memofs_mount_waits_for_a_daemon_mounted_by_a_relative_path(
        env, memofs_bin, tmp_path):
    """A daemon started by hand with a relative mount point: -u still
    finds it and returns only once it has exited (its cache lock freed)."""
    (tmp_path / "m4").mkdir()
    cache = tmp_path / "cache"
    r = run([memofs_bin, "-o", f"quiet,delay=1,cache={cache}", "m4"],
            dict(env, PWD=str(tmp_path)), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    pid = daemon_pid("m4")
    assert pid
    reader = subprocess.Popen(["cat", str(tmp_path / "m4/column/col1")],
                              stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    time.sleep(0.2)
    r = run([SCRIPTS / "memofs-mount", "-u", "m4"], env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert not pid_alive(pid)
    reader.wait(timeout=10)
    # The cache is free at once: a remount opens it.
    r = run([memofs_bin, "-o", f"quiet,cache={cache}", tmp_path / "m4"], env)
    assert r.returncode == 0, r.stderr
    r = run([SCRIPTS / "memofs-mount", "-u", tmp_path / "m4"], env)
    assert r.returncode == 0, r.stderr
