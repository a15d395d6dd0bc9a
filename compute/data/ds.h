/* ds.h -- the mounted dataset: a read-only table of doubles.
 *
 * A dataset is loaded once at mount, before any thread starts, from a CSV
 * file, a NumPy .npy file, or built from the embedded demo generator.  After
 * loading it is immutable, so every thread may read it without locking.
 * It owns a copy of the values (the file is not kept open or mapped, so a
 * file edited or removed while mounted cannot change or crash a mount) and
 * the digest of the file's bytes, which keys every cached result.
 *
 * Formats:
 *   .npy   recognised by its magic "\x93NUMPY" (versions 1.0, 2.0, 3.0);
 *          1-D (n rows, 1 column) or 2-D; dtypes f8, f4, i4, i8 in either
 *          byte order ('<', '>', '=' native); C or Fortran order.  Values
 *          become doubles (int64 beyond 2^53 rounds).  Bytes after the
 *          data are ignored, as numpy.load() does.  A file named *.npy
 *          without the magic is an error, not a CSV.
 *   CSV    anything else: comma-separated, optional header row (the first
 *          non-empty row is a header when one of its non-empty fields is
 *          not a number; header names may be empty), fields may be
 *          "double-quoted" with "" for a quote, blanks (space, tab) around
 *          fields are ignored, CRLF or LF line ends, empty and all-blank
 *          lines ignored (so in a one-column file an empty line is not a
 *          missing value), a leading UTF-8 byte order mark skipped.  Every
 *          data row must have the same number of fields as the first row,
 *          each a number strtod() reads whole (nan, inf, hex, and numbers
 *          out of range, which become inf or 0, included).  Not supported:
 *          line breaks inside quotes, a lone CR as line end, NUL bytes.
 */
#ifndef MEMOFS_DS_H
#define MEMOFS_DS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#define DS_DIGEST_LEN 16
#define DS_ERR_MAX 512		/* room for ds_load()'s message */

typedef struct ds ds;

/* Loads the file at path, reading it whole with read(2).  Returns 0 and
 * *out (caller frees with ds_free()), or a negative errno and a one-line
 * message in err, naming the file, the line (CSV) or byte offset (.npy)
 * and what is wrong, e.g.
 *   "data.csv: line 3: expected 4 fields, found 3"
 *   "data.csv: line 7, field 2: not a number: 'abc'"
 *   "x.npy: offset 20: unsupported dtype '|O'"
 *   "data.csv: No such file or directory"
 * -ENOENT/-EACCES/-EISDIR (etc., from open and read) for files that cannot
 * be read, -EINVAL for bad content and for devices and sockets, -EFBIG,
 * -ENOMEM.  *out is untouched on failure.  err must hold errlen bytes
 * (DS_ERR_MAX is enough; a longer message loses the start of the path);
 * errlen may be 0. */
int ds_load(const char *path, ds **out, char *err, size_t errlen);

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

/* Column j's values, nrows of them, contiguous; valid until ds_free(). */
const double *ds_column(const ds *d, size_t j);

/* XXH3-128 of the file's bytes (for the demo, of its values as
 * little-endian doubles in row-major order, numpy's tobytes()), in
 * canonical (big-endian) byte order. */
const uint8_t *ds_digest(const ds *d);

/* The fstat() ds_load() took of the file it read (to tell later whether
 * the file has changed since).  Returns 0, or -ENOENT for the demo, an
 * empty dataset and a pipe. */
int ds_file_stat(const ds *d, struct stat *out);

/* Short description for logs: the path given to ds_load(), or "demo". */
const char *ds_name(const ds *d);

#endif
