"""Functions of several arguments (issue 14): FUNCTION/ARG1/.../ARGn.

Values are cross-checked against numpy and pandas (bit for bit where
memofs follows their code step by step), listings and stat against the
rule that they never compute, and hostile names at every level kind.
"""
import errno
import os
import stat

import numpy as np
import pandas as pd
import pytest

DEMO = np.random.RandomState(42).randn(10000, 4)
ZSTATS = os.environ.get("MEMOFS_ZSTATS")


def value(m, rel):
    return float(m.read(rel))


def results(m, rel):
    """The names listed in the last level rel, without the NAME.npy views
    of a typed function (the typed-results issue lists both)."""
    return [n for n in os.listdir(m.p(rel)) if not n.endswith(".npy")]


def write_csv(path, header, rows):
    with open(path, "w") as f:
        f.write(",".join(header) + "\n")
        for r in rows:
            f.write(",".join(repr(float(x)) for x in r) + "\n")
    return path


# ---- values ------------------------------------------------------------------

def test_quantile_and_percentile_match_numpy_bit_for_bit(mount_factory):
    m = mount_factory()
    for q in ["0", "0.01", "0.1", "0.25", "0.5", "0.75", "0.9", "0.99", "1",
              "0.123456789", "1e-05", "0.3333333333333333"]:
        for c in range(4):
            got = m.read(f"quantile/{q}/col{c}")
            want = repr(float(np.quantile(DEMO[:, c], float(q)))) + "\n"
            assert got == want.encode(), (q, c)
    for p in ["0", "1", "12.5", "50", "90", "99.9", "100"]:
        got = m.read(f"percentile/{p}/col3")
        want = repr(float(np.percentile(DEMO[:, 3], float(p)))) + "\n"
        assert got == want.encode(), p
    # median is quantile 0.5 (a different function, the same number)
    assert value(m, "quantile/0.5/col2") == value(m, "median/col2")


def test_quantile_of_small_and_odd_columns(mount_factory, tmp_path):
    rows = [[3.0, 1.0, float("nan")], [1.0, 1.0, 2.0], [2.0, 1.0, 1.0],
            [10.0, 1.0, 0.0]]
    csv = write_csv(tmp_path / "t.csv", ["a", "b", "c"], rows)
    m = mount_factory(csv)
    a = np.array(rows)
    for q in ["0", "0.1", "0.5", "0.9", "1", "0.7", "0.6666666666666666"]:
        for c in range(3):
            got = m.read(f"quantile/{q}/col{c}")
            want = repr(float(np.quantile(a[:, c], float(q))))
            assert got.decode() == want + "\n", (q, c)


def test_corr_and_cov_match_pandas(mount_factory, tmp_path):
    m = mount_factory()
    df = pd.DataFrame(DEMO, columns=[f"col{i}" for i in range(4)])
    corr, cov = df.corr(), df.cov()
    for a in range(4):
        for b in range(4):
            # DataFrame.corr() runs nancorr's loop: the same bits, in
            # either order of the two columns.
            got = m.read(f"corr/col{a}/col{b}")
            assert got == (repr(float(corr.iloc[a, b])) + "\n").encode()
            # without missing values pandas' cov is numpy.cov (BLAS)
            assert value(m, f"cov/col{a}/col{b}") == pytest.approx(
                cov.iloc[a, b], rel=1e-12)
    m.unmount()
    # pairwise complete: rows where either is nan or inf are left out;
    # with a value missing pandas' cov runs corr's loop too (same bits)
    rng = np.random.RandomState(7)
    t = rng.randn(200, 3)
    t[rng.rand(200) < 0.2, 0] = np.nan
    t[rng.rand(200) < 0.1, 1] = np.nan
    t[5, 2] = np.inf
    csv = write_csv(tmp_path / "gaps.csv", ["x", "y", "z"], t)
    m = mount_factory(csv)
    frame = pd.DataFrame(t, columns=["x", "y", "z"]).replace(
        [np.inf, -np.inf], np.nan)
    corr, cov = frame.corr(), frame.cov()
    for a, b in [("x", "y"), ("y", "x"), ("x", "z"), ("z", "y"), ("z", "z")]:
        for fn, want in [("corr", corr), ("cov", cov)]:
            got = m.read(f"{fn}/{a}/{b}")
            assert got == (repr(float(want.loc[a, b])) + "\n").encode()
    # the header alias and colN are one argument: one computation
    assert m.read("corr/x/y") == m.read("corr/col0/col1")
    assert m.count("corr", "col0/col1") == 1


