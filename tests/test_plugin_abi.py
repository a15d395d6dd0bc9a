"""test_plugin_abi.py -- the plugin ABI can grow and hides memofs's insides.

What include/memofs.h promises as stable: only memofs_* symbols are visible
to plugins, struct memofs_function is registered with its size (older and
newer plugins both load), misuse is an error return and never an abort, and
a plugin can ask which memofs and ABI it runs in.
"""
import errno
import os
import re
import subprocess

import pytest

from test_plugins import SRC, compile_plugin

HEADER = SRC / "include" / "memofs.h"


def header_functions():
    """The functions memofs.h declares for plugins (not those they define)."""
    text = HEADER.read_text()
    names = set(re.findall(r"^[a-z][\w \*]*?\(?\b(memofs_\w+)\)?\(", text,
                           re.M))
    return names - {"memofs_plugin_init"}


def exported(binary):
    out = subprocess.run(["nm", "-D", "--defined-only", binary], check=True,
                         capture_output=True, text=True).stdout
    syms = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "TtWDdRBb":
            syms.add(parts[2].split("@")[0])
    return syms


def test_only_the_memofs_api_is_exported(memofs_bin):
    syms = exported(memofs_bin)
    ours = {s for s in syms if not s.startswith("_")
            and s not in ("stderr", "stdout", "stdin", "environ")}
    api = header_functions()
    assert len(api) >= 14, api
    # Every function of the header is there, and nothing else of memofs.
    assert api <= ours, api - ours
    assert ours == api, ours - api


SHADOW_PLUGIN = r"""
#include <memofs.h>
MEMOFS_PLUGIN_DECLARE;
/* Names the daemon has internally: a plugin's own must stay its own. */
int log_msg(int level, const char *fmt, ...) { return 4242; }
int store_open(void) { return 77; }
int pool_new(void) { return 5; }
static int own(memofs_ctx *ctx, const char *arg, void *u)
{
	return memofs_printf(ctx, "%d %d %d\n", log_msg(0, "x"), store_open(),
			     pool_new());
}
int memofs_plugin_init(memofs_registry *reg, int abi)
{
	static const char *const args[] = { "x", 0 };
	struct memofs_function f = { "own", "1", "", MEMOFS_ARGS_LIST, args,
				     own, 0 };
	return memofs_register(reg, &f);
}
"""


def test_plugin_globals_do_not_bind_to_the_daemon(mount_factory, tmp_path):
    so = compile_plugin(tmp_path, "shadow", SHADOW_PLUGIN)
    m = mount_factory(opts=[f"plugin={so}"])
    assert m.read("own/x") == b"4242 77 5\n"
    assert m.read("mean/col0")      # the daemon's own still work


SIZES_PLUGIN = r"""
#include <stddef.h>
#include <memofs.h>
MEMOFS_PLUGIN_DECLARE;
static int one(memofs_ctx *ctx, const char *arg, void *u)
{
	return memofs_printf(ctx, "%s %d %s\n", (const char *)u,
			     memofs_abi_version(), memofs_version());
}
/* A plugin built against a future header: the struct has grown. */
struct future_function {
	struct memofs_function base;
	const char *new_field;
	long another;
};
int memofs_plugin_init(memofs_registry *reg, int abi)
{
	static const char *const args[] = { "x", 0 };
	struct memofs_function f = { "now", "1", "", MEMOFS_ARGS_LIST, args,
				     one, (void *)"now" };
	struct future_function g = { { "future", "1", "", MEMOFS_ARGS_LIST,
				       args, one, (void *)"future" },
				     "ignored", 7 };
	struct memofs_function h = f;
	int rc = memofs_register(reg, &f);

	/* A newer, longer struct: its known fields are used. */
	if (!rc)
		rc = memofs_register_size(reg, &g.base, sizeof(g));
	/* The ABI-1 entry point, as plugins built before sizes call it. */
	h.name = "old";
	h.udata = (void *)"old";
	if (!rc)
		rc = (memofs_register)(reg, &h);
	/* Misuse: errors, not aborts. */
	h.name = "short";
	if (!rc && memofs_register_size(reg, &h, 8) != -EINVAL_)
		rc = -1000;
	if (!rc && memofs_register_size(0, &h, sizeof(h)) != -EINVAL_)
		rc = -1001;
	if (!rc && memofs_register_size(reg, 0, sizeof(h)) != -EINVAL_)
		rc = -1002;
	return rc;
}
"""


def test_struct_sizes_old_and_new_plugins_load(mount_factory, tmp_path,
                                               memofs_bin):
    src = SIZES_PLUGIN.replace("EINVAL_", str(errno.EINVAL))
    so = compile_plugin(tmp_path, "sizes", src)
    m = mount_factory(opts=[f"plugin={so}"])
    version = subprocess.run([memofs_bin, "--version"], capture_output=True,
                             text=True).stdout.split()[1]
    for name in ("now", "future", "old"):
        assert m.read(f"{name}/x") == f"{name} 1 {version}\n".encode()
    assert not os.path.exists(m.p("short"))


MISUSE_PLUGIN = r"""
#include <memofs.h>
MEMOFS_PLUGIN_DECLARE;
static int misuse(memofs_ctx *ctx, const char *arg, void *u)
{
	const double *v = memofs_data_column(ctx, memofs_ncols(ctx) + 5);

	if (v)
		return memofs_printf(ctx, "no check\n");
	return memofs_error(ctx, "column out of range refused");
}
int memofs_plugin_init(memofs_registry *reg, int abi)
{
	static const char *const args[] = { "x", 0 };
	struct memofs_function f = { "misuse", "1", "", MEMOFS_ARGS_LIST, args,
				     misuse, 0 };
	return memofs_register(reg, &f);
}
"""


def test_misuse_is_an_error_not_an_abort(mount_factory, tmp_path):
    so = compile_plugin(tmp_path, "misuse", MISUSE_PLUGIN)
    m = mount_factory(opts=[f"plugin={so}"])
    with pytest.raises(OSError) as e:
        m.read("misuse/x")
    assert e.value.errno == errno.EIO
    m.wait_log(r"column out of range refused")
    assert m.read("mean/col0")      # the daemon is alive


def test_older_abi_range_in_refusal(mount_factory, tmp_path):
    so = compile_plugin(tmp_path, "zero", "#include <memofs.h>\n"
                        "const int memofs_plugin_abi = 0;\n"
                        "int memofs_plugin_init(memofs_registry *r, int a)"
                        "{ return 0; }\n")
    r = mount_factory.run(["-o", f"plugin={so}", mount_factory.mountpoint()])
    assert r.returncode != 0
    assert "built for memofs ABI 0, this memofs loads ABI 1 to 1" in r.stderr
