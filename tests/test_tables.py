"""Real-world tables (issue 13), table-driven: one small file of each kind
a user brings (text and date columns, missing values, other separators,
comment and metadata lines, compressed files, every NumPy dtype), each
mounted with default options (or the options its case names) and checked
against what pandas.read_csv (with the options that say the same) or numpy
make of it: the listing of numeric functions, every column's text, the
reductions with and without missing values, count, size, nunique and
value_counts.  Then the files memofs still refuses, with their messages.
"""
import bz2
import gzip
import lzma
import math
import os
import subprocess

import numpy as np
import pandas as pd
import pytest

from conftest import is_mounted

NUMERIC_FNS = ["sum", "mean", "var", "std", "min", "max", "median",
               "nansum", "nanmean", "nanvar", "nanstd", "nanmin", "nanmax",
               "nanmedian"]
REFS = {
    "sum": np.sum, "mean": np.mean, "var": np.var, "std": np.std,
    "min": np.min, "max": np.max, "median": np.median,
    "nansum": np.nansum, "nanmean": np.nanmean, "nanvar": np.nanvar,
    "nanstd": np.nanstd, "nanmin": np.nanmin, "nanmax": np.nanmax,
    "nanmedian": np.nanmedian,
}

# id: (file name, bytes, memofs -o options, pandas.read_csv keywords)
CSV_CASES = {
    "text_column": ("t.csv", b"city,pop,rate\nSpringfield,4.8,5.6\n"
                    b"Shelbyville,3.1,2.2\nOgdenville,3.1,7\n", [], {}),
    "quarter_dates": ("q.csv", b"quarter,sales\n2001Q3,12.5\n2001Q4,13\n"
                      b"2002Q1,11.25\n", [], {}),
    "day_dates": ("d.csv", b"Date,Open,Volume\n07-Mar-11,29.76,100\n"
                  b"08-Mar-11,30.1,250\n09-Mar-11,29.9,100\n", [], {}),
    "missing_empty": ("m.csv", b"year,level\n1961,\n1962,315.2\n1963,316\n"
                      b"1964,\n", [], {}),
    "missing_markers": ("n.csv", b"a,b,c\n1,NA,x\n2,N/A,\n3,null,y\n"
                        b"4,5.5,x\n5,#N/A,NaN\n", [], {}),
    "short_rows": ("s.csv", b"a,b,c\n1,2,3\n4,5\n6\n", [], {}),
    "semicolon": ("semi.csv", b"a;b;c\n1;2;3\n4;5;6.5\n", [],
                  {"sep": ";"}),
    "tab": ("t.tsv", b"name\tx\ty\nfoo\t1\t2.5\nbar\t3\t\n", [],
            {"sep": "\t"}),
    "pipe": ("p.txt", b"a|b\n1|2\n3|4\n", [], {"sep": "|"}),
    "whitespace": ("w.txt", b"  5 162  60\n  6  170 70\n 7 180 80\n", [],
                   {"sep": r"\s+", "header": None}),
    "comment_line": ("c.csv", b"# source: a survey\n# units: m\nh,w\n"
                     b"1.5,60\n1.7,70\n", [], {"comment": "#"}),
    "comment_option": ("co.csv", b"h,w\n1.5,60 % tall\n% nobody\n1.7,70\n",
                       ["comment=%"], {"comment": "%"}),
    "metadata_row": ("iris.csv", b"3,4,setosa,versicolor,virginica\n"
                     b"5.1,3.5,1.4,0.2,0\n4.9,3.0,1.4,0.2,1\n"
                     b"6.3,3.3,6.0,2.5,2\n", ["skiprows=1", "header=none"],
                     {"skiprows": 1, "header": None}),
    "counts_then_header": ("boston.csv", b"3,3\nA,B,C\n1,2,3\n3,4.5,5\n"
                           b"5,6,7\n", ["skiprows=1"], {"skiprows": 1}),
    "quoted_newline": ("qn.csv", b'id,note\n1,"two\nlines"\n2,"a\\b"\n'
                       b'3,"tab\there"\n', [], {}),
    "mac_cr": ("mac.csv", b"a,b\r1,2\r3,4.5\r", [], {}),
    "mixed_cr": ("mix.csv", b"a,b\r\n1,2\r3,4\n5,6\r\n", [], {}),
    "big_ints": ("b.csv", b"id,x\n9007199254740993,1\n-9007199254740993,2\n",
                 [], {}),
    "sep_forced": ("f.csv", b"a;b\n1,5;2\n3,5;4\n", ["sep=;"],
                   {"sep": ";"}),
    # Beyond the double range pandas declines the number (its column is
    # text); below it, 0.0 or a subnormal.
    "overflow_is_text": ("o.csv", b"a,b,c,d,e,f\n1e400,-1e309,9.9e308,1,"
                         b"1E400,+1e1000000\n2,3,4,5e400,6,7\n", [], {}),
    "underflow_is_a_number": ("u.csv", b"a,b,c,d,e\n1e-400,2e-324,4.9e-324,"
                              b"1e-320,1.7976931348623157e308\n"
                              b"1,-1e-400,2,3,-1.7976931348623157e308\n",
                              [], {}),
}

