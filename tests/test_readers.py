"""test_readers.py -- every kind of program that reads a result (issue 10,
items 3 and 4).

Item 3: programs that size a file before reading it (sendfile, splice,
copy_file_range, mmap, tar, rsync, readers of exactly st_size bytes) must
get the full bytes of a result never read before, or fail visibly; never a
silently empty or short copy.  Each program runs on cold results of a fresh
mount, then warm, and its bytes are compared with numpy's values.

Item 4: one inode number per path, below 2**32, the same in readdir and
stat, and across remounts.
"""
import mmap
import os
import shutil
import signal
import stat
import subprocess
import tarfile
import time

import numpy as np
import pytest

from conftest import reader_argv

# The size stat shows for a result not computed yet (mfs_ops.c).
PLACEHOLDER_SIZE = 4096
FUNCTIONS = ["column", "sum", "mean", "var", "std", "min", "max", "median",
             "nansum", "nanmean", "nanvar", "nanstd", "nanmin", "nanmax",
             "nanmedian", "count", "size", "nunique", "value_counts"]


@pytest.fixture(scope="module")
def demo():
    """The demo dataset, as numpy makes it."""
    return np.random.RandomState(42).randn(10000, 4)


def column_bytes(values):
    return "".join(repr(float(x)) + "\n" for x in values).encode()


def expected(m, demo, rel):
    """The bytes of column/colN (numpy's, exactly) or mean/colN (a plain
    read, checked against numpy's mean: memofs's compensated sum may differ
    from numpy's pairwise one in the last bit)."""
    fn, arg = rel.split("/")
    col = demo[:, int(arg[3:])]
    if fn == "column":
        return column_bytes(col)
    assert fn == "mean"
    want = m.read(rel)
    assert want.endswith(b"\n") and \
        float(want) == pytest.approx(float(np.mean(col)), rel=1e-12), want
    return want


# ---- the readers: each copies SRC to DST --------------------------------------
# A reader returns nothing; an exception or a non-zero exit is a visible
# failure (allowed only where the test says so).

def _run(argv):
    subprocess.run(argv, check=True, timeout=60, stdin=subprocess.DEVNULL)


def r_cat(src, dst):
    with open(dst, "wb") as out:
        subprocess.run(["cat", src], stdout=out, check=True, timeout=60)


def r_cp(src, dst):
    _run(["cp", src, dst])


def r_cp_reflink(src, dst):
    _run(["cp", "--reflink=auto", src, dst])


def r_cp_a(src, dst):
    _run(["cp", "-a", src, dst])


def r_dd(src, dst):
    _run(["dd", f"if={src}", f"of={dst}", "status=none"])


def r_rsync(src, dst):
    _run(["rsync", src, dst])


def r_tar(src, dst):
    """tar -cf of the file, then its member's bytes."""
    top = os.path.dirname(os.path.dirname(src))
    member = os.path.relpath(src, top)
    archive = dst + ".tar"
    _run(["tar", "-C", top, "-cf", archive, member])
    with tarfile.open(archive) as tf:
        data = tf.extractfile(tf.getmember(member)).read()
    with open(dst, "wb") as f:
        f.write(data)


def r_shutil(src, dst):
    shutil.copyfile(src, dst)       # fstat, then sendfile


def _fd_copy(src, dst, step):
    i = os.open(src, os.O_RDONLY)
    try:
        o = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            while step(i, o):
                pass
        finally:
            os.close(o)
    finally:
        os.close(i)


def r_sendfile(src, dst):
    """sendfile in a loop, never asking the size."""
    _fd_copy(src, dst, lambda i, o: os.sendfile(o, i, None, 1 << 20))


def r_copy_file_range(src, dst):
    _fd_copy(src, dst, lambda i, o: os.copy_file_range(i, o, 1 << 20))


