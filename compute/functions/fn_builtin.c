/* fn_builtin.c -- the built-in column functions (see fn_builtin.h).
 *
 * All are typed (memofs.h): column is a float64 or int64 column as its
 * dataset column's kind says (text bytes for a text column:
 * reg_set_dtype_by_kind()), the reductions float64 scalars, so a
 * reduction reads its column's values in place (memofs_call_f64()), never
 * as text.  Without -o delay, column is a view of the dataset: a numeric
 * column is the dataset's own array, borrowed (memo_ctx_borrow(): never
 * copied, never stored), so a cold mean costs one pass over its column
 * and nothing else.  -o delay makes it a slow computation (the seed's
 * expensive step), whose result is stored like any other.
 *
 * Each compute callback runs on a worker thread and touches only its
 * context and its own allocations.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "functions/fn_builtin.h"
#include "functions/fn_table.h"
#include "data/ds.h"
#include "engine/memo.h"
#include "util/clock.h"

/* "2": typed results.  Version "1" keyed the same results as text; a new
 * version keeps an old cache's records from even being looked up (memo
 * would not serve them anyway: their type is not the declared one). */
#define FN_VERSION "2"
/* column "3": typed by its column's kind (int64, text) */
#define FN_COLUMN_VERSION "3"

/* Progress is reported every this many rows of a column copy, and in
 * FN_PROGRESS_STEPS steps of -o delay (which then counts as the first
 * half of the work). */
#define FN_PROGRESS_ROWS 65536
#define FN_PROGRESS_STEPS 20

/* -o delay, reporting progress as it goes.  Each step sleeps until its
 * own deadline from the start, so the steps' wake-up latencies do not add
 * up: the whole sleep overshoots by one wake-up, not FN_PROGRESS_STEPS
 * (the seed's figure 9 counts every millisecond).  0, or -ECANCELED. */
static int fn_column_delay(memofs_ctx *ctx, double delay)
{
	int64_t t0 = util_now_ns();

	for (int i = 0; i < FN_PROGRESS_STEPS; i++) {
		double left = delay * (i + 1) / FN_PROGRESS_STEPS -
			      (double)(util_now_ns() - t0) / 1e9;

		memofs_progress(ctx, 0.5 * i / FN_PROGRESS_STEPS);
		if (left > 0 && memo_sleep(ctx, left) != 0)
			return -ECANCELED;
	}
	return 0;
}

/* Writes column col's n values, a copy (stored: -o delay made it a
 * computation worth keeping), reporting progress as it goes. */
static int fn_column_copy(memofs_ctx *ctx, const ds *d, size_t col)
{
	size_t n = ds_nrows(d);
	int rc;

	for (size_t i = 0; i < n; i += FN_PROGRESS_ROWS) {
		size_t k = n - i < FN_PROGRESS_ROWS ? n - i : FN_PROGRESS_ROWS;

		memofs_progress(ctx, 0.5 + 0.5 * i / n);
		if (ds_col_kind(d, col) == DS_INT64)
			rc = memofs_write_i64(ctx, ds_column_int64(d, col) + i,
					      k);
		else
			rc = memofs_write_f64(ctx, ds_column(d, col) + i, k);
		if (rc)
			return rc;
	}
	return 0;
}

static int fn_column(memofs_ctx *ctx, const char *arg, void *udata)
{
	const double *delay = udata;
	const ds *d;
	size_t col;

	if (memofs_arg_column(ctx, arg, &col))
		return memofs_error(ctx, "no column '%s'", arg);
	if (*delay > 0 && fn_column_delay(ctx, *delay) != 0)
		return memofs_error(ctx, "cancelled (memofs is stopping)");
	d = memo_ctx_data(ctx);
	if (ds_col_kind(d, col) == DS_TEXT)
		return fn_table_column(ctx, col);
	if (*delay > 0)
		return fn_column_copy(ctx, d, col);
	if (ds_col_kind(d, col) == DS_INT64)
		return memo_ctx_borrow(ctx, ds_column_int64(d, col),
				       ds_column(d, col), ds_nrows(d));
	return memo_ctx_borrow(ctx, ds_column(d, col), NULL, ds_nrows(d));
}

double fn_sum(const double *v, size_t n)
{
	double s = 0.0, c = 0.0;

	for (size_t i = 0; i < n; i++) {
		double t = s + v[i];

		if (fabs(s) >= fabs(v[i]))
			c += (s - t) + v[i];
		else
			c += (v[i] - t) + s;
		s = t;
	}
	/* inf/nan make c nan; the plain sum is the right answer then. */
	return isfinite(s) ? s + c : s;
}

double fn_mean(const double *v, size_t n)
{
	return n ? fn_sum(v, n) / (double)n : NAN;
}

int fn_all_finite(const double *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isfinite(v[i]))
			return 0;
	return 1;
}

/* Variance with ddof, two passes for accuracy (see fn_builtin.h).  As
 * numpy: nan when a value is nan or infinite, or ddof >= n; inf when
 * finite values overflow (their mean, or the sum of their squares). */
