"""test_attack_access.py -- who reaches a mount, and whether access(2)
tells the truth, now that memofs mounts without default_permissions when
allow_other is off (mfs_fuse_optlist(), mfs_access()).

Every check runs a probe process under some identity (root, root without
capabilities, another user, a set-user-ID-like process...) that asks
access(2)/faccessat2(2) about a path and then does what was asked about
(open for reading, open for writing, exec, chdir, listdir), and reports
the errno of each.  The tests compare the two: whatever access() says,
the operation must then do.
"""
import errno
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import READER_KINDS, reader_argv
import test_readers
from test_readers import READERS, check_reader, demo, expected  # noqa: F401

DATA = np.random.RandomState(11).randn(40, 3)
ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0,
                               reason="needs root to switch identities")

# Identities, as setpriv arguments (util-linux).  root_nocaps is uid 0
# without any capability: the kernel's generic_permission() then checks
# the mode bits as for anyone else.
IDENTITIES = {
    "root": [],
    "root_nocaps": ["--inh-caps=-all", "--bounding-set=-all"],
    "nobody": ["--reuid=65534", "--regid=65534", "--clear-groups"],
    "other": ["--reuid=65533", "--regid=65533", "--clear-groups"],
    "setuid_root": ["--ruid=65534", "--euid=0", "--clear-groups"],
    "setgid_other": ["--rgid=65534", "--egid=0", "--clear-groups"],
    "other_gid": ["--regid=65534", "--clear-groups"],
}

# The start of every probe script: err(f) is the errno f() fails with, 0
# if it works.
_ERR = r"""
import ctypes, errno, fcntl, json, os, subprocess, sys

def err(f):
    try:
        f()
        return 0
    except OSError as e:
        return e.errno
"""

# Runs as the probed identity: for each path, what access() says and what
# the operation then does, as an errno (0: it worked).
_PROBE = _ERR + r"""

def read1(p):
    fd = os.open(p, os.O_RDONLY)
    try:
        os.read(fd, 1)
    finally:
        os.close(fd)

def openw(p):
    os.close(os.open(p, os.O_WRONLY))

def execute(p):
    try:
        r = subprocess.run([p], capture_output=True, timeout=20)
    except OSError as e:
        if e.errno == errno.ENOEXEC:   # allowed, not a program
            return
        raise

def chdir(p):
    here = os.getcwd()
    os.chdir(p)
    os.chdir(here)

def fchdir(p):
    here = os.open(".", os.O_RDONLY | os.O_DIRECTORY)
    fd = os.open(p, os.O_PATH | os.O_DIRECTORY)
    try:
        os.fchdir(fd)
        os.fchdir(here)
    finally:
        os.close(fd)
        os.close(here)

libc = ctypes.CDLL(None, use_errno=True)
AT_FDCWD, AT_EACCESS, AT_SYMLINK_NOFOLLOW = -100, 0x200, 0x100

def faccessat2(p, mode, flags):
    # glibc's faccessat() calls faccessat2(2) when flags are given
    if libc.faccessat(AT_FDCWD, p.encode(), mode, flags) != 0:
        raise OSError(ctypes.get_errno(), "faccessat")

out = {}
for p in sys.argv[1:]:
    r = {}
    for name, mode in [("F", os.F_OK), ("R", os.R_OK), ("W", os.W_OK),
                       ("X", os.X_OK), ("RX", os.R_OK | os.X_OK)]:
        for how, flags in [("access", 0), ("eaccess", AT_EACCESS),
                           ("nofollow", AT_SYMLINK_NOFOLLOW)]:
            r[how + "_" + name] = err(lambda: faccessat2(p, mode, flags))
    r["stat"] = err(lambda: os.stat(p))
    isdir = r["stat"] == 0 and os.path.isdir(p)
    r["isdir"] = isdir
    if isdir:
        r["read"] = err(lambda: os.listdir(p))
        r["exec"] = err(lambda: chdir(p))
        r["fchdir"] = err(lambda: fchdir(p))
        # searching it (a lookup, which sends no ACCESS): ENOENT if allowed
        r["search"] = err(lambda: os.stat(os.path.join(p, "no-such-name")))
    else:
        r["read"] = err(lambda: read1(p))
        r["exec"] = err(lambda: execute(p))
    r["write"] = err(lambda: openw(p))
    out[p] = r
print(json.dumps(out))
"""


