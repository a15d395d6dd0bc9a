"""conftest.py -- fixtures for the memofs mount tests.

The tests run the real memofs binary (MEMOFS_BIN) on real mount points.

    def test_x(mount_factory):
        m = mount_factory()                      # demo dataset, -f
        m = mount_factory(data=path, opts=["workers=1", "delay=0.2"])
        m.path / "mean" / "col0"                 # a pathlib.Path
        m.read("mean/col0")                      # bytes
        m.count("column", "col0")                # 'computing' log lines
        m.unmount()                              # asserts a clean exit 0

        d = mount_factory.daemon(opts=[...])     # memofs without -f
        d.result                                 # the CompletedProcess
        d.unmount()                              # waits for the daemon

        r = mount_factory.run(["-o", "foo", str(mnt)])   # expected to fail

Every mount, foreground or daemon, is unmounted in teardown even when the
test fails; a mount that a passing test left mounted must still exit 0 at
that point.  A watchdog kills every memofs of a test that hangs for
WATCHDOG_S seconds, which aborts the FUSE connection so that blocked reads
return (ENOTCONN) and the test fails instead of hanging the suite.

Tests skip only when /dev/fuse is missing or MEMOFS_BIN is unset.
"""
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

MOUNT_TIMEOUT_S = 10.0    # from start to the mount point appearing
EXIT_TIMEOUT_S = 10.0    # from unmount to the process exiting
WATCHDOG_S = 90.0    # a test running longer than this is hung

SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
           "WARNING: ThreadSanitizer", "runtime error:")


# ---- mount table ------------------------------------------------------------

def _unescape_mountinfo(field):
    """Undoes the octal escapes (\\040 for a space...) of /proc mountinfo."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def mounted_paths():
    """The set of mount points in /proc/self/mountinfo."""
    with open("/proc/self/mountinfo") as f:
        return {_unescape_mountinfo(line.split()[4]) for line in f}


def is_mounted(path):
    return os.path.realpath(str(path)) in mounted_paths()


def fusermount_u(path, lazy=False):
    """Runs fusermount3 -u (or -uz); returns the CompletedProcess."""
    return subprocess.run(["fusermount3", "-uz" if lazy else "-u",
                   str(path)], stdin=subprocess.DEVNULL,
                  capture_output=True, text=True, timeout=20)


def pid_alive(pid):
    """True while pid exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return False
    # The state follows the ")" that closes the command name.
    return stat[stat.rindex(")") + 2] != "Z"


def memofs_pids(mountpoint):
    """Pids of live memofs processes whose command line names mountpoint
    (what `pgrep -f MOUNTPOINT` finds, without regex pitfalls)."""
    mnt = str(mountpoint)
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        argv = [a.decode(errors="replace") for a in argv if a]
        if (argv and os.path.basename(argv[0]) == "memofs" and
            mnt in argv[1:] and pid_alive(int(entry))):
            pids.append(int(entry))
    return pids


def wait_until(pred, timeout, interval=0.01):
    """Polls pred() until true or timeout seconds; returns the last value."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(interval)


def tail(text, n=30):
    lines = text.splitlines()
    return "\n".join(lines[-n:]) if lines else "(empty)"


# ---- reader processes ------------------------------------------------------

# One program, run as a separate process, that copies src to dst the way a
# kind of reader does (argv: kind src dst sendfile_chunk exact stat_rounds):
#   sendfile  os.sendfile() of sendfile_chunk bytes at a time, no fstat
#   shutil    shutil.copyfile() (copy_file_range/sendfile, sized by fstat)
#   mmap      mmap of the fstat size
#   exact     read(fstat size); with exact=loop, repeated until that size
#             or EOF, else a single read() that must get everything
#   small     read() of 4096 bytes until EOF
#   stat      stat_rounds stat() calls (racing the attributes), then read
#   anything else: one read() until EOF
_READER = r"""
import mmap, os, shutil, sys
kind, src, dst = sys.argv[1:4]
chunk, exact, stat_rounds = int(sys.argv[4]), sys.argv[5], int(sys.argv[6])
if kind == "sendfile":
    i = os.open(src, os.O_RDONLY)
    o = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    while os.sendfile(o, i, None, chunk):
        pass