double fn_var_ddof(const double *v, size_t n, double ddof)
{
	double m = fn_mean(v, n), s = 0.0, c = 0.0;

	if ((double)n - ddof <= 0)	/* empty, or ddof >= n */
		return NAN;
	if (!isfinite(m))		/* nan or inf in it, or an overflow */
		return fn_all_finite(v, n) ? INFINITY : NAN;
	for (size_t i = 0; i < n; i++) {
		double d = (v[i] - m) * (v[i] - m);
		double t = s + d;

		c += (s >= d) ? (s - t) + d : (d - t) + s;
		s = t;
	}
	/* An overflow makes c nan: the plain sum (inf) is the answer. */
	return (isfinite(s) ? s + c : s) / ((double)n - ddof);
}

double fn_var(const double *v, size_t n)
{
	return fn_var_ddof(v, n, 0);
}

static int fn_has_nan(const double *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (isnan(v[i]))
			return 1;
	return 0;
}

double fn_extreme(const double *v, size_t n, int want_max)
{
	double e = v[0];

	if (fn_has_nan(v, n))
		return NAN;
	for (size_t i = 1; i < n; i++)
		if (want_max ? v[i] > e : v[i] < e)
			e = v[i];
	return e;
}

static int fn_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Like numpy.median: the middle value, or the mean of the two middle
 * values; nan when any value is nan.  Sorts a copy: 0 and *out, or
 * -ENOMEM. */
int fn_median(const double *v, size_t n, double *out)
{
	double *s;

	if (!n || fn_has_nan(v, n)) {
		*out = NAN;
		return 0;
	}
	s = malloc(n * sizeof(*s));
	if (!s)
		return -ENOMEM;
	memcpy(s, v, n * sizeof(*s));
	qsort(s, n, sizeof(*s), fn_cmp_double);
	*out = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2.0;
	free(s);
	return 0;
}

enum fn_reduction {
	FN_SUM, FN_MEAN, FN_VAR, FN_STD, FN_MIN, FN_MAX, FN_MEDIAN,
};

/* The udata of each reduction points at one of these. */
static const enum fn_reduction fn_reductions[] = {
	FN_SUM, FN_MEAN, FN_VAR, FN_STD, FN_MIN, FN_MAX, FN_MEDIAN,
};

static int fn_reduce(memofs_ctx *ctx, const char *arg, void *udata)
{
	enum fn_reduction what = *(const enum fn_reduction *)udata;
	const double *v = NULL;
	double x = 0;
	size_t n = 0;
	int rc = memofs_call_f64(ctx, "column", arg, &v, &n);

	if (rc)
		return memofs_error(ctx, "column(%s): %s", arg,
				    rc == -EIO ? "failed" : strerror(-rc));
	if (!n && (what == FN_MIN || what == FN_MAX))
		return memofs_error(ctx, "empty column");
	switch (what) {
	case FN_SUM: x = fn_sum(v, n); break;
	case FN_MEAN: x = fn_mean(v, n); break;
	case FN_VAR: x = fn_var_ddof(v, n, 0); break;
	case FN_STD: x = sqrt(fn_var_ddof(v, n, 0)); break;
	case FN_MIN: x = fn_extreme(v, n, 0); break;
	case FN_MAX: x = fn_extreme(v, n, 1); break;
	case FN_MEDIAN:
		if (fn_median(v, n, &x))
			return memofs_error(ctx, "out of memory");
		break;
	}
	return memofs_write_double(ctx, x);
}

static int fn_add(reg *r, const char *name, const char *version,
		  const char *description, enum memofs_args args,
		  memofs_compute_fn compute, void *udata,
		  enum memofs_dtype dtype, enum memofs_shape shape)
{
	struct memofs_function def = {
		.name = name,
		.version = version,
		.description = description,
		.args = args,
		.compute = compute,
		.udata = udata,
		.dtype = dtype,
		.shape = shape,
	};

	return reg_add(r, &def, NULL);
}

int fn_register_builtins(reg *r, const double *delay)
{
	static const struct {
		const char *name;
		const char *description;
	} red[] = {
		[FN_SUM] = { "sum", "sum of the column (compensated)" },
		[FN_MEAN] = { "mean", "arithmetic mean of the column" },
		[FN_VAR] = { "var", "population variance (ddof 0)" },
		[FN_STD] = { "std", "population standard deviation (ddof 0)" },
		[FN_MIN] = { "min", "smallest value (nan if any is nan)" },
		[FN_MAX] = { "max", "largest value (nan if any is nan)" },
		[FN_MEDIAN] = { "median", "median, as numpy.median" },
	};
	int rc = fn_add(r, "column", FN_COLUMN_VERSION,
			"the column's values, one per line",
			MEMOFS_ARGS_COLUMNS, fn_column, (void *)delay,
			MEMOFS_FLOAT64, MEMOFS_SHAPE_COLUMN);

	if (rc == 0)
		rc = reg_set_dtype_by_kind(r, "column");
	if (rc == 0)
		rc = reg_set_dataset_view(r, "column", delay);
	for (size_t i = 0; rc == 0 && i < sizeof(red) / sizeof(red[0]); i++)
		rc = fn_add(r, red[i].name, FN_VERSION, red[i].description,
			    MEMOFS_ARGS_NUMERIC, fn_reduce,
			    (void *)&fn_reductions[i], MEMOFS_FLOAT64,
			    MEMOFS_SHAPE_SCALAR);
	return rc ? rc : fn_register_table(r);
}