COMPRESSORS = {
    "gzip": gzip.compress,
    "bzip2": bz2.compress,
    "xz": lzma.compress,
}


def _escape(s):
    return (s.replace("\\", "\\\\").replace("\n", "\\n")
            .replace("\r", "\\r").replace("\t", "\\t"))


def _value_text(v, kind):
    if kind in "iub":
        return str(int(v))
    if kind == "f":
        return repr(float(v))
    return "" if (isinstance(v, float) and math.isnan(v)) else _escape(str(v))


def _arg_names(df):
    """memofs's name of each pandas column: the header, or colN."""
    return [c if isinstance(c, str) else f"col{c}" for c in df.columns]


def _check_frame(m, df, what):
    names = _arg_names(df)
    numeric = [n for n, c in zip(names, df.columns)
               if df[c].dtype.kind in "iufb"]
    canon = [f"col{j}" for j in range(len(names))]
    num_canon = [canon[j] for j, c in enumerate(df.columns)
                 if df[c].dtype.kind in "iufb"]
    listing = os.listdir(m.p("mean"))
    listed = sorted(n for n in listing if not n.endswith(".npy"))
    assert listed == sorted(set(num_canon) | (set(numeric) - set(canon))), \
        f"{what}: ls mean: expected the numeric columns {numeric}"
    assert sorted(n for n in listing if n.endswith(".npy")) == \
        sorted(n + ".npy" for n in listed), f"{what}: ls mean: .npy views"
    assert sorted(n for n in os.listdir(m.p("count"))
                  if not n.endswith(".npy")) == \
        sorted(set(canon) | (set(names) - set(canon))), \
        f"{what}: ls count: expected every column"
    col_listing = os.listdir(m.p("column"))
    for j, c in enumerate(df.columns):
        arg, s = canon[j], df[c]
        kind = s.dtype.kind
        want = "".join(_value_text(v, kind) + "\n" for v in s).encode()
        assert m.read(f"column/{arg}") == want, \
            f"{what}: column/{arg} ({c!r}, pandas {s.dtype})"
        assert m.read(f"count/{arg}") == f"{s.count()}\n".encode()
        assert m.read(f"size/{arg}") == f"{s.size}\n".encode()
        assert m.read(f"nunique/{arg}") == f"{s.nunique()}\n".encode()
        vc = s.value_counts()
        got_vc = m.read(f"value_counts/{arg}").decode().splitlines()
        assert len(got_vc) == len(vc), f"{what}: value_counts/{arg}"
        counts = [int(line.rsplit("\t", 1)[1]) for line in got_vc]
        assert counts == list(vc.values), \
            f"{what}: value_counts/{arg}: expected pandas' counts, in order"
        for line, (v, n) in zip(got_vc, vc.items()):
            if list(vc.values).count(n) == 1:   # ties: pandas' order varies
                assert line == f"{_value_text(v, kind)}\t{n}", \
                    f"{what}: value_counts/{arg}"
        if kind not in "iufb":
            assert not os.path.exists(m.p(f"mean/{arg}")), \
                f"{what}: mean/{arg} of a text column should not exist"
            assert f"{arg}.npy" not in col_listing and \
                not os.path.exists(m.p(f"column/{arg}.npy")), \
                f"{what}: column/{arg}.npy: a text column has no .npy view"
            continue
        col = np.load(m.p(f"column/{arg}.npy"))
        assert col.dtype == (np.int64 if kind in "iub" else np.float64), \
            f"{what}: column/{arg}.npy: dtype {col.dtype}"
        assert np.array_equal(col, s.to_numpy(dtype=col.dtype),
                              equal_nan=kind == "f"), \
            f"{what}: column/{arg}.npy: values"
        vals = s.to_numpy(dtype=np.float64)
        for fn in NUMERIC_FNS:
            with np.errstate(all="ignore"):
                import warnings
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    expect = float(REFS[fn](vals))
            got = float(m.read(f"{fn}/{arg}").decode())
            if math.isnan(expect):
                assert math.isnan(got), f"{what}: {fn}/{arg}: expected nan"
            else:
                assert got == pytest.approx(expect, rel=1e-12, abs=1e-300), \
                    f"{what}: {fn}/{arg}: expected {expect!r} (numpy)"


