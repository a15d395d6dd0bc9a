/* typed.c -- a test plugin of typed results (tests/test_typed.py): one
 * function that uses each typed call right, and one per misuse that must
 * fail the computation rather than make a wrong file.
 *
 *   tp_sum/colN        float64 scalar: sum of column colN, read in place
 *                      with memofs_call_f64(), plus count(colN) (an int64
 *                      result, converted) times 0.0
 *   tp_first/colN      float64 vector of N + 1 values: column colN's
 *                      first N + 1 (its .npy size is known only once made)
 *   tp_text/colN       bytes: "text\n" (no .npy view)
 *   tp_bytes_f64/colN  declares float64 scalar, writes bytes: fails
 *   tp_short/colN      declares a float64 column, writes nrows - 1: fails
 *   tp_i64_double/colN declares int64 scalar, writes a double: fails
 *   tp_two/colN        declares float64 scalar, writes 2 values: fails
 */
#include <errno.h>
#include <stdint.h>

#include <memofs.h>

MEMOFS_PLUGIN_DECLARE;

static int tp_sum(memofs_ctx *ctx, const char *arg, void *udata)
{
	const double *v, *c;
	size_t n, nc;
	double s = 0.0;
	int rc = memofs_call_f64(ctx, "column", arg, &v, &n);

	if (rc == 0)
		rc = memofs_call_f64(ctx, "count", arg, &c, &nc);
	if (rc)
		return memofs_error(ctx, "inputs of %s unavailable (%d)", arg,
				    rc);
	if (nc != 1 || c[0] != (double)n)
		return memofs_error(ctx, "count says %g, column has %zu",
				    nc ? c[0] : -1.0, n);
	for (size_t i = 0; i < n; i++)
		s += v[i];
	return memofs_write_double(ctx, s + c[0] * 0.0);
}

static int tp_first(memofs_ctx *ctx, const char *arg, void *udata)
{
	size_t col, n;

	if (memofs_arg_column(ctx, arg, &col))
		return memofs_error(ctx, "no column %s", arg);
	n = col + 1 < memofs_nrows(ctx) ? col + 1 : memofs_nrows(ctx);
	return memofs_write_f64(ctx, memofs_data_column(ctx, col), n);
}

static int tp_text(memofs_ctx *ctx, const char *arg, void *udata)
{
	return memofs_write(ctx, "text\n", 5);
}

static int tp_bytes_f64(memofs_ctx *ctx, const char *arg, void *udata)
{
	(void)memofs_write(ctx, "1.5\n", 4);	/* ignoring the error */
	return 0;
}

static int tp_short(memofs_ctx *ctx, const char *arg, void *udata)
{
	return memofs_write_f64(ctx, memofs_data_column(ctx, 0),
				memofs_nrows(ctx) - 1);
}

static int tp_i64_double(memofs_ctx *ctx, const char *arg, void *udata)
{
	(void)memofs_write_double(ctx, 2.0);	/* ignoring the error */
	return 0;
}

static int tp_two(memofs_ctx *ctx, const char *arg, void *udata)
{
	int rc = memofs_write_double(ctx, 1.0);

	return rc ? rc : memofs_write_double(ctx, 2.0);
}

int memofs_plugin_init(memofs_registry *reg, int abi_version)
{
	static const struct memofs_function fns[] = {
		{ .name = "tp_sum", .version = "1", .description = "sum",
		  .args = MEMOFS_ARGS_COLUMNS, .compute = tp_sum,
		  .dtype = MEMOFS_FLOAT64, .shape = MEMOFS_SHAPE_SCALAR },
		{ .name = "tp_first", .version = "1", .description = "first",
		  .args = MEMOFS_ARGS_COLUMNS, .compute = tp_first,
		  .dtype = MEMOFS_FLOAT64, .shape = MEMOFS_SHAPE_VECTOR },
		{ .name = "tp_text", .version = "1", .description = "text",
		  .args = MEMOFS_ARGS_COLUMNS, .compute = tp_text },
		{ .name = "tp_bytes_f64", .version = "1", .description = "bad",
		  .args = MEMOFS_ARGS_COLUMNS, .compute = tp_bytes_f64,
		  .dtype = MEMOFS_FLOAT64, .shape = MEMOFS_SHAPE_SCALAR },
		{ .name = "tp_short", .version = "1", .description = "bad",
		  .args = MEMOFS_ARGS_COLUMNS, .compute = tp_short,
		  .dtype = MEMOFS_FLOAT64, .shape = MEMOFS_SHAPE_COLUMN },
		{ .name = "tp_i64_double", .version = "1",
		  .description = "bad", .args = MEMOFS_ARGS_COLUMNS,
		  .compute = tp_i64_double, .dtype = MEMOFS_INT64,
		  .shape = MEMOFS_SHAPE_SCALAR },
		{ .name = "tp_two", .version = "1", .description = "bad",
		  .args = MEMOFS_ARGS_COLUMNS, .compute = tp_two,
		  .dtype = MEMOFS_FLOAT64, .shape = MEMOFS_SHAPE_SCALAR },
	};
	int rc = 0;

	(void)abi_version;
	for (size_t i = 0; rc == 0 && i < sizeof(fns) / sizeof(fns[0]); i++)
		rc = memofs_register(reg, &fns[i]);
	return rc;
}
