/* ds_impl.h -- what the dataset's loaders share (csv.c, npy.c,
 * decompress.c, ds.c): the object's layout, the message a refusal writes,
 * and the loaders' entry points.  Not for use outside compute/data/.
 *
 * A loader fills a ds made by ds.c: it calls ds_cols_alloc() for ncols
 * empty columns, then sets each column's kind and arrays; on failure it
 * leaves the ds to ds_free(), which frees whatever a column holds.
 */
#ifndef MEMOFS_DS_IMPL_H
#define MEMOFS_DS_IMPL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "data/ds.h"

struct ds_col {
	char *name;		/* header name, or NULL */
	enum ds_kind kind;
	double *f64;		/* numeric: nrows doubles, else NULL */
	int f64_borrowed;	/* f64 points into ds.block (not freed) */
	int64_t *i64;		/* DS_INT64: nrows values, else NULL */
	int i64_borrowed;	/* i64 points into ds.block (not freed) */
	char **text;		/* DS_TEXT: nrows pointers into blob, or NULL */
	char *blob;		/* DS_TEXT: the bytes text[] points at */
	size_t count;		/* values not missing */
};

struct ds {
	char *name;		/* the path given to ds_load(), or "demo" */
	size_t nrows;
	size_t ncols;
	struct ds_col *cols;	/* ncols columns */
	void *block;		/* a buffer columns borrow from, or NULL */
	uint8_t digest[DS_DIGEST_LEN]; /* XXH3-128, canonical byte order */
	struct stat st;		/* fstat() of the file when it was read */
	int has_st;		/* st is valid (a regular file was read) */
};

/* Where ds_load()'s message goes and which file it names. */
struct ds_msg {
	const char *path;
	char *err;
	size_t errlen;
};

/* Writes "<path>: <what>" to m->err and returns rc. */
int ds_fail(const struct ds_msg *m, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int ds_nomem(const struct ds_msg *m);	/* ds_fail(m, -ENOMEM, ...) */

/* Gives d ncols columns, zeroed (kind DS_FLOAT64, no arrays).  0 or
 * -ENOMEM. */
int ds_cols_alloc(ds *d, size_t ncols);

/* Sets column j's count of values not missing from its arrays. */
void ds_col_count(ds *d, size_t j);

/* Parses CSV text buf[0..len) (buf[len] is a NUL; buf may be written to)
 * into d. */
int csv_load(ds *d, const struct ds_msg *m, const struct ds_opts *o,
	     char *buf, size_t len);

/* Parses .npy bytes into d.  *buf is the heap buffer holding them: npy may
 * keep it (as d->block, setting *buf to NULL) when columns can point into
 * it as they are. */
int npy_load(ds *d, const struct ds_msg *m, char **buf, size_t len);

/* When buf starts with the magic of gzip, bzip2, xz or zstd, replaces *buf
 * (freeing it) and *len by the uncompressed bytes, NUL-terminated; else
 * leaves them.  Refuses output larger than DZ_LIMIT(compressed size)
 * (-EFBIG: a decompression bomb, or a file to decompress first).  0, or
 * -EINVAL (corrupt or truncated data), -EFBIG, -ENOMEM, with a message. */
#define DZ_MIN_LIMIT ((size_t)1 << 30)	/* always allowed: 1 GiB */
#define DZ_RATIO 200			/* else 200 x the compressed size */
int dz_unpack(const struct ds_msg *m, char **buf, size_t *len);
/* dz_unpack() with the limit given (tests: a bomb without gigabytes). */
int dz_unpack_limit(const struct ds_msg *m, char **buf, size_t *len,
		    size_t limit);

/* Converts n values of .npy dtype (kind 'f', size 8 ...) into doubles:
 * used by the demo dataset.  Declared in npy.c. */
void npy_f8le_to_double(const unsigned char *src, size_t rows, size_t cols,
			double *dst);

#endif