def test_corr_of_a_constant_column_is_nan(mount_factory, tmp_path):
    csv = write_csv(tmp_path / "c.csv", ["a", "b"],
                    [[1.0, 5.0], [2.0, 5.0], [3.0, 5.0]])
    m = mount_factory(csv)
    assert m.read("corr/a/b") == b"nan\n"
    assert value(m, "cov/a/b") == 0.0


def test_histogram_matches_numpy(mount_factory, tmp_path):
    m = mount_factory()
    for bins in [1, 2, 7, 10, 20, 100, 1000]:
        for c in range(4):
            got = [int(x) for x in m.read(f"histogram/{bins}/col{c}").split()]
            assert got == np.histogram(DEMO[:, c], bins)[0].tolist()
    m.unmount()
    # edges hit exactly, a constant column, and a nan are numpy's too
    csv = write_csv(tmp_path / "h.csv", ["e", "k", "n"],
                    [[0.0, 2.0, 1.0], [0.1, 2.0, float("nan")],
                     [0.2, 2.0, 3.0], [0.30000000000000004, 2.0, 4.0],
                     [1.0, 2.0, 5.0]])
    m = mount_factory(csv)
    e = np.array([0.0, 0.1, 0.2, 0.30000000000000004, 1.0])
    for bins in [1, 3, 5, 10]:
        got = [int(x) for x in m.read(f"histogram/{bins}/e").split()]
        assert got == np.histogram(e, bins)[0].tolist()
        got = [int(x) for x in m.read(f"histogram/{bins}/k").split()]
        assert got == np.histogram(np.full(5, 2.0), bins)[0].tolist()
    with pytest.raises(OSError) as err:
        m.read("histogram/10/n")        # numpy raises ValueError
    assert err.value.errno == errno.EIO
    assert "nan or inf" in m.log()


def test_nan_ddof_skips_missing_values_as_pandas(mount_factory, tmp_path):
    """nanvar_ddof/nanstd_ddof skip missing values: pandas' s.var() and
    s.std() are nanvar_ddof/1 and nanstd_ddof/1 on a column with gaps,
    numpy's nanvar/nanstd for any DDOF; var_ddof stays nan there."""
    rng = np.random.RandomState(14)
    a = rng.randn(300, 3)
    a[rng.rand(300) < 0.2, 0] = np.nan      # gaps
    a[:, 1] = np.nan                        # all missing
    a[1:, 2] = np.nan                       # one value
    path = tmp_path / "gaps.csv"
    with open(path, "w") as f:
        f.write("a,b,c\n")
        for r in a:
            f.write(",".join("" if np.isnan(x) else repr(float(x))
                             for x in r) + "\n")
    m = mount_factory(data=path)
    s = pd.read_csv(path)["a"]
    assert value(m, "nanvar_ddof/1/a") == pytest.approx(s.var(), rel=1e-12)
    assert value(m, "nanstd_ddof/1/a") == pytest.approx(s.std(), rel=1e-12)
    for ddof in (0, 1, 7):
        assert value(m, f"nanvar_ddof/{ddof}/a") == pytest.approx(
            np.nanvar(a[:, 0], ddof=ddof), rel=1e-12)
        assert value(m, f"nanstd_ddof/{ddof}/a") == pytest.approx(
            np.nanstd(a[:, 0], ddof=ddof), rel=1e-12)
    # ddof 0 is nanvar and nanstd, byte for byte
    assert m.read("nanvar_ddof/0/a") == m.read("nanvar/a")
    assert m.read("nanstd_ddof/0/a") == m.read("nanstd/a")
    assert m.read("var_ddof/1/a") == b"nan\n"          # numpy: nan in, nan out
    # pandas: nan for no values, and for DDOF >= the count
    assert m.read("nanvar_ddof/1/b") == b"nan\n"
    assert m.read("nanvar_ddof/0/c") == b"0.0\n"
    assert m.read("nanvar_ddof/1/c") == b"nan\n"
    assert np.isnan(pd.read_csv(path)["c"].var())
    assert os.listdir(m.p("nanstd_ddof")) == ["0", "1"]


