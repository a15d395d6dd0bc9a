/* zstats.c -- an example memofs plugin: two functions built on the cache.
 *
 *   zscore/colN     the column standardised: (x - mean) / std, a typed
 *                   float64 column (zscore/colN shows it one value per
 *                   line, zscore/colN.npy as NumPy .npy)
 *   zhistogram/BINS/colN   BINS equal-width bins from min to max: "lo hi
 *                   count" lines (bytes: a table, not an array; a
 *                   function of two arguments)
 *
 * Both get their inputs through memofs_call_f64(), so the column is
 * extracted once, and mean, std, min and max are shared with every other
 * reader, and read in place: nothing is printed or parsed between them.
 * Build it outside the memofs tree like any library client:
 *   cc -shared -fPIC $(pkg-config --cflags memofs) -o zstats.so zstats.c
 * and mount with -o plugin=./zstats.so.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include <memofs.h>

MEMOFS_PLUGIN_DECLARE;

/* Fetches the one value of function fn for arg (a scalar). */
static int one_number(memofs_ctx *ctx, const char *fn, const char *arg,
		      double *out)
{
	const double *v = NULL;
	size_t n = 0;
	int rc = memofs_call_f64(ctx, fn, arg, &v, &n);

	if (rc == 0 && n != 1)
		rc = -EIO;
	if (rc == 0)
		*out = v[0];
	return rc;
}

static int zscore(memofs_ctx *ctx, const char *arg, void *udata)
{
	const double *v = NULL;
	double mean, std, *z;
	size_t n = 0;
	int rc;

	(void)udata;
	rc = one_number(ctx, "mean", arg, &mean);
	if (rc == 0)
		rc = one_number(ctx, "std", arg, &std);
	if (rc == 0)
		rc = memofs_call_f64(ctx, "column", arg, &v, &n);
	if (rc)
		return memofs_error(ctx, "inputs of %s unavailable (%d)", arg,
				    rc);
	z = malloc(n ? n * sizeof(*z) : 1);
	if (!z)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		z[i] = std > 0 ? (v[i] - mean) / std : NAN;
	rc = memofs_write_f64(ctx, z, n);
	free(z);
	return rc;
}

/* A function of two arguments, zhistogram/BINS/COLUMN: its callback gets
 * arg = "BINS/colN" (canonical) and each part through memofs_arg(). */
static int zhistogram(memofs_ctx *ctx, const char *arg, void *udata)
{
	const char *col = memofs_arg(ctx, 1);
	const double *counts = NULL;
	double bins, lo, hi, width;
	size_t n = 0;
	int rc;

	(void)udata;
	if (memofs_arg_double(ctx, 0, &bins))
		return memofs_error(ctx, "no number of bins");
	rc = one_number(ctx, "min", col, &lo);
	if (rc == 0)
		rc = one_number(ctx, "max", col, &hi);
	/* A nested call of several arguments: the path below the function,
	 * "BINS/colN", to the built-in histogram (numpy.histogram counts). */
	if (rc == 0)
		rc = memofs_call_f64(ctx, "histogram", arg, &counts, &n);
	if (rc)
		return memofs_error(ctx, "inputs of %s unavailable (%d)", arg,
				    rc);
	if (lo == hi) {			/* numpy widens an empty range */
		lo -= 0.5;
		hi += 0.5;
	}
	width = (hi - lo) / bins;
	for (size_t b = 0; rc == 0 && b < n; b++)
		rc = memofs_printf(ctx, "%.17g %.17g %.0f\n", lo + b * width,
				   b + 1 == n ? hi : lo + (b + 1) * width,
				   counts[b]);
	return rc;
}

int memofs_plugin_init(memofs_registry *reg, int abi_version)
{
	static const char *const bins_listed[] = { "10", "20", NULL };
	static const struct memofs_arg zhistogram_args[] = {
		{ .name = "BINS", .kind = MEMOFS_ARGS_INTEGER,
		  .list = bins_listed, .min = 1, .max = 1000 },
		{ .name = "COLUMN", .kind = MEMOFS_ARGS_NUMERIC },
	};
	static const struct memofs_function fns[] = {
		{ .name = "zscore", .version = "1",
		  .description = "column standardised: (x - mean) / std",
		  .args = MEMOFS_ARGS_COLUMNS, .compute = zscore,
		  .dtype = MEMOFS_FLOAT64, .shape = MEMOFS_SHAPE_COLUMN },
		{ .name = "zhistogram", .version = "1",
		  .description = "BINS equal-width bins from min to max: "
				 "lo hi count",
		  .compute = zhistogram, MEMOFS_ARGV(zhistogram_args) },
	};
	int rc = 0;

	(void)abi_version;
	for (size_t i = 0; rc == 0 && i < sizeof(fns) / sizeof(fns[0]); i++)
		rc = memofs_register(reg, &fns[i]);
	return rc;
}
