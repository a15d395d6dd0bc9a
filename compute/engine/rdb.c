/* rdb.c -- RocksDB's C API, loaded at run time (see rdb.h). */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "memofs_config.h"
#include "engine/rdb.h"

struct rdb_api rdb;

static pthread_once_t rdb_once = PTHREAD_ONCE_INIT;
static int rdb_rc;
static char rdb_err[512];

int rdb_load_from(const char *path, struct rdb_api *api, char *err,
		  size_t errlen)
{
	struct rdb_api got;
	void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	void *sym;

	if (!handle) {
		snprintf(err, errlen, "cannot load RocksDB: %s", dlerror());
		return -ELIBACC;
	}
	/* A data pointer cast to a function pointer: POSIX guarantees
	 * dlsym()'s result can be used so; memcpy keeps ISO C quiet. */
#define RDB_RESOLVE(f)							\
	sym = dlsym(handle, #f);					\
	if (!sym) {							\
		snprintf(err, errlen, "cannot load RocksDB: %s lacks "	\
			 "%s", path, #f);				\
		dlclose(handle);					\
		return -ELIBACC;					\
	}								\
	memcpy(&got.f, &sym, sizeof(got.f));
	RDB_FUNCS(RDB_RESOLVE)
#undef RDB_RESOLVE
	got.handle = handle;
	*api = got;
	return 0;
}

static void rdb_load_once(void)
{
	rdb_rc = rdb_load_from(MEMOFS_ROCKSDB_SONAME, &rdb, rdb_err,
			       sizeof(rdb_err));
}

int rdb_load(char *err, size_t errlen)
{
	pthread_once(&rdb_once, rdb_load_once);
	if (rdb_rc && errlen)
		snprintf(err, errlen, "%s", rdb_err);
	return rdb_rc;
}
