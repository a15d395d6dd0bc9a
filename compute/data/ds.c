/* ds.c -- the mounted dataset object (see ds.h): its columns, reading
 * the file, recognising the format, the digest, the demo table.
 *
 * ds_load() opens the file and reads its first bytes (DS_HEAD).  A
 * regular .npy file is then streamed: its header parsed (npy.c's plan),
 * its data read in chunks by two threads (stream.c) and converted straight
 * into the columns, hashed in file order on the way.  Any other regular
 * file is read whole into one buffer by the same two threads (hashed as it
 * is read unless compressed), a pipe with read(2) to its end; the buffer
 * is decompressed (decompress.c), hashed if not yet, and parsed: npy.c's
 * buffer feeder by magic, else csv.c.  Never mmap: a file truncated while
 * mapped would fault; a regular file that ends early, or whose size or
 * mtime changed by the end of the read, is refused (-EIO).
 *
 * Called once, at mount, before any other memofs thread starts (stream.c
 * and csv.c use a second thread while reading and parsing); a loaded ds is never written
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
#include "data/stream.h"
#include "util/clock.h"
#include "util/errmsg.h"
#include "util/file.h"
#include "util/log.h"
#include "util/mem.h"

#define DS_READ_HINT (64u << 10)	/* first buffer when size is unknown */
#define DS_HEAD 4096			/* bytes read first: magic, .npy header */
#define DS_THREADS STREAM_THREADS_MAX	/* threads reading a regular file */
#define DS_CHUNK (1u << 20)		/* bytes a chunk (see ds_chunk_bytes) */
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

size_t ds_chunk_bytes = DS_CHUNK;
void (*ds_test_after_header)(const char *path);

static double ds_seconds(void)
{
	return (double)util_now_ns() / 1e9;
}

/* Opens the file at m->path for reading: *fd and its fstat in *st.
 * Directories are refused with -EISDIR, and devices and sockets with
 * -EINVAL (a device such as /dev/zero never ends); regular files past
 * DS_READ_MAX with -EFBIG. */
static int ds_open(const struct ds_msg *m, int *fd, struct stat *st)
{
	int rc;

	*fd = open(m->path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0) {
		rc = -errno;
		return ds_fail(m, rc, "%s", strerror(-rc));
	}
	if (fstat(*fd, st) != 0) {
		rc = -errno;
		ds_fail(m, rc, "%s", strerror(-rc));
	} else if (S_ISDIR(st->st_mode)) {
		rc = ds_fail(m, -EISDIR, "%s (directory datasets are not "
			     "supported)", strerror(EISDIR));
	} else if (!S_ISREG(st->st_mode) && !S_ISFIFO(st->st_mode)) {
		rc = ds_fail(m, -EINVAL, "not a regular file");
	} else if (S_ISREG(st->st_mode) &&
		   (uintmax_t)st->st_size > DS_READ_MAX) {
		rc = ds_fail(m, -EFBIG, "%s", strerror(EFBIG));
	} else {
		return 0;
	}
	close(*fd);
	*fd = -1;
	return rc;
}

/* Reads a pipe to its end into a NUL-terminated buffer (*len excludes the
 * NUL; the caller frees *buf). */
static int ds_read_pipe(const struct ds_msg *m, int fd, char **buf,
			size_t *len)
{
	int rc = util_file_read_fd(fd, DS_READ_HINT, DS_READ_MAX, buf, len);

	if (rc)
		return ds_fail(m, rc, "%s", strerror(-rc));
	if (*len > DS_READ_MAX) {
		free(*buf);
		*buf = NULL;
		return ds_fail(m, -EFBIG, "%s", strerror(EFBIG));
	}
	return 0;
}

/* The message for a stream_read() failure of a file of size bytes. */
static int ds_read_failed(const struct ds_msg *m, int rc,
			  const struct stream_fail *f, uint64_t size)
{
	if (f->ended)
		return ds_fail(m, -EIO, "offset %ju: the file ended before its "
			       "%ju bytes (changed while being read?)",
			       (uintmax_t)f->off, (uintmax_t)size);
	return ds_fail(m, rc, "offset %ju: %s", (uintmax_t)f->off,
		       strerror(-rc));
}

/* Refuses a file whose size or modification time changed since st was
 * taken: what was read may mix two versions (-EIO). */
