"""test_cold_requests.py -- what a cold read costs in FUSE requests, and the
permission answers that go with it.

Without allow_other only the mounting user's processes reach a FUSE mount,
so memofs mounts without default_permissions (mfs_fuse_optlist()): an open()
of a result not computed yet then sends no GETATTR for a permission check,
and a cold `cat` is LOOKUP, GETATTR (its fstat, which computes), READ.  With
allow_other the kernel checks permissions (default_permissions) and the
open's check costs one GETATTR more.  access(2) answers the same either
way: the kernel's own check with allow_other, mfs_access() without.
"""
import errno
import os
import re
import subprocess

import numpy as np
import pytest

DATA = np.random.RandomState(7).randn(50, 4)
OPCODE = re.compile(r"opcode: ([A-Z_]+) \(\d+\), nodeid: \d+, insize: \d+, "
                    r"pid: (\d+)")


def super_options(path):
    """The superblock options of the mount on path (what FUSE was given)."""
    want = os.path.realpath(str(path))
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, right = line.split(" - ")
            if left.split()[4] == want:
                return set(right.split()[2].split(","))
    raise AssertionError(f"{want} is not mounted")


def requests_of(m, pid):
    """The FUSE opcodes that process pid sent, from memofs -d's log."""
    return [op for op, p in OPCODE.findall(m.log()) if int(p) == pid]


def cold_cat(m, rel):
    """cats rel (not computed yet) once; returns (bytes, its requests)."""
    os.listdir(m.p(os.path.dirname(rel)))      # its directory: looked up
    p = subprocess.Popen(["cat", m.p(rel)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    out, err = p.communicate(timeout=30)
    assert p.returncode == 0, err
    return out, requests_of(m, p.pid)


@pytest.mark.parametrize("allow_other", [False, True])
def test_default_permissions_only_with_allow_other(mount_factory, tmp_path,
                                                   allow_other):
    np.save(tmp_path / "d.npy", DATA)
    m = mount_factory(tmp_path / "d.npy",
                      opts=["allow_other"] if allow_other else [])
    assert ("default_permissions" in super_options(m.path)) == allow_other


@pytest.mark.parametrize("allow_other", [False, True])
def test_cold_cat_requests(mount_factory, tmp_path, allow_other):
    """A cold cat: one GETATTR without allow_other (its fstat computes),
    two with (the open's permission check first); then one READ, and
    the bytes are the result's."""
    np.save(tmp_path / "d.npy", DATA)
    m = mount_factory(tmp_path / "d.npy", extra_args=["-d"],
                      opts=["allow_other"] if allow_other else [])
    for k, rel in enumerate(["mean/col1", "count/col2", "column/col3"]):
        data, ops = cold_cat(m, rel)
        assert data == m.read(rel) and data, rel
        assert ops.count("LOOKUP") == 1, (rel, ops)
        assert ops.count("GETATTR") == (2 if allow_other else 1), (rel, ops)
        assert "READ" in ops, (rel, ops)
    m.unmount()


def test_stat_still_never_computes(mount_factory, tmp_path):
    """Without the permission GETATTR, stat and access() of a result not
    computed yet still compute nothing (its placeholder size shows)."""
    np.save(tmp_path / "d.npy", DATA)
    m = mount_factory(tmp_path / "d.npy")
    st = os.stat(m.p("mean/col0"))
    assert st.st_size == 4096
    assert os.access(m.p("mean/col0"), os.R_OK)
    assert m.count("mean", "col0") == 0
    assert float(m.read("mean/col0")) == pytest.approx(DATA[:, 0].mean())
    assert os.stat(m.p("mean/col0")).st_size == len(m.read("mean/col0"))
    m.unmount()


@pytest.mark.parametrize("allow_other", [False, True])
@pytest.mark.parametrize("umask", [None, "0"])
def test_access_answers(mount_factory, tmp_path, allow_other, umask):
    """access(2) says what open and exec then do, with or without the
    kernel's checks: read yes, write never (EROFS), search a directory
    yes, execute a result only when its mode has an execute bit."""
    np.save(tmp_path / "d.npy", DATA)
    opts = (["allow_other"] if allow_other else []) + \
        ([f"umask={umask}"] if umask else [])
    m = mount_factory(tmp_path / "d.npy", opts=opts)
    x_file = umask == "0"           # 0777 & ~0: every bit
    m.read("max/col1")
    for rel in ["", "mean", "mean/col0", "max/col1", ".memofs",
                ".memofs/stats"]:
        p = m.p(rel)
        is_dir = os.path.isdir(p)
        assert os.access(p, os.R_OK), rel
        assert not os.access(p, os.W_OK), rel
        assert os.access(p, os.X_OK) == (is_dir or x_file), rel
        assert os.access(p, os.R_OK | os.X_OK) == (is_dir or x_file), rel
    with pytest.raises(OSError) as e:
        os.open(m.p("mean/col0"), os.O_WRONLY)
    assert e.value.errno == errno.EROFS
    here = os.getcwd()
    try:
        os.chdir(m.p("mean"))
        assert os.path.realpath(".") == os.path.realpath(m.p("mean"))
    finally:
        os.chdir(here)
    assert m.count("mean", "col0") == 0         # access() computed nothing
    m.unmount()


def _copy(kind, fd, dst):
    """Copies fd (at offset 0) to the file dst by kind, to EOF as the
    kernel sees it; returns the bytes copied."""
    out = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        if kind == "sendfile":
            while os.sendfile(out, fd, None, 1 << 16):
                pass
        else:                                   # splice through a pipe
            r, w = os.pipe()
            try:
                while True:
                    n = os.splice(fd, w, 1 << 16)
                    if not n:
                        break
                    while n:
                        n -= os.splice(r, out, n)
            finally:
                os.close(r)
                os.close(w)
    finally:
        os.close(out)
    with open(dst, "rb") as f:
        return f.read()


@pytest.mark.parametrize("kind", ["sendfile", "splice"])
def test_copy_of_a_name_whose_twin_was_computed(mount_factory, tmp_path,
                                                kind):
    """A reader that sends no getattr (sendfile and splice trust the size
    the kernel holds) opened a long result while its size
    was the placeholder; another name of the same result (a header name
    and colN share it) then computed it.  Its copy is still whole: the
    READ that finds the result computed fixes the size before it answers
    (without, the copy stopped at 4096 bytes)."""
    rows = np.random.RandomState(3).randn(3000, 2)
    path = tmp_path / "t.csv"
    with open(path, "w") as f:
        f.write("x,y\n")
        for a, b in rows:
            f.write(f"{a!r},{b!r}\n")
    m = mount_factory(path)
    fd = os.open(m.p("column/x"), os.O_RDONLY)  # the placeholder, cold
    try:
        want = m.read("column/col0")             # the twin computes
        assert len(want) > 4096
        assert _copy(kind, fd, tmp_path / "copy") == want
    finally:
        os.close(fd)
    m.unmount()