def test_var_std_ddof_and_head_tail(mount_factory):
    m = mount_factory()
    df = pd.DataFrame(DEMO, columns=[f"col{i}" for i in range(4)])
    for c in range(4):
        s = df[f"col{c}"]
        assert value(m, f"std_ddof/1/col{c}") == pytest.approx(s.std(),
                                                                rel=1e-12)
        assert value(m, f"var_ddof/1/col{c}") == pytest.approx(s.var(),
                                                                rel=1e-12)
        assert value(m, f"var_ddof/7/col{c}") == pytest.approx(
            np.var(DEMO[:, c], ddof=7), rel=1e-12)
        # ddof 0 is the one-argument var and std, byte for byte
        assert m.read(f"var_ddof/0/col{c}") == m.read(f"var/col{c}")
        assert m.read(f"std_ddof/0/col{c}") == m.read(f"std/col{c}")
    # n <= ddof: pandas' nan (numpy's inf with a warning)
    assert m.read("var_ddof/10000/col0") == b"nan\n"
    assert m.read("std_ddof/20000/col0") == b"nan\n"
    col = m.read("column/col2")
    lines = col.splitlines(keepends=True)
    assert m.read("head/5/col2") == b"".join(lines[:5])
    assert m.read("head/0/col2") == b""
    assert m.read("tail/3/col2") == b"".join(lines[-3:])
    assert m.read("head/10000/col2") == col
    assert m.read("tail/99999999/col2") == col


# ---- the cache and nested calls ------------------------------------------------

def test_every_function_reuses_one_column_extraction(mount_factory):
    m = mount_factory(opts=["delay=0.2"])
    m.read("mean/col3")
    for rel in ["quantile/0.9/col3", "percentile/10/col3",
                "histogram/20/col3", "std_ddof/1/col3", "head/5/col3",
                "tail/5/col3", "corr/col3/col0", "cov/col0/col3"]:
        m.read(rel)
    assert m.count("column", "col3") == 1
    assert m.count("column", "col0") == 1
    # each result once: a second read is a cache hit
    m.read("quantile/0.9/col3")
    assert m.count("quantile", "0.9/col3") == 1
    # distinct argument orders are distinct results (not declared
    # symmetric), and give the same bytes
    assert m.read("corr/col0/col3") == m.read("corr/col3/col0")
    assert m.count("corr", "col0/col3") == 1
    assert m.count("corr", "col3/col0") == 1


def test_results_persist_per_argument(mount_factory, tmp_path):
    cache = tmp_path / "cache"
    m = mount_factory(opts=[f"cache={cache}"])
    a = m.read("quantile/0.25/col1")
    b = m.read("quantile/0.75/col1")
    assert a != b
    m.unmount()
    m = mount_factory(opts=[f"cache={cache}"])
    assert m.read("quantile/0.25/col1") == a
    assert m.read("quantile/0.75/col1") == b
    assert m.computing_lines() == []


# ---- the tree ------------------------------------------------------------------

