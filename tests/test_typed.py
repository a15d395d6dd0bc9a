"""test_typed.py -- typed results and their views (issue 12, the core).

Every built-in result is a typed array (column: float64 of nrows values;
the reductions: float64 scalars; count: an int64 scalar), readable as text
under its plain name (exactly the bytes memofs always served) and as NumPy
.npy under NAME.npy.  Checked here against numpy, bit for bit: the text
digits against Python's repr, the .npy bytes against np.save of the same
array; .npy sizes shown before computing; one computation for both views;
every reader of test_readers.py on cold .npy views; and the misuses of the
typed API by a plugin (tests/plugins/typed.c), which must fail the read,
never make a wrong file.
"""
import io
import json
import os
import stat

import numpy as np
import pytest

from test_readers import MAY_FAIL, READERS, column_bytes

TP_TYPED = os.environ.get("MEMOFS_TP_TYPED")
needs_tp = pytest.mark.skipif(not TP_TYPED, reason="MEMOFS_TP_TYPED unset")

NPY_HDR = 128
REDUCTIONS = ["sum", "mean", "var", "std", "min", "max", "median"]


@pytest.fixture(scope="module")
def demo():
    """The demo dataset, as numpy makes it."""
    return np.random.RandomState(42).randn(10000, 4)


def npy_bytes(a):
    """What np.save writes for a."""
    buf = io.BytesIO()
    np.save(buf, a)
    return buf.getvalue()


def value_of(text):
    """The one value of a scalar's text view."""
    assert text.endswith(b"\n") and text.count(b"\n") == 1, text
    return float(text)


def test_column_views_agree_with_numpy(mount_factory, demo):
    m = mount_factory()
    for j in range(4):
        col = demo[:, j]
        npy = m.read(f"column/col{j}.npy")
        assert npy == npy_bytes(col), f"col{j}.npy differs from np.save"
        assert m.read(f"column/col{j}") == column_bytes(col)
        a = np.load(m.p(f"column/col{j}.npy"), mmap_mode="r")
        assert a.dtype == np.float64 and a.shape == (10000,)
        assert np.array_equal(a, col)
        b = np.fromfile(m.p(f"column/col{j}.npy"), dtype="<f8",
                        offset=NPY_HDR)
        assert b.tobytes() == col.tobytes()
    assert m.count("column", "col0") == 1


def test_scalar_views_agree_with_each_other_and_numpy(mount_factory, demo):
    m = mount_factory()
    for fn in REDUCTIONS:
        npy = m.read(f"{fn}/col1.npy")
        a = np.load(io.BytesIO(npy))
        assert a.shape == () and a.dtype == np.float64, fn
        assert npy == npy_bytes(np.float64(a)), f"{fn}: not np.save's bytes"
        text = m.read(f"{fn}/col1")
        assert text == (repr(float(a)) + "\n").encode(), fn
        want = getattr(np, fn)(demo[:, 1])
        assert float(a) == pytest.approx(float(want), rel=1e-12), fn
    npy = m.read("count/col2.npy")
    assert npy == npy_bytes(np.int64(10000))
    assert m.read("count/col2") == b"10000\n"
    assert np.load(io.BytesIO(npy)).dtype == np.int64


def test_npy_sizes_before_computing(mount_factory):
    m = mount_factory()
    assert os.stat(m.p("column/col3.npy")).st_size == NPY_HDR + 8 * 10000
    for fn in REDUCTIONS + ["count"]:
        assert os.stat(m.p(f"{fn}/col3.npy")).st_size == NPY_HDR + 8, fn
    # Stat alone computed nothing.
    for fn in REDUCTIONS + ["count", "column"]:
        assert m.count(fn, "col3") == 0, fn
    # And the size is the true one once read.
    assert len(m.read("column/col3.npy")) == NPY_HDR + 8 * 10000
    assert os.stat(m.p("column/col3.npy")).st_size == NPY_HDR + 8 * 10000


