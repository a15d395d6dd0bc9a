"""test_views_large.py -- the text view of a long typed column (issue 12,
figure 15): rendered in parallel parts (compute/engine/result.c,
memo_render_text()) and served before it is all in the page cache (fs/
pushes its last page, answers its readers, then pushes the rest:
mfs_push_first(), mfs_push_rest()).

Many concurrent cold readers of every kind, separate processes, get every
byte exactly as Python's repr prints numpy's values (float64) or as str()
prints them (int64), whether the binary column was computed before (the
figure's case) or not; and a warm read afterwards too.
"""
import subprocess

import numpy as np
import pytest

from conftest import reader_argv

# More values than two parts of MEMO_TEXT_PART (2**18) each, so that the
# text is rendered in parallel on any machine with 2 CPUs, and a text far
# longer than MFS_PUSH_FIRST (1 MiB) and MFS_PUSH_CHUNK (1 MiB).
ROWS = 700_003

# The readers (conftest.reader_argv()): sendfile in 1 MiB chunks (the
# size of a push chunk), an exact reader that loops until st_size bytes
# (a long text may come in several read()s), stat loops of 100 calls.
READER_OPTS = {"sendfile_chunk": 1 << 20, "exact": "loop", "stat_rounds": 100}

KINDS = ["read", "cat", "exact", "sendfile", "mmap", "shutil", "small",
         "stat"]


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    """A float64 column of randn with awkward values mixed in (exponent
    notation, integral values, negative zero, the extremes), and an int64
    table; their .npy files and the text each column must show."""
    rng = np.random.RandomState(15)
    f = rng.randn(ROWS, 2)
    special = [0.0, -0.0, 1e16, 1e-5, 123456789.0, 5e-324, -1.7976931348623157e308,
               0.1, 1e22, 2.5e-7]
    f[:len(special), 0] = special
    f[ROWS // 2 - 3:ROWS // 2 + 3, 0] = 1e-300    # around the part border
    i = rng.randint(-2**62, 2**62, size=(ROWS, 2), dtype=np.int64)
    i[0, 0] = np.iinfo(np.int64).min
    i[1, 0] = 0
    d = tmp_path_factory.mktemp("views-large")
    np.save(d / "f.npy", f)
    np.save(d / "i.npy", i)
    return {
        "f": (d / "f.npy",
              "".join(repr(float(x)) + "\n" for x in f[:, 0]).encode()),
        "i": (d / "i.npy",
              "".join(str(int(x)) + "\n" for x in i[:, 0]).encode()),
    }


def read_all_kinds(m, rel, tmp_path, want, tag):
    """Starts one process of every kind of reader (two of a plain read) on
    the cold rel at once, and checks every copy byte for byte."""
    procs = []
    for k, kind in enumerate(KINDS + ["read"]):
        dst = tmp_path / f"{tag}-{k}-{kind}"
        argv = (["cat", m.p(rel)] if kind == "cat" else
                reader_argv(kind, m.p(rel), dst, **READER_OPTS))
        out = open(dst, "wb") if kind == "cat" else subprocess.DEVNULL
        procs.append((kind, dst, out, subprocess.Popen(
            argv, stdout=out, stderr=subprocess.PIPE)))
    for kind, dst, out, p in procs:
        _, err = p.communicate(timeout=120)
        if out is not subprocess.DEVNULL:
            out.close()
        assert p.returncode == 0, f"{kind}: {err.decode()}"
        got = dst.read_bytes()
        assert got == want, f"{kind}: expected {len(want)} bytes, got " \
            f"{len(got)}; first difference at " \
            f"{next((j for j, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))}"


@pytest.mark.parametrize("binary_first", [True, False],
                         ids=["binary-cached", "all-cold"])
@pytest.mark.parametrize("dtype", ["f", "i"])
def test_concurrent_cold_readers_of_a_long_text_view(mount_factory, tmp_path,
                                                     table, dtype,
                                                     binary_first):
    """Nine concurrent cold readers of column/col0's text (several MB),
    separate processes of eight kinds: every copy equals Python's repr (or
    str) of numpy's values; a warm read after them too."""
    data, want = table[dtype]
    assert len(want) > 4 << 20
    m = mount_factory(data=data)
    if binary_first:
        got = np.load(m.p("column/col0.npy"))
        assert np.array_equal(got, np.load(data)[:, 0])
    read_all_kinds(m, "column/col0", tmp_path, want, f"{dtype}{binary_first}")
    assert m.read("column/col0") == want
    assert m.count("column", "col0") == 1


def test_text_view_of_a_long_column_after_remount(mount_factory, tmp_path,
                                                  table):
    """The binary column comes from the store after a remount (nothing in
    memory; -o delay makes column a stored computation rather than a
    view of the dataset): the text rendered from the record in parts is
    the same, for concurrent readers, and nothing is computed again."""
    data, want = table["f"]
    cache = tmp_path / "cache"
    opts = [f"cache={cache}", "delay=0.001"]
    m = mount_factory(data=data, opts=opts)
    m.read("column/col0.npy")
    assert m.count("column", "col0") == 1
    m.unmount()
    m = mount_factory(data=data, opts=opts)
    read_all_kinds(m, "column/col0", tmp_path, want, "remount")
    assert m.count("column", "col0") == 0
