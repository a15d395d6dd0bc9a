/* ds.h -- the mounted dataset: a read-only table of typed columns.
 *
 * A dataset is loaded once at mount, before any other memofs thread starts,
 * from a CSV file, a NumPy .npy file (either of them maybe compressed), or
 * built from the embedded demo generator.  After loading it is immutable,
 * so every thread may read it without locking.  It owns a copy of the
 * values (the file is not kept open or mapped, so a file edited or removed
 * while mounted cannot change or crash a mount) and the digest of the
 * file's (uncompressed) bytes, which keys every cached result.
 *
 * Columns have a kind (enum ds_kind): DS_INT64 (exact integers, with their
 * doubles too), DS_FLOAT64 (doubles, NaN for a missing value) or DS_TEXT
 * (byte strings, NULL for a missing value).  The loaders are csv.c and
 * npy.c, which document the formats; decompress.c undoes gzip, bzip2, xz
 * and zstd.  The README's "Data formats" section is the user's summary.
 */
#ifndef MEMOFS_DS_H
#define MEMOFS_DS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#define DS_DIGEST_LEN 16
#define DS_ERR_MAX 512		/* room for ds_load()'s message */

typedef struct ds ds;

enum ds_kind {
	DS_FLOAT64 = 1,		/* doubles; NaN is a missing value */
	DS_INT64 = 2,		/* int64 values, none missing */
	DS_TEXT = 3,		/* NUL-terminated byte strings or NULL */
};

/* How a file is read; DS_OPTS_INIT detects everything (csv.c says how)
 * and takes the digest. */
#define DS_SEP_WHITESPACE ' '	/* sep: fields separated by blank runs */
#define DS_HEADER_DETECT (-1)	/* header: the first row if not numbers */
#define DS_HEADER_NONE (-2)	/* header: no header row */
struct ds_opts {
	char sep;		/* 0: sniffed; DS_SEP_WHITESPACE; or a byte */
	long header;		/* DS_HEADER_*, or N >= 0: rows skipped, then
				 * the header (pandas' header=N) */
	size_t skiprows;	/* lines skipped at the start of the file */
	char comment;		/* 0: none; else the rest of a line from it
				 * is ignored */
	int no_digest;		/* 1: no digest, ds_digest() all zero (see
				 * there) */
};
#define DS_OPTS_INIT { 0, DS_HEADER_DETECT, 0, 0, 0 }

/* Loads the file at path: a regular file with pread(2) in chunks on two
 * threads (a .npy converted chunk by chunk into its columns, never held
 * whole), a pipe with read(2).  Returns 0 and
 * *out (caller frees with ds_free()), or a negative errno and a one-line
 * message in err, naming the file, the line (CSV) or byte offset (.npy)
 * and what is wrong, e.g.
 *   "data.csv: line 3: expected 4 fields, found 5 (a field holding the
 *    separator without quotes?)"
 *   "data.csv: line 7, field 2: unterminated quoted field"
 *   "x.npy: offset 20: unsupported dtype '<c16'"
 *   "x.csv.gz: gzip data: truncated"
 *   "data.csv: No such file or directory"
 * -ENOENT/-EACCES/-EISDIR (etc., from open and read) for files that cannot
 * be read, -EIO also for a file that ends early or changes while it is
 * read ("x.npy: offset 1048704: the file ended before its 320000128
 * bytes (changed while being read?)"), -EINVAL for bad content and for
 * devices and sockets, -EFBIG
 * (too large, or compressed data past decompress.c's limit), -ENOMEM.  *out is untouched on failure.  err must hold errlen bytes
 * (DS_ERR_MAX is enough; a longer message loses the start of the path);
 * errlen may be 0. */
int ds_load(const char *path, ds **out, char *err, size_t errlen);

/* ds_load() with CSV options (o NULL: DS_OPTS_INIT).  A refusal whose
 * cause is likely adds a hint, e.g. "...: expected 3 fields, found 5 (the
 * fields look separated by ';': try -o sep=';')". */
int ds_load_opts(const char *path, const struct ds_opts *o, ds **out,
		 char *err, size_t errlen);

/* Builds the demo dataset: numpy.random.RandomState(42).randn(10000, 4),
 * bit for bit.  Returns 0 or -ENOMEM. */
int ds_demo(ds **out);

/* Builds a dataset of no rows and no columns named name (a directory
 * given as DATA: its files are arguments, not a table); its digest is
 * XXH3-128 of no bytes.  Returns 0 or -ENOMEM. */
int ds_empty(const char *name, ds **out);

void ds_free(ds *d);		/* ds_free(NULL) is a no-op */

size_t ds_nrows(const ds *d);
size_t ds_ncols(const ds *d);

/* The header name of column j, or NULL when the data had no header. */
const char *ds_colname(const ds *d, size_t j);

/* Column j's values as doubles, nrows of them, contiguous (a DS_INT64
 * column's rounded beyond 2^53), or NULL for a DS_TEXT column; valid
 * until ds_free(). */
const double *ds_column(const ds *d, size_t j);

enum ds_kind ds_col_kind(const ds *d, size_t j);

/* Is column j DS_FLOAT64 or DS_INT64 (numeric functions take it)? */
int ds_col_numeric(const ds *d, size_t j);

/* A DS_INT64 column's exact values (nrows), else NULL. */
const int64_t *ds_column_int64(const ds *d, size_t j);

/* Row i of a DS_TEXT column: its bytes, NUL-terminated (a value holds no
 * NUL byte), or NULL when missing or the column is not text. */
const char *ds_text(const ds *d, size_t j, size_t i);

/* The values of column j that are not missing (pandas' count): NaN is
 * missing in a DS_FLOAT64 column, NULL in a DS_TEXT one. */
size_t ds_count(const ds *d, size_t j);

/* XXH3-128 of the file's (uncompressed) bytes (for the demo, of its values as
 * little-endian doubles in row-major order, numpy's tobytes()), in
 * canonical (big-endian) byte order; DS_DIGEST_LEN zero bytes when loaded
 * with ds_opts.no_digest.  The digest names the data in cache keys that
 * outlive a mount; hashing is serial, in file order, and costs about a
 * third of a .npy load's time (XXH3-128 of 320 MB: 46 ms on one core of
 * this project's VM, the whole load 0.15-0.18 s), so a mount whose cache
 * dies with it (a temporary cache, no remote tier) skips it. */
const uint8_t *ds_digest(const ds *d);

/* The fstat() ds_load() took of the file it read (to tell later whether
 * the file has changed since).  Returns 0, or -ENOENT for the demo, an
 * empty dataset and a pipe. */
int ds_file_stat(const ds *d, struct stat *out);

/* Short description for logs: the path given to ds_load(), or "demo". */
const char *ds_name(const ds *d);

#endif