elif kind == "shutil":
    shutil.copyfile(src, dst)
elif kind == "mmap":
    with open(src, "rb") as f, \
            mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        open(dst, "wb").write(bytes(mm))
elif kind == "exact":
    fd = os.open(src, os.O_RDONLY)
    size = os.fstat(fd).st_size
    got = os.read(fd, size)
    while exact == "loop" and len(got) < size:
        more = os.read(fd, size - len(got))
        if not more:
            break
        got += more
    open(dst, "wb").write(got)
elif kind == "small":
    fd = os.open(src, os.O_RDONLY)
    with open(dst, "wb") as out:
        while True:
            more = os.read(fd, 4096)
            if not more:
                break
            out.write(more)
elif kind == "stat":
    for _ in range(stat_rounds):
        os.stat(src)
    open(dst, "wb").write(open(src, "rb").read())
else:
    open(dst, "wb").write(open(src, "rb").read())
"""

READER_KINDS = ("sendfile", "shutil", "mmap", "exact", "small", "stat",
                "read")


def reader_argv(kind, src, dst, sendfile_chunk=1 << 16, exact="once",
                stat_rounds=200):
    """The argv of a process that copies src to dst as a reader of this
    kind (READER_KINDS; see _READER).  sendfile_chunk: bytes per
    sendfile(); exact: "once" (one read of st_size bytes must get them
    all) or "loop" (reads until st_size or EOF); stat_rounds: stat() calls
    before the read of the stat kind."""
    assert exact in ("once", "loop"), exact
    return [sys.executable, "-c", _READER, kind, str(src), str(dst),
            str(sendfile_chunk), exact, str(stat_rounds)]


# ---- one foreground mount ---------------------------------------------------

class Mount:
    """memofs -f [-o opts] [DATA] MNT, with stderr in a log file."""

    def __init__(self, binary, mnt, log_path, data=None, opts=(), env=None,
             extra_args=()):
        self.binary = binary
        self.path = Path(mnt)
        self.log_path = Path(log_path)
        self.data = data
        self.opts = list(opts)
        self.env = env
        self.extra_args = list(extra_args)
        self.proc = None
        self.returncode = None
        self.unmounted = False

    def argv(self):
        args = [self.binary, "-f", *self.extra_args]
        if self.opts:
            args += ["-o", ",".join(self.opts)]
        if self.data is not None:
            args.append(str(self.data))
        args.append(str(self.path))
        return args

    def start(self):
        """Starts memofs and waits for the mount point to appear."""
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL,
                             stdout=log, stderr=log, env=self.env)
        deadline = time.monotonic() + MOUNT_TIMEOUT_S
        while not is_mounted(self.path):
            rc = self.proc.poll()
            if rc is not None:
                self.returncode = rc
                self.unmounted = True
                pytest.fail(f"memofs exited with {rc} before mounting "
                        f"{self.path} (expected a mount)\n"
                        f"command: {self.argv()}\n"
                        f"log:\n{tail(self.log())}")
            if time.monotonic() > deadline:
                pytest.fail(f"{self.path} not mounted after "
                        f"{MOUNT_TIMEOUT_S} s (expected a mount)\n"
                        f"log:\n{tail(self.log())}")
            time.sleep(0.005)
        return self

    # -- logs --

    def log(self):
        """The memofs stderr so far."""
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def count(self, fn, arg):
        """Lines logging the start of computing fn(arg)."""
        pat = re.compile(rf"\b{re.escape(fn)}\({re.escape(arg)}\): computing")
        return len(pat.findall(self.log()))

    def computing_lines(self):
        return [l for l in self.log().splitlines() if ": computing" in l]

    def wait_log(self, regex, timeout=10.0):
        """Waits until the log matches regex; returns the match or fails."""
        pat = re.compile(regex)
        m = wait_until(lambda: pat.search(self.log()), timeout)
        if not m:
            pytest.fail(f"expected a log line matching {regex!r} within "
                    f"{timeout} s\nlog:\n{tail(self.log())}")
        return m

    # -- files --

    def p(self, rel):
        return self.path / rel

    def read(self, rel):
        with open(self.path / rel, "rb") as f:
            return f.read()

    # -- stopping --

    def unmount(self, check=True):
        """fusermount3 -u (then -uz); waits for memofs to exit and, with
        check, asserts that both worked and the exit status is 0."""
        if self.unmounted:
            return self.returncode
        self.unmounted = True
        problems = []
        if is_mounted(self.path):
            r = fusermount_u(self.path)
            if r.returncode != 0:
                problems.append(f"fusermount3 -u failed: "
                        f"{r.stderr.strip()}")
                fusermount_u(self.path, lazy=True)
        try:
            self.returncode = self.proc.wait(timeout=EXIT_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            problems.append(f"memofs did not exit within "
                    f"{EXIT_TIMEOUT_S} s of the unmount; killed")
            self.proc.kill()
            self.returncode = self.proc.wait()
        if self.returncode != 0:
            problems.append(f"memofs exited with {self.returncode} "
                    f"after unmount (expected 0)")
        if is_mounted(self.path):
            fusermount_u(self.path, lazy=True)
            problems.append("still mounted after memofs exited")
        log = self.log()
        for mark in SANITIZER_MARKS:
            if mark in log:
                problems.append(f"sanitizer report in the log: {mark}")
        if problems and check:
            pytest.fail("; ".join(problems) +
                    f"\nlog:\n{tail(log, 40)}")
        return self.returncode

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()


# ---- one daemon mount (no -f) ----------------------------------------------

class Daemon:
    """memofs [-o opts] [DATA] MNT without -f: returns once mounted."""

    def __init__(self, binary, mnt, data=None, opts=(), env=None):
        self.binary = binary
        self.path = Path(mnt)
        self.data = data
        self.opts = list(opts)
        self.env = env
        self.result = None
        self.pid = None
        self.elapsed = None

    def argv(self):
        args = [self.binary]
        if self.opts:
            args += ["-o", ",".join(self.opts)]
        if self.data is not None:
            args.append(str(self.data))
        args.append(str(self.path))
        return args

    def start(self):
        t0 = time.monotonic()
        try:
            self.result = subprocess.run(
                self.argv(), stdin=subprocess.DEVNULL,
                capture_output=True, text=True, env=self.env,
                timeout=MOUNT_TIMEOUT_S + 5)
        except subprocess.TimeoutExpired:
            self.cleanup()
            pytest.fail(f"memofs (daemon mode) did not return within "
                    f"{MOUNT_TIMEOUT_S + 5} s (expected it to "
                    f"return once mounted)")
        self.elapsed = time.monotonic() - t0
        if self.result.returncode == 0:
            pids = memofs_pids(self.path)
            self.pid = pids[0] if len(pids) == 1 else None
        return self

    def unmount(self, check=True):
        """fusermount3 -u, then waits for the daemon to exit."""
        problems = []
        if is_mounted(self.path):
            r = fusermount_u(self.path)
            if r.returncode != 0:
                problems.append(f"fusermount3 -u failed: "
                        f"{r.stderr.strip()}")
                fusermount_u(self.path, lazy=True)
        if self.pid and not wait_until(lambda: not pid_alive(self.pid),
                           EXIT_TIMEOUT_S):
            problems.append(f"daemon {self.pid} still running "
                    f"{EXIT_TIMEOUT_S} s after unmount; killed")
            self.kill()
        if problems and check:
            pytest.fail("; ".join(problems))

    def kill(self):
        for pid in ([self.pid] if self.pid else []) + \
               memofs_pids(self.path):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def cleanup(self):
        self.kill()
        if is_mounted(self.path):
            fusermount_u(self.path, lazy=True)


# ---- fixtures ---------------------------------------------------------------

@pytest.fixture(scope="session")
def memofs_bin():
    """The memofs binary; skips when it or /dev/fuse is unavailable."""
    if not os.path.exists("/dev/fuse"):
        pytest.skip("/dev/fuse is missing")
    binary = os.environ.get("MEMOFS_BIN")
    if not binary:
        pytest.skip("MEMOFS_BIN is not set")
    if not os.access(binary, os.X_OK):
        pytest.fail(f"MEMOFS_BIN={binary} is not an executable file")
    return binary


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keeps each phase's report on the item, for teardown to see."""
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


