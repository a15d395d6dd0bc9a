/* fn_table.c -- the built-in functions for real-world tables (see
 * fn_table.h).
 *
 * Each compute callback runs on a worker thread and touches only its
 * context, the immutable dataset and its own allocations.  The nan*
 * reductions read their column through the memo layer
 * (memofs_call_doubles("column")), as fn_builtin.c's do; count, size,
 * nunique and value_counts read the dataset directly, as they work on every
 * kind of column and count or sort the values themselves.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "functions/fn_table.h"
#include "functions/fn_builtin.h"
#include "data/ds.h"
#include "data/fmt.h"
#include "engine/memo.h"

#define FN_TABLE_VERSION "1"

/* ---- Printing values --------------------------------------------------- */

/* Writes s escaped (fn_table.h), without a newline. */
static int fn_put_text(memofs_ctx *ctx, const char *s)
{
	const char *run = s;
	int rc = 0;

	for (; *s && rc == 0; s++) {
		const char *esc = *s == '\\' ? "\\\\" : *s == '\n' ? "\\n"
				  : *s == '\r' ? "\\r" : *s == '\t' ? "\\t"
				  : NULL;

		if (!esc)
			continue;
		rc = memofs_write(ctx, run, (size_t)(s - run));
		if (rc == 0)
			rc = memofs_write(ctx, esc, 2);
		run = s + 1;
	}
	return rc ? rc : memofs_write(ctx, run, (size_t)(s - run));
}

/* Writes row i of column col as column/NAME does, without a newline. */
static int fn_put_value(memofs_ctx *ctx, const ds *d, size_t col, size_t i)
{
	char buf[FMT_DOUBLE_MAX + 1];
	const char *s;

	switch (ds_col_kind(d, col)) {
	case DS_INT64:
		return memofs_printf(ctx, "%" PRId64,
				     ds_column_int64(d, col)[i]);
	case DS_TEXT:
		s = ds_text(d, col, i);
		return s ? fn_put_text(ctx, s) : 0;
	default:
		return memofs_write(ctx, buf,
				    fmt_double(buf, ds_column(d, col)[i]));
	}
}

int fn_table_column(memofs_ctx *ctx, size_t col)
{
	const ds *d = memo_ctx_data(ctx);
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < ds_nrows(d); i++) {
		rc = fn_put_value(ctx, d, col, i);
		if (rc == 0)
			rc = memofs_write(ctx, "\n", 1);
	}
	return rc;
}

/* ---- nan* reductions --------------------------------------------------- */

enum fn_nan { FN_NANSUM, FN_NANMEAN, FN_NANVAR, FN_NANSTD, FN_NANMIN,
	      FN_NANMAX, FN_NANMEDIAN };

static const enum fn_nan fn_nans[] = {
	FN_NANSUM, FN_NANMEAN, FN_NANVAR, FN_NANSTD, FN_NANMIN, FN_NANMAX,
	FN_NANMEDIAN,
};

size_t fn_drop_nan(double *v, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		if (!isnan(v[i]))
			v[k++] = v[i];
	return k;
}

/* The reduction of v[0..n) (no NaN in it) into *x: 0, or -ENOMEM. */
static int fn_nan_reduce(enum fn_nan what, const double *v, size_t n,
			 double *x)
{
	if (n == 0) {
		*x = what == FN_NANSUM ? 0.0 : NAN;
		return 0;
	}
	switch (what) {
	case FN_NANSUM: *x = fn_sum(v, n); break;
	case FN_NANMEAN: *x = fn_mean(v, n); break;
	case FN_NANVAR: *x = fn_var(v, n); break;
	case FN_NANSTD: *x = sqrt(fn_var(v, n)); break;
	case FN_NANMIN: *x = fn_extreme(v, n, 0); break;
	case FN_NANMAX: *x = fn_extreme(v, n, 1); break;
	default: return fn_median(v, n, x);
	}
	return 0;
}

