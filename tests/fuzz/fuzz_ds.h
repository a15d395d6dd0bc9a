/* fuzz_ds.h -- checks shared by the dataset fuzz targets (fuzz_csv,
 * fuzz_npy): what ds_load() promises for any bytes, loaded or refused.
 */
#ifndef MEMOFS_FUZZ_DS_H
#define MEMOFS_FUZZ_DS_H

#include <stdint.h>
#include <string.h>
#include <xxhash.h>

#include "data/ds.h"
#include "fuzz_util.h"

/* Message lengths to try: the normal one, none, and ones too short for
 * the message (which must then be cut, never overrun). */
static const size_t fz_errlens[] = { DS_ERR_MAX, 0, 1, 24, 48, 96 };

/* Picks an errlen from the input's bytes, mostly DS_ERR_MAX. */
static inline size_t fz_pick_errlen(const uint8_t *data, size_t size)
{
	size_t h = size;

	for (size_t i = 0; i < size && i < 16; i++)
		h = h * 31 + data[i];
	if (h % 4 != 0)
		return DS_ERR_MAX;
	return fz_errlens[(h / 4) % (sizeof(fz_errlens) / sizeof(*fz_errlens))];
}

/* A refusal: a negative errno and, when there is room, one non-empty line
 * that fits in err. */
static inline void fz_check_refusal(int rc, const ds *d, const char *err,
				    size_t errlen)
{
	FZ_CHECK(rc < 0);
	FZ_CHECK(d == NULL);	/* *out untouched on failure */
	if (errlen == 0)
		return;
	FZ_CHECK(memchr(err, '\0', errlen) != NULL);
	FZ_CHECK(strchr(err, '\n') == NULL);
	if (errlen >= 2)
		FZ_CHECK(err[0] != '\0');
}

/* Reads column j whole, as its kind says, so that ASan sees any access
 * out of bounds; checks the count of values not missing and that an
 * int64 column's doubles are its integers. */
static inline void fz_check_column(const ds *d, size_t j)
{
	size_t nr = ds_nrows(d), present = 0;
	volatile double sink = 0;

	switch (ds_col_kind(d, j)) {
	case DS_INT64:
		FZ_CHECK(ds_column_int64(d, j) != NULL);
		for (size_t i = 0; i < nr; i++)
			FZ_CHECK(ds_column(d, j)[i] ==
				 (double)ds_column_int64(d, j)[i]);
		present = nr;
		break;
	case DS_FLOAT64:
		FZ_CHECK(ds_column_int64(d, j) == NULL);
		for (size_t i = 0; i < nr; i++) {
			sink += ds_column(d, j)[i];
			present += ds_column(d, j)[i] == ds_column(d, j)[i];
		}
		break;
	case DS_TEXT:
		FZ_CHECK(ds_column(d, j) == NULL);
		for (size_t i = 0; i < nr; i++) {
			const char *s = ds_text(d, j, i);

			if (s) {	/* present values are never empty */
				FZ_CHECK(s[0] != '\0');
				sink += (double)strlen(s);
				present++;
			}
		}
		break;
	default:
		FZ_CHECK(!"a column of no known kind");
	}
	FZ_CHECK(ds_count(d, j) == present);
	(void)sink;
}

/* A loaded table: sane sizes, the digest of exactly the bytes given (or
 * of digest_of, the uncompressed bytes, when not NULL), the path as its
 * name; every value and name is read.  min_bytes is the fewest file bytes
 * one value can take (1 for .npy); 0 for CSV, whose short rows are padded
 * with missing values up to csv.c's bound. */
static inline void fz_check_table(const ds *d, const void *data,
				  size_t size, const char *path,
				  size_t min_bytes)
{
	size_t nr = ds_nrows(d), nc = ds_ncols(d);
	XXH128_canonical_t c;

	FZ_CHECK(nr > 0 && nc > 0);
	FZ_CHECK(nr <= SIZE_MAX / nc);
	if (min_bytes)
		FZ_CHECK(nr * nc <= size / min_bytes + 1);
	else
		FZ_CHECK(nr * nc / 2 <= size + ((size_t)1 << 23) + nc);
	XXH128_canonicalFromHash(&c, XXH3_128bits(data, size));
	FZ_CHECK(memcmp(ds_digest(d), c.digest, DS_DIGEST_LEN) == 0);
	FZ_CHECK(strcmp(ds_name(d), path) == 0);
	for (size_t j = 0; j < nc; j++) {
		const char *name = ds_colname(d, j);

		if (name)
			FZ_CHECK(strlen(name) < size + 1);
		fz_check_column(d, j);
	}
}

#endif
