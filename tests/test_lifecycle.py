"""test_lifecycle.py -- how a mount ends, and how it is set up: stop
signals and unmounts with readers waiting, the mount scripts on unusual
mount point names, and the options fstab lines use.

Every test signals only the memofs it started (by pid), and bounds every
wait, so that a regression fails the test instead of hanging the suite.
"""
import contextlib
import errno
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import (SANITIZER_MARKS, fusermount_u, is_mounted,
                      memofs_pids, pid_alive, wait_until)

SRC = Path(os.environ.get("MEMOFS_SRC",
                          Path(__file__).resolve().parent.parent))
SCRIPTS = SRC / "mount-scripts"
DEMO = np.random.RandomState(42).randn(10000, 4)
FUNCS = ["column", "sum", "mean", "var", "std", "min", "max", "median",
         "count"]
STOP_S = 2.0    # a stop signal or an unmount ends memofs within this
READER_S = 3.0  # a waiting reader gets bytes or an error within this
ENOTCONN_TEXT = os.strerror(errno.ENOTCONN)
# What the kernel answers a request memofs never received because the
# connection closed first (a reader that asked in the last milliseconds).
ECONNABORTED_TEXT = os.strerror(errno.ECONNABORTED)


# ---- helpers ----------------------------------------------------------------

def start_readers(root, rels, readers=None):
    """One `cat` per path under root, started now, appended to readers;
    returns readers: [(rel, Popen)]."""
    readers = [] if readers is None else readers
    readers += [(rel, subprocess.Popen(["cat", str(Path(root) / rel)],
                                       stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE))
                for rel in rels]
    return readers


@contextlib.contextmanager
def reaped(readers):
    """Kills whatever reader is still running when the block ends."""
    try:
        yield readers
    finally:
        for _, p in readers:
            if p.poll() is None:
                p.kill()
                p.wait()


def finish_readers(readers, timeout):
    """Waits for every reader (all within timeout seconds of now); returns
    {rel: (returncode, stdout, stderr)}.  A reader still running is
    killed and reported as hung."""
    deadline = time.monotonic() + timeout
    out, hung = {}, []
    for rel, p in readers:
        try:
            so, se = p.communicate(timeout=max(0.01,
                                               deadline - time.monotonic()))
            out[rel] = (p.returncode, so, se.decode(errors="replace"))
        except subprocess.TimeoutExpired:
            p.kill()
            p.communicate()
            hung.append(rel)
    assert not hung, f"readers still waiting {timeout} s after the stop: " \
                     f"{hung}"
    return out


def wait_exit(m, timeout):
    """Waits for the foreground memofs to exit; returns (rc, seconds)."""
    t0 = time.monotonic()
    try:
        rc = m.proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        pytest.fail(f"memofs still running {timeout} s after it was told "
                    f"to stop\nlog:\n{m.log()[-3000:]}")
    m.unmounted = True
    took = time.monotonic() - t0
    for mark in SANITIZER_MARKS:
        assert mark not in m.log(), f"sanitizer report:\n{m.log()[-3000:]}"
    return rc, took


def twenty_results():
    return [f"{fn}/col{c}" for fn in FUNCS for c in range(4)][:20]


def expected_bytes(rel):
    """What the demo's rel must read (repr of floats, one per line)."""
    fn, col = rel.split("/")
    v = DEMO[:, int(col[3:])]
    if fn == "column":
        return "".join(repr(float(x)) + "\n" for x in v).encode()
    if fn == "count":
        return f"{len(v)}\n".encode()
    return None     # a reduction: checked against the remount instead


def check_outcomes(results):
    """Each reader got correct bytes, or failed with ENOTCONN (or, for a
    request still in the kernel when the connection closed, ECONNABORTED).
    Returns the readers that got bytes."""
    ok = []
    for rel, (rc, so, se) in results.items():
        if rc == 0:
            want = expected_bytes(rel)
            assert want is None or so == want, f"{rel}: wrong bytes"
            assert so, f"{rel}: empty output with exit 0"
            ok.append(rel)
        else:
            assert ENOTCONN_TEXT in se or ECONNABORTED_TEXT in se, \
                f"{rel}: expected bytes or ENOTCONN, got rc {rc}: {se!r}"
    return ok