static int ds_check_unchanged(const struct ds_msg *m, int fd,
			      const struct stat *st)
{
	struct stat now;

	if (fstat(fd, &now) != 0) {
		int rc = -errno;

		return ds_fail(m, rc, "%s", strerror(-rc));
	}
	if (now.st_size != st->st_size ||
	    now.st_mtim.tv_sec != st->st_mtim.tv_sec ||
	    now.st_mtim.tv_nsec != st->st_mtim.tv_nsec)
		return ds_fail(m, -EIO, "the file changed while being read "
			       "(%jd bytes, now %jd): try again",
			       (intmax_t)st->st_size, (intmax_t)now.st_size);
	return 0;
}

static unsigned char *ds_buf_dest(void *ctx, uint64_t off, size_t len)
{
	(void)len;
	return (unsigned char *)ctx + off;
}

/* Reads a regular file of size bytes whole into a NUL-terminated buffer
 * (the caller frees *buf) on two threads, feeding h (when not NULL) its
 * bytes in order. */
static int ds_read_whole(const struct ds_msg *m, int fd, uint64_t size,
			 char **buf, XXH3_state_t *h)
{
	struct stream_job j = {
		.fd = fd, .start = 0, .end = size, .chunk = ds_chunk_bytes,
		.threads = DS_THREADS, .dest = ds_buf_dest, .hash = h,
	};
	struct stream_fail f;
	char *b = util_big_alloc((size_t)size + 1);
	int rc;

	if (!b)
		return ds_nomem(m);
	j.ctx = b;
	rc = stream_read(&j, &f);
	if (rc) {
		free(b);
		return ds_read_failed(m, rc, &f, size);
	}
	b[size] = '\0';
	*buf = b;
	return 0;
}

/* Reads the file's first len bytes into p (of a file of size bytes): 0,
 * or -EIO when the file ends first, or pread's -errno, with a message. */
static int ds_pread_head(const struct ds_msg *m, int fd, void *p, size_t len,
			 uint64_t size)
{
	struct stream_job j = {
		.fd = fd, .start = 0, .end = len, .chunk = len ? len : 1,
		.threads = 1, .dest = ds_buf_dest, .ctx = p,
	};
	struct stream_fail f;
	int rc = stream_read(&j, &f);

	return rc ? ds_read_failed(m, rc, &f, size) : 0;
}

/* d's digest from h; none (zero) for h NULL (ds_opts.no_digest). */
static void ds_digest_from(ds *d, XXH3_state_t *h)
{
	XXH128_canonical_t c;

	if (!h)
		return;
	XXH128_canonicalFromHash(&c, XXH3_128bits_digest(h));
	memcpy(d->digest, c.digest, DS_DIGEST_LEN);
}

/* Loads a regular .npy file whose first bytes head[0..have) are read:
 * its header, then its data converted into d's columns chunk by chunk on
 * two threads (npy.c's plan, stream.c), hashed on the way. */
static int ds_load_npy(ds *d, const struct ds_msg *m, int fd,
		       const unsigned char *head, size_t have,
		       XXH3_state_t *h)
{
	uint64_t size = (uint64_t)d->st.st_size;
	struct npy_plan *p = NULL;
	struct stream_fail f;
	struct stream_job j;
	unsigned char *hdr = NULL;
	size_t hdr_end = 0;
	int rc;

	rc = npy_header_end(m, head, size, &hdr_end);
	if (rc)
		return rc;
	if (hdr_end > have) {		/* a header longer than DS_HEAD */
		hdr = malloc(hdr_end);
		if (!hdr)
			return ds_nomem(m);
		rc = ds_pread_head(m, fd, hdr, hdr_end, size);
		if (rc)
			goto out_free_hdr;
	}
	rc = npy_begin(d, m, hdr ? hdr : head, size, &p);
	if (rc)
		goto out_free_hdr;
	if (h)
		(void)XXH3_128bits_update(h, hdr ? hdr : head, hdr_end);
	if (ds_test_after_header)
		ds_test_after_header(m->path);
	j = (struct stream_job){
		.fd = fd, .start = npy_data_off(p), .end = size,
		.chunk = npy_chunk(p, ds_chunk_bytes), .threads = DS_THREADS,
		.dest = npy_dest, .consume = npy_consume, .ctx = p, .hash = h,
	};
	rc = stream_read(&j, &f);
	if (rc) {
		npy_plan_free(p);
		rc = ds_read_failed(m, rc, &f, size);
		goto out_free_hdr;
	}
	npy_finish(p);
out_free_hdr:
	free(hdr);
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
		    char *buf, size_t len)
{
	if (len >= NPY_MAGIC_LEN && memcmp(buf, NPY_MAGIC, NPY_MAGIC_LEN) == 0)
		return npy_load(d, m, (const unsigned char *)buf, len);
	if (ds_has_suffix(m->path, ".npy"))
		return ds_fail(m, -EINVAL, "offset 0: bad .npy magic");
	return csv_load(d, m, o, buf, len);
}

