"""Where memofs computes a cold result (issue 12, the cold path).

A computation whose function's last computation took under 1 ms runs on
the FUSE thread that asked, in the place of an idle worker; any other
runs on a worker (compute/engine/memo.h, memo_submit()).  The plugin
below prints the name of the thread that computes it: workers are named
"memofs-pool" (compute/engine/pool.h).
"""
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

SRC = Path(os.environ.get("MEMOFS_SRC", Path(__file__).resolve().parents[1]))

WHERE_PLUGIN = r"""
#include <stdio.h>
#include <string.h>
#include <memofs.h>
MEMOFS_PLUGIN_DECLARE;
/* The computing thread's name, one line. */
static int where(memofs_ctx *ctx, const char *arg, void *u)
{
	char name[64] = "?";
	FILE *f = fopen("/proc/thread-self/comm", "r");

	if (f) {
		if (!fgets(name, sizeof(name), f))
			strcpy(name, "?\n");
		fclose(f);
	}
	return memofs_printf(ctx, "%s", name);
}
int memofs_plugin_init(memofs_registry *reg, int abi)
{
	static const char *const args[] = { "a", "b", "c", "d", 0 };
	struct memofs_function f = { "where", "1", "computing thread",
				     MEMOFS_ARGS_LIST, args, where, 0 };
	return memofs_register(reg, &f);
}
"""


def compile_plugin(tmp_path):
    c, so = tmp_path / "where.c", tmp_path / "where.so"
    c.write_text(WHERE_PLUGIN)
    cc = shutil.which("cc") or shutil.which("gcc")
    subprocess.run([cc, "-shared", "-fPIC", f"-I{SRC / 'include'}",
                    "-o", str(so), str(c)], check=True)
    return so


def test_cheap_cold_result_computes_in_the_asking_thread(mount_factory,
                                                         tmp_path):
    so = compile_plugin(tmp_path)
    m = mount_factory(opts=["workers=1", "delay=1.5", f"plugin={so}"])
    # Never computed: its cost is unknown, a worker computes it.
    assert m.read("where/a") == b"memofs-pool\n"
    # The worker answers before it is idle again: give it a moment.
    time.sleep(0.2)
    # Cheap last time, a worker idle: the FUSE thread that asked.
    got = m.read("where/b")
    assert got != b"memofs-pool\n" and got.endswith(b"\n"), got
    # The one worker busy (column sleeps 1.5 s): -o workers=1 still bounds
    # what computes at once, so where/c waits for the worker.
    busy = threading.Thread(target=m.read, args=("column/col0",))
    busy.start()
    try:
        m.wait_log(r"column\(col0\): computing", timeout=10)
        t0 = time.monotonic()
        assert m.read("where/c") == b"memofs-pool\n"
        waited = time.monotonic() - t0
    finally:
        busy.join(30)
    assert waited > 0.5, f"where/c did not wait for the worker ({waited})"
    assert m.log().index("column(col0): done") < \
        m.log().index("where(c): computing")
    time.sleep(0.2)
    # The column took 1.5 s, yet where/c ran after a cheap where/b:
    # the last computation of where decides, and it was cheap.
    assert m.read("where/d") != b"memofs-pool\n"