@pytest.mark.parametrize("case", sorted(CSV_CASES))
def test_csv_kinds(mount_factory, tmp_path, case):
    name, data, opts, kw = CSV_CASES[case]
    path = tmp_path / name
    path.write_bytes(data)
    df = pd.read_csv(path, **kw)
    m = mount_factory(data=path, opts=opts)
    _check_frame(m, df, case)


@pytest.mark.parametrize("how", sorted(COMPRESSORS) + ["zstd"])
def test_compressed(mount_factory, tmp_path, how):
    name, data, opts, kw = CSV_CASES["missing_markers"]
    plain = tmp_path / name
    plain.write_bytes(data)
    packed = tmp_path / "table.data"      # recognised by magic, not name
    if how == "zstd":
        subprocess.run(["zstd", "-q", "-o", str(packed), str(plain)],
                       check=True)
    else:
        packed.write_bytes(COMPRESSORS[how](data))
    cache = tmp_path / "cache"
    m = mount_factory(data=packed, opts=[f"cache={cache}"])
    _check_frame(m, pd.read_csv(plain, **kw), how)
    m.unmount()
    # The digest is the uncompressed content's: the plain file hits the
    # compressed one's cache.
    m2 = mount_factory(data=plain, opts=[f"cache={cache}"])
    m2.read("mean/col0")
    assert m2.count("mean", "col0") == 0, \
        f"{how}: the plain file should reuse the compressed one's cache"


NPY_CASES = {
    "bool": lambda r: r.integers(0, 2, (50, 2)).astype(np.bool_),
    "int8": lambda r: r.integers(-128, 128, (50, 3)).astype(np.int8),
    "int16_be": lambda r: r.integers(-999, 999, 40).astype(">i2"),
    "uint8": lambda r: r.integers(0, 256, (30, 2)).astype(np.uint8),
    "uint16": lambda r: r.integers(0, 60000, 30).astype(np.uint16),
    "uint32_F": lambda r: np.asfortranarray(
        r.integers(0, 2**32, (20, 3)).astype(np.uint32)),
    "uint64": lambda r: np.array([0, 5, 2**63 - 1, 7], dtype=np.uint64),
    "int64_F": lambda r: np.asfortranarray(
        r.integers(-2**62, 2**62, (20, 2))),
    "float16": lambda r: r.standard_normal((25, 2)).astype(np.float16),
    "float32_be_F": lambda r: np.asfortranarray(
        r.standard_normal((25, 2)).astype(">f4")),
    "float64_nan": lambda r: np.array([1.5, np.nan, -2.0, np.nan]),
}


@pytest.mark.parametrize("case", sorted(NPY_CASES))
def test_npy_dtypes(mount_factory, tmp_path, case):
    arr = NPY_CASES[case](np.random.default_rng(13))
    np.save(tmp_path / "a.npy", arr)
    native = arr.astype(arr.dtype.newbyteorder("="))   # for pandas
    df = pd.DataFrame(native.reshape(len(arr), -1))
    if arr.dtype.kind == "f":
        df = df.astype(np.float64)
    m = mount_factory(data=tmp_path / "a.npy")
    _check_frame(m, df, case)


def test_npy_structured(mount_factory, tmp_path):
    dt = np.dtype([("price", "<f8"), ("qty", ">i4"), ("ok", "?"),
                   ("code", "u1")], align=True)   # align: padding fields
    arr = np.zeros(4, dtype=dt)
    arr["price"] = [1.5, 2.25, np.nan, 4]
    arr["qty"] = [3, -4, 5, 3]
    arr["ok"] = [True, False, True, True]
    arr["code"] = [200, 1, 2, 200]
    np.save(tmp_path / "s.npy", arr)
    m = mount_factory(data=tmp_path / "s.npy")
    names = ["col0", "col1", "col2", "col3", "price", "qty", "ok", "code"]
    assert sorted(os.listdir(m.p("mean"))) == sorted(
        names + [n + ".npy" for n in names])
    _check_frame(m, pd.DataFrame({n: arr[n].astype(arr[n].dtype.newbyteorder(
        "=")) for n in dt.names}), "structured")


