/* test_rdb.c -- unit test of loading RocksDB at run time (engine/rdb.c). */
#include <dlfcn.h>
#include <errno.h>
#include <string.h>

#include "check.h"
#include "memofs_config.h"
#include "engine/rdb.h"

/* The real library: every function resolved, and it works. */
static void test_load(void)
{
	char err[256] = "";
	rocksdb_options_t *o;

	CHECK_INT(rdb_load(err, sizeof(err)), 0);
	CHECK(err[0] == '\0');
	CHECK_INT(rdb_load(err, sizeof(err)), 0);	/* once, then the same */
	CHECK(rdb.rocksdb_options_create && rdb.rocksdb_open_column_families &&
	      rdb.rocksdb_writeoptions_set_sync);
	o = rdb.rocksdb_options_create();
	CHECK(o != NULL);
	rdb.rocksdb_options_set_create_if_missing(o, 1);
	rdb.rocksdb_options_destroy(o);
}

/* A file that is not there: -ELIBACC, dlerror()'s reason, api untouched. */
static void test_missing(void)
{
	struct rdb_api api;
	char err[256] = "";

	memset(&api, 0xa5, sizeof(api));
	CHECK_INT(rdb_load_from("/nonexistent/librocksdb.so.7.8", &api, err,
				sizeof(err)), -ELIBACC);
	CHECK(strstr(err, "cannot load RocksDB") != NULL);
	CHECK(strstr(err, "/nonexistent/librocksdb.so.7.8") != NULL);
	CHECK(((unsigned char *)&api)[0] == 0xa5);
}

/* A library that is not RocksDB (libm): the first missing function is
 * named, api untouched, and the library is not kept loaded for it. */
static void test_not_rocksdb(void)
{
	struct rdb_api api;
	char err[256] = "";

	memset(&api, 0xa5, sizeof(api));
	CHECK_INT(rdb_load_from("libm.so.6", &api, err, sizeof(err)),
		  -ELIBACC);
	CHECK(strstr(err, "libm.so.6 lacks rocksdb_") != NULL);
	CHECK(((unsigned char *)&api)[sizeof(api) - 1] == 0xa5);
}

/* A short error buffer is cut, still NUL-terminated. */
static void test_short_err(void)
{
	struct rdb_api api;
	char err[8];

	memset(err, 'x', sizeof(err));
	CHECK_INT(rdb_load_from("/nonexistent/x.so", &api, err, sizeof(err)),
		  -ELIBACC);
	CHECK(memchr(err, '\0', sizeof(err)) != NULL);
}

int main(void)
{
	test_missing();
	test_not_rocksdb();
	test_short_err();
	test_load();
	CHECK(strncmp(MEMOFS_ROCKSDB_SONAME, "librocksdb.so.", 14) == 0);
	return check_report("rdb");
}