def computed(m):
    """Results the log says were computed and finished."""
    return set(f"{fn}/{arg}" for fn, arg in
               re.findall(r"(\w+)\((col\d)\): done in", m.log()))


# ---- item 9: stop signals ---------------------------------------------------

@pytest.mark.parametrize("sig,workers", [
    (signal.SIGTERM, 1), (signal.SIGINT, 1), (signal.SIGHUP, 1),
    (signal.SIGTERM, 2)])
def test_stop_signal_with_twenty_waiting_readers(mount_factory, tmp_path,
                                                 sig, workers):
    """20 readers queued on 1 or 2 workers: the signal drops the queue,
    cancels the running delays, answers every reader (bytes or ENOTCONN),
    unmounts and releases the cache at once; what finished is served by a
    remount without being computed again."""
    cache = tmp_path / "cache"
    m = mount_factory(opts=[f"workers={workers}", "delay=0.5",
                            f"cache={cache}"])
    with reaped(start_readers(m.path, twenty_results())) as readers:
        m.wait_log(r"done in", timeout=10)
        m.wait_log(r"(?s)done in.*computing", timeout=10)
        os.kill(m.proc.pid, sig)
        rc, took = wait_exit(m, 10)
        results = finish_readers(readers, READER_S)
    assert rc == 0, f"expected exit 0 after {sig.name}, got {rc}"
    assert took < STOP_S, f"memofs took {took:.2f} s to stop on {sig.name}"
    assert not is_mounted(m.path), f"still mounted after {sig.name}"
    assert f"stopping on {signal.strsignal(sig)}" in m.log()
    ok = check_outcomes(results)
    assert len(ok) < 20, "every reader got bytes: the stop came too late " \
                         "to test anything"
    finished = computed(m)
    assert finished, "nothing finished before the signal"

    # The cache lock is free at once, and the finished results are in it.
    m2 = mount_factory(opts=["workers=1", "delay=0.5", f"cache={cache}"])
    for rel in sorted(finished | set(ok)):
        fn, arg = rel.split("/")
        data = m2.read(rel)
        if rel in ok:
            assert results[rel][1] == data, f"{rel}: reader and remount differ"
        assert m2.count(fn, arg) == 0, \
            f"{rel} finished before {sig.name}: expected it stored, " \
            f"not computed again"
    m2.unmount()


def test_stop_signal_while_idle_exits_at_once(mount_factory):
    m = mount_factory()
    m.read("mean/col0")
    os.kill(m.proc.pid, signal.SIGTERM)
    rc, took = wait_exit(m, 10)
    assert rc == 0 and took < 1.0, f"rc {rc} after {took:.2f} s"
    assert not is_mounted(m.path)


SLEEPY_PLUGIN = r"""
#include <string.h>
#include <time.h>
#include <memofs.h>
MEMOFS_PLUGIN_DECLARE;
/* Sleeps without ever looking at memofs: code memofs cannot interrupt. */
static int nap(memofs_ctx *ctx, const char *arg, void *u)
{
	struct timespec ts = { strcmp(arg, "long") == 0 ? 30 : 0,
			       strcmp(arg, "long") == 0 ? 0 : 400000000L };
	while (nanosleep(&ts, &ts) != 0)
		;
	return memofs_printf(ctx, "slept %s\n", arg);
}
int memofs_plugin_init(memofs_registry *reg, int abi)
{
	static const char *const args[] = { "short", "long", 0 };
	struct memofs_function f = { "nap", "1", "sleeps", MEMOFS_ARGS_LIST,
				     args, nap, 0 };
	return memofs_register(reg, &f);
}
"""


def compile_plugin(tmp_path, name, source):
    c, so = tmp_path / f"{name}.c", tmp_path / f"{name}.so"
    c.write_text(source)
    cc = shutil.which("cc") or shutil.which("gcc")
    subprocess.run([cc, "-shared", "-fPIC", f"-I{SRC / 'include'}",
                    "-o", str(so), str(c)], check=True)
    return so


