"""test_plugins.py -- C plugins: loading, nesting, invalidation, bad plugins.

Uses the example plugin built by meson (MEMOFS_ZSTATS) and small plugins
compiled here with the system C compiler against include/memofs.h.
"""
import errno
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

SRC = Path(os.environ.get("MEMOFS_SRC", Path(__file__).resolve().parent.parent))
ZSTATS = os.environ.get("MEMOFS_ZSTATS")
DEMO = np.random.RandomState(42).randn(10000, 4)
# The built-ins of several arguments (fn_args.h), in registration order.
ARGS_FNS = ["quantile", "percentile", "corr", "cov", "histogram",
            "var_ddof", "std_ddof", "nanvar_ddof", "nanstd_ddof", "head",
            "tail"]

needs_zstats = pytest.mark.skipif(not ZSTATS, reason="MEMOFS_ZSTATS unset")


def compile_plugin(tmp_path, name, source, cflags=()):
    """Builds source into tmp_path/name.so the way the README says."""
    c = tmp_path / f"{name}.c"
    so = tmp_path / f"{name}.so"
    c.write_text(source)
    cc = shutil.which("cc") or shutil.which("gcc")
    subprocess.run([cc, "-shared", "-fPIC", f"-I{SRC / 'include'}",
                    *cflags, "-o", str(so), str(c)], check=True)
    return so


CONST_PLUGIN = r"""
#include <memofs.h>
MEMOFS_PLUGIN_DECLARE;
static int answer(memofs_ctx *ctx, const char *arg, void *u)
{
	return memofs_printf(ctx, "%s %d\n", arg, VALUE);
}
static int broken(memofs_ctx *ctx, const char *arg, void *u)
{
	return memofs_error(ctx, "broken on purpose for %s", arg);
}
static int orphan(memofs_ctx *ctx, const char *arg, void *u)
{
	const void *d; size_t n;
	int rc = memofs_call(ctx, "no_such_function", "col0", &d, &n);
	return rc ? memofs_error(ctx, "nested call failed: %d", rc) : 0;
}
int memofs_plugin_init(memofs_registry *reg, int abi)
{
	static const char *const args[] = { "x", "y", 0 };
	struct memofs_function f = { "answer", "1", "a constant",
				     MEMOFS_ARGS_LIST, args, answer, 0 };
	int rc = memofs_register(reg, &f);
	f.name = "broken"; f.compute = broken;
	if (!rc) rc = memofs_register(reg, &f);
	f.name = "orphan"; f.compute = orphan;
	if (!rc) rc = memofs_register(reg, &f);
	return rc;
}
"""


def repr_lines(values):
    return "".join(repr(float(v)) + "\n" for v in values).encode()


@needs_zstats
def test_example_plugin_values_and_reuse(mount_factory):
    m = mount_factory(opts=[f"plugin={ZSTATS}"])
    assert sorted(os.listdir(m.path)) == sorted(
        ["column", "sum", "mean", "var", "std", "min", "max", "median",
         "nansum", "nanmean", "nanvar", "nanstd", "nanmin", "nanmax",
         "nanmedian", "count", "size", "nunique", "value_counts",
         "zscore", "zhistogram"] + ARGS_FNS)
    col = DEMO[:, 1]
    z = np.loadtxt(m.p("zscore/col1"))
    np.testing.assert_allclose(z, (col - col.mean()) / col.std(),
                               rtol=1e-12, atol=1e-12)
    hist = np.loadtxt(m.p("zhistogram/10/col1"))
    counts, edges = np.histogram(col, bins=10)
    assert hist[:, 2].astype(int).tolist() == counts.tolist()
    np.testing.assert_allclose(hist[:, 0], edges[:-1], rtol=1e-12)
    # The column was extracted once, for zscore, and reused by histogram;
    # mean and std were computed by zscore's nested calls.
    assert m.count("column", "col1") == 1
    assert m.count("mean", "col1") == 1
    assert m.count("std", "col1") == 1
    assert float(m.read("mean/col1")) == pytest.approx(col.mean(),
                                                        rel=1e-12)
    assert m.count("mean", "col1") == 1      # served from the cache
    assert os.getxattr(m.p("zscore"), "user.memofs.description") == \
        b"column standardised: (x - mean) / std"
    assert os.getxattr(m.p("mean"), "user.memofs.description") == \
        b"arithmetic mean of the column"


@needs_zstats
def test_functions_listing(mount_factory):
    r = mount_factory.run(["--functions", "-o", f"plugin={ZSTATS}"])
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    names = [l.split()[0] for l in lines]
    assert names == (["column", "sum", "mean", "var", "std", "min", "max",
                      "median", "nansum", "nanmean", "nanvar", "nanstd",
                      "nanmin", "nanmax", "nanmedian", "count", "size",
                      "nunique", "value_counts"] + ARGS_FNS +
                     ["zscore", "zhistogram"])
    z = next(l for l in lines if l.startswith("zscore"))
    # its usage "zscore COLUMN", then the declared version "1" plus the
    # digest of the plugin file
    assert z.split()[1] == "COLUMN"
    assert z.split()[2].startswith("1+") and len(z.split()[2]) == 18
    h = next(l for l in lines if l.startswith("zhistogram"))
    assert h.split()[:3] == ["zhistogram", "BINS", "COLUMN"]
    assert "standardised" in z


