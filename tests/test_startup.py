"""Start-up: the daemon forks before it loads the dataset, and a thread
prepares the cache and opens the store meanwhile (fs/mfs_main.c).

Every failure on either side is reported once, on the terminal, with
exit status 1, and leaves no temporary cache and no process behind; a
failure of both reports the dataset's, the one the user asked about
first.
"""
import os
import signal
import subprocess
import time

import numpy as np

from conftest import is_mounted, memofs_pids, wait_until


def temp_caches(factory):
    """The temporary caches memofs made in the tests' TMPDIR."""
    return sorted(p.name for p in factory.tmpdir.iterdir()
                  if p.name.startswith("memofs-") and p.is_dir())


def one_line(stderr):
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, stderr
    return lines[0]


def test_daemon_bad_dataset_says_so_once(mount_factory, tmp_path):
    missing = tmp_path / "missing.csv"
    d = mount_factory.daemon(missing)
    assert d.result.returncode == 1
    line = one_line(d.result.stderr)
    assert str(missing) in line and "No such file" in line
    assert "during start-up" not in line
    assert temp_caches(mount_factory) == []
    assert memofs_pids(d.path) == []


def test_daemon_unparsable_dataset_says_so_once(mount_factory, tmp_path):
    bad = tmp_path / "bad.npy"
    bad.write_bytes(b"\x93NUMPY\x01\x00\x10\x00{'descr': '<f8'")
    d = mount_factory.daemon(bad)
    assert d.result.returncode == 1
    assert str(bad) in one_line(d.result.stderr)
    assert temp_caches(mount_factory) == []


def test_daemon_bad_plugin_says_so_once(mount_factory, tmp_path):
    lib = tmp_path / "notaplugin.so"
    lib.write_bytes(b"not an ELF file")
    d = mount_factory.daemon(opts=[f"plugin={lib}"])
    assert d.result.returncode == 1
    assert "notaplugin.so" in one_line(d.result.stderr)
    assert temp_caches(mount_factory) == []


def test_daemon_bad_cache_reported_by_the_child(mount_factory, tmp_path):
    not_dir = tmp_path / "a-file"
    not_dir.write_text("x")
    d = mount_factory.daemon(opts=[f"cache={not_dir}/cache"])
    assert d.result.returncode == 1
    line = one_line(d.result.stderr)
    assert line.startswith("memofs: ") and "cache" in line
    assert not_dir.read_text() == "x"
    assert memofs_pids(d.path) == []


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


def test_foreground_bad_dataset_leaves_no_temporary_cache(mount_factory,
                                                          tmp_path):
    r = mount_factory.run(["-f", tmp_path / "missing.csv",
                           mount_factory.mountpoint()])
    assert r.returncode == 1
    assert "missing.csv" in one_line(r.stderr)
    assert temp_caches(mount_factory) == []


def test_persistent_cache_is_ready_after_a_failed_start(mount_factory,
                                                        tmp_path):
    """A start that fails on the dataset has opened the store meanwhile:
    it must close it (RocksDB's LOCK) so the next start can use it."""
    cache = tmp_path / "cache"
    r = mount_factory.run(["-f", "-o", f"cache={cache}",
                           tmp_path / "missing.csv",
                           mount_factory.mountpoint()])
    assert r.returncode == 1
    m = mount_factory(opts=[f"cache={cache}"])
    assert float(m.read("mean/col0")) != 0.0
    m.unmount()


def test_daemon_mount_works_and_cache_is_temporary(mount_factory):
    d = mount_factory.daemon()
    assert d.result.returncode == 0, d.result.stderr
    assert d.result.stderr == ""
    assert len(temp_caches(mount_factory)) == 1
    with open(d.path / "mean" / "col0") as f:
        assert float(f.read()) != 0.0
    d.unmount()
    assert temp_caches(mount_factory) == []


def test_interrupt_during_dataset_load_ends_memofs(mount_factory, tmp_path):
    """^C while the dataset loads still ends memofs (the store thread blocks
    the stop signals, the main thread does not), and the killed start's
    temporary cache is swept by the next start."""
    big = tmp_path / "big.csv"
    row = ",".join(["0.12345678901234567"] * 8) + "\n"
    with open(big, "w") as f:
        f.write("a,b,c,d,e,f,g,h\n")
        for _ in range(10):
            f.write(row * 150000)           # 240 MB: about 0.7 s to load

    mnt = mount_factory.mountpoint()
    p = subprocess.Popen([mount_factory.binary, "-f", str(big), str(mnt)],
                         stdin=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         env=mount_factory.env)
    try:
        time.sleep(0.05)
        assert p.poll() is None, p.stderr.read()
        assert not is_mounted(mnt)          # still loading
        os.kill(p.pid, signal.SIGINT)
        assert wait_until(lambda: p.poll() is not None, 10.0)
        assert p.returncode == -signal.SIGINT
    finally:
        if p.poll() is None:
            p.kill()
        p.wait()
        p.stderr.close()
    m = mount_factory()
    assert wait_until(lambda: len(temp_caches(mount_factory)) == 1, 5.0), \
        temp_caches(mount_factory)
    m.unmount()


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


def test_readahead_raised_for_root(mount_factory):
    """As root, memofs raises its mount's readahead to 1024 KiB before
    answering INIT (fs/mfs_mountinfo.h): a large cold read is then one
    READ per MiB, not per 128 KiB.  Another user's mount keeps the
    kernel's default and works the same."""
    m = mount_factory()
    dev = os.stat(m.path).st_dev
    with open(f"/sys/class/bdi/{os.major(dev)}:{os.minor(dev)}/"
              "read_ahead_kb") as f:
        kb = int(f.read())
    if os.geteuid() == 0:
        assert kb == 1024
    else:
        assert kb <= 1024
    assert len(m.read("column/col0").splitlines()) == 10000
    m.unmount()