def test_levels_are_directories_and_listing_computes_nothing(mount_factory):
    m = mount_factory()
    assert stat.S_ISDIR(os.stat(m.p("quantile")).st_mode)
    assert stat.S_ISDIR(os.stat(m.p("quantile/0.9")).st_mode)
    assert stat.S_ISREG(os.stat(m.p("quantile/0.9/col3")).st_mode)
    assert sorted(os.listdir(m.p("quantile"))) == sorted(
        ["0", "0.01", "0.05", "0.1", "0.25", "0.5", "0.75", "0.9", "0.95",
         "0.99", "1"])
    assert os.listdir(m.p("percentile"))[:3] == ["0", "1", "5"]
    assert os.listdir(m.p("histogram")) == ["10", "20", "50", "100"]
    assert os.listdir(m.p("var_ddof")) == ["0", "1"]
    # a number not listed is a directory all the same
    assert stat.S_ISDIR(os.stat(m.p("quantile/0.123")).st_mode)
    assert results(m, "quantile/0.123") == [f"col{i}" for i in range(4)]
    assert results(m, "corr/col0") == [f"col{i}" for i in range(4)]
    with os.scandir(m.p("corr")) as it:
        assert all(e.is_dir() for e in it)
    with os.scandir(m.p("corr/col1")) as it:
        assert all(e.is_file() for e in it)
    # find, ls -lR and stat of everything: nothing computed
    for root, dirs, files in os.walk(m.p("histogram")):
        for f in files:
            assert os.stat(os.path.join(root, f)).st_size == 4096
    os.stat(m.p("cov/col2/col1"))
    assert m.computing_lines() == []
    # inode numbers: the same in readdir and stat, distinct per path
    with os.scandir(m.p("corr/col2")) as it:
        ino = {e.name: e.inode() for e in it}
    for name, number in ino.items():
        assert os.stat(m.p(f"corr/col2/{name}")).st_ino == number
    assert len(set(ino.values())) == len(ino) >= 4      # .npy views too
    assert os.stat(m.p("corr/col2")).st_ino != os.stat(
        m.p("corr/col1")).st_ino
    with pytest.raises(OSError) as e:
        os.listdir(m.p("quantile/0.9/col3"))
    assert e.value.errno == errno.ENOTDIR
    with pytest.raises(OSError) as e:
        open(m.p("quantile/0.9")).read()
    assert e.value.errno == errno.EISDIR


def test_inode_numbers_survive_a_remount(mount_factory):
    m = mount_factory()
    before = [os.stat(m.p(p)).st_ino for p in
              ["quantile/0.9", "quantile/0.9/col3", "corr/col1/col0"]]
    m.unmount()
    m = mount_factory()
    after = [os.stat(m.p(p)).st_ino for p in
             ["quantile/0.9", "quantile/0.9/col3", "corr/col1/col0"]]
    assert before == after and all(0 < i < 2 ** 32 for i in after)


def test_functions_listing_shows_arguments(mount_factory):
    r = mount_factory.run(["--functions"])
    assert r.returncode == 0, r.stderr
    usage = {l.split()[0]: l.split() for l in r.stdout.splitlines()}
    assert usage["quantile"][:3] == ["quantile", "Q", "COLUMN"]
    assert usage["corr"][:3] == ["corr", "COLUMN", "COLUMN"]
    assert usage["histogram"][:3] == ["histogram", "BINS", "COLUMN"]
    assert usage["mean"][:2] == ["mean", "COLUMN"]


# ---- canonical forms and hostile names -------------------------------------------

# (name, path, errno): every level kind, at every position it takes.
HOSTILE_LEVELS = [
    ("q_trailing_zero", "quantile/0.90/col3", errno.ENOENT),
    ("q_no_leading_zero", "quantile/.9/col3", errno.ENOENT),
    ("q_exponent", "quantile/9e-1/col3", errno.ENOENT),
    ("q_plus", "quantile/+0.9/col3", errno.ENOENT),
    ("q_point_zero", "quantile/1.0/col3", errno.ENOENT),
    ("q_neg_zero", "quantile/-0/col3", errno.ENOENT),
    ("q_negative", "quantile/-0.1/col3", errno.ENOENT),
    ("q_above", "quantile/1.5/col3", errno.ENOENT),
    ("q_nan", "quantile/nan/col3", errno.ENOENT),
    ("q_inf", "quantile/inf/col3", errno.ENOENT),
    ("q_hex", "quantile/0x1p-1/col3", errno.ENOENT),
    ("q_blank", "quantile/ 0.5/col3", errno.ENOENT),
    ("q_comma", "quantile/0,5/col3", errno.ENOENT),
    ("q_long", "quantile/0." + "1" * 300 + "/col3", errno.ENOENT),
    ("q_empty_text", "quantile/col3", errno.ENOENT),
    ("q_tiny_denormal", "quantile/5e-324/col3", None),
    ("p_above", "percentile/100.5/col3", errno.ENOENT),
    ("p_leading_zero", "percentile/090/col3", errno.ENOENT),
    ("bins_zero", "histogram/0/col3", errno.ENOENT),
    ("bins_fraction", "histogram/2.5/col3", errno.ENOENT),
    ("bins_leading_zero", "histogram/010/col3", errno.ENOENT),
    ("bins_sign", "histogram/+10/col3", errno.ENOENT),
    ("bins_exponent", "histogram/1e1/col3", errno.ENOENT),
    ("bins_above", "histogram/1000001/col3", errno.ENOENT),
    ("bins_huge", "histogram/" + "9" * 40 + "/col3", errno.ENOENT),
    ("ddof_negative", "var_ddof/-1/col3", errno.ENOENT),
    ("col_level2_range", "quantile/0.5/col4", errno.ENOENT),
    ("col_level2_zero", "quantile/0.5/col03", errno.ENOENT),
    ("col_level1_range", "corr/col9/col0", errno.ENOENT),
    ("col_level1_nan", "corr/colNaN/col0", errno.ENOENT),
    ("col_level2_shell", "corr/col0/$(touch x)", errno.ENOENT),
    ("number_at_column", "corr/0.5/col0", errno.ENOENT),
    ("column_at_number", "quantile/col0/col1", errno.ENOENT),
    ("too_many_levels", "quantile/0.5/col3/x", errno.ENOTDIR),
    ("dotdot_between", "quantile/0.5/../0.5/col3", None),
    ("empty_between", "quantile//0.5//col3", None),
    ("non_utf8_level1", b"quantile/0.\xff/col3", errno.ENOENT),
    ("non_utf8_level2", b"corr/col0/col\xfe", errno.ENOENT),
    ("long_level2", "corr/col0/" + "a" * 255, errno.ENOENT),
    ("longer_level2", "corr/col0/" + "a" * 256,
     (errno.ENOENT, errno.ENAMETOOLONG)),
]