def r_splice(src, dst):
    """splice into a pipe, never asking the size."""
    rp, wp = os.pipe()
    out = bytearray()
    try:
        def step(i, o):
            n = os.splice(i, wp, 65536)
            while len(out) < n + step.total:
                out.extend(os.read(rp, n + step.total - len(out)))
            step.total += n
            return n
        step.total = 0
        _fd_copy(src, dst, step)
    finally:
        os.close(rp)
        os.close(wp)
    with open(dst, "wb") as f:
        f.write(out)


def r_mmap(src, dst):
    with open(src, "rb") as f:
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            data = bytes(mm)
    with open(dst, "wb") as f:
        f.write(data)


def r_python_read(src, dst):
    with open(src, "rb") as f:
        data = f.read()
    with open(dst, "wb") as f:
        f.write(data)


def r_fstat_exact(src, dst):
    """A program that trusts fstat: one read of exactly st_size bytes."""
    fd = os.open(src, os.O_RDONLY)
    try:
        data = os.read(fd, os.fstat(fd).st_size)
    finally:
        os.close(fd)
    with open(dst, "wb") as f:
        f.write(data)


def r_stat_exact(src, dst):
    """A program that trusts stat by path, then reads that many bytes."""
    size = os.stat(src).st_size
    fd = os.open(src, os.O_RDONLY)
    try:
        data = os.read(fd, size)
    finally:
        os.close(fd)
    with open(dst, "wb") as f:
        f.write(data)


def r_loadtxt(src, dst):
    values = np.loadtxt(src, ndmin=1)
    with open(dst, "wb") as f:
        f.write(column_bytes(values))


# copy_file_range from FUSE to another filesystem is EXDEV on this kernel:
# a visible failure, allowed.  Every other reader must succeed.
MAY_FAIL = {"copy_file_range": OSError}

READERS = {
    "cat": r_cat, "cp": r_cp, "cp_reflink_auto": r_cp_reflink,
    "cp_a": r_cp_a, "dd": r_dd, "rsync": r_rsync, "tar": r_tar,
    "shutil_copyfile": r_shutil, "os_sendfile": r_sendfile,
    "copy_file_range": r_copy_file_range, "splice_to_pipe": r_splice,
    "mmap": r_mmap, "python_read": r_python_read,
    "fstat_then_exact_read": r_fstat_exact, "numpy_loadtxt": r_loadtxt,
}
# Only exact with -o stat=compute (README: "Which programs see what").
READERS_WITH_STAT_COMPUTE = dict(READERS, stat_then_exact_read=r_stat_exact)

RESULTS = ("column/col1", "mean/col2")     # 196 KB, and 21 bytes


def check_reader(m, tmp_path, demo, name, reader):
    """Runs reader on each cold result of m, then again warm; asserts the
    full bytes each time, or a visible failure where allowed."""
    for temp in ("cold", "warm"):
        for rel in RESULTS:
            if temp == "cold":
                assert m.count(*rel.split("/")) == 0, \
                    f"{rel}: expected it not computed before {name} ran"
            dst = str(tmp_path / f"{name}-{temp}-{rel.replace('/', '-')}")
            try:
                reader(str(m.p(rel)), dst)
            except MAY_FAIL.get(name, ()):
                continue
            with open(dst, "rb") as f:
                got = f.read()
            want = expected(m, demo, rel)
            assert got == want, \
                f"{name} on {temp} {rel}: expected {len(want)} bytes " \
                f"{want[:40]!r}..., got {len(got)} bytes {got[:40]!r}..."
    for rel in RESULTS:
        n = m.count(*rel.split("/"))
        # A reader that failed visibly may have computed nothing.
        assert n == 1 or (n == 0 and name in MAY_FAIL), \
            f"{rel}: expected exactly one computation, got {n}"


@pytest.mark.parametrize("name", list(READERS))
def test_cold_result_full_bytes(mount_factory, tmp_path, demo, name):
    m = mount_factory()
    check_reader(m, tmp_path, demo, name, READERS[name])


@pytest.mark.parametrize("name", list(READERS_WITH_STAT_COMPUTE))
def test_cold_result_full_bytes_stat_compute(mount_factory, tmp_path, demo,
                                             name):
    m = mount_factory(opts=["stat=compute"])
    check_reader(m, tmp_path, demo, name, READERS_WITH_STAT_COMPUTE[name])