def probe(identity, paths, cwd="/"):
    """{path: {op: errno}} as identity sees paths."""
    argv = ["setpriv", *IDENTITIES[identity], "--", "/usr/bin/python3",
            "-c", _PROBE, *map(str, paths)]
    if not IDENTITIES[identity]:
        argv = argv[2:]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=60,
                       cwd=cwd)
    assert r.returncode == 0, (identity, r.stderr)
    return json.loads(r.stdout)


def open_up(tmp_path):
    """Lets other users reach tmp_path's mount points."""
    for d in [tmp_path, *tmp_path.parents]:
        if d == Path("/tmp") or d == d.parent:
            break
        os.chmod(d, 0o755)


def node_paths(m):
    """One path of every kind of node: root, function dir, argument dir of
    a function of several arguments, result (computed and not), .npy view,
    .memofs and its files, a name that does not exist."""
    return {
        "root": m.p(""), "fndir": m.p("mean"), "argdir": m.p("corr/col0"),
        "cold": m.p("mean/col0"), "warm": m.p("max/col1"),
        "two": m.p("corr/col0/col1"), "npy": m.p("column/col2.npy"),
        "ctl": m.p(".memofs"), "stats": m.p(".memofs/stats"),
        "clear": m.p(".memofs/clear"), "missing": m.p("mean/nope"),
    }


# Identities whose real ids differ from their effective ones: access(2)
# without AT_EACCESS answers for the real ids (as POSIX says), so only
# faccessat2(AT_EACCESS) predicts what they then do.
SPLIT_IDS = {"setuid_root", "setgid_other"}


def consistent(where, r, split_ids=False):
    """access() answers what the operation then does: for each of R, X,
    RX, access granted <=> the operation is not refused for permission.
    W is never granted (EROFS), and open for writing fails."""
    problems = []
    for how in ("eaccess",) if split_ids else ("access", "eaccess",
                                               "nofollow"):
        if r["stat"]:
            if r[f"{how}_F"] != r["stat"]:
                problems.append(f"{how} F_OK {r[how + '_F']} but stat "
                                f"{r['stat']}")
            continue
        if r[f"{how}_F"]:
            problems.append(f"{how} F_OK {r[how + '_F']} on an existing "
                            f"name")
        for k, op in [("R", "read"), ("X", "exec")]:
            said = r[f"{how}_{k}"] == 0
            did = r[op] not in (errno.EACCES, errno.EPERM)
            if said != did:
                problems.append(f"{how} {k}_OK says {r[how + '_' + k]} "
                                f"but {op} gives {r[op]}")
        rx = r[f"{how}_R"] == 0 and r[f"{how}_X"] == 0
        if (r[f"{how}_RX"] == 0) != rx:
            problems.append(f"{how} R|X {r[how + '_RX']} vs R "
                            f"{r[how + '_R']}, X {r[how + '_X']}")
        if r[f"{how}_W"] == 0:
            problems.append(f"{how} W_OK granted")
    if r["stat"] == 0 and r["write"] == 0:
        problems.append("opened for writing")
    if r.get("fchdir") is not None and r["stat"] == 0 and \
            (r["fchdir"] == 0) != (r["exec"] == 0):
        problems.append(f"fchdir {r['fchdir']} but chdir {r['exec']}")
    if r.get("search") is not None and r["stat"] == 0 and \
            (r["search"] == errno.ENOENT) != (r["exec"] == 0):
        problems.append(f"chdir {r['exec']} but a lookup in it "
                        f"{r['search']}")
    return [f"{where}: {p}" for p in problems]


