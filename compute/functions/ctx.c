/* ctx.c -- the context API of include/memofs.h: what a function's compute
 * callback may do (nested calls, the dataset, writing its result, failing
 * with a message), on top of the engine's computation (memo.h).
 *
 * The engine owns the computation (its output buffer, its error message,
 * the results its nested calls hold, memo.h's memo_ctx_*); this file owns
 * what plugins see, as memofs.h words it: which writes a function of each
 * dtype may make (a misuse fails the computation, memo_ctx_misuse()), and
 * which view of a typed result a call gives (text for memofs_call(), the
 * values in place for memofs_call_f64()).  Called from worker threads, one
 * computation per thread: no state of its own.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "data/ds.h"
#include "data/fmt.h"
#include "engine/memo.h"
#include "functions/reg.h"

int memofs_call(memofs_ctx *ctx, const char *fn, const char *arg,
		const void **data, size_t *len)
{
	memo_result *res;
	int rc = memo_ctx_call(ctx, fn, arg, &res);

	if (rc)
		return rc;
	return memo_result_view(res, MEMO_VIEW_TEXT, data, len);
}

int memofs_call_doubles(memofs_ctx *ctx, const char *fn, const char *arg,
			double **vals, size_t *n)
{
	memo_result *res;
	int rc = memo_ctx_call(ctx, fn, arg, &res);

	return rc ? rc : memo_result_doubles(res, vals, n);
}

int memofs_call_f64(memofs_ctx *ctx, const char *fn, const char *arg,
		    const double **v, size_t *n)
{
	memo_result *res;
	int rc = memo_ctx_call(ctx, fn, arg, &res);

	/* res is held until the callback returns (memo_ctx_call()). */
	return rc ? rc : memo_result_f64_view(res, v, n);
}

size_t memofs_nrows(const memofs_ctx *ctx)
{
	return ds_nrows(memo_ctx_data(ctx));
}

size_t memofs_ncols(const memofs_ctx *ctx)
{
	return ds_ncols(memo_ctx_data(ctx));
}

int memofs_arg_column(const memofs_ctx *ctx, const char *arg, size_t *col)
{
	return reg_parse_column(arg, ds_ncols(memo_ctx_data(ctx)), col);
}

const double *memofs_data_column(const memofs_ctx *ctx, size_t col)
{
	if (!ctx || col >= ds_ncols(memo_ctx_data(ctx)))
		return NULL;
	return ds_column(memo_ctx_data(ctx), col);
}

int memofs_write(memofs_ctx *ctx, const void *buf, size_t len)
{
	if (memo_ctx_dtype(ctx) != MEMOFS_BYTES)
		return memo_ctx_misuse(ctx, "bytes written by a function "
					    "that declared a typed result");
	return memo_ctx_write(ctx, buf, len);
}

/* Appends n values of dtype (8 bytes each, little-endian: result.h). */
static int memofs_write_values(memofs_ctx *ctx, enum memofs_dtype dtype,
			       const void *v, size_t n)
{
	if (memo_ctx_dtype(ctx) != dtype)
		return memo_ctx_misuse(ctx, dtype == MEMOFS_FLOAT64
			? "float64 values written by a function that did not "
			  "declare a float64 result"
			: "int64 values written by a function that did not "
			  "declare an int64 result");
	if (n > SIZE_MAX / 8 || (n && !v))
		return memo_ctx_misuse(ctx, "an invalid array was written");
	return memo_ctx_write(ctx, v, n * 8);
}

int memofs_write_f64(memofs_ctx *ctx, const double *v, size_t n)
{
	return memofs_write_values(ctx, MEMOFS_FLOAT64, v, n);
}

int memofs_write_i64(memofs_ctx *ctx, const int64_t *v, size_t n)
{
	return memofs_write_values(ctx, MEMOFS_INT64, v, n);
}

int memofs_printf(memofs_ctx *ctx, const char *fmt, ...)
{
	char small[256], *big = NULL;
	va_list ap;
	int n, rc;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n < sizeof(small))
		return memofs_write(ctx, small, (size_t)n);
	big = malloc((size_t)n + 1);
	if (!big)
		return -ENOMEM;
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	rc = memofs_write(ctx, big, (size_t)n);
	free(big);
	return rc;
}

int memofs_write_double(memofs_ctx *ctx, double x)
{
	char buf[FMT_DOUBLE_MAX + 1];
	size_t n;

	if (memo_ctx_dtype(ctx) != MEMOFS_BYTES)
		return memofs_write_values(ctx, MEMOFS_FLOAT64, &x, 1);
	n = fmt_double(buf, x);
	buf[n++] = '\n';
	return memofs_write(ctx, buf, n);
}

int memofs_error(memofs_ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	size_t size;
	char *err = memo_ctx_err(ctx, &size);

	va_start(ap, fmt);
	vsnprintf(err, size, fmt, ap);
	va_end(ap);
	return -EIO;
}

int memofs_progress(memofs_ctx *ctx, double fraction)
{
	if (!ctx)
		return -EINVAL;
	return memo_ctx_progress(ctx, fraction);
}