def test_stop_gives_plugin_code_a_short_grace(mount_factory, tmp_path):
    """Plugin code cannot be interrupted: a computation that ends within
    the grace (1 s) is stored and its reader gets the bytes; one that does
    not is left to die with the process, its reader gets ENOTCONN.  The
    mount keeps answering ls, df and cached reads during the grace."""
    so = compile_plugin(tmp_path, "nap", SLEEPY_PLUGIN)
    cache = tmp_path / "cache"
    opts = ["workers=2", f"plugin={so}", f"cache={cache}"]
    m = mount_factory(opts=opts)
    warm = m.read("mean/col1")
    with reaped(start_readers(m.path, ["nap/long"])) as readers:
        m.wait_log(r"nap\(long\): computing", timeout=10)
        start_readers(m.path, ["nap/short"], readers)
        m.wait_log(r"nap\(short\): computing", timeout=10)
        os.kill(m.proc.pid, signal.SIGTERM)
        t0 = time.monotonic()
        m.wait_log(r"stopping on", timeout=5)
        during = {}
        for name, cmd in (("ls", ["ls", str(m.path / "mean")]),
                          ("df", ["df", str(m.path)]),
                          ("cat", ["cat", str(m.p("mean/col1"))])):
            r = subprocess.run(cmd, capture_output=True, timeout=READER_S)
            during[name] = (r.returncode, r.stdout,
                            time.monotonic() - t0)
        rc, _ = wait_exit(m, 10)
        took = time.monotonic() - t0
        results = finish_readers(readers, READER_S)
    for name, (code, out, when) in during.items():
        if when < 0.9:  # still within the grace: answered normally
            assert code == 0, f"{name} during the grace failed"
    assert during["cat"][0] != 0 or during["cat"][1] == warm
    assert rc == 0, f"expected exit 0, got {rc}"
    assert took < 1.0 + STOP_S, f"stop took {took:.2f} s with a stuck plugin"
    assert results["nap/short"][:2] == (0, b"slept short\n"), \
        f"a computation ending within the grace: expected its bytes, got " \
        f"{results['nap/short']}"
    assert results["nap/long"][0] != 0 and \
        ENOTCONN_TEXT in results["nap/long"][2], results["nap/long"]
    assert "1 computation still running after 1.0 s" in m.log()
    assert not is_mounted(m.path)

    m2 = mount_factory(opts=opts)
    assert m2.read("nap/short") == b"slept short\n"
    assert m2.count("nap", "short") == 0, "expected nap/short stored"
    m2.unmount()


COMMANDS = """\
[wait]
args = list: x
command = sleep 30
"""


def test_stop_kills_a_running_command(mount_factory, tmp_path):
    f = tmp_path / "f.ini"
    f.write_text(COMMANDS)
    m = mount_factory(opts=[f"functions={f}"])
    with reaped(start_readers(m.path, ["wait/x"])) as readers:
        m.wait_log(r"wait\(x\): computing", timeout=10)
        os.kill(m.proc.pid, signal.SIGTERM)
        rc, took = wait_exit(m, 10)
        results = finish_readers(readers, READER_S)
    assert rc == 0 and took < STOP_S, f"rc {rc} after {took:.2f} s"
    assert ENOTCONN_TEXT in results["wait/x"][2], results["wait/x"]


def test_daemon_stops_on_sigterm(mount_factory, tmp_path):
    cache = tmp_path / "cache"
    d = mount_factory.daemon(opts=["workers=1", "delay=5",
                                   f"cache={cache}"])
    assert d.result.returncode == 0, d.result.stderr
    assert d.pid, "no daemon found"
    with reaped(start_readers(d.path, twenty_results()[:5])) as readers:
        time.sleep(0.5)
        t0 = time.monotonic()
        os.kill(d.pid, signal.SIGTERM)
        gone = wait_until(lambda: not pid_alive(d.pid), 10)
        took = time.monotonic() - t0
        results = finish_readers(readers, READER_S)
    assert gone and took < STOP_S, f"daemon alive {took:.2f} s after SIGTERM"
    assert not is_mounted(d.path)
    assert check_outcomes(results) == []
    d2 = mount_factory.daemon(opts=[f"cache={cache}"])
    assert d2.result.returncode == 0, d2.result.stderr
    d2.unmount()


