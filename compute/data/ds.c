/* ds.c -- the mounted dataset object (see ds.h): its columns, reading
 * the file, recognising the format, the digest, the demo table.
 *
 * ds_load() reads the whole file into one heap buffer with read(2) (never
 * mmap: a file truncated while mapped would fault), undoes a compression
 * (decompress.c), hashes the uncompressed bytes, then hands the buffer to
 * the loader of its format: npy.c by magic, else csv.c.  The buffer is
 * freed before ds_load() returns unless npy.c kept it for columns that are
 * the file's bytes as they are.
 *
 * Called once, at mount, before any other memofs thread starts (csv.c may
 * use a thread of its own while parsing); a loaded ds is never written
 * again, so nothing here locks.  It does not watch the file: an edited
 * file is only seen by the next mount.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "data/ds.h"
#include "data/ds_impl.h"
#include "data/rng.h"
#include "util/clock.h"
#include "util/errmsg.h"
#include "util/file.h"
#include "util/log.h"

#define DS_READ_HINT (64u << 10)	/* first buffer when size is unknown */
#define DS_READ_MAX (SIZE_MAX / 4)	/* the largest file read */
#define DS_DEMO_ROWS 10000
#define DS_DEMO_COLS 4
#define DS_DEMO_SEED 42

#define NPY_MAGIC "\x93NUMPY"
#define NPY_MAGIC_LEN 6

_Static_assert(sizeof(((XXH128_canonical_t *)0)->digest) == DS_DIGEST_LEN,
	       "DS_DIGEST_LEN is the size of an XXH3-128 digest");

/* ---- Messages ---------------------------------------------------------- */

int ds_fail(const struct ds_msg *m, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	rc = util_path_verror(m->err, m->errlen, m->path, rc, fmt, ap);
	va_end(ap);
	return rc;
}

int ds_nomem(const struct ds_msg *m)
{
	return ds_fail(m, -ENOMEM, "%s", strerror(ENOMEM));
}

/* ---- The object -------------------------------------------------------- */

static int ds_new(const char *name, ds **out)
{
	ds *d = calloc(1, sizeof(*d));

	if (!d)
		return -ENOMEM;
	d->name = strdup(name);
	if (!d->name) {
		free(d);
		return -ENOMEM;
	}
	*out = d;
	return 0;
}

int ds_cols_alloc(ds *d, size_t ncols)
{
	assert(!d->cols);
	d->cols = calloc(ncols ? ncols : 1, sizeof(*d->cols));
	if (!d->cols)
		return -ENOMEM;
	for (size_t j = 0; j < ncols; j++)
		d->cols[j].kind = DS_FLOAT64;
	d->ncols = ncols;
	return 0;
}

static void ds_col_free(struct ds_col *c)
{
	free(c->name);
	if (!c->f64_borrowed)
		free(c->f64);
	if (!c->i64_borrowed)
		free(c->i64);
	free(c->text);
	free(c->blob);
}

void ds_free(ds *d)
{
	if (!d)
		return;
	for (size_t j = 0; d->cols && j < d->ncols; j++)
		ds_col_free(&d->cols[j]);
	free(d->cols);
	free(d->block);
	free(d->name);
	free(d);
}

void ds_col_count(ds *d, size_t j)
{
	struct ds_col *c = &d->cols[j];
	size_t n = 0;

	if (c->kind == DS_INT64) {
		n = d->nrows;
	} else if (c->kind == DS_TEXT) {
		for (size_t i = 0; i < d->nrows; i++)
			n += c->text[i] != NULL;
	} else {
		for (size_t i = 0; i < d->nrows; i++)
			n += !isnan(c->f64[i]);
	}
	c->count = n;
}

static void ds_set_digest(ds *d, const void *bytes, size_t len)
{
	XXH128_canonical_t c;

	XXH128_canonicalFromHash(&c, XXH3_128bits(bytes, len));
	memcpy(d->digest, c.digest, DS_DIGEST_LEN);
}

size_t ds_nrows(const ds *d)
{
	return d->nrows;
}