static int fn_nan(memofs_ctx *ctx, const char *arg, void *udata)
{
	enum fn_nan what = *(const enum fn_nan *)udata;
	double *v = NULL, x;
	size_t n = 0;
	int rc = memofs_call_doubles(ctx, "column", arg, &v, &n);

	if (rc)
		return memofs_error(ctx, "column(%s): %s", arg,
				    rc == -EIO ? "failed" : strerror(-rc));
	rc = fn_nan_reduce(what, v, fn_drop_nan(v, n), &x);
	free(v);
	return rc ? memofs_error(ctx, "out of memory")
		  : memofs_write_double(ctx, x);
}

/* ---- Counting ---------------------------------------------------------- */

/* Writes n as the one value of an int64 scalar. */
static int fn_put_count(memofs_ctx *ctx, size_t n)
{
	int64_t v = (int64_t)n;

	return memofs_write_i64(ctx, &v, 1);
}

static int fn_count(memofs_ctx *ctx, const char *arg, void *udata)
{
	size_t col;

	(void)udata;
	if (memofs_arg_column(ctx, arg, &col))
		return memofs_error(ctx, "no column '%s'", arg);
	return fn_put_count(ctx, ds_count(memo_ctx_data(ctx), col));
}

static int fn_size(memofs_ctx *ctx, const char *arg, void *udata)
{
	size_t col;

	(void)udata;
	if (memofs_arg_column(ctx, arg, &col))
		return memofs_error(ctx, "no column '%s'", arg);
	return fn_put_count(ctx, memofs_nrows(ctx));
}

/* A distinct value: its first row and how many rows hold it. */
struct fn_group {
	size_t first;
	size_t count;
};

/* Sorting rows by value, ties by row: the column being sorted. */
struct fn_sort {
	const ds *d;
	size_t col;
};

/* Compares rows a and b of the column by value (never NaN or missing
 * here). */
static int fn_cmp_values(const struct fn_sort *s, size_t a, size_t b)
{
	const ds *d = s->d;

	if (ds_col_kind(d, s->col) == DS_INT64) {
		int64_t x = ds_column_int64(d, s->col)[a];
		int64_t y = ds_column_int64(d, s->col)[b];

		return (x > y) - (x < y);
	}
	if (ds_col_kind(d, s->col) == DS_TEXT)
		return strcmp(ds_text(d, s->col, a), ds_text(d, s->col, b));
	{
		double x = ds_column(d, s->col)[a];
		double y = ds_column(d, s->col)[b];

		return (x > y) - (x < y);
	}
}

/* qsort_r's order: by value, then by row. */
static int fn_cmp_rows(const void *pa, const void *pb, void *arg)
{
	size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
	int c = fn_cmp_values(arg, a, b);

	return c ? c : (a > b) - (a < b);
}

static int fn_cmp_groups(const void *pa, const void *pb)
{
	const struct fn_group *a = pa, *b = pb;

	if (a->count != b->count)
		return a->count < b->count ? 1 : -1;
	return (a->first > b->first) - (a->first < b->first);
}

static int fn_missing(const ds *d, size_t col, size_t i)
{
	if (ds_col_kind(d, col) == DS_TEXT)
		return ds_text(d, col, i) == NULL;
	return isnan(ds_column(d, col)[i]);
}

/* The distinct values of column col that are not missing, most frequent
 * first (ties by first row).  0 with *out (caller frees) and *n, or
 * -ENOMEM. */
static int fn_groups(const ds *d, size_t col, struct fn_group **out,
		     size_t *n)
{
	struct fn_sort s = { d, col };
	size_t rows = 0, k = 0, *idx;
	struct fn_group *g;

	idx = malloc((ds_nrows(d) ? ds_nrows(d) : 1) * sizeof(*idx));
	if (!idx)
		return -ENOMEM;
	for (size_t i = 0; i < ds_nrows(d); i++)
		if (!fn_missing(d, col, i))
			idx[rows++] = i;
	qsort_r(idx, rows, sizeof(*idx), fn_cmp_rows, &s);
	g = malloc((rows ? rows : 1) * sizeof(*g));
	if (!g) {
		free(idx);
		return -ENOMEM;
	}
	for (size_t i = 0; i < rows; i++) {
		if (k && fn_cmp_values(&s, idx[i], g[k - 1].first) == 0) {
			g[k - 1].count++;
			continue;
		}
		g[k++] = (struct fn_group){ idx[i], 1 };
	}
	free(idx);
	qsort(g, k, sizeof(*g), fn_cmp_groups);
	*out = g;
	*n = k;
	return 0;
}