# ---- item 9: unmount --------------------------------------------------------

def test_unmount_with_abandoned_jobs_releases_the_cache(mount_factory,
                                                        tmp_path):
    """Readers killed while their jobs wait in the queue, then fusermount3
    -u: memofs exits at once (the queue is dropped, the running delay is
    cancelled), so a remount on the same cache works immediately."""
    cache = tmp_path / "cache"
    m = mount_factory(opts=["workers=1", "delay=3", f"cache={cache}"])
    with reaped(start_readers(m.path, twenty_results()[:10])):
        m.wait_log(r"computing", timeout=10)
    # every reader killed: their jobs stay queued, abandoned
    t0 = time.monotonic()
    r = fusermount_u(m.path)
    assert r.returncode == 0, f"fusermount3 -u: {r.stderr}"
    rc, _ = wait_exit(m, 10)
    took = time.monotonic() - t0
    assert rc == 0 and took < STOP_S, \
        f"memofs exited with {rc} {took:.2f} s after fusermount3 -u"
    m2 = mount_factory(opts=["workers=1", f"cache={cache}"])
    assert m2.read("count/col0") == b"10000\n"
    m2.unmount()


# ---- item 12: mount scripts and unusual mount point names -------------------

# /proc/self/mountinfo escapes space, tab, newline and backslash as \ooo;
# the others test the daemon lookup (no pattern, no option parsing).
ODD_NAMES = ["a b", "tab\there", "back\\slash", "ünïcödé", "new\nline",
             "-dash", "x.y+(z)*[", " lead", "trail\n", "q'uo\"te"]


@pytest.fixture
def script_env(memofs_bin, tmp_path):
    tmpdir = tmp_path / "tmpdir"
    tmpdir.mkdir(exist_ok=True)
    return dict(os.environ, MEMOFS=memofs_bin, TMPDIR=str(tmpdir))


def run_script(argv, env):
    return subprocess.run([str(a) for a in argv], env=env, text=True,
                          capture_output=True, timeout=40)


@pytest.mark.parametrize("name", ODD_NAMES, ids=repr)
def test_memofs_mount_odd_mount_point_names(script_env, tmp_path, name):
    """memofs-mount mounts, clears a stale mount on, and -u unmounts (and
    waits for the daemon) a mount point named name."""
    mnt = tmp_path / name
    try:
        r = run_script([SCRIPTS / "memofs-mount", "-o", "workers=1", mnt],
                       script_env)
        assert r.returncode == 0, r.stderr
        assert is_mounted(mnt)
        assert (mnt / "count" / "col0").read_bytes() == b"10000\n"
        pids = memofs_pids(os.path.realpath(mnt))
        assert len(pids) == 1, f"expected one daemon, found {pids}"
        os.kill(pids[0], signal.SIGKILL)
        assert wait_until(lambda: not pid_alive(pids[0]), 5)

        r = run_script([SCRIPTS / "memofs-mount", "-o", "workers=1", mnt],
                       script_env)
        assert r.returncode == 0, r.stderr
        assert "clearing stale mount" in r.stderr, \
            "expected memofs-mount to find the stale mount"
        assert (mnt / "count" / "col1").read_bytes() == b"10000\n"
        pid = memofs_pids(os.path.realpath(mnt))[0]
        # memofs itself finds the mount in mountinfo (escaped the same way)
        r = run_script([SCRIPTS / "memofs-mount", mnt], script_env)
        assert r.returncode == 1 and "already a mount point" in r.stderr, \
            r.stderr

        r = run_script([SCRIPTS / "memofs-mount", "-u", mnt], script_env)
        assert r.returncode == 0, r.stderr
        assert not is_mounted(mnt)
        assert not pid_alive(pid), "-u returned before the daemon exited"
        r = run_script([SCRIPTS / "memofs-mount", "-u", mnt], script_env)
        assert r.returncode == 1 and "is not mounted" in r.stderr
    finally:
        for pid in memofs_pids(os.path.realpath(mnt)):
            os.kill(pid, signal.SIGKILL)
        if is_mounted(mnt):
            fusermount_u(mnt, lazy=True)