def test_stat_then_exact_read_is_short_by_default(mount_factory, demo):
    """The documented limit of the default: a program that stats by path
    (no file open) and reads exactly that many bytes of a cold result
    longer than the placeholder gets the placeholder's length."""
    m = mount_factory()
    want = expected(m, demo, "column/col3")
    size = os.stat(m.p("column/col3")).st_size
    assert size == PLACEHOLDER_SIZE
    with open(m.p("column/col3"), "rb", buffering=0) as f:
        got = f.read(size)
        assert got == want[:size]
        assert os.fstat(f.fileno()).st_size == len(want), \
            "after the read, fstat: expected the true size"


def test_times_are_the_mount_time_and_gzip_accepts_them(mount_factory,
                                                       tmp_path):
    """Every file and directory shows the mount's time, not 1970, so
    archivers that store it (gzip exits 2 on a 1970 mtime) work."""
    before = time.time()
    m = mount_factory()
    after = time.time()
    for rel in ("", "mean", "mean/col1", "column/col2"):
        st = os.stat(m.p(rel) if rel else m.path)
        for t in (st.st_mtime, st.st_ctime, st.st_atime):
            assert before - 1 <= t <= after + 1, (rel, t)
    out = tmp_path / "col1.gz"
    with open(out, "wb") as f:
        r = subprocess.run(["gzip", "-c", m.p("mean/col1")], stdout=f,
                           stderr=subprocess.PIPE, timeout=30)
    assert r.returncode == 0, r.stderr
    got = subprocess.run(["gzip", "-dc", str(out)], capture_output=True,
                         check=True).stdout
    assert got == m.read("mean/col1")