/* Reads the file's bytes into *buf (the caller frees) and, unless they
 * are compressed, its digest into d: a regular file on two threads,
 * hashed as it is read; a pipe, or a file whose size says 0 (as /proc's
 * do), to its end.  *hashed says whether d's digest is set. */
static int ds_read_bytes(ds *d, const struct ds_msg *m, int fd,
			 const unsigned char *head, size_t have, char **buf,
			 size_t *len, XXH3_state_t *h, int *hashed)
{
	int rc;

	*hashed = 0;
	if (!d->has_st || d->st.st_size == 0)	/* a pipe; /proc, /sys */
		return ds_read_pipe(m, fd, buf, len);
	*len = (size_t)d->st.st_size;
	if (dz_is_packed(head, have))
		return ds_read_whole(m, fd, *len, buf, NULL);
	rc = ds_read_whole(m, fd, *len, buf, h);
	if (rc == 0) {
		ds_digest_from(d, h);
		*hashed = 1;
	}
	return rc;
}

/* Loads everything but a regular .npy file: reads, undoes a compression,
 * hashes (unless done while reading), parses. */
static int ds_load_buffer(ds *d, const struct ds_msg *m,
			  const struct ds_opts *o, int fd,
			  const unsigned char *head, size_t have,
			  XXH3_state_t *h, double *t_parse)
{
	char *buf = NULL;
	size_t len = 0;
	int rc, hashed = 0;

	rc = ds_read_bytes(d, m, fd, head, have, &buf, &len, h, &hashed);
	if (rc == 0 && d->has_st)
		rc = ds_check_unchanged(m, fd, &d->st);
	if (rc == 0)
		rc = dz_unpack(m, &buf, &len);
	if (rc)
		goto out_free_buf;
	if (!hashed && h)
		ds_set_digest(d, buf, len);
	*t_parse = ds_seconds();
	rc = ds_parse(d, m, o, buf, len);
out_free_buf:
	free(buf);
	return rc;
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
	unsigned char head[DS_HEAD];
	XXH3_state_t *h = NULL;
	struct stat st;
	size_t have = 0;
	ds *d = NULL;
	double t0, t1, t2;
	int fd = -1, rc;

	assert(path && out && (err || errlen == 0));
	if (errlen)
		err[0] = '\0';
	t0 = ds_seconds();
	rc = ds_open(&m, &fd, &st);
	if (rc)
		return rc;
	rc = ds_new(path, &d);
	if (rc == 0 && !(o && o->no_digest)) {
		h = XXH3_createState();
		if (!h || XXH3_128bits_reset(h) != XXH_OK)
			rc = -ENOMEM;
	}
	if (rc) {
		rc = ds_nomem(&m);
		goto out_free;
	}
	d->st = st;
	d->has_st = S_ISREG(d->st.st_mode);
	if (d->has_st) {
		have = (uintmax_t)d->st.st_size < DS_HEAD
		       ? (size_t)d->st.st_size : DS_HEAD;
		rc = ds_pread_head(&m, fd, head, have,
				   (uint64_t)d->st.st_size);
		if (rc)
			goto out_free;
	}
	t1 = t2 = ds_seconds();
	if (d->has_st && have >= NPY_MAGIC_LEN &&
	    memcmp(head, NPY_MAGIC, NPY_MAGIC_LEN) == 0) {
		rc = ds_load_npy(d, &m, fd, head, have, h);
		if (rc == 0)
			rc = ds_check_unchanged(&m, fd, &d->st);
		if (rc == 0)
			ds_digest_from(d, h);
		t2 = ds_seconds();
	} else {
		rc = ds_load_buffer(d, &m, o ? o : &defaults, fd, head, have,
				    h, &t2);
	}
	if (rc)
		goto out_free;
	log_debug("dataset %s: %ju bytes, opened in %.3f s, read+digest "
		  "(+convert for .npy) in %.3f s on %d threads, parsed in "
		  "%.3f s", path, (uintmax_t)d->st.st_size, t1 - t0, t2 - t1,
		  DS_THREADS, ds_seconds() - t2);
	*out = d;
	d = NULL;
out_free:
	XXH3_freeState(h);
	ds_free(d);
	close(fd);
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