@pytest.mark.parametrize("name,path,err", HOSTILE_LEVELS,
                         ids=[h[0] for h in HOSTILE_LEVELS])
def test_hostile_levels(mount_factory, name, path, err):
    m = mount_factory()
    full = (os.fsencode(str(m.path)) + b"/" + path) \
        if isinstance(path, bytes) else m.path / path
    if err is None:
        got = float(open(full, "rb").read())
        q = 5e-324 if "5e-324" in path else 0.5
        assert got == float(np.quantile(DEMO[:, 3], q))
        return
    with pytest.raises(OSError) as e:
        with open(full, "rb") as f:
            f.read()
    assert e.value.errno in (err if isinstance(err, tuple) else (err,)), \
        (name, e.value)
    assert m.computing_lines() == []


def test_a_number_has_one_spelling_one_entry(mount_factory):
    m = mount_factory()
    assert os.path.exists(m.p("quantile/0.9/col3"))
    for spelling in ["0.90", ".9", "9e-1", "0.9000000000000000"]:
        assert not os.path.exists(m.p(f"quantile/{spelling}/col3"))
    # the header-less demo has no aliases; integral reals drop ".0"
    assert os.path.exists(m.p("percentile/90/col3"))
    assert not os.path.exists(m.p("percentile/90.0/col3"))
    assert m.computing_lines() == []


def test_header_aliases_at_every_column_level(mount_factory, tmp_path):
    rows = np.random.RandomState(3).randn(50, 2)
    csv = write_csv(tmp_path / "p.csv", ["price", "qty"], rows)
    m = mount_factory(csv)
    assert m.read("quantile/0.9/price") == m.read("quantile/0.9/col0")
    assert m.count("quantile", "0.9/col0") == 1
    assert m.read("corr/price/qty") == m.read("corr/col0/col1")
    assert m.count("corr", "col0/col1") == 1
    assert sorted(results(m, "corr/qty")) == sorted(
        ["col0", "col1", "price", "qty"])


# ---- plugins and commands -------------------------------------------------------

needs_zstats = pytest.mark.skipif(not ZSTATS, reason="MEMOFS_ZSTATS unset")


@needs_zstats
def test_plugin_of_two_arguments_and_nested_call(mount_factory):
    m = mount_factory(opts=[f"plugin={ZSTATS}"])
    assert os.listdir(m.p("zhistogram")) == ["10", "20"]
    h = np.loadtxt(m.p("zhistogram/7/col2"))
    counts, edges = np.histogram(DEMO[:, 2], 7)
    assert h[:, 2].astype(int).tolist() == counts.tolist()
    np.testing.assert_allclose(h[:, 0], edges[:-1], rtol=1e-12)
    # its nested call of two arguments went through the cache
    assert m.count("histogram", "7/col2") == 1
    m.read("histogram/7/col2")
    assert m.count("histogram", "7/col2") == 1
    assert not os.path.exists(m.p("zhistogram/1001/col2"))