def test_listing_and_stat_stay_cheap(mount_factory):
    """ls -l, stat, find -size and du compute nothing by default, and show
    the placeholder size; with stat=compute, ls -l computes."""
    m = mount_factory()
    for argv in (["ls", "-lR", str(m.path)], ["du", "-a", str(m.path)],
                 ["find", str(m.path), "-size", "+1k"],
                 ["stat", str(m.p("column/col0")), str(m.p("mean/col0"))]):
        r = subprocess.run(argv, capture_output=True, timeout=30)
        assert r.returncode == 0, f"{argv}: {r.stderr!r}"
    assert m.computing_lines() == [], \
        f"expected no computation, got {m.computing_lines()}"
    for fn in FUNCTIONS:
        st = os.stat(m.p(f"{fn}/col0"))
        assert st.st_size == PLACEHOLDER_SIZE and \
            st.st_blocks * 512 >= st.st_size, \
            f"{fn}/col0: expected size {PLACEHOLDER_SIZE}, not sparse"
    m.unmount()

    m = mount_factory(opts=["stat=compute"])
    r = subprocess.run(["ls", "-l", str(m.p("mean"))], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0
    # The .npy views (136 bytes) next to the text ones.
    sizes = [int(line.split()[4]) for line in r.stdout.splitlines()[1:]
             if not line.endswith(".npy")]
    assert len(sizes) == 4 and all(0 < s < 30 for s in sizes), \
        f"stat=compute: expected ls -l to show true sizes, got {r.stdout}"
    assert m.count("mean", "col3") == 1


def test_stat_option_refuses_other_values(mount_factory):
    mnt = mount_factory.mountpoint()
    for bad in ("stat=", "stat=yes", "stat", "stat=compute2"):
        r = mount_factory.run(["-o", bad, str(mnt)])
        assert r.returncode != 0, f"-o {bad}: expected a refusal"
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and "stat" in lines[0], \
            f"-o {bad}: expected one line naming stat, got {r.stderr!r}"


# The readers of these tests (conftest.reader_argv()): sendfile in 64 KiB
# chunks, an exact reader that must get st_size bytes in ONE read(), and
# stat loops of 200 calls.


@pytest.mark.parametrize("round_", range(3))
def test_concurrent_cold_sizing_readers(mount_factory, tmp_path, demo,
                                        round_):
    """24 processes of six kinds (sendfile without fstat, shutil, mmap,
    fstat-then-exact, read, and stat loops that race the attributes) on
    two cold results at once: every copy is complete."""
    m = mount_factory(opts=["delay=0.3"])
    kinds = ["sendfile", "shutil", "mmap", "exact", "read", "stat"]
    procs = []
    for i in range(24):
        rel = RESULTS[i % 2]
        dst = tmp_path / f"c{i}"
        procs.append((rel, dst, kinds[i % len(kinds)], subprocess.Popen(
            reader_argv(kinds[i % len(kinds)], m.p(rel), dst),
            stderr=subprocess.PIPE)))
    for rel, dst, kind, p in procs:
        _, err = p.communicate(timeout=60)
        assert p.returncode == 0, f"{kind} on {rel}: {err.decode()}"
        got = dst.read_bytes()
        want = expected(m, demo, rel)
        assert got == want, f"{kind} on {rel}: expected {len(want)} " \
            f"bytes, got {len(got)}: {got[:40]!r}"
    assert m.count("column", "col1") == 1 and m.count("mean", "col2") == 1


def test_large_cold_result_by_sendfile_and_mmap(mount_factory, tmp_path):
    """A result of several MiB (more than one push chunk), cold, through
    the readers that trust the size: sendfile without fstat, splice, mmap."""
    rng = np.random.RandomState(7)
    arr = rng.randn(300000, 2)
    data = tmp_path / "big.npy"
    np.save(data, arr)
    want = column_bytes(arr[:, 0])
    assert len(want) > 2 << 20
    for name, reader in (("sendfile", r_sendfile), ("splice", r_splice),
                         ("mmap", r_mmap)):
        m = mount_factory(data=data)
        dst = str(tmp_path / f"big-{name}")
        reader(str(m.p("column/col0")), dst)
        with open(dst, "rb") as f:
            got = f.read()
        assert got == want, f"{name}: expected {len(want)} bytes, got " \
            f"{len(got)}"
        m.unmount()


def test_command_result_copied_cold(mount_factory, tmp_path):
    """A command function over a directory DATA: shutil.copyfile and a bare
    sendfile of cold results get the command's whole output."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "small").write_bytes(b"x" * 10)
    (data / "big").write_bytes(bytes(range(256)) * 200)
    fns = tmp_path / "f.ini"
    fns.write_text("[copy]\nargs = files\ncommand = cat {file}\n")
    m = mount_factory(data=data, opts=[f"functions={fns}"])
    for name in ("small", "big"):
        for how, reader in (("shutil", r_shutil), ("sendfile", r_sendfile)):
            dst = str(tmp_path / f"{name}-{how}")
            reader(str(m.p(f"copy/{name}")), dst)
            with open(dst, "rb") as f:
                assert f.read() == (data / name).read_bytes(), \
                    f"{how} of copy/{name}: expected the command's output"


# ---- item 4: inode numbers ----------------------------------------------------

def numbers(root):
    """{path relative to root: (readdir's d_ino, stat's st_ino)} for every
    directory and file under root."""
    out = {}
    stack = [str(root)]
    while stack:
        d = stack.pop()
        with os.scandir(d) as it:
            for e in it:
                rel = os.path.relpath(e.path, root)
                out[rel] = (e.inode(), os.stat(e.path).st_ino)
                if e.is_dir(follow_symlinks=False):
                    stack.append(e.path)
    return out


def check_numbers(root):
    """Asserts one number per path, equal in readdir and stat, below 2**32,
    distinct; returns {path: number}."""
    got = numbers(root)
    for rel, (d_ino, st_ino) in got.items():
        assert d_ino == st_ino, \
            f"{rel}: readdir says inode {d_ino}, stat says {st_ino}"
        assert 1 < st_ino < 2 ** 32, f"{rel}: inode {st_ino} out of range"
    by_number = {}
    for rel, (_, ino) in got.items():
        assert ino not in by_number, \
            f"{rel} and {by_number[ino]} share inode {ino}"
        by_number[ino] = rel
    assert os.stat(root).st_ino == 1
    return {rel: ino for rel, (_, ino) in got.items()}


def test_inode_numbers_listing_stat_find_remount(mount_factory, tmp_path):
    csv = tmp_path / "t.csv"
    csv.write_text("price,qty\n1,2\n3,4\n")
    cache = tmp_path / "cache"
    m = mount_factory(data=csv, opts=[f"cache={cache}"])
    first = check_numbers(m.path)
    assert "mean/price" in first and "mean/col0" in first
    # ls -i (readdir) and stat -c %i agree for every entry of a directory.
    ls = subprocess.run(["ls", "-i", str(m.p("mean"))], capture_output=True,
                        text=True, check=True).stdout.split()
    for ino, name in zip(ls[::2], ls[1::2]):
        st = subprocess.run(["stat", "-c", "%i", str(m.p(f"mean/{name}"))],
                            capture_output=True, text=True,
                            check=True).stdout.strip()
        assert ino == st, f"mean/{name}: ls -i {ino}, stat -c %i {st}"
    # find -inum finds a result and a directory, before and after reading.
    for rel in ("mean/col0", "mean", "column/qty"):
        for _ in ("cold", "read"):
            ino = subprocess.run(["stat", "-c", "%i", str(m.p(rel))],
                                 capture_output=True, text=True,
                                 check=True).stdout.strip()
            found = subprocess.run(["find", str(m.path), "-inum", ino],
                                   capture_output=True, text=True,
                                   check=True).stdout.split()
            assert found == [str(m.p(rel))], \
                f"find -inum {ino}: expected {rel}, got {found}"
            if rel != "mean":
                m.read(rel)
    assert check_numbers(m.path) == first, "numbers changed after reading"
    m.unmount()
    # The same data and functions: the same numbers, with or without the
    # cache, on another mount point.
    m = mount_factory(data=csv, opts=[f"cache={cache}"])
    assert check_numbers(m.path) == first
    m.unmount()
    m = mount_factory(data=csv)
    assert check_numbers(m.path) == first


def test_inode_numbers_of_directory_data(mount_factory, tmp_path):
    """A directory DATA: 3000 files get distinct numbers, the same in
    readdir and stat; an edited file keeps its number (and serves its new
    content); a remount gives the same numbers."""
    data = tmp_path / "data"
    data.mkdir()
    for i in range(3000):
        (data / f"f{i}").write_text(f"{i}\n")
    fns = tmp_path / "f.ini"
    fns.write_text("[wc]\nargs = files\ncommand = wc -c {file}\n"
                   "[head]\nargs = files\ncommand = head -c 1 {file}\n")
    m = mount_factory(data=data, opts=[f"functions={fns}"])
    first = check_numbers(m.path)
    assert len(first) == 2 + 2 * 3000
    before = os.stat(m.p("head/f7")).st_ino
    assert m.read("head/f7") == b"7"
    (data / "f7").write_text("x\n")
    assert m.read("head/f7") == b"x", "expected the edited content"
    assert os.stat(m.p("head/f7")).st_ino == before
    found = subprocess.run(["find", str(m.path), "-inum", str(before)],
                           capture_output=True, text=True,
                           check=True).stdout.split()
    assert found == [str(m.p("head/f7"))]
    m.unmount()
    m = mount_factory(data=data, opts=[f"functions={fns}"])
    assert check_numbers(m.path) == first


@pytest.mark.parametrize("how", ["rsync_a", "tar", "cp_r"])
def test_whole_mount_archived_cold(mount_factory, tmp_path, how):
    """rsync -a, tar -c and cp -r of a whole fresh mount: every one of its
    results (4 columns x every built-in), in their text and .npy views,
    has the bytes a plain read gives afterwards."""
    m = mount_factory()
    out = tmp_path / "out"
    if how == "rsync_a":
        _run(["rsync", "-a", f"{m.path}/", f"{out}/"])
    elif how == "tar":
        _run(["tar", "-C", str(m.path), "-cf", str(tmp_path / "a.tar"), "."])
        out.mkdir()
        _run(["tar", "-C", str(out), "-xf", str(tmp_path / "a.tar")])
    else:
        _run(["cp", "-r", str(m.path), str(out)])
    count = 0
    for fn in FUNCTIONS:
        for arg in os.listdir(m.p(fn)):
            got = (out / fn / arg).read_bytes()
            assert got and got == m.read(f"{fn}/{arg}"), \
                f"{how}: {fn}/{arg} differs from a plain read"
            count += 1
    # every built-in is typed (a text and a .npy view) but value_counts
    assert count == 4 * (2 * len(FUNCTIONS) - 1)


@pytest.mark.parametrize("cheap", [False, True], ids=["cold", "cheap"])
def test_sendfile_racing_stat_loops(mount_factory, tmp_path, cheap):
    """Bare sendfile copies (no fstat: the kernel's READ of page 0 is what
    computes) of small cold results while other processes stat the same
    files in loops: a placeholder set in the kernel meanwhile must never
    leave a page of zeros in a copy (before the fix: 202 of 300 copies).
    cheap: the columns are computed first, so each result takes
    microseconds."""
    rels = ["mean/col0", "max/col1", "count/col2"]
    for round_ in range(4):
        m = mount_factory(opts=["delay=0.1"])
        if cheap:
            for c in range(3):
                m.read(f"column/col{c}")
        procs = []
        for i in range(30):
            kind = "stat" if i % 3 == 1 else "sendfile"
            rel = rels[(i // 3) % 3] if kind == "stat" else rels[i % 3]
            dst = tmp_path / f"r{round_}-{i}"
            procs.append((kind, rel, dst, subprocess.Popen(
                reader_argv(kind, m.p(rel), dst), stderr=subprocess.PIPE)))
        for kind, rel, dst, p in procs:
            _, err = p.communicate(timeout=60)
            assert p.returncode == 0, f"{kind} {rel}: {err.decode()}"
        for kind, rel, dst, p in procs:
            got, want = dst.read_bytes(), m.read(rel)
            assert got == want, f"round {round_}, {kind} of {rel}: " \
                f"expected {want!r}, got {len(got)} bytes {got[:40]!r}"
        m.unmount()


def test_stat_waits_for_a_bare_sendfile_reader(mount_factory, tmp_path):
    """While a bare sendfile computes a short result of a directory DATA
    (each path walk is a lookup there), stat of that file waits and then
    shows the true size; a stat interrupted while it waits gives up at
    once and leaves the mount consistent (its lookup reference is not
    counted: a clean unmount)."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "a").write_bytes(b"hello\n")
    fns = tmp_path / "f.ini"
    fns.write_text("[slow]\nargs = files\n"
                   "command = sh -c 'sleep 1; cat \"$1\"' sh {file}\n")
    m = mount_factory(data=data, opts=[f"functions={fns}"])
    src, dst = str(m.p("slow/a")), str(tmp_path / "copy")
    reader = subprocess.Popen(reader_argv("sendfile", src, dst))
    m.wait_log(r"slow\(a/[0-9a-f]+\): computing")
    waiting = subprocess.Popen(["stat", "-c", "%s", src],
                               stdout=subprocess.PIPE)
    gives_up = subprocess.Popen(["stat", "-c", "%s", src],
                                stdout=subprocess.PIPE)
    time.sleep(0.2)
    assert gives_up.poll() is None, "expected stat to wait for the result"
    gives_up.send_signal(signal.SIGINT)
    gives_up.wait(timeout=5)
    assert reader.wait(timeout=30) == 0
    out, _ = waiting.communicate(timeout=30)
    assert waiting.returncode == 0 and out.strip() == b"6", \
        f"stat while computing: expected the true size 6, got {out!r}"
    with open(dst, "rb") as f:
        assert f.read() == b"hello\n"
    assert os.stat(src).st_size == 6
    computing = [l for l in m.computing_lines() if "slow(a/" in l]
    assert len(computing) == 1, f"expected one computation: {computing}"