size_t ds_ncols(const ds *d)
{
	return d->ncols;
}

const char *ds_colname(const ds *d, size_t j)
{
	assert(j < d->ncols);
	return d->cols[j].name;
}

const double *ds_column(const ds *d, size_t j)
{
	assert(j < d->ncols);
	return d->cols[j].f64;
}

enum ds_kind ds_col_kind(const ds *d, size_t j)
{
	assert(j < d->ncols);
	return d->cols[j].kind;
}

int ds_col_numeric(const ds *d, size_t j)
{
	return ds_col_kind(d, j) != DS_TEXT;
}

const int64_t *ds_column_int64(const ds *d, size_t j)
{
	assert(j < d->ncols);
	return d->cols[j].kind == DS_INT64 ? d->cols[j].i64 : NULL;
}

const char *ds_text(const ds *d, size_t j, size_t i)
{
	assert(j < d->ncols && i < d->nrows);
	return d->cols[j].kind == DS_TEXT ? d->cols[j].text[i] : NULL;
}

size_t ds_count(const ds *d, size_t j)
{
	assert(j < d->ncols);
	return d->cols[j].count;
}

const uint8_t *ds_digest(const ds *d)
{
	return d->digest;
}

const char *ds_name(const ds *d)
{
	return d->name;
}

/* ---- Reading the file -------------------------------------------------- */

static double ds_seconds(void)
{
	return (double)util_now_ns() / 1e9;
}

/* Reads the file at m->path into a NUL-terminated buffer (*len excludes
 * the NUL; the caller frees *buf).  Directories are refused with -EISDIR,
 * and devices and sockets with -EINVAL (a device such as /dev/zero never
 * ends); pipes are read to their end. */
static int ds_read_file(const struct ds_msg *m, char **buf, size_t *len,
			struct stat *st_out)
{
	struct stat st;
	size_t hint;
	int fd, rc;

	fd = open(m->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		return ds_fail(m, rc, "%s", strerror(-rc));
	}
	if (fstat(fd, &st) != 0) {
		rc = -errno;
		ds_fail(m, rc, "%s", strerror(-rc));
		goto out_close;
	}
	if (S_ISDIR(st.st_mode)) {
		rc = ds_fail(m, -EISDIR, "%s (directory datasets are not "
			     "supported)", strerror(EISDIR));
		goto out_close;
	}
	if (!S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode)) {
		rc = ds_fail(m, -EINVAL, "not a regular file");
		goto out_close;
	}
	if (S_ISREG(st.st_mode) && (uintmax_t)st.st_size > DS_READ_MAX) {
		rc = ds_fail(m, -EFBIG, "%s", strerror(EFBIG));
		goto out_close;
	}
	hint = S_ISREG(st.st_mode) ? (size_t)st.st_size : DS_READ_HINT;
	rc = util_file_read_fd(fd, hint, DS_READ_MAX, buf, len);
	if (rc) {
		ds_fail(m, rc, "%s", strerror(-rc));
		goto out_close;
	}
	if (*len > DS_READ_MAX) {
		free(*buf);
		*buf = NULL;
		rc = ds_fail(m, -EFBIG, "%s", strerror(EFBIG));
		goto out_close;
	}
	*st_out = st;
out_close:
	close(fd);
	return rc;
}

/* ---- Loading ----------------------------------------------------------- */

static int ds_has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && strcasecmp(s + n - k, suffix) == 0;
}

/* Parses the file's bytes into d: .npy by magic, else CSV. */
static int ds_parse(ds *d, const struct ds_msg *m, const struct ds_opts *o,
		    char **buf, size_t len)
{
	if (len >= NPY_MAGIC_LEN && memcmp(*buf, NPY_MAGIC, NPY_MAGIC_LEN) == 0)
		return npy_load(d, m, buf, len);
	if (ds_has_suffix(m->path, ".npy"))
		return ds_fail(m, -EINVAL, "offset 0: bad .npy magic");
	return csv_load(d, m, o, *buf, len);
}

int ds_load(const char *path, ds **out, char *err, size_t errlen)
{
	return ds_load_opts(path, NULL, out, err, errlen);
}