def test_text_escaping(mount_factory, tmp_path):
    path = tmp_path / "e.csv"
    path.write_bytes(b'k,v\n1,"a\\b"\n2,"x\ny"\n3,"c\r\nd"\n4,"t\tu"\n5,\n')
    m = mount_factory(data=path)
    assert m.read("column/v") == b"a\\\\b\nx\\ny\nc\\r\\nd\nt\\tu\n\n"
    assert m.read("count/v") == b"4\n"
    assert m.read("size/v") == b"5\n"


# id: (file name, bytes, options, what the one-line message names)
REFUSED = {
    "too_many_fields": ("x.csv", b"a,b\n1,2\n3,4,5\n", [],
                        ["x.csv: line 3: expected 2 fields, found 3"]),
    "wrong_sep_hint": ("h.csv", b"a;b\n1;2\n3;4\n5;6,7\n", ["sep=comma"],
                       ["line 4", "try -o sep=';'"]),
    "title_line": ("t.csv", b"Monthly sales 2020\nmonth,sales\n1,10\n"
                   b"2,12\n", [], ["line 2: expected 1 fields, found 2",
                                    "a title? try -o skiprows=1"]),
    "counts_line": ("boston.csv", b"3,3\nA,B,C\n1,2,3\n3,4,5\n5,6,7\n", [],
                    ["line 2: expected 2 fields, found", "holds only "
                     "integers", "try -o skiprows=1"]),
    "sklearn_metadata": ("iris.csv", b"3,4,setosa,versicolor,virginica\n"
                         b"5.1,3.5,1.4,0.2,0\n4.9,3.0,1.4,0.2,1\n"
                         b"6.3,3.3,6.0,2.5,2\n", [],
                         ["line 1 looks like scikit-learn metadata",
                          "-o skiprows=1 -o header=none"]),
    "unterminated_quote": ("q.csv", b'a,b\n1,"2\n', [],
                           ["line 2, field 2: unterminated quoted field"]),
    "truncated_gzip": ("t.csv.gz", gzip.compress(b"a,b\n1,2\n" * 100)[:-9],
                       [], ["gzip data: truncated"]),
    "npy_object": ("o.npy", None, [], ["object array"]),
    "utf16": ("u.csv", "a,b\n1,2\n".encode("utf-16"), [],
              ["UTF-16 text", "iconv -f UTF-16 -t UTF-8"]),
    "bad_sep_option": ("ok.csv", b"a\n1\n", ["sep=ab"], ["sep=ab"]),
    "bad_header_option": ("ok.csv", b"a\n1\n", ["header=-1"],
                          ["header=-1"]),
    "bad_skiprows_option": ("ok.csv", b"a\n1\n", ["skiprows=x"],
                            ["skiprows=x"]),
    "bad_comment_option": ("ok.csv", b"a\n1\n", ["comment=ab"],
                           ["comment=ab"]),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_refused(mount_factory, tmp_path, case):
    name, data, opts, needles = REFUSED[case]
    path = tmp_path / name
    if data is None:
        np.save(path, np.array([1, "a"], dtype=object), allow_pickle=True)
    else:
        path.write_bytes(data)
    mnt = mount_factory.mountpoint()
    args = ["-f"] + [a for o in opts for a in ("-o", o)] + [path, mnt]
    r = mount_factory.run(args)
    assert r.returncode != 0, f"{case}: expected a refusal"
    err = r.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("memofs: "), r.stderr
    for n in needles:
        assert n in err[0], f"{case}: expected {n!r} in {err[0]!r}"
    assert not is_mounted(mnt)


def test_compressed_npy(mount_factory, tmp_path):
    # The magic is looked for again after decompressing: a .npy.xz is a
    # .npy, with the digest of the .npy's bytes.
    arr = np.random.default_rng(2).integers(-50, 50, (40, 3)).astype("<i2")
    np.save(tmp_path / "a.npy", arr)
    raw = (tmp_path / "a.npy").read_bytes()
    (tmp_path / "a.npy.xz").write_bytes(lzma.compress(raw))
    m = mount_factory(data=tmp_path / "a.npy.xz")
    _check_frame(m, pd.DataFrame(arr), "npy.xz")