TWO_ARGS = """\
[clip]
description = a column and a quantile, as a script sees them
args = columns, number(0..1)
command = python3 -c "import sys; print(sys.argv[1:])" {arg1} {arg2} {col}

[pick]
args = columns, integer(1..3: 1 3), columns
command = echo {arg3} {arg2} {arg1}
"""

FILE_AND_NUMBER = """\
[words]
args = files, integer(1..9)
command = head -c {arg2} {file}
"""


def test_command_of_several_arguments(mount_factory, tmp_path):
    f = tmp_path / "f.ini"
    f.write_text(TWO_ARGS)
    m = mount_factory(opts=[f"functions={f}"])
    assert m.read("clip/col2/0.25") == b"['col2', '0.25', '2']\n"
    assert m.read("pick/col3/2/col0") == b"col0 2 col3\n"
    assert os.listdir(m.p("clip/col1")) == []      # numbers, none listed
    assert os.listdir(m.p("pick/col1")) == ["1", "3"]  # as declared
    assert stat.S_ISREG(os.stat(m.p("clip/col1/0.5")).st_mode)
    assert stat.S_ISDIR(os.stat(m.p("pick/col1/2")).st_mode)
    assert not os.path.exists(m.p("clip/col1/2"))
    assert not os.path.exists(m.p("pick/col0/4"))
    m.unmount()
    r = mount_factory.run(["--functions", "-o", f"functions={f}"])
    usage = {l.split()[0]: l.split() for l in r.stdout.splitlines()}
    assert usage["pick"][:4] == ["pick", "COLUMN", "N", "COLUMN"]
    # a files argument then a number, over a directory DATA
    d = tmp_path / "data"
    d.mkdir()
    (d / "a.txt").write_text("hello world\n")
    g = tmp_path / "g.ini"
    g.write_text(FILE_AND_NUMBER)
    m = mount_factory(d, opts=[f"functions={g}"])
    assert os.listdir(m.p("words")) == ["a.txt"]
    assert m.read("words/a.txt/5") == b"hello"
    (d / "a.txt").write_text("HELLO world\n")
    assert m.read("words/a.txt/5") == b"HELLO"     # edited: recomputed


@pytest.mark.parametrize("args,message", [
    ("columns, number(0..1: 0.50)", "not a number of its range written"),
    ("columns, number(0..1: 2)", "not a number of its range written"),
    ("columns, integer(0..9: 1 1)", "or is listed twice"),
    ("columns, number(0..1:)", "no value listed"),
    ("columns, number(1..0)", "bad range"),
    ("columns, number(0..nan)", "bad range"),
    ("columns, integer(0.5..3)", "bad range"),
    ("columns, files, files", "at most one 'files'"),
    ("columns, columns, columns, columns, columns", "more than 4"),
    ("columns, float(0..1)", "'args' must be"),
    ("columns,", "'args' must be"),
])
def test_bad_several_args_in_a_functions_file(mount_factory, tmp_path, args,
                                              message):
    f = tmp_path / "f.ini"
    f.write_text(f"[f]\nargs = {args}\ncommand = echo {{arg1}}\n")
    r = mount_factory.run(["--functions", "-o", f"functions={f}"])
    assert r.returncode != 0
    assert message in r.stderr and "line 2" in r.stderr, r.stderr


@pytest.mark.parametrize("command,message", [
    ("echo {arg}", "{arg} needs a single argument"),
    ("echo {arg3}", "{arg3}: the function takes 2 arguments"),
    ("echo {file}", "{file} needs 'args = files'"),
])
def test_bad_placeholders_for_several_args(mount_factory, tmp_path, command,
                                           message):
    f = tmp_path / "f.ini"
    f.write_text(f"[f]\nargs = columns, number(0..1)\ncommand = {command}\n")
    r = mount_factory.run(["--functions", "-o", f"functions={f}"])
    assert r.returncode != 0
    assert message in r.stderr, r.stderr


# ---- the README's examples -------------------------------------------------------