# ---- item 13: the options of libfuse filesystems, fstab ---------------------

def mountinfo(path):
    """(source, fstype, mount options) of the mount on path."""
    want = os.path.realpath(str(path))
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, right = line.split(" - ")
            fields = left.split()
            if re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)),
                      fields[4]) == want:
                fstype, source = right.split()[:2]
                return (re.sub(r"\\([0-7]{3})",
                               lambda m: chr(int(m.group(1), 8)), source),
                        fstype, set(fields[5].split(",")))
    return None


def owner_and_mode(path):
    st = os.stat(path)
    return st.st_uid, st.st_gid, st.st_mode & 0o7777


def test_fuse_options_take_effect(mount_factory):
    """uid, gid and umask in stat (libfuse's meaning: mode 0777 & ~umask,
    files and directories alike), fsname and subtype in mountinfo, the
    mount flags applied, the flags without effect accepted."""
    m = mount_factory(opts=["uid=1234", "gid=4321", "umask=027",
                            "fsname=my data\\set", "subtype=memo_x.1",
                            "noexec", "nosuid", "nodev", "rw", "ro",
                            "noatime", "relatime", "sync",
                            "default_permissions"])
    for rel in ("", "mean", "mean/col0"):     # root, directory, cold file
        assert owner_and_mode(m.path / rel) == (1234, 4321, 0o750), rel
    m.read("mean/col0")     # computed: the same owner and mode
    assert owner_and_mode(m.p("mean/col0")) == (1234, 4321, 0o750)
    source, fstype, mopts = mountinfo(m.path)
    assert source == "my data\\set", source
    assert fstype == "fuse.memo_x.1", fstype
    assert {"ro", "noexec", "nosuid", "nodev"} <= mopts, mopts
    with pytest.raises(OSError) as e:
        open(m.p("mean/new"), "w")
    assert e.value.errno == errno.EROFS, "rw must not make memofs writable"
    m.unmount()

    m = mount_factory(opts=["exec", "umask=0"])     # the other way round
    source, fstype, mopts = mountinfo(m.path)
    assert (source, fstype) == ("memofs", "fuse.memofs")
    assert "noexec" not in mopts and "ro" in mopts
    assert owner_and_mode(m.p("mean/col0"))[2] == 0o777
    m.unmount()

    m = mount_factory()     # the defaults
    assert owner_and_mode(m.p("mean/col0")) == (os.getuid(), os.getgid(),
                                                 0o444)
    assert owner_and_mode(m.p("mean"))[2] == 0o555


def as_user(uid, *argv):
    return subprocess.run(["setpriv", f"--reuid={uid}", f"--regid={uid}",
                           "--clear-groups", *map(str, argv)],
                          capture_output=True, text=True, timeout=10)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to switch users")
def test_uid_and_umask_decide_who_reads(mount_factory, tmp_path):
    """With allow_other, the kernel checks the owner and mode memofs shows
    (default_permissions): umask=0277 leaves only uid= reading."""
    for d in [tmp_path, *tmp_path.parents]:
        if d == Path("/tmp") or d == d.parent:
            break
        os.chmod(d, 0o755)
    m = mount_factory(opts=["allow_other", "uid=65534", "gid=65534",
                            "umask=0277"])
    r = as_user(65534, "cat", m.p("count/col0"))
    assert r.returncode == 0 and r.stdout == "10000\n", r
    r = as_user(65533, "cat", m.p("count/col0"))
    assert r.returncode != 0 and "ermission denied" in r.stderr, r