def test_views_share_one_computation(mount_factory, demo):
    m = mount_factory()
    assert m.read("mean/col0.npy")
    assert m.read("mean/col0")
    assert m.read("column/col0")
    assert m.read("column/col0.npy") == npy_bytes(demo[:, 0])
    assert m.count("mean", "col0") == 1
    assert m.count("column", "col0") == 1


def test_listing_shows_both_views_with_distinct_inodes(mount_factory):
    m = mount_factory()
    names = sorted(os.listdir(m.p("column")))
    assert names == sorted([f"col{j}" for j in range(4)] +
                           [f"col{j}.npy" for j in range(4)])
    seen = {}
    with os.scandir(m.p("mean")) as it:
        for e in it:
            st = os.stat(e.path)
            assert e.inode() == st.st_ino, e.name
            assert stat.S_ISREG(st.st_mode)
            assert st.st_ino not in seen, (e.name, seen.get(st.st_ino))
            seen[st.st_ino] = e.name
    assert len(seen) == 8
    assert m.count("mean", "col0") == 0


def test_header_named_columns_have_npy_views(mount_factory, tmp_path):
    csv = tmp_path / "t.csv"
    csv.write_text("a,b.npy\n1,2\n3.5,4\n")
    m = mount_factory(data=csv)
    assert m.read("column/a.npy") == npy_bytes(np.array([1.0, 3.5]))
    # A column named b.npy: the name is its text, b.npy.npy its .npy
    # (integers: an int64 column since issue 13).
    assert m.read("column/b.npy") == b"2\n4\n"
    assert m.read("column/b.npy.npy") == npy_bytes(np.array([2, 4]))
    names = os.listdir(m.p("column"))
    assert names.count("b.npy") == 1, names
    assert not os.path.exists(m.p("column/nope.npy"))


@pytest.mark.parametrize("name", [n for n in READERS if n != "numpy_loadtxt"])
def test_cold_npy_views_by_every_reader(mount_factory, tmp_path, demo, name):
    m = mount_factory()
    want = {"column/col1.npy": npy_bytes(demo[:, 1])}
    for temp in ("cold", "warm"):
        for rel in ("column/col1.npy", "mean/col2.npy"):
            fn, arg = rel.split("/")
            if temp == "cold":
                assert m.count(fn, arg[:-4]) == 0
            dst = tmp_path / f"{name}-{temp}-{fn}"
            try:
                READERS[name](str(m.p(rel)), str(dst))
            except MAY_FAIL.get(name, ()):
                continue
            got = dst.read_bytes()
            if rel not in want:
                a = np.load(io.BytesIO(got))
                assert float(a) == pytest.approx(
                    float(np.mean(demo[:, 2])), rel=1e-12)
                want[rel] = npy_bytes(np.float64(a))
            assert got == want[rel], \
                f"{name} {temp} {rel}: {len(got)} bytes, want " \
                f"{len(want[rel])}"


def test_np_load_mmap_cold(mount_factory, demo):
    m = mount_factory()
    a = np.load(m.p("column/col2.npy"), mmap_mode="r")
    assert a.sum() == pytest.approx(demo[:, 2].sum(), rel=1e-12)
    assert np.array_equal(a, demo[:, 2])
    assert float(np.load(m.p("max/col2.npy"), mmap_mode="r")) == \
        demo[:, 2].max()


@pytest.mark.parametrize("delay", [None, "0.001"])
def test_persistent_cache_serves_both_views(mount_factory, tmp_path, demo,
                                            delay):
    """Without -o delay, column is a view of the dataset: never stored, made
    again (for nothing) after a remount; with a delay it is a computation,
    stored like any other.  Either way both views of every result are
    right after a remount, and the reductions come from the store."""
    cache = tmp_path / "cache"
    opts = [f"cache={cache}"] + ([f"delay={delay}"] if delay else [])
    m = mount_factory(opts=opts)
    assert m.read("column/col0.npy") == npy_bytes(demo[:, 0])
    text = m.read("median/col0")
    m.unmount()
    m = mount_factory(opts=opts)
    assert m.read("median/col0") == text
    assert m.read("column/col0") == column_bytes(demo[:, 0])
    assert m.read("column/col0.npy") == npy_bytes(demo[:, 0])
    assert m.count("column", "col0") == (0 if delay else 1)
    assert m.count("median", "col0") == 0