def test_readme_plugin_of_several_arguments(mount_factory, tmp_path):
    from test_commands import readme_block
    from test_plugins import compile_plugin
    so = compile_plugin(tmp_path, "scale", readme_block("/* scale.c"))
    rows = np.random.RandomState(5).randn(20, 2)
    csv = write_csv(tmp_path / "d.csv", ["price", "qty"], rows)
    m = mount_factory(csv, opts=[f"plugin={so}"])
    assert sorted(os.listdir(m.p("scale"))) == ["0.5", "10", "2"]
    got = np.array(m.read("scale/2.5/price").split(), dtype=float)
    assert got.tolist() == (2.5 * rows[:, 0]).tolist()
    assert m.count("scale", "2.5/col0") == 1
    assert not os.path.exists(m.p("scale/2.50/price"))
    assert not os.path.exists(m.p("scale/2000000/price"))
    m.unmount()
    r = mount_factory.run(["--functions", "-o", f"plugin={so}"])
    line = next(l for l in r.stdout.splitlines() if l.startswith("scale"))
    assert line.split()[:3] == ["scale", "FACTOR", "COLUMN"]


def test_readme_command_of_several_arguments(mount_factory, tmp_path):
    from test_commands import readme_block
    (tmp_path / "several.ini").write_text(readme_block("# several.ini"))
    (tmp_path / "above.py").write_text(readme_block("# above.py"))
    rows = np.random.RandomState(6).randn(40, 2)
    csv = write_csv(tmp_path / "data.csv", ["price", "qty"], rows)
    m = mount_factory(csv, opts=[f"functions={tmp_path}/several.ini"])
    for q in ["0.9", "0.5", "0.25"]:
        want = int((rows[:, 0] > np.quantile(rows[:, 0], float(q))).sum())
        assert m.read(f"above/price/{q}") == f"{want}\n".encode()
    assert m.read("above/col0/0.9") == m.read("above/price/0.9")
    assert m.count("above", "col0/0.9") == 1


def test_hostile_names_at_a_files_level_and_a_number_level(mount_factory,
                                                           tmp_path):
    d = tmp_path / "data"
    d.mkdir()
    (d / "a.txt").write_text("hello world\n")
    (d / "sub").mkdir()
    os.symlink("a.txt", d / "link")
    os.mkfifo(d / "fifo")
    g = tmp_path / "g.ini"
    g.write_text(FILE_AND_NUMBER)
    m = mount_factory(d, opts=[f"functions={g}"])
    for rel, err in [("words/a.txt/0", errno.ENOENT),
                     ("words/a.txt/05", errno.ENOENT),
                     ("words/a.txt/10", errno.ENOENT),
                     ("words/a.txt/5.0", errno.ENOENT),
                     ("words/a.txt/-1", errno.ENOENT),
                     ("words/missing/5", errno.ENOENT),
                     ("words/sub/5", errno.ENOENT),
                     ("words/link/5", errno.ENOENT),
                     ("words/fifo/5", errno.ENOENT),
                     ("words/5/a.txt", errno.ENOENT),
                     ("words/a.txt/5/x", errno.ENOTDIR),
                     ("words/a.txt/$(touch x)", errno.ENOENT)]:
        with pytest.raises(OSError) as e:
            m.read(rel)
        assert e.value.errno == err, rel
    assert m.computing_lines() == []
    assert sorted(os.listdir(m.p("words"))) == ["a.txt"]
    assert stat.S_ISDIR(os.stat(m.p("words/a.txt")).st_mode)
    assert os.listdir(m.p("words/a.txt")) == []
    assert not (tmp_path / "x").exists() and not (d / "x").exists()