def test_auto_unmount_after_kill_9(mount_factory):
    """-o auto_unmount (libfuse's): a daemon killed by SIGKILL leaves no
    stale mount behind; a normal unmount still works.  libfuse's watchdog
    (fusermount3) unmounts only if it sees ENOTCONN, and the kernel may
    release /dev/fuse after the watchdog looks (measured: 1 kill in 6
    under AddressSanitizer, 0 in 12 on a normal build), so up to three
    kills are tried; each stale mount is cleared."""
    m = mount_factory(opts=["auto_unmount"])
    assert m.read("count/col0") == b"10000\n"
    m.unmount()
    stale = 0
    for _ in range(3):
        m = mount_factory(opts=["auto_unmount"])
        assert m.read("count/col0") == b"10000\n"
        os.kill(m.proc.pid, signal.SIGKILL)
        m.proc.wait(timeout=5)
        m.unmounted = True
        if wait_until(lambda: not is_mounted(m.path), 3):
            return
        stale += 1
        fusermount_u(m.path, lazy=True)
    pytest.fail(f"auto_unmount: the mount stayed after kill -9 {stale} "
                f"times out of 3")


BAD_FUSE_OPTIONS = [
    ("uid=-1", "uid=-1"), ("uid=abc", "uid=abc"), ("uid=", "uid="),
    ("uid=4294967295", "uid=4294967295"), ("uid= 5", "uid= 5"),
    ("gid=1.5", "gid=1.5"), ("umask=0800", "umask=0800"),
    ("umask=8", "umask=8"), ("umask=", "umask="), ("umask=+7", "umask=+7"),
    ("umask=01000", "umask=01000"), ("fsname=", "fsname="),
    ("fsname=a\tb", "fsname="), ("fsname=" + "x" * 256, "fsname="),
    ("subtype=a/b", "subtype=a/b"), ("subtype=", "subtype="),
    ("subtype=a b", "subtype=a b"), ("auto_unmount=1", "auto_unmount"),
    ("noexec=1", "noexec"), ("default_permissions=yes",
                             "default_permissions"),
    ("uid", "uid"), ("umask", "umask"), ("noauto", "noauto"),
    ("uid=\x1b[31m", "uid=\\x1b[31m"),     # quoted, not sent raw
]


@pytest.mark.parametrize("opt,needle", BAD_FUSE_OPTIONS, ids=repr)
def test_bad_fuse_option_values(mount_factory, opt, needle):
    mnt = mount_factory.mountpoint()
    r = mount_factory.run(["-f", "-o", opt, mnt])
    assert r.returncode != 0
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("memofs: ") and \
        needle in lines[0], f"expected one line naming {needle!r}: " \
                            f"{r.stderr!r}"
    assert not any(ord(c) < 0x20 for c in lines[0]), \
        f"a control character reached the terminal: {lines[0]!r}"
    assert not is_mounted(mnt)


def test_mount_helper_fstab_options(script_env, tmp_path):
    """mount.memofs as mount(8) runs it for a busy fstab line: mount(8)'s
    and systemd's options dropped, the mount flags applied, the libfuse
    options meaning what they mean for sshfs."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    opts = ("rw,noauto,nofail,_netdev,users,user=bob,owner,group,"
            "x-systemd.automount,x-systemd.device-timeout=10,comment=x,"
            "exec,noexec,nosuid,nodev,noatime,relatime,async,"
            "default_permissions,uid=1234,gid=55,umask=0222,"
            "fsname=tables,subtype=memofs,auto_unmount,workers=1")
    try:
        r = run_script([SCRIPTS / "mount.memofs", "demo", mnt, "-n", "-o",
                        opts], script_env)
        assert r.returncode == 0, r.stderr
        assert owner_and_mode(mnt / "count/col0") == (1234, 55, 0o555)
        source, fstype, mopts = mountinfo(mnt)
        assert (source, fstype) == ("tables", "fuse.memofs")
        assert {"ro", "noexec", "nosuid", "nodev"} <= mopts, mopts
        assert (mnt / "count/col0").read_bytes() == b"10000\n"
        r = run_script([SCRIPTS / "memofs-mount", "-u", mnt], script_env)
        assert r.returncode == 0, r.stderr
        r = run_script([SCRIPTS / "mount.memofs", "demo", mnt, "-o",
                        "noauto,umask=9"], script_env)
        assert r.returncode != 0 and "umask=9" in r.stderr
        assert not is_mounted(mnt)
    finally:
        for pid in memofs_pids(os.path.realpath(mnt)):
            os.kill(pid, signal.SIGKILL)
        if is_mounted(mnt):
            fusermount_u(mnt, lazy=True)