def as_mounter(mount_factory, tmp_path, mounter):
    """Makes mount_factory's next mounts be made by user mounter ("root" or
    "nobody").  Only root can mount here (nobody cannot open /dev/fuse),
    so "nobody" is memofs run with real ids 65534 and effective ids 0:
    libfuse gives the kernel its real ids as the mount's owner (user_id=,
    group_id=), so the kernel treats the mount exactly as one that user
    65534 made, and memofs's getuid() is 65534 too (mfs_may_clear())."""
    if mounter == "root":
        return
    # The exec that leaves effective ids 0 behind real ids 65534 is a
    # secure one (AT_SECURE): the C library drops TMPDIR, so each mount
    # gets its cache directory, made here, in the test's own TMPDIR.
    wrapper = tmp_path / "memofs-as-nobody"
    wrapper.write_text("#!/bin/sh\nexec setpriv --ruid=65534 --rgid=65534 "
                       f"--clear-groups -- {mount_factory.binary} "
                       "-o \"cache=$(mktemp -d)\" \"$@\"\n")
    wrapper.chmod(0o755)
    mount_factory.binary = str(wrapper)


def owner_of(m):
    """The user_id= the kernel holds for mount m (its owner)."""
    want = os.path.realpath(str(m.path))
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, right = line.split(" - ")
            if left.split()[4] == want:
                opts = dict(o.partition("=")[::2]
                            for o in right.split()[2].split(","))
                return int(opts["user_id"])
    raise AssertionError(f"{want} is not mounted")


MOUNTER_ID = {"root": "root", "nobody": "nobody"}     # its IDENTITIES name


@ROOT_ONLY
@pytest.mark.parametrize("mounter", ["root", "nobody"])
@pytest.mark.parametrize("allow_other", [False, True])
@pytest.mark.parametrize("umask,exe", [
    (None, "exec"), ("0", "exec"), ("022", "exec"), ("0777", "exec"),
    ("0277", "exec"), ("0226", "exec"), ("0333", "exec"), ("0", "noexec")])
def test_access_matches_what_follows(mount_factory, tmp_path, mounter,
                                     allow_other, umask, exe):
    """For every node kind and identity, access() and faccessat2(AT_EACCESS)
    say what open/exec/chdir then do, on a mount made by root or by
    another user (whose files show owner 1000: not the mounter)."""
    open_up(tmp_path)
    np.save(tmp_path / "d.npy", DATA)
    os.chmod(tmp_path / "d.npy", 0o644)
    as_mounter(mount_factory, tmp_path, mounter)
    owner = "65534" if mounter == "root" else "1000"
    opts = [exe] + (["allow_other"] if allow_other else []) + \
        ([f"umask={umask}"] if umask else []) + [f"uid={owner}",
                                                 f"gid={owner}"]
    m = mount_factory(tmp_path / "d.npy", opts=opts)
    assert owner_of(m) == (0 if mounter == "root" else 65534)
    probe(MOUNTER_ID[mounter], [m.p("max/col1")])     # computed: warm
    paths = node_paths(m)
    problems = []
    for who in IDENTITIES:
        got = probe(who, paths.values())
        for kind, p in paths.items():
            problems += consistent(f"{who} {kind}", got[str(p)],
                                   who in SPLIT_IDS)
    assert not problems, "\n".join(problems)
    m.unmount()


# ---- O_PATH: a descriptor that reads nothing --------------------------------

# Opens each path O_PATH, fstats it through that descriptor, and prints the
# sizes; then tries to open it for reading (errno, 0: it could).
_O_PATH = r"""
import json, os, sys
out = []
for p in sys.argv[1:]:
    fd = os.open(p, os.O_PATH)
    size = os.fstat(fd).st_size
    os.close(fd)
    try:
        os.close(os.open(p, os.O_RDONLY))
        e = 0
    except OSError as x:
        e = x.errno
    out.append([size, e])
print(json.dumps(out))
"""

PLACEHOLDER_SIZE = 4096     # what stat shows of a result not computed yet