def test_column_is_a_view_never_stored(mount_factory, tmp_path, demo):
    """column/colN without -o delay borrows the dataset's own array: no
    store entry, no copy; every reduction and both views still agree with
    numpy bit for bit, and a cleared or evicted view is simply made again."""
    cache = tmp_path / "cache"
    m = mount_factory(opts=[f"cache={cache}"])
    for j in range(4):
        assert m.read(f"column/col{j}.npy") == npy_bytes(demo[:, j])
        assert m.read(f"column/col{j}") == column_bytes(demo[:, j])
        assert float(m.read(f"mean/col{j}")) == \
            pytest.approx(demo[:, j].mean(), rel=1e-12)
    s = json.loads(m.read(".memofs/stats.json"))
    assert s["functions"]["column"]["entries"] == 0
    assert s["functions"]["column"]["bytes"] == 0
    assert s["functions"]["mean"]["entries"] == 4
    assert "a view of the dataset (kept in memory, never stored)" in m.log()
    assert m.count("column", "col0") == 1      # reused from memory
    m.unmount()


# ---- plugins ----------------------------------------------------------------

@needs_tp
def test_plugin_typed_calls(mount_factory, demo):
    m = mount_factory(opts=[f"plugin={TP_TYPED}"])
    got = np.load(io.BytesIO(m.read("tp_sum/col3.npy")))
    assert float(got) == pytest.approx(demo[:, 3].sum(), rel=1e-12)
    assert m.read("tp_sum/col3") == (repr(float(got)) + "\n").encode()
    # A vector: its .npy size is known only once made.
    assert m.read("tp_first/col2.npy") == npy_bytes(demo[:3, 2])
    assert m.read("tp_first/col2") == column_bytes(demo[:3, 2])
    assert os.stat(m.p("tp_first/col2.npy")).st_size == NPY_HDR + 24


@needs_tp
@pytest.mark.parametrize("name", ["cat", "mmap", "os_sendfile",
                                  "fstat_then_exact_read", "dd"])
def test_plugin_vector_npy_cold(mount_factory, tmp_path, demo, name):
    m = mount_factory(opts=[f"plugin={TP_TYPED}"])
    dst = tmp_path / "out"
    READERS[name](str(m.p("tp_first/col1.npy")), str(dst))
    assert dst.read_bytes() == npy_bytes(demo[:2, 1])


@needs_tp
def test_bytes_result_has_no_npy_view(mount_factory):
    m = mount_factory(opts=[f"plugin={TP_TYPED}"])
    assert m.read("tp_text/col0") == b"text\n"
    with pytest.raises(FileNotFoundError):
        os.stat(m.p("tp_text/col0.npy"))
    with pytest.raises(FileNotFoundError):
        open(m.p("tp_text/col0.npy"), "rb")
    assert sorted(os.listdir(m.p("tp_text"))) == \
        [f"col{j}" for j in range(4)]


@needs_tp
@pytest.mark.parametrize("fn", ["tp_bytes_f64", "tp_short", "tp_i64_double",
                                "tp_two"])
