/* bench_trivial.c -- a memofs plugin for the benchmark (run.py, figure
 * 11): one function whose computation costs nothing, so that a cold read
 * of it measures memofs's own overhead (lookup, scheduling, store,
 * reply), the part joblib's trivial miss is compared with.
 *
 *   one/colN    "1\n" for every column; reads nothing, calls nothing
 */
#include <memofs.h>

MEMOFS_PLUGIN_DECLARE;

static int one(memofs_ctx *ctx, const char *arg, void *udata)
{
	(void)arg;
	(void)udata;
	return memofs_write(ctx, "1\n", 2);
}

int memofs_plugin_init(memofs_registry *reg, int abi_version)
{
	static const struct memofs_function fn = {
		.name = "one", .version = "1",
		.description = "the constant 1 (benchmark: a trivial result)",
		.args = MEMOFS_ARGS_COLUMNS, .compute = one,
	};

	(void)abi_version;
	return memofs_register(reg, &fn);
}