def o_path_fstat(identity, paths):
    argv = ["setpriv", *IDENTITIES[identity], "--", "/usr/bin/python3",
            "-c", _O_PATH, *map(str, paths)]
    r = subprocess.run(argv if IDENTITIES[identity] else argv[2:],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_o_path_fstat_computes_nothing(mount_factory, tmp_path):
    """An O_PATH descriptor reads nothing: its fstat is a stat and computes
    nothing (mfs_fdinfo_is()); an fstat of the same file opened for
    reading still computes (a reader trusts that size)."""
    np.save(tmp_path / "d.npy", DATA)
    m = mount_factory(tmp_path / "d.npy")
    [[size, e]] = o_path_fstat("root", [m.p("mean/col0")])
    assert size == PLACEHOLDER_SIZE and e == 0
    assert m.count("mean", "col0") == 0, "O_PATH fstat computed"
    with open(m.p("mean/col0"), "rb") as f:
        assert os.fstat(f.fileno()).st_size == len(m.read("mean/col0"))
    assert m.count("mean", "col0") == 1
    m.unmount()


@ROOT_ONLY
def test_o_path_of_a_user_who_may_not_read(mount_factory, tmp_path):
    """With allow_other and a mode that lets others search directories but
    not read (umask=0226: others --x; noexec, so not exec either), another
    user cannot make memofs compute, nor learn a result's size, by opening
    it O_PATH and fstat-ing it."""
    open_up(tmp_path)
    np.save(tmp_path / "d.npy", DATA)
    os.chmod(tmp_path / "d.npy", 0o644)
    m = mount_factory(tmp_path / "d.npy",
                      opts=["allow_other", "noexec", "umask=0226",
                            "uid=65534", "gid=65534"])
    got = o_path_fstat("other", [m.p("mean/col0"), m.p("column/col1")])
    assert m.count("mean", "col0") == 0 and m.count("column", "col1") == 0
    assert got == [[PLACEHOLDER_SIZE, errno.EACCES]] * 2, got
    m.unmount()


# ---- who reaches a mount without allow_other --------------------------------

# MFS_IOC_CLEAR = _IOW('M', 0x51, struct mfs_ctl_clear { char what[4096]; })
IOC_CLEAR = (1 << 30) | (4096 << 16) | (ord("M") << 8) | 0x51

# Runs as the probed identity with fd 3 open on .memofs/clear (passed by
# the mounting user, as over a unix socket) and fd 4 on a computed result:
# the errno of an ioctl clear, of a read and of an fstat through them, and
# of getxattr/listxattr by path.
_PASSED = _ERR + r"""
print(json.dumps({
    "ioctl": err(lambda: fcntl.ioctl(3, %d, bytearray(4096))),
    "read": err(lambda: os.pread(4, 1, 0)),
    "fstat": err(lambda: os.fstat(4)),
    "getxattr": err(lambda: os.getxattr(sys.argv[1], "user.memofs.state")),
    "listxattr": err(lambda: os.listxattr(sys.argv[1])),
}))
""" % IOC_CLEAR


def passed_fds(identity, ctl_fd, res_fd, path):
    argv = ["setpriv", *IDENTITIES[identity], "--", "/usr/bin/python3",
            "-c", _PASSED, str(path)]
    r = subprocess.run(
        argv if IDENTITIES[identity] else argv[2:], capture_output=True,
        text=True, timeout=30,
        preexec_fn=lambda: (os.dup2(ctl_fd, 3), os.dup2(res_fd, 4)),
        close_fds=False)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


@ROOT_ONLY
@pytest.mark.parametrize("allow_other", [False, True])
def test_clear_and_xattrs_by_who(mount_factory, tmp_path, allow_other):
    """Who may clear the cache and read the user.memofs.* attributes, now
    that the kernel checks modes only with allow_other.  Without it, the
    kernel refuses every other identity whatever descriptor it holds
    (fuse_allow_current_process()): even a descriptor the mounting user
    passed it cannot clear nor fstat (reading through it is the kernel's
    business: the mounting user handed the bytes over).  With it, another
    user gets EPERM from memofs for a clear, and the attributes as far as
    the mode lets it read."""
    open_up(tmp_path)
    np.save(tmp_path / "d.npy", DATA)
    os.chmod(tmp_path / "d.npy", 0o644)
    m = mount_factory(tmp_path / "d.npy",
                      opts=["allow_other"] if allow_other else [])
    m.read("mean/col0")
    ctl = os.open(m.p(".memofs/clear"), os.O_RDONLY)
    res = os.open(m.p("mean/col0"), os.O_RDONLY)
    try:
        got = {who: passed_fds(who, ctl, res, m.p("mean/col0"))
               for who in IDENTITIES}
    finally:
        os.close(ctl)
        os.close(res)
    for who, g in got.items():
        if who in ("root", "root_nocaps"):
            # uid 0 (the mounting user) clears; the attributes read
            assert g == {"ioctl": 0, "read": 0, "fstat": 0, "getxattr": 0,
                         "listxattr": 0}, (who, g)
        elif not allow_other:
            assert g == {"ioctl": errno.EACCES, "read": 0,
                         "fstat": errno.EACCES, "getxattr": errno.EACCES,
                         "listxattr": errno.EACCES}, (who, g)
        elif who in ("setuid_root", "setgid_other", "other_gid"):
            assert g["ioctl"] == 0 and g["getxattr"] == 0, (who, g)
        else:
            assert g == {"ioctl": errno.EPERM, "read": 0, "fstat": 0,
                         "getxattr": 0, "listxattr": 0}, (who, g)
    m.unmount()


@ROOT_ONLY
@pytest.mark.parametrize("umask", [None, "0777"])
def test_only_the_mounting_users_processes_reach(mount_factory, tmp_path,
                                                 umask):
    """Without allow_other the kernel lets in only a process whose real,
    effective and saved user and group ids are all the mounting user's:
    not a set-user-ID or set-group-ID process of it, not the mounting
    user with another group.  Those it lets in read everything whatever
    mode -o umask makes the files show, even root without any capability
    (README, "Access")."""
    open_up(tmp_path)
    np.save(tmp_path / "d.npy", DATA)
    os.chmod(tmp_path / "d.npy", 0o644)
    m = mount_factory(tmp_path / "d.npy", opts=["uid=65534", "gid=65534"] +
                      ([f"umask={umask}"] if umask else []))
    m.read("max/col1")
    paths = node_paths(m)
    del paths["missing"]
    for who in IDENTITIES:
        got = probe(who, paths.values())
        for kind, p in paths.items():
            r = got[str(p)]
            if who in ("root", "root_nocaps"):
                assert r["stat"] == 0 and r["read"] == 0, (who, kind, r)
                assert r["eaccess_R"] == 0, (who, kind, r)
            else:
                assert r["stat"] == errno.EACCES and \
                    r["read"] == errno.EACCES and \
                    r["eaccess_F"] == errno.EACCES, (who, kind, r)
    m.unmount()


# ---- the cold path with the kernel's permission check -----------------------

@pytest.mark.parametrize("name", list(READERS))
def test_cold_readers_with_allow_other(mount_factory, tmp_path, demo, name):
    """test_readers.py runs every reader without allow_other, where no
    GETATTR checks permissions at open() any more; with allow_other
    (default_permissions) that GETATTR comes first, and every reader must
    still get the whole result, computed once."""
    m = mount_factory(opts=["allow_other"])
    check_reader(m, tmp_path, demo, name, READERS[name])
    m.unmount()


@ROOT_ONLY
@pytest.mark.parametrize("kind", READER_KINDS)
def test_cold_readers_of_another_user(mount_factory, tmp_path, demo, kind):
    """With allow_other another user's readers of a cold result get all of
    it: memofs, as root, sees their descriptors in /proc, and the kernel's
    permission GETATTR at open() (sent before the descriptor exists)
    computes nothing."""
    open_up(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    os.chmod(out, 0o777)
    m = mount_factory(opts=["allow_other"])
    for rel in ("column/col1", "mean/col2"):
        dst = out / rel.replace("/", "-")
        argv = ["setpriv", *IDENTITIES["nobody"], "--",
                *reader_argv(kind, m.p(rel), dst, exact="once")]
        argv[argv.index(sys.executable)] = "/usr/bin/python3"
        r = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, (kind, rel, r.stderr)
        assert dst.read_bytes() == expected(m, demo, rel), (kind, rel)
        assert m.count(*rel.split("/")) == 1, (kind, rel)
    m.unmount()


class AllowOther:
    """mount_factory, with allow_other added to every mount."""

    def __init__(self, factory):
        self.factory = factory

    def __call__(self, *args, opts=(), **kw):
        return self.factory(*args, opts=["allow_other", *opts], **kw)


@pytest.mark.parametrize("race", [
    "test_concurrent_cold_sizing_readers", "test_sendfile_racing_stat_loops",
    "test_stat_waits_for_a_bare_sendfile_reader"])
def test_racing_readers_with_allow_other(mount_factory, tmp_path, demo,
                                         race):
    """test_readers.py's races of cold readers and stats, with allow_other:
    there the kernel's permission GETATTR at each open() races too."""
    run = getattr(test_readers, race)
    if race == "test_concurrent_cold_sizing_readers":
        run(AllowOther(mount_factory), tmp_path, demo, 0)
    elif race == "test_sendfile_racing_stat_loops":
        run(AllowOther(mount_factory), tmp_path, False)
    else:
        run(AllowOther(mount_factory), tmp_path)


# ---- changes: refused whoever asks ------------------------------------------

_CHANGES = _ERR + r"""
res, d, missing = sys.argv[1:4]
out = {
    "chmod": err(lambda: os.chmod(res, 0o777)),
    "chown": err(lambda: os.chown(res, 1, 1)),
    "utime": err(lambda: os.utime(res, (1, 1))),
    "truncate": err(lambda: os.truncate(res, 0)),
    "o_trunc": err(lambda: os.close(os.open(res, os.O_RDONLY | os.O_TRUNC))),
    "o_creat": err(lambda: os.close(os.open(missing, os.O_RDONLY |
                                            os.O_CREAT, 0o644))),
    "setxattr": err(lambda: os.setxattr(res, "user.x", b"1")),
    "removexattr": err(lambda: os.removexattr(res, "user.memofs.state")),
    "unlink": err(lambda: os.unlink(res)),
    "rename": err(lambda: os.rename(res, missing)),
    "link": err(lambda: os.link(res, missing)),
    "symlink": err(lambda: os.symlink(res, missing)),
    "mkdir": err(lambda: os.mkdir(missing)),
    "rmdir": err(lambda: os.rmdir(d)),
    "mknod": err(lambda: os.mkfifo(missing)),
}
print(json.dumps(out))
"""


@ROOT_ONLY
@pytest.mark.parametrize("allow_other", [False, True])
def test_every_change_is_erofs(mount_factory, tmp_path, allow_other):
    """Without default_permissions nothing in the kernel checks modes for
    the mounting user: the mount being read-only is what refuses every
    change, with EROFS, to root and to root without capabilities alike
    (and, with allow_other, to another user)."""
    open_up(tmp_path)
    m = mount_factory(opts=["umask=0"] +
                      (["allow_other"] if allow_other else []))
    m.read("mean/col0")
    args = [m.p("mean/col0"), m.p("mean"), m.p("mean/col9")]
    for who in ["root", "root_nocaps"] + (["nobody"] if allow_other else []):
        argv = ["setpriv", *IDENTITIES[who], "--", "/usr/bin/python3", "-c",
                _CHANGES, *map(str, args)]
        r = subprocess.run(argv if IDENTITIES[who] else argv[2:],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stderr
        got = json.loads(r.stdout)
        assert got == dict.fromkeys(got, errno.EROFS), (who, got)
    assert float(m.read("mean/col0")) == pytest.approx(
        np.random.RandomState(42).randn(10000, 4)[:, 0].mean())
    m.unmount()


@pytest.mark.parametrize("allow_other", [False, True])
def test_exec_of_a_cold_result(mount_factory, tmp_path, allow_other):
    """With -o exec,umask=0 a result is a program: exec of one not computed
    yet (the kernel's permission GETATTR sees the placeholder, then exec
    reads it) runs all of it, a script longer than the placeholder's page
    included; without an execute bit, exec and access(X_OK) both refuse."""
    data = tmp_path / "data"
    data.mkdir()
    pad = "".join(f"# {i:06d}\n" for i in range(1000))     # 9 KB
    (data / "s").write_text("#!/bin/sh\n" + pad + "echo ran-$1\n")
    fns = tmp_path / "f.ini"
    fns.write_text("[copy]\nargs = files\ncommand = cat {file}\n")
    ao = ["allow_other"] if allow_other else []
    m = mount_factory(data=data, opts=[f"functions={fns}", "exec",
                                       "umask=0", *ao])
    assert os.access(m.p("copy/s"), os.X_OK)
    r = subprocess.run([m.p("copy/s"), "x"], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0 and r.stdout == "ran-x\n", r
    assert len(m.read("copy/s")) > PLACEHOLDER_SIZE
    m.unmount()
    m = mount_factory(data=data, opts=[f"functions={fns}", "exec", *ao])
    assert not os.access(m.p("copy/s"), os.X_OK)
    with pytest.raises(PermissionError):
        subprocess.run([m.p("copy/s")], timeout=30)
    assert m.read("copy/s").endswith(b"echo ran-$1\n")
    m.unmount()


@ROOT_ONLY
@pytest.mark.parametrize("allow_other", [False, True])
def test_mount_of_another_user(mount_factory, tmp_path, allow_other):
    """A mount made by user 65534 (as_mounter()), files shown as user
    1000's with mode 0500 (umask=0277).  Without allow_other the kernel
    lets in 65534's processes only, root included out: 65534 reads
    everything whatever the mode and clears the cache (`memofs clear`).
    With allow_other the kernel checks the mode for everyone, 65534 too:
    user 1000 and root read, root clears, 65534 and the rest do not."""
    open_up(tmp_path)
    np.save(tmp_path / "d.npy", DATA)
    os.chmod(tmp_path / "d.npy", 0o644)
    bindir = tmp_path / "bin"      # a memofs any user can run (CI's clone
    bindir.mkdir()                 # may be 0700)
    shutil.copy(mount_factory.binary, bindir / "memofs")
    os.chmod(bindir, 0o755)
    os.chmod(bindir / "memofs", 0o755)
    as_mounter(mount_factory, tmp_path, "nobody")
    m = mount_factory(tmp_path / "d.npy",
                      opts=["uid=1000", "gid=1000", "umask=0277"] +
                      (["allow_other"] if allow_other else []))
    ids = dict(IDENTITIES, owner=["--reuid=1000", "--regid=1000",
                                  "--clear-groups"])
    paths = node_paths(m)
    del paths["missing"]

    def run(who, *argv):
        return subprocess.run(["setpriv", *ids[who], "--", *map(str, argv)]
                              if ids[who] else list(map(str, argv)),
                              capture_output=True, text=True, timeout=30)

    readers = {"root", "setuid_root", "setgid_other", "other_gid",
               "owner"} if allow_other else {"nobody"}
    for who in ids:
        r = run(who, "/usr/bin/python3", "-c", _PROBE, *paths.values())
        assert r.returncode == 0, r.stderr
        got = json.loads(r.stdout)
        for kind, p in paths.items():
            want = 0 if who in readers else errno.EACCES
            assert got[str(p)]["read"] == want, (who, kind, got[str(p)])
    reader = "owner" if allow_other else "nobody"
    clearers = {"root"} if allow_other else {"nobody"}

    def entries():
        r = run(reader, "cat", m.p(".memofs/stats.json"))
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)["total"]["entries"]

    for who in ["nobody", "root", "owner", "other"]:
        assert run(reader, "cat", m.p("mean/col0")).returncode == 0
        assert entries() > 0
        r = run(who, bindir / "memofs", "clear", m.path)
        assert (r.returncode == 0) == (who in clearers), (who, r.stderr)
        assert (entries() == 0) == (who in clearers), who
    m.unmount()


# Reads src with O_DIRECT (page-aligned buffers, bypassing the page
# cache) until EOF, into dst.
_O_DIRECT = r"""
import mmap, os, sys
src, dst = sys.argv[1:3]
fd = os.open(src, os.O_RDONLY | os.O_DIRECT)
buf = mmap.mmap(-1, 1 << 16)
out = bytearray()
while True:
    n = os.readv(fd, [buf])
    if n == 0:
        break
    out += buf[:n]
open(dst, "wb").write(out)
"""


@pytest.mark.parametrize("allow_other", [False, True])
def test_cold_o_direct_reader(mount_factory, tmp_path, demo, allow_other):
    """A reader that bypasses the page cache (O_DIRECT, sized by nothing
    but EOF) gets the whole cold result, with or without the open's
    permission GETATTR."""
    m = mount_factory(opts=["allow_other"] if allow_other else [])
    for rel in ("column/col1", "mean/col2"):
        dst = tmp_path / rel.replace("/", "-")
        r = subprocess.run(["/usr/bin/python3", "-c", _O_DIRECT, m.p(rel),
                            dst], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        assert dst.read_bytes() == expected(m, demo, rel), rel
        assert m.count(*rel.split("/")) == 1, rel
    m.unmount()


# openat2(2) of rel beneath the mount's root, with the resolve flags given
# (RESOLVE_NO_MAGICLINKS 0x02, RESOLVE_BENEATH 0x08, RESOLVE_CACHED 0x20):
# prints the errno, then what a read to EOF got.
_OPENAT2 = r"""
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
root, rel, resolve = sys.argv[1], sys.argv[2], int(sys.argv[3])
how = (ctypes.c_uint64 * 3)(os.O_RDONLY, 0, resolve)
dfd = os.open(root, os.O_PATH | os.O_DIRECTORY)
fd = libc.syscall(437, dfd, rel.encode(), how, ctypes.sizeof(how))
if fd < 0:
    print(ctypes.get_errno())
    sys.exit(0)
with os.fdopen(fd, "rb") as f:
    out = f.read()
print(0)
sys.stdout.flush()
sys.stdout.buffer.write(out)
"""


@pytest.mark.parametrize("allow_other", [False, True])
def test_openat2_readers(mount_factory, tmp_path, demo, allow_other):
    """openat2() beneath the mount's root gets the whole cold result;
    RESOLVE_CACHED (no request allowed during the walk) may ask to retry
    (EAGAIN), never refuses with EACCES, and opens a warm result."""
    m = mount_factory(opts=["allow_other"] if allow_other else [])

    def openat2(rel, resolve):
        r = subprocess.run(["/usr/bin/python3", "-c", _OPENAT2, m.path,
                            rel, str(resolve)], capture_output=True,
                           timeout=60)
        assert r.returncode == 0, r.stderr
        e, _, data = r.stdout.partition(b"\n")
        return int(e), data

    for rel in ("column/col1", "mean/col2"):
        e, data = openat2(rel, 0x20 | 0x08)
        assert e in (0, errno.EAGAIN), (rel, e)
        if e:
            e, data = openat2(rel, 0x08 | 0x02)
        assert e == 0 and data == expected(m, demo, rel), rel
        e, data = openat2(rel, 0x20 | 0x08)
        assert e == 0 and data == expected(m, demo, rel), rel
        assert m.count(*rel.split("/")) == 1, rel
    m.unmount()