def test_plugin_misuse_fails_never_a_wrong_file(mount_factory, fn):
    m = mount_factory(opts=[f"plugin={TP_TYPED}"])
    if fn == "tp_short":
        assert os.stat(m.p(f"{fn}/col0.npy")).st_size == NPY_HDR + 80000
    for name in ("col0.npy", "col0", "col0.npy"):
        with pytest.raises(OSError) as e:
            m.read(f"{fn}/{name}")
        assert e.value.errno == 5, (fn, name, e.value)
    want = {"tp_bytes_f64": "bytes written by a function that declared",
            "tp_short": "wrote 9999 values, its shape says 10000",
            "tp_i64_double": "float64 values written by a function that",
            "tp_two": "wrote 2 values, its shape says 1"}[fn]
    assert want in m.log(), m.log()


ZSTATS = os.environ.get("MEMOFS_ZSTATS")


@pytest.mark.skipif(not ZSTATS, reason="MEMOFS_ZSTATS unset")
def test_example_plugin_zscore_is_typed(mount_factory, demo):
    m = mount_factory(opts=[f"plugin={ZSTATS}"])
    assert os.stat(m.p("zscore/col1.npy")).st_size == NPY_HDR + 8 * 10000
    z = np.load(m.p("zscore/col1.npy"))
    col = demo[:, 1]
    assert np.allclose(z, (col - col.mean()) / col.std(), rtol=1e-9)
    assert m.read("zscore/col1") == column_bytes(z)
    assert m.read("zscore/col1.npy") == npy_bytes(z)
    # histogram stays bytes: no .npy view.
    assert not os.path.exists(m.p("histogram/col1.npy"))
    assert m.count("column", "col1") == 1


def test_long_text_view_is_made_on_read_not_on_stat(mount_factory, tmp_path):
    """The text of a typed result of more than 16384 values is made when
    read, on a worker; a stat of it after others computed the result shows
    the placeholder (making it would be a computation), its .npy the true
    size."""
    col = np.random.default_rng(3).standard_normal(20000)
    np.save(tmp_path / "a.npy", col)
    m = mount_factory(data=tmp_path / "a.npy")
    assert float(m.read("mean/col0")) == pytest.approx(col.mean(), rel=1e-12)
    assert os.stat(m.p("column/col0")).st_size == 4096
    assert os.stat(m.p("column/col0.npy")).st_size == NPY_HDR + 8 * 20000
    want = column_bytes(col)
    assert m.read("column/col0") == want
    assert os.stat(m.p("column/col0")).st_size == len(want)
    assert m.count("column", "col0") == 1


# ---- commands whose output is numbers ---------------------------------------

def test_command_output_float64_and_int64(mount_factory, tmp_path, demo):
    ini = tmp_path / "f.ini"
    ini.write_text("""
[halves]
args = list: a, b
output = float64
command = printf '0.5\\n-1e-05\\nnan\\n1.5\\n'

[ints]
args = list: a
output = int64
command = printf '7\\n-9223372036854775808\\n'

[text]
args = list: a
command = printf '1.5\\n'

[bad]
args = list: a, b
output = float64
command = printf '1.5\\nabc\\n'
""")
    m = mount_factory(opts=[f"functions={ini}"])
    assert sorted(os.listdir(m.p("halves"))) == ["a", "a.npy", "b", "b.npy"]
    want = np.array([0.5, -1e-05, np.nan, 1.5])
    assert m.read("halves/a.npy") == npy_bytes(want)
    assert m.read("halves/a") == b"0.5\n-1e-05\nnan\n1.5\n"
    assert np.load(m.p("halves/b.npy"), mmap_mode="r")[3] == 1.5
    assert m.read("ints/a.npy") == \
        npy_bytes(np.array([7, -2 ** 63], dtype=np.int64))
    assert m.read("ints/a") == b"7\n-9223372036854775808\n"
    assert sorted(os.listdir(m.p("text"))) == ["a"]
    assert not os.path.exists(m.p("text/a.npy"))
    for name in ("a", "b.npy"):
        with pytest.raises(OSError) as e:
            m.read(f"bad/{name}")
        assert e.value.errno == 5
    assert "output line 2 is not one float64 number" in m.log()
    assert m.count("halves", "a") == 1