/* What fn_distinct() prints: its udata points at one of these. */
enum fn_distinct { FN_NUNIQUE, FN_VALUE_COUNTS };
static const enum fn_distinct fn_distincts[] = { FN_NUNIQUE,
						 FN_VALUE_COUNTS };

/* nunique (how many distinct values) or value_counts (each and its
 * count). */
static int fn_distinct(memofs_ctx *ctx, const char *arg, void *udata)
{
	enum fn_distinct what = *(const enum fn_distinct *)udata;
	const ds *d = memo_ctx_data(ctx);
	struct fn_group *g = NULL;
	size_t col, n = 0;
	int rc;

	if (memofs_arg_column(ctx, arg, &col))
		return memofs_error(ctx, "no column '%s'", arg);
	rc = fn_groups(d, col, &g, &n);
	if (rc == 0 && what == FN_NUNIQUE)
		rc = fn_put_count(ctx, n);
	for (size_t i = 0; rc == 0 && what == FN_VALUE_COUNTS && i < n; i++) {
		rc = fn_put_value(ctx, d, col, g[i].first);
		if (rc == 0)
			rc = memofs_printf(ctx, "\t%zu\n", g[i].count);
	}
	free(g);
	return rc;
}

/* ---- Registration ------------------------------------------------------ */

static int fn_table_add(reg *r, const char *name, const char *description,
			enum memofs_args args, memofs_compute_fn compute,
			const void *udata, enum memofs_dtype dtype)
{
	struct memofs_function def = {
		.name = name,
		.version = FN_TABLE_VERSION,
		.description = description,
		.args = args,
		.compute = compute,
		.udata = (void *)(uintptr_t)udata,
		.dtype = dtype,
		.shape = MEMOFS_SHAPE_SCALAR,	/* (none for bytes) */
	};

	if (dtype == MEMOFS_BYTES)
		def.shape = MEMOFS_SHAPE_VECTOR;

	return reg_add(r, &def, NULL);
}

int fn_register_table(reg *r)
{
	static const struct {
		const char *name;
		const char *description;
	} nan[] = {
		[FN_NANSUM] = { "nansum", "sum, missing values skipped" },
		[FN_NANMEAN] = { "nanmean", "mean, missing values skipped" },
		[FN_NANVAR] = { "nanvar", "variance (ddof 0), missing values "
					  "skipped" },
		[FN_NANSTD] = { "nanstd", "standard deviation (ddof 0), "
					  "missing values skipped" },
		[FN_NANMIN] = { "nanmin", "smallest value, missing values "
					  "skipped" },
		[FN_NANMAX] = { "nanmax", "largest value, missing values "
					  "skipped" },
		[FN_NANMEDIAN] = { "nanmedian", "median, missing values "
						"skipped" },
	};
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < sizeof(nan) / sizeof(nan[0]); i++)
		rc = fn_table_add(r, nan[i].name, nan[i].description,
				  MEMOFS_ARGS_NUMERIC, fn_nan, &fn_nans[i],
				  MEMOFS_FLOAT64);
	if (rc == 0)
		rc = fn_table_add(r, "count", "values that are not missing",
				  MEMOFS_ARGS_COLUMNS, fn_count, NULL,
				  MEMOFS_INT64);
	if (rc == 0)
		rc = fn_table_add(r, "size", "rows, missing values included",
				  MEMOFS_ARGS_COLUMNS, fn_size, NULL,
				  MEMOFS_INT64);
	if (rc == 0)
		rc = fn_table_add(r, "nunique", "distinct values that are not "
				  "missing", MEMOFS_ARGS_COLUMNS, fn_distinct,
				  &fn_distincts[FN_NUNIQUE], MEMOFS_INT64);
	if (rc == 0)
		rc = fn_table_add(r, "value_counts", "each distinct value and "
				  "its count, most frequent first",
				  MEMOFS_ARGS_COLUMNS, fn_distinct,
				  &fn_distincts[FN_VALUE_COUNTS], MEMOFS_BYTES);
	return rc;
}