int ds_load_opts(const char *path, const struct ds_opts *o, ds **out,
		 char *err, size_t errlen)
{
	static const struct ds_opts defaults = DS_OPTS_INIT;
	struct ds_msg m = { path, err, errlen };
	struct stat st;
	char *buf = NULL;
	size_t len = 0, packed;
	ds *d = NULL;
	double t0, t1, t2, t3;
	int rc;

	assert(path && out && (err || errlen == 0));
	if (errlen)
		err[0] = '\0';
	t0 = ds_seconds();
	rc = ds_read_file(&m, &buf, &len, &st);
	if (rc)
		return rc;
	packed = len;
	rc = dz_unpack(&m, &buf, &len);
	if (rc)
		goto out_free_buf;
	rc = ds_new(path, &d);
	if (rc) {
		ds_nomem(&m);
		goto out_free_buf;
	}
	d->st = st;
	d->has_st = S_ISREG(st.st_mode);
	t1 = ds_seconds();
	ds_set_digest(d, buf, len);
	t2 = ds_seconds();
	rc = ds_parse(d, &m, o ? o : &defaults, &buf, len);
	if (rc)
		goto out_free_ds;
	t3 = ds_seconds();
	log_debug("dataset %s: %zu bytes (%zu in the file) read in %.3f s, "
		  "digest in %.3f s, parsed in %.3f s (%.0f MB/s)", path, len,
		  packed, t1 - t0, t2 - t1, t3 - t2,
		  len / 1e6 / (t3 - t2 > 1e-9 ? t3 - t2 : 1e-9));
	*out = d;
	d = NULL;
out_free_ds:
	ds_free(d);
out_free_buf:
	free(buf);
	return rc;
}

int ds_file_stat(const ds *d, struct stat *out)
{
	if (!d->has_st)
		return -ENOENT;
	*out = d->st;
	return 0;
}

int ds_empty(const char *name, ds **out)
{
	ds *d = NULL;
	int rc = ds_new(name, &d);

	if (rc)
		return rc;
	ds_set_digest(d, "", 0);
	*out = d;
	return 0;
}

/* ---- The demo dataset -------------------------------------------------- */

static void ds_put_le64(unsigned char *p, double x)
{
	uint64_t u;

	memcpy(&u, &x, 8);
	for (int k = 0; k < 8; k++)
		p[k] = (unsigned char)(u >> (8 * k));
}

/* The demo is what numpy.save() would write for the array, minus the
 * header: little-endian doubles, row-major, hashed and converted exactly
 * like a .npy file's data. */
int ds_demo(ds **out)
{
	size_t n = (size_t)DS_DEMO_ROWS * DS_DEMO_COLS;
	unsigned char *bytes = NULL;
	double *all = NULL;
	rng *r = NULL;
	ds *d = NULL;
	int rc = -ENOMEM;

	bytes = malloc(n * 8);
	all = malloc(n * sizeof(double));
	r = rng_new(DS_DEMO_SEED);
	if (!bytes || !all || !r)
		goto out_free;
	for (size_t i = 0; i < n; i++)
		ds_put_le64(bytes + 8 * i, rng_gauss(r));
	rc = ds_new("demo", &d);
	if (rc == 0)
		rc = ds_cols_alloc(d, DS_DEMO_COLS);
	if (rc)
		goto out_free;
	npy_f8le_to_double(bytes, DS_DEMO_ROWS, DS_DEMO_COLS, all);
	d->nrows = DS_DEMO_ROWS;
	d->block = all;
	all = NULL;
	for (size_t j = 0; j < DS_DEMO_COLS; j++) {
		d->cols[j].f64 = (double *)d->block + j * DS_DEMO_ROWS;
		d->cols[j].f64_borrowed = 1;
		d->cols[j].count = DS_DEMO_ROWS;
	}
	ds_set_digest(d, bytes, n * 8);
	*out = d;
	d = NULL;
out_free:
	ds_free(d);
	rng_free(r);
	free(all);
	free(bytes);
	return rc;
}
