/* rdbuser.c -- a test plugin that links RocksDB itself
 * (tests/test_startup.py): memofs loads RocksDB at run time
 * (compute/engine/rdb.h), so a plugin linked with -lrocksdb must share
 * memofs's copy, not bring a second one (two copies of RocksDB's static
 * state: its thread pools, its environment).
 *
 *   tp_rdb/colN   "N M\n": N, how many librocksdb objects the process has
 *                 loaded (1 expected); M, 1 when the rocksdb_options_create
 *                 this plugin calls is the one in that object, else 0
 */
#include <dlfcn.h>
#include <link.h>
#include <stdio.h>
#include <string.h>

#include <rocksdb/c.h>
#include <memofs.h>

MEMOFS_PLUGIN_DECLARE;

struct tp_found {
	int n;			/* librocksdb objects */
	const char *name;	/* the last one's path */
};

static int tp_count(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct tp_found *f = arg;
	const char *base = strrchr(info->dlpi_name, '/');

	(void)size;
	base = base ? base + 1 : info->dlpi_name;
	if (strncmp(base, "librocksdb.so", 13) == 0) {
		f->n++;
		f->name = info->dlpi_name;
	}
	return 0;
}

static int tp_rdb(memofs_ctx *ctx, const char *arg, void *udata)
{
	struct tp_found f = { 0, NULL };
	rocksdb_options_t *o = rocksdb_options_create();
	void *fn = (void *)rocksdb_options_create;
	char line[32];
	Dl_info where;
	int same;

	(void)arg;
	(void)udata;
	if (!o)
		return memofs_error(ctx, "rocksdb_options_create failed");
	rocksdb_options_destroy(o);
	dl_iterate_phdr(tp_count, &f);
	same = f.name && dladdr(fn, &where) && where.dli_fname &&
	       strcmp(where.dli_fname, f.name) == 0;
	snprintf(line, sizeof(line), "%d %d\n", f.n, same);
	return memofs_write(ctx, line, strlen(line));
}

int memofs_plugin_init(memofs_registry *reg, int abi_version)
{
	static const struct memofs_function fn = {
		.name = "tp_rdb", .version = "1",
		.description = "librocksdb objects loaded",
		.args = MEMOFS_ARGS_COLUMNS, .compute = tp_rdb,
	};

	(void)abi_version;
	return memofs_register(reg, &fn);
}
