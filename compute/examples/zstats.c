/* zstats.c -- an example memofs plugin: two functions built on the cache.
 *
 *   zscore/colN     the column standardised: (x - mean) / std, a typed
 *                   float64 column (zscore/colN shows it one value per
 *                   line, zscore/colN.npy as NumPy .npy)
 *   histogram/colN  10 equal-width bins from min to max: "lo hi count"
 *                   lines (bytes: a table, not an array)
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

#define HIST_BINS 10

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

static int histogram(memofs_ctx *ctx, const char *arg, void *udata)
{
	size_t counts[HIST_BINS] = { 0 }, n = 0;
	const double *v = NULL;
	double lo, hi, width;
	int rc;

	(void)udata;
	rc = one_number(ctx, "min", arg, &lo);
	if (rc == 0)
		rc = one_number(ctx, "max", arg, &hi);
	if (rc == 0)
		rc = memofs_call_f64(ctx, "column", arg, &v, &n);
	if (rc)
		return memofs_error(ctx, "inputs of %s unavailable (%d)", arg,
				    rc);
	if (!isfinite(lo) || !isfinite(hi))
		return memofs_error(ctx, "%s has nan or inf values", arg);
	width = (hi - lo) / HIST_BINS;
	for (size_t i = 0; i < n; i++) {
		size_t b = width > 0 ? (size_t)((v[i] - lo) / width) : 0;

		counts[b < HIST_BINS ? b : HIST_BINS - 1]++;
	}
	for (size_t b = 0; rc == 0 && b < HIST_BINS; b++)
		rc = memofs_printf(ctx, "%.17g %.17g %zu\n", lo + b * width,
				   b + 1 == HIST_BINS ? hi : lo + (b + 1) * width,
				   counts[b]);
	return rc;
}

int memofs_plugin_init(memofs_registry *reg, int abi_version)
{
	static const struct memofs_function fns[] = {
		{ .name = "zscore", .version = "1",
		  .description = "column standardised: (x - mean) / std",
		  .args = MEMOFS_ARGS_COLUMNS, .compute = zscore,
		  .dtype = MEMOFS_FLOAT64, .shape = MEMOFS_SHAPE_COLUMN },
		{ .name = "histogram", .version = "1",
		  .description = "10 equal-width bins from min to max: "
				 "lo hi count",
		  .args = MEMOFS_ARGS_COLUMNS, .compute = histogram },
	};
	int rc = 0;

	(void)abi_version;
	for (size_t i = 0; rc == 0 && i < sizeof(fns) / sizeof(fns[0]); i++)
		rc = memofs_register(reg, &fns[i]);
	return rc;
}