LIST_PLUGIN = r"""
#include <memofs.h>
MEMOFS_PLUGIN_DECLARE;
/* side/SIDE/N/COLUMN: SIDE, N and the column as the callback sees them */
static int side(memofs_ctx *ctx, const char *arg, void *u)
{
	double n;
	size_t col;

	if (memofs_nargs(ctx) != 3 || memofs_arg_double(ctx, 1, &n) ||
	    memofs_arg_column_index(ctx, 2, &col) ||
	    memofs_arg_double(ctx, 0, &n) == 0 || memofs_arg(ctx, 3))
		return memofs_error(ctx, "bad arguments %s", arg);
	memofs_arg_double(ctx, 1, &n);
	return memofs_printf(ctx, "%s|%s|%g|%zu\n", arg, memofs_arg(ctx, 0),
			     n, col);
}
int memofs_plugin_init(memofs_registry *reg, int abi)
{
	static const char *const sides[] = { "lo", "hi", "a b", NULL };
	static const struct memofs_arg args[] = {
		{ .name = "SIDE", .kind = MEMOFS_ARGS_LIST, .list = sides },
		{ .name = "N", .kind = MEMOFS_ARGS_INTEGER, .min = -2, .max = 2 },
		{ .kind = MEMOFS_ARGS_COLUMNS },
	};
	static const struct memofs_function f = {
		.name = "side", .version = "1", .compute = side,
		MEMOFS_ARGV(args),
	};
	return memofs_register(reg, &f);
}
"""


def test_plugin_with_a_list_level(mount_factory, tmp_path):
    from test_plugins import compile_plugin
    so = compile_plugin(tmp_path, "side", LIST_PLUGIN)
    rows = np.random.RandomState(8).randn(5, 2)
    csv = write_csv(tmp_path / "d.csv", ["price", "qty"], rows)
    m = mount_factory(csv, opts=[f"plugin={so}"])
    assert os.listdir(m.p("side")) == ["lo", "hi", "a b"]
    assert os.listdir(m.p("side/a b")) == []        # an integer level
    assert m.read("side/a b/-2/qty") == b"a b/-2/col1|a b|-2|1\n"
    assert m.read("side/hi/0/col0") == b"hi/0/col0|hi|0|0\n"
    for rel in ["side/LO/0/col0", "side/lo /0/col0", "side/x/0/col0",
                "side/lo/3/col0", "side/lo/-0/col0", "side/lo/0/col2",
                "side/0/lo/col0", "side/lo/0", "side/a%20b/0/col0"]:
        with pytest.raises(OSError) as e:
            m.read(rel)
        assert e.value.errno in (errno.ENOENT, errno.EISDIR), rel
    # the two good reads computed; no hostile name did
    assert len(m.computing_lines()) == 2
    r = mount_factory.run(["--functions", "-o", f"plugin={so}"])
    line = next(l for l in r.stdout.splitlines() if l.startswith("side"))
    assert line.split()[:4] == ["side", "SIDE", "N", "COLUMN"]


def test_npy_views_at_the_last_level_only(mount_factory):
    """Typed functions of several arguments show NAME.npy at the last
    level (the typed-results issue), never at an argument directory."""
    m = mount_factory()
    if "col3.npy" not in os.listdir(m.p("quantile/0.9")):
        pytest.skip("no typed results in this build")
    q = np.load(m.p("quantile/0.9/col3.npy"))
    assert q.shape == () and q.dtype == np.float64
    assert q == np.quantile(DEMO[:, 3], 0.9)
    assert m.read("quantile/0.9/col3") == (repr(float(q)) + "\n").encode()
    h = np.load(m.p("histogram/20/col1.npy"))
    assert h.dtype == np.int64
    assert h.tolist() == np.histogram(DEMO[:, 1], 20)[0].tolist()
    t = np.load(m.p("tail/3/col2.npy"))
    assert t.tolist() == DEMO[-3:, 2].tolist()
    assert not os.path.exists(m.p("quantile/0.9.npy"))
    assert not os.path.exists(m.p("corr/col0.npy"))
    assert m.count("quantile", "0.9/col3") == 1


def test_long_listing_of_an_argument_directory(mount_factory, tmp_path):
    """A level of 6000 names is read by the kernel in many pieces."""
    n = 3000
    csv = tmp_path / "wide.csv"
    csv.write_text(",".join(f"h{i}" for i in range(n)) + "\n" +
                   ",".join("1" for _ in range(n)) + "\n")
    m = mount_factory(csv)
    names = results(m, "corr/h7")
    assert len(names) == 2 * n and len(set(names)) == 2 * n
    assert names[:2] == ["col0", "col1"] and names[n] == "h0"
    with os.scandir(m.p("corr/h7")) as it:
        ino = [e.inode() for e in it if not e.name.endswith(".npy")]
    assert len(set(ino)) == 2 * n
    assert m.computing_lines() == []
