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

from conftest import (fusermount_u, is_mounted, memofs_pids, pid_alive,
                      wait_until)

SRC = Path(os.environ.get("MEMOFS_SRC",
                          Path(__file__).resolve().parent.parent))
SCRIPTS = SRC / "mount-scripts"
DEMO = np.random.RandomState(42).randn(10000, 4)
FUNCS = ["column", "sum", "mean", "var", "std", "min", "max", "median",
         "count"]
STOP_S = 2.0    # a stop signal or an unmount ends memofs within this
READER_S = 3.0  # a waiting reader gets bytes or an error within this
ENOTCONN_TEXT = os.strerror(errno.ENOTCONN)


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
    return rc, time.monotonic() - t0


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
    """Each reader got correct bytes, or failed with ENOTCONN."""
    ok = []
    for rel, (rc, so, se) in results.items():
        if rc == 0:
            want = expected_bytes(rel)
            assert want is None or so == want, f"{rel}: wrong bytes"
            assert so, f"{rel}: empty output with exit 0"
            ok.append(rel)
        else:
            assert ENOTCONN_TEXT in se, \
                f"{rel}: expected bytes or ENOTCONN, got rc {rc}: {se!r}"
    return ok


def computed(m):
    """Results the log says were computed and finished."""
    return set(f"{fn}/{arg}" for fn, arg in
               re.findall(r"(\w+)\((col\d)\): done in", m.log()))


# ---- item 9: stop signals ---------------------------------------------------

@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT,
                                 signal.SIGHUP])
def test_stop_signal_with_twenty_waiting_readers(mount_factory, tmp_path,
                                                 sig):
    """20 readers queued on 1 worker: the signal drops the queue, cancels
    the running delay, answers every reader (bytes or ENOTCONN), unmounts
    and releases the cache at once; what finished is served by a remount
    without being computed again."""
    cache = tmp_path / "cache"
    m = mount_factory(opts=["workers=1", "delay=0.5", f"cache={cache}"])
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
    subprocess.run([cc, "-shared", "-fPIC", f"-I{SRC / 'compute'}",
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
