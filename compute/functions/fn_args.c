/* fn_args.c -- the built-in functions of several arguments (see fn_args.h).
 *
 * Each compute callback runs on a worker thread and touches only its
 * context and its own allocations.  The numeric kernels follow numpy
 * 1.24's and pandas 1.5's code step by step (same operations, same
 * order), so that their results match bit for bit where those are
 * plain loops (quantile, percentile, histogram, corr); cov matches
 * pandas' nancorr, which pandas uses when a value is missing, and
 * numpy.cov (BLAS) to about 1e-15 otherwise.
 */
#include <errno.h>
#include <stdint.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "functions/fn_args.h"
#include "functions/fn_builtin.h"
#include "functions/fn_table.h"
#include "data/ds.h"
#include "engine/memo.h"

#define FN_ARGS_VERSION "1"
#define FN_ARGS_BINS_MAX 1000000

/* ---- kernels ------------------------------------------------------------ */

static int fn_args_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* numpy's _lerp(): a + (b - a) * t, or from b when t >= 0.5. */
static double fn_lerp(double a, double b, double t)
{
	double diff = b - a;

	return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

double fn_quantile(double *v, size_t n, double q)
{
	double virt = (double)(n - 1) * q, gamma;
	size_t prev, next;

	for (size_t i = 0; i < n; i++)
		if (isnan(v[i]))
			return NAN;
	qsort(v, n, sizeof(*v), fn_args_cmp);
	/* numpy's _get_indexes(): at or past the last index both neighbours
	 * are the last value, and gamma is taken from index -1. */
	if (virt >= (double)(n - 1)) {
		prev = next = n - 1;
		gamma = virt + 1;
	} else {
		prev = (size_t)floor(virt);
		next = prev + 1;
		gamma = virt - (double)prev;
	}
	return fn_lerp(v[prev], v[next], gamma);
}

int fn_histogram(const double *v, size_t n, size_t bins, size_t *counts)
{
	double first = 0, last = 1, norm, delta, step, *edges;

	for (size_t i = 0; i < n; i++) {
		if (!isfinite(v[i]))
			return -EDOM;
		if (i == 0 || v[i] < first)
			first = v[i];
		if (i == 0 || v[i] > last)
			last = v[i];
	}
	if (first == last) {
		first -= 0.5;
		last += 0.5;
	}
	/* A range whose width overflows (values near +-DBL_MAX), or so
	 * narrow that bins over it overflow (0 and 5e-324), or that the 0.5
	 * did not widen (a constant near DBL_MAX): each value's bin would be
	 * (size_t)NaN, undefined behaviour; numpy fails there too. */
	norm = (double)bins / (last - first);
	if (!isfinite(last - first) || !isfinite(norm) || norm <= 0)
		return -ERANGE;
	edges = malloc((bins + 1) * sizeof(*edges));
	if (!edges)
		return -ENOMEM;
	/* numpy.linspace(first, last, bins + 1). */
	delta = last - first;
	step = delta / (double)bins;
	for (size_t i = 0; i <= bins; i++)
		edges[i] = (step == 0 ? (double)i / (double)bins * delta
				      : (double)i * step) + first;
	edges[bins] = last;
	memset(counts, 0, bins * sizeof(*counts));
	for (size_t i = 0; i < n; i++) {
		double x = v[i];
		size_t k = (size_t)((x - first) * norm);

		if (k == bins)
			k--;
		if (x < edges[k])
			k--;
		else if (x >= edges[k + 1] && k != bins - 1)
			k++;
		counts[k]++;
	}
	free(edges);
	return 0;
}

double fn_nancorr(const double *x, const double *y, size_t n, int cov)
{
	double nobs = 0, ssqdmx = 0, ssqdmy = 0, covxy = 0, meanx = 0,
	       meany = 0, divisor;

	for (size_t i = 0; i < n; i++) {
		double vx = x[i], vy = y[i], dx, dy;

		if (!isfinite(vx) || !isfinite(vy))
			continue;
		nobs += 1;
		dx = vx - meanx;
		dy = vy - meany;
		meanx += 1. / nobs * dx;
		meany += 1. / nobs * dy;
		ssqdmx += (vx - meanx) * dx;
		ssqdmy += (vy - meany) * dy;
		covxy += (vx - meanx) * dy;
	}
	if (nobs < 1)
		return NAN;
	divisor = cov ? nobs - 1.0 : sqrt(ssqdmx * ssqdmy);
	return divisor != 0 ? covxy / divisor : NAN;
}

/* ---- callbacks ---------------------------------------------------------- */

/* The values of column argument i, through column/colN.  0, or the
 * error already reported (memofs_error()). */
static int fn_args_column(memofs_ctx *ctx, size_t i, double **v, size_t *n)
{
	const char *col = memofs_arg(ctx, i);
	int rc = memofs_call_doubles(ctx, "column", col, v, n);

	if (rc)
		return memofs_error(ctx, "column(%s): %s", col,
				    rc == -EIO ? "failed" : strerror(-rc));
	return 0;
}

/* Argument 0 as a number into *x and the values of column argument 1,
 * the shape of every function here but corr and cov.  0, or the error
 * already reported. */
static int fn_args_number_column(memofs_ctx *ctx, double *x, double **v,
				 size_t *n)
{
	if (memofs_arg_double(ctx, 0, x))
		return memofs_error(ctx, "bad %s", memofs_arg(ctx, 0));
	return fn_args_column(ctx, 1, v, n);
}

enum fn_args_quantile { FN_QUANTILE, FN_PERCENTILE };

static int fn_args_quantile(memofs_ctx *ctx, const char *arg, void *udata)
{
	enum fn_args_quantile what = *(const enum fn_args_quantile *)udata;
	double q, *v = NULL, x;
	size_t n = 0;
	int rc;

	(void)arg;
	rc = fn_args_number_column(ctx, &q, &v, &n);
	if (rc)
		return rc;
	if (n == 0) {
		free(v);
		return memofs_error(ctx, "empty column");
	}
	/* numpy.percentile divides by 100, then takes that quantile. */
	x = fn_quantile(v, n, what == FN_PERCENTILE ? q / 100 : q);
	free(v);
	return memofs_write_double(ctx, x);
}

/* Does any numeric column of the table miss a value?  DataFrame.cov()
 * decides on that: with none, it calls numpy.cov over every row, where
 * one inf makes the covariance nan; with one, pandas' nancorr over the
 * rows where both values are finite. */
static int fn_args_table_has_missing(const ds *d)
{
	for (size_t j = 0; j < ds_ncols(d); j++)
		if (ds_col_kind(d, j) != DS_TEXT &&
		    ds_count(d, j) < ds_nrows(d))
			return 1;
	return 0;
}

static int fn_args_corr(memofs_ctx *ctx, const char *arg, void *udata)
{
	int cov = *(const int *)udata;
	double *a = NULL, *b = NULL, x;
	size_t na = 0, nb = 0, ca, cb;
	int rc;

	(void)arg;
	if (memofs_arg_column_index(ctx, 0, &ca) ||
	    memofs_arg_column_index(ctx, 1, &cb))
		return memofs_error(ctx, "bad column");
	rc = fn_args_column(ctx, 0, &a, &na);
	if (rc == 0)
		rc = fn_args_column(ctx, 1, &b, &nb);
	if (rc == 0 && na != nb)
		rc = memofs_error(ctx, "columns of %zu and %zu values", na, nb);
	if (rc) {
		free(a);
		free(b);
		return rc;
	}
	/* DataFrame.corr() computes each pair once, the column of the
	 * higher index as x: so both orders give its bits. */
	x = ca >= cb ? fn_nancorr(a, b, na, cov) : fn_nancorr(b, a, na, cov);
	if (cov && !fn_args_table_has_missing(memo_ctx_data(ctx)) &&
	    (!fn_all_finite(a, na) || !fn_all_finite(b, nb)))
		x = NAN;	/* numpy.cov over an inf */
	free(a);
	free(b);
	return memofs_write_double(ctx, x);
}

static int fn_args_histogram(memofs_ctx *ctx, const char *arg, void *udata)
{
	double bins, *v = NULL;
	size_t n = 0, *counts;
	int rc;

	(void)arg;
	(void)udata;
	rc = fn_args_number_column(ctx, &bins, &v, &n);
	if (rc)
		return rc;
	counts = malloc((size_t)bins * sizeof(*counts));
	rc = counts ? fn_histogram(v, n, (size_t)bins, counts) : -ENOMEM;
	free(v);
	if (rc == -EDOM)
		rc = memofs_error(ctx, "a value is nan or inf (numpy.histogram "
				  "refuses such a range)");
	if (rc == -ERANGE)
		rc = memofs_error(ctx, "the range of the values is too wide or "
				  "too narrow for %zu equal bins in doubles "
				  "(numpy.histogram fails on it too)",
				  (size_t)bins);
	if (rc == 0) {		/* numpy's counts are int64 */
		int64_t *c = malloc((size_t)bins * sizeof(*c));

		for (size_t i = 0; c && i < (size_t)bins; i++)
			c[i] = (int64_t)counts[i];
		rc = c ? memofs_write_i64(ctx, c, (size_t)bins) : -ENOMEM;
		free(c);
	}
	free(counts);
	return rc;
}

enum fn_args_var { FN_VAR_DDOF, FN_STD_DDOF, FN_NANVAR_DDOF, FN_NANSTD_DDOF };

static int fn_args_var(memofs_ctx *ctx, const char *arg, void *udata)
{
	enum fn_args_var what = *(const enum fn_args_var *)udata;
	double ddof, *v = NULL, x;
	size_t n = 0;
	int rc;

	(void)arg;
	rc = fn_args_number_column(ctx, &ddof, &v, &n);
	if (rc)
		return rc;
	if (what == FN_NANVAR_DDOF || what == FN_NANSTD_DDOF)
		n = fn_drop_nan(v, n);	/* numpy's nanvar, pandas' var */
	x = fn_var_ddof(v, n, ddof);
	free(v);
	return memofs_write_double(ctx, what == FN_STD_DDOF ||
					what == FN_NANSTD_DDOF ? sqrt(x) : x);
}

enum fn_args_ends { FN_HEAD, FN_TAIL };

static int fn_args_ends(memofs_ctx *ctx, const char *arg, void *udata)
{
	enum fn_args_ends what = *(const enum fn_args_ends *)udata;
	const double *v;
	const char *col = memofs_arg(ctx, 1);
	double want;
	size_t n, k;
	int rc;

	(void)arg;
	if (memofs_arg_double(ctx, 0, &want))
		return memofs_error(ctx, "bad count");
	rc = memofs_call_f64(ctx, "column", col, &v, &n);
	if (rc)
		return memofs_error(ctx, "column(%s): %s", col,
				    rc == -EIO ? "failed" : strerror(-rc));
	k = (double)n <= want ? n : (size_t)want;
	return memofs_write_f64(ctx, what == FN_HEAD ? v : v + (n - k), k);
}

/* ---- registration ------------------------------------------------------- */

static const char *const fn_args_q[] = {
	"0", "0.01", "0.05", "0.1", "0.25", "0.5", "0.75", "0.9", "0.95",
	"0.99", "1", NULL,
};
static const char *const fn_args_p[] = {
	"0", "1", "5", "10", "25", "50", "75", "90", "95", "99", "100", NULL,
};
static const char *const fn_args_bins[] = { "10", "20", "50", "100", NULL };
static const char *const fn_args_ddof[] = { "0", "1", NULL };
static const char *const fn_args_n[] = { "5", "10", "100", NULL };

int fn_args_register(reg *r)
{
	static const enum fn_args_quantile quantile = FN_QUANTILE,
					   percentile = FN_PERCENTILE;
	static const int corr = 0, cov = 1;
	static const enum fn_args_var var = FN_VAR_DDOF, std = FN_STD_DDOF,
				      nanvar = FN_NANVAR_DDOF,
				      nanstd = FN_NANSTD_DDOF;
	static const enum fn_args_ends head = FN_HEAD, tail = FN_TAIL;
#define FN_COL { .name = "COLUMN", .kind = MEMOFS_ARGS_NUMERIC }
#define FN_SCALAR .dtype = MEMOFS_FLOAT64, .shape = MEMOFS_SHAPE_SCALAR
	static const struct memofs_arg q_col[] = {
		{ .name = "Q", .kind = MEMOFS_ARGS_REAL, .list = fn_args_q,
		  .min = 0, .max = 1 }, FN_COL,
	};
	static const struct memofs_arg p_col[] = {
		{ .name = "P", .kind = MEMOFS_ARGS_REAL, .list = fn_args_p,
		  .min = 0, .max = 100 }, FN_COL,
	};
	static const struct memofs_arg col_col[] = { FN_COL, FN_COL };
	static const struct memofs_arg bins_col[] = {
		{ .name = "BINS", .kind = MEMOFS_ARGS_INTEGER,
		  .list = fn_args_bins, .min = 1, .max = FN_ARGS_BINS_MAX },
		FN_COL,
	};
	static const struct memofs_arg ddof_col[] = {
		{ .name = "DDOF", .kind = MEMOFS_ARGS_INTEGER,
		  .list = fn_args_ddof, .min = 0, .max = 1000000 }, FN_COL,
	};
	static const struct memofs_arg n_col[] = {
		{ .name = "N", .kind = MEMOFS_ARGS_INTEGER, .list = fn_args_n,
		  .min = 0, .max = 9007199254740992.0 }, FN_COL,
	};
#undef FN_COL
	const struct memofs_function defs[] = {
		{ .name = "quantile", .description = "numpy.quantile(col, Q), "
		  "linear method", .compute = fn_args_quantile,
		  .udata = (void *)&quantile, FN_SCALAR, MEMOFS_ARGV(q_col) },
		{ .name = "percentile", .description = "numpy.percentile(col, "
		  "P)", .compute = fn_args_quantile,
		  .udata = (void *)&percentile, FN_SCALAR,
		  MEMOFS_ARGV(p_col) },
		{ .name = "corr", .description = "Pearson correlation of the "
		  "rows where both are finite (pandas' DataFrame.corr)",
		  .compute = fn_args_corr, .udata = (void *)&corr, FN_SCALAR,
		  MEMOFS_ARGV(col_col) },
		{ .name = "cov", .description = "covariance (ddof 1) of the "
		  "rows where both are finite (pandas' DataFrame.cov)",
		  .compute = fn_args_corr, .udata = (void *)&cov, FN_SCALAR,
		  MEMOFS_ARGV(col_col) },
		{ .name = "histogram", .description = "numpy.histogram(col, "
		  "BINS) counts, one per line", .compute = fn_args_histogram,
		  .dtype = MEMOFS_INT64, .shape = MEMOFS_SHAPE_VECTOR,
		  MEMOFS_ARGV(bins_col) },
		{ .name = "var_ddof", .description = "variance with DDOF "
		  "(numpy's var(ddof=DDOF); nan if a value is nan)", .compute = fn_args_var,
		  .udata = (void *)&var, FN_SCALAR, MEMOFS_ARGV(ddof_col) },
		{ .name = "std_ddof", .description = "standard deviation with "
		  "DDOF (numpy's std(ddof=DDOF); nan if a value is nan)", .compute = fn_args_var,
		  .udata = (void *)&std, FN_SCALAR, MEMOFS_ARGV(ddof_col) },
		{ .name = "nanvar_ddof", .description = "variance with DDOF, "
		  "missing values skipped (pandas' var() is nanvar_ddof/1)",
		  .compute = fn_args_var, .udata = (void *)&nanvar, FN_SCALAR,
		  MEMOFS_ARGV(ddof_col) },
		{ .name = "nanstd_ddof", .description = "standard deviation "
		  "with DDOF, missing values skipped (pandas' std() is "
		  "nanstd_ddof/1)", .compute = fn_args_var,
		  .udata = (void *)&nanstd, FN_SCALAR, MEMOFS_ARGV(ddof_col) },
		{ .name = "head", .description = "the first N values of the "
		  "column", .compute = fn_args_ends, .udata = (void *)&head,
		  .dtype = MEMOFS_FLOAT64, .shape = MEMOFS_SHAPE_VECTOR,
		  MEMOFS_ARGV(n_col) },
		{ .name = "tail", .description = "the last N values of the "
		  "column", .compute = fn_args_ends, .udata = (void *)&tail,
		  .dtype = MEMOFS_FLOAT64, .shape = MEMOFS_SHAPE_VECTOR,
		  MEMOFS_ARGV(n_col) },
	};
#undef FN_SCALAR
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < sizeof(defs) / sizeof(defs[0]);
	     i++) {
		struct memofs_function def = defs[i];

		def.version = FN_ARGS_VERSION;
		rc = reg_add(r, &def, NULL);
	}
	return rc;
}
