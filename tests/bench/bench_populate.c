/* bench_populate.c -- fills a persistent memofs cache for the scale figure.
 *
 *   bench_populate DATA CACHEDIR
 *
 * DATA is a dataset of one row (a .npy of shape (1, N) or a CSV of one
 * line), so that every built-in's result is known without computing it:
 * column, sum, mean, min, max and median of a one-value column are that
 * value, var and std are 0.0, count is 1.  For every column and every
 * built-in function, it stores that result in CACHEDIR through the store
 * API under exactly the key memofs uses (key_make() of the function's
 * registered name and version, the canonical argument "colN" and the
 * dataset's digest), so `memofs -o cache=CACHEDIR DATA MNT` serves all of
 * them without computing.  Prints "records N secs S" and exits 0; 1 on an
 * error.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "data/ds.h"
#include "engine/result.h"
#include "functions/fn_builtin.h"
#include "engine/key.h"
#include "functions/reg.h"
#include "engine/store.h"

/* The result of fn for a one-row column holding v, as memofs stores it
 * (typed: engine/result.h): its .npy bytes into out, and its record tag
 * into *tag.  Returns the length. */
static size_t one_row_result(const reg_fn *fn, double v, uint8_t *out,
			     uint32_t *tag)
{
	enum memofs_dtype dtype = reg_fn_dtype(fn);
	unsigned ndim = reg_fn_shape(fn) == MEMOFS_SHAPE_SCALAR ? 0 : 1;
	int64_t one = 1;

	if (strcmp(reg_fn_name(fn), "var") == 0 ||
	    strcmp(reg_fn_name(fn), "std") == 0)
		v = 0.0;
	memo_npy_header(out, dtype, ndim, 1);
	if (dtype == MEMOFS_INT64)
		memcpy(out + MEMO_NPY_HDR, &one, sizeof(one));
	else
		memcpy(out + MEMO_NPY_HDR, &v, sizeof(v));
	*tag = (uint32_t)dtype | ndim << 8;
	return memo_npy_size(1);
}

static int known_function(const char *fn)
{
	static const char *const known[] = { "column", "sum", "mean", "var",
		"std", "min", "max", "median", "count" };

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(fn, known[i]) == 0)
			return 1;
	return 0;
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) +
	       (t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Stores every (function, column) result of d. */
static int populate(const reg *r, const ds *d, store *st, size_t *records)
{
	char arg[32];
	uint8_t val[MEMO_NPY_HDR + 8];
	uint32_t tag;
	uint8_t key[KEY_LEN];

	for (size_t j = 0; j < ds_ncols(d); j++) {
		double v = ds_column(d, j)[0];

		snprintf(arg, sizeof(arg), "col%zu", j);
		for (size_t i = 0; i < reg_count(r); i++) {
			const reg_fn *fn = reg_at(r, i);
			size_t n = one_row_result(fn, v, val, &tag);
			int rc;

			key_make(key, reg_fn_name(fn), reg_fn_version(fn), arg,
				 ds_digest(d), DS_DIGEST_LEN);
			rc = store_put(st, key, val, n, 1000, tag);
			if (rc) {
				fprintf(stderr, "bench_populate: put: %s\n",
					strerror(-rc));
				return 1;
			}
			(*records)++;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const double no_delay = 0.0;
	char err[DS_ERR_MAX];
	struct timespec t0;
	size_t records = 0;
	store *st = NULL;
	reg *r = NULL;
	ds *d = NULL;
	int rc = 1;

	if (argc != 3) {
		fprintf(stderr, "usage: bench_populate DATA CACHEDIR\n");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (ds_load(argv[1], &d, err, sizeof(err))) {
		fprintf(stderr, "bench_populate: %s\n", err);
		return 1;
	}
	if (ds_nrows(d) != 1) {
		fprintf(stderr, "bench_populate: %s: %zu rows, need 1\n",
			argv[1], ds_nrows(d));
		goto out;
	}
	if (reg_new(&r) || fn_register_builtins(r, &no_delay) ||
	    reg_bind_dataset(r, d)) {
		fprintf(stderr, "bench_populate: cannot build the registry\n");
		goto out;
	}
	for (size_t i = 0; i < reg_count(r); i++)
		if (!known_function(reg_fn_name(reg_at(r, i)))) {
			fprintf(stderr, "bench_populate: unknown built-in %s\n",
				reg_fn_name(reg_at(r, i)));
			goto out;
		}
	rc = store_open(argv[2], &st);
	if (rc) {
		fprintf(stderr, "bench_populate: %s: %s\n", argv[2],
			strerror(-rc));
		rc = 1;
		goto out;
	}
	rc = populate(r, d, st, &records);
	store_close(st);
	if (rc == 0)
		printf("records %zu secs %.3f\n", records, seconds_since(&t0));
out:
	reg_free(r);
	ds_free(d);
	return rc;
}