def test_rebuilt_plugin_invalidates_only_its_results(mount_factory,
                                                     tmp_path):
    cache = tmp_path / "cache"
    src_dir = tmp_path / "v1"
    src_dir.mkdir()
    so = compile_plugin(src_dir, "const", CONST_PLUGIN, ["-DVALUE=1"])
    m = mount_factory(opts=[f"plugin={so}", f"cache={cache}"])
    assert m.read("answer/x") == b"x 1\n"
    assert m.read("mean/col0")
    m.unmount()

    # Same declared version, new code: its results are recomputed.
    so2 = compile_plugin(src_dir, "const", CONST_PLUGIN, ["-DVALUE=2"])
    m = mount_factory(opts=[f"plugin={so2}", f"cache={cache}"])
    assert m.read("answer/x") == b"x 2\n"
    assert m.count("answer", "x") == 1
    assert m.read("mean/col0")
    assert m.count("mean", "col0") == 0       # built-ins stay cached
    m.unmount()

    # The same bytes again: everything is served from the cache.
    m = mount_factory(opts=[f"plugin={so2}", f"cache={cache}"])
    assert m.read("answer/x") == b"x 2\n"
    assert m.count("answer", "x") == 0


def test_failing_functions_do_not_take_the_daemon_down(mount_factory,
                                                       tmp_path):
    so = compile_plugin(tmp_path, "const", CONST_PLUGIN, ["-DVALUE=7"])
    m = mount_factory(opts=[f"plugin={so}"])
    for path in ("broken/x", "orphan/y"):
        with pytest.raises(OSError) as e:
            m.read(path)
        assert e.value.errno == errno.EIO, path
    m.wait_log(r"broken\(x\): failed after .*broken on purpose for x")
    m.wait_log(r"orphan\(y\): failed after .*nested call failed")
    # Not cached: the next read tries again (and fails again).
    with pytest.raises(OSError):
        m.read("broken/x")
    assert m.count("broken", "x") == 2
    assert m.read("answer/y") == b"y 7\n"
    with pytest.raises(FileNotFoundError):
        m.read("answer/z")


BAD_PLUGINS = {
    "no_entry": ("#include <memofs.h>\nMEMOFS_PLUGIN_DECLARE;\n",
                 "no memofs_plugin_init function"),
    "no_abi": ("#include <memofs.h>\n"
               "int memofs_plugin_init(memofs_registry *r, int a)"
               "{ return 0; }\n", "no memofs_plugin_abi symbol"),
    "other_abi": ("#include <memofs.h>\nconst int memofs_plugin_abi = 999;\n"
                  "int memofs_plugin_init(memofs_registry *r, int a)"
                  "{ return 0; }\n", "built for memofs ABI 999"),
    "clash": ("#include <memofs.h>\nMEMOFS_PLUGIN_DECLARE;\n"
              "static int f(memofs_ctx *c, const char *a, void *u)"
              "{ return 0; }\n"
              "int memofs_plugin_init(memofs_registry *r, int a) {\n"
              "struct memofs_function d = { \"mean\", \"1\", \"\", "
              "MEMOFS_ARGS_COLUMNS, 0, f, 0 };\n"
              "return memofs_register(r, &d); }\n",
              "function 'mean' is already registered"),
    "init_fails": ("#include <memofs.h>\n#include <errno.h>\n"
                   "MEMOFS_PLUGIN_DECLARE;\n"
                   "int memofs_plugin_init(memofs_registry *r, int a)"
                   "{ return -EPERM; }\n",
                   "memofs_plugin_init failed: Operation not permitted"),
}


@pytest.mark.parametrize("name", sorted(BAD_PLUGINS))
def test_bad_plugin_stops_the_mount(mount_factory, tmp_path, name):
    source, message = BAD_PLUGINS[name]
    so = compile_plugin(tmp_path, name, source)
    mnt = mount_factory.mountpoint()
    r = mount_factory.run(["-o", f"plugin={so}", mnt])
    assert r.returncode != 0
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and str(so) in lines[0], \
        r.stderr
    assert not os.path.ismount(mnt)


@pytest.mark.parametrize("what", ["missing", "not_elf"])
def test_unloadable_plugin_stops_the_mount(mount_factory, tmp_path, what):
    path = tmp_path / "p.so"
    if what == "not_elf":
        path.write_text("not a shared object\n")
    mnt = mount_factory.mountpoint()
    r = mount_factory.run(["-o", f"plugin={path}", mnt])
    assert r.returncode != 0
    assert str(path) in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert ("No such file" if what == "missing" else "cannot load") \
        in r.stderr
    assert not os.path.ismount(mnt)


def test_plugin_builds_with_installed_header_and_pkg_config(tmp_path):
    build = os.environ.get("MEMOFS_BUILD")
    if not build or not shutil.which("pkg-config"):
        pytest.skip("MEMOFS_BUILD unset or no pkg-config")
    root = tmp_path / "root"
    subprocess.run(["meson", "install", "-C", build, "--destdir", str(root),
                    "--quiet"], check=True, capture_output=True)
    pcs = list(root.rglob("memofs.pc"))
    assert pcs, "meson install put no memofs.pc in place"
    env = dict(os.environ, PKG_CONFIG_PATH=str(pcs[0].parent),
               PKG_CONFIG_SYSROOT_DIR=str(root))
    cflags = subprocess.run(["pkg-config", "--cflags", "memofs"], env=env,
                            check=True, capture_output=True,
                            text=True).stdout.split()
    assert f"-I{root}" in " ".join(cflags)
    so = tmp_path / "zstats.so"
    subprocess.run([shutil.which("cc") or "gcc", "-shared", "-fPIC", *cflags,
                    "-o", str(so), str(SRC / "compute/examples/zstats.c")],
                   check=True)
    assert so.stat().st_size > 0
