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
#include "data/stream.h"

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

/* ---- .npy (npy.c): a plan made from the header, then filled chunk by
 * chunk by either feeder: ds.c's two-thread stream (stream.h) of a
 * regular file, or npy_load() from a buffer.  Both call the same
 * npy_consume(), the only conversion code. */
struct npy_plan;

/* The bytes a chunk should hold (tests set it small to cross chunk
 * boundaries; set before a load, never during one).  Default DS_CHUNK,
 * chosen by measurement (ds.c). */
extern size_t ds_chunk_bytes;

/* Tests only (NULL otherwise): called by ds_load() between reading a
 * regular .npy file's header and its data, e.g. to truncate the file. */
extern void (*ds_test_after_header)(const char *path);

/* From a .npy file's first bytes head[0..min(size, 12)) (which start with
 * the magic), the end of its header (preamble and dict): the offset of
 * its data.  0, or -EINVAL (bad version, a header past the end) or
 * -EFBIG with a message. */
int npy_header_end(const struct ds_msg *m, const unsigned char *head,
		   uint64_t size, size_t *hdr_end);

/* Parses the header hdr[0..npy_header_end()) of a .npy file of size bytes,
 * checks its shape against size, and gives d its columns, allocated but
 * not filled (and d->block when the data is read straight into it: a
 * Fortran-order or 1-D native float64 or int64 array).  0 and *out (freed
 * by npy_finish() or npy_plan_free()), or -EINVAL, -EFBIG, -ENOMEM with a
 * message.  hdr is not kept. */
int npy_begin(ds *d, const struct ds_msg *m, const unsigned char *hdr,
	      uint64_t size, struct npy_plan **out);

/* The data's offset in the file: where feeding starts. */
uint64_t npy_data_off(const struct npy_plan *p);

/* A chunk of about want bytes that holds whole elements (records; rows of
 * a C-order array when they fit), so that chunks fed from the data's
 * offset never split one. */
size_t npy_chunk(const struct npy_plan *p, size_t want);

/* stream.h's dest: where a chunk [off, off + len) of the file can be read
 * straight into the columns (d->block), or NULL. */
unsigned char *npy_dest(void *plan, uint64_t off, size_t len);

/* stream.h's consume: converts the file's bytes src[0..len) read from off
 * (>= the data's offset, a whole number of elements from it; bytes past
 * the data are ignored) into the columns, counting values not missing on
 * thread tid (< STREAM_THREADS_MAX).  Chunks may come in any order and
 * from two threads at once (they write disjoint values).  Returns 0. */
int npy_consume(void *plan, unsigned tid, uint64_t off,
		const unsigned char *src, size_t len);

/* After every chunk was consumed: sums the threads' counts, makes a uint64
 * column with a value above INT64_MAX DS_FLOAT64, frees p. */
void npy_finish(struct npy_plan *p);

/* Frees a plan that was not finished (d keeps its columns for ds_free());
 * NULL is a no-op. */
void npy_plan_free(struct npy_plan *p);

/* The buffer feeder: parses the .npy bytes buf[0..len) into d (a
 * decompressed file, a pipe, the fuzzers).  0, or -EINVAL, -EFBIG,
 * -ENOMEM with a message. */
int npy_load(ds *d, const struct ds_msg *m, const unsigned char *buf,
	     size_t len);

/* When buf starts with the magic of gzip, bzip2, xz or zstd, replaces *buf
 * (freeing it) and *len by the uncompressed bytes, NUL-terminated; else
 * leaves them.  Refuses output larger than DZ_LIMIT(compressed size)
 * (-EFBIG: a decompression bomb, or a file to decompress first).  0, or
 * -EINVAL (corrupt or truncated data), -EFBIG, -ENOMEM, with a message. */
#define DZ_MIN_LIMIT ((size_t)1 << 30)	/* always allowed: 1 GiB */
#define DZ_RATIO 200			/* else 200 x the compressed size */
int dz_unpack(const struct ds_msg *m, char **buf, size_t *len);
/* Does b[0..len) start with the magic of a format dz_unpack() undoes?
 * (len may be short: the magic is then not seen.) */
int dz_is_packed(const unsigned char *b, size_t len);
/* dz_unpack() with the limit given (tests: a bomb without gigabytes). */
int dz_unpack_limit(const struct ds_msg *m, char **buf, size_t *len,
		    size_t limit);

/* Converts n values of .npy dtype (kind 'f', size 8 ...) into doubles:
 * used by the demo dataset.  Declared in npy.c. */
void npy_f8le_to_double(const unsigned char *src, size_t rows, size_t cols,
			double *dst);

#endif