class MountFactory:
    """Creates mounts under tmp_path; cleans them all up."""

    def __init__(self, binary, tmp_path):
        self.binary = binary
        self.tmp = tmp_path
        self.tmpdir = tmp_path / "tmpdir"    # TMPDIR of every memofs
        self.tmpdir.mkdir()
        self.env = dict(os.environ, TMPDIR=str(self.tmpdir))
        self.mounts = []
        self.daemons = []
        self.n = 0
        self.watchdog_fired = False
        self.watchdog = threading.Timer(WATCHDOG_S, self._watchdog)
        self.watchdog.daemon = True
        self.watchdog.start()

    def _watchdog(self):
        self.watchdog_fired = True
        for m in self.mounts:
            m.kill()
        for d in self.daemons:
            d.kill()

    def mountpoint(self, name=None):
        """A new empty directory (absolute, symlinks resolved)."""
        self.n += 1
        mnt = self.tmp / (name or f"mnt{self.n}")
        mnt.mkdir()
        return Path(os.path.realpath(mnt))

    def __call__(self, data=None, opts=(), mnt=None, extra_args=(),
             start=True):
        """A started foreground mount (memofs -f)."""
        mnt = mnt or self.mountpoint()
        self.n += 1
        m = Mount(self.binary, mnt, self.tmp / f"memofs{self.n}.log",
              data=data, opts=opts, env=self.env,
              extra_args=extra_args)
        self.mounts.append(m)
        return m.start() if start else m

    def daemon(self, data=None, opts=(), mnt=None):
        """A daemon mount (memofs without -f); check .result first."""
        d = Daemon(self.binary, mnt or self.mountpoint(), data=data,
               opts=opts, env=self.env)
        self.daemons.append(d)
        return d.start()

    def run(self, args, timeout=10.0, mnt=None):
        """Runs memofs with args, expecting it to exit by itself (an
        error, --help...).  If it is still running after timeout (it
        mounted and serves), unmounts, kills it and fails."""
        p = subprocess.Popen([self.binary, *map(str, args)],
                     stdin=subprocess.DEVNULL,
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                     text=True, env=self.env)
        try:
            out, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            for a in args:
                if os.path.isabs(str(a)) and is_mounted(a):
                    fusermount_u(a, lazy=True)
            p.kill()
            out, err = p.communicate()
            pytest.fail(f"memofs {args} was still running after "
                    f"{timeout} s (expected it to exit)\n"
                    f"stderr:\n{tail(err)}")
        return subprocess.CompletedProcess(p.args, p.returncode, out, err)

    def cleanup(self, test_passed):
        self.watchdog.cancel()
        problems = []
        if self.watchdog_fired:
            problems.append(f"the test hung: the watchdog killed memofs "
                    f"after {WATCHDOG_S} s")
        for m in self.mounts:
            if m.proc is None or m.unmounted:
                continue
            try:
                m.unmount(check=True)
            except BaseException as e:    # pytest.fail's exception
                problems.append(f"{m.path}: {e}")
            finally:
                m.kill()
                if is_mounted(m.path):
                    fusermount_u(m.path, lazy=True)
        for d in self.daemons:
            try:
                d.unmount(check=True)
            except BaseException as e:
                problems.append(f"{d.path}: {e}")
            finally:
                d.cleanup()
        if problems and test_passed:
            pytest.fail("teardown: " + "\n".join(problems))


@pytest.fixture
def mount_factory(memofs_bin, tmp_path, request):
    """Makes memofs mounts in tmp_path; always unmounts them."""
    factory = MountFactory(memofs_bin, tmp_path)
    yield factory
    rep = getattr(request.node, "rep_call", None)
    factory.cleanup(test_passed=rep is not None and rep.passed)
