/* fillcache.c -- writes a cached result for every (function, column) of a
 * dataset into a store, with exactly the keys memofs computes, so that a
 * mount with -o cache=DIR serves them all without computing.
 *
 *   fillcache DATA CACHE_DIR     prints the number of records written
 *
 * The values are the function names and columns, not real results: the
 * benchmark measures lookups, not numbers.
 */
#include <stdio.h>
#include <string.h>

#include "ds.h"
#include "fn_builtin.h"
#include "key.h"
#include "log.h"
#include "reg.h"
#include "store.h"

int main(int argc, char **argv)
{
	char err[DS_ERR_MAX], val[64];
	uint8_t key[KEY_LEN];
	double delay = 0;
	ds *d = NULL;
	reg *r = NULL;
	store *st = NULL;
	size_t n = 0;

	if (argc != 3) {
		fprintf(stderr, "usage: fillcache DATA CACHE_DIR\n");
		return 2;
	}
	log_init(0, LOG_LVL_WARN);
	if (ds_load(argv[1], &d, err, sizeof(err))) {
		fprintf(stderr, "fillcache: %s\n", err);
		return 1;
	}
	if (reg_new(&r) || fn_register_builtins(r, &delay) ||
	    store_open(argv[2], &st)) {
		fprintf(stderr, "fillcache: cannot set up\n");
		return 1;
	}
	for (size_t f = 0; f < reg_count(r); f++) {
		const reg_fn *fn = reg_at(r, f);

		for (size_t c = 0; c < ds_ncols(d); c++) {
			char arg[32];
			int len;

			snprintf(arg, sizeof(arg), "col%zu", c);
			key_make(key, reg_fn_name(fn), reg_fn_version(fn), arg,
				 ds_digest(d), DS_DIGEST_LEN);
			len = snprintf(val, sizeof(val), "%s %s\n",
				       reg_fn_name(fn), arg);
			if (store_put(st, key, val, (size_t)len, 1000)) {
				fprintf(stderr, "fillcache: put failed\n");
				return 1;
			}
			n++;
		}
	}
	printf("%zu\n", n);
	store_close(st);
	reg_free(r);
	ds_free(d);
	return 0;
}
