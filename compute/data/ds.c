/* ds.c -- the mounted dataset: CSV and .npy loaders, the demo table (see
 * ds.h).
 *
 * ds_load() reads the whole file into one heap buffer with read(2) (never
 * mmap: a file truncated while mapped would fault), hashes the bytes, then
 * parses that buffer.  The buffer ends with a NUL and a CSV holding a NUL
 * byte is rejected first, so strtod() stops at the end of any field; quoted
 * CSV fields are unquoted in place.  Values go into one column-major array,
 * so ds_column() is a pointer into it.  The file buffer is freed before
 * ds_load() returns: at its peak a load holds the file's bytes plus the
 * doubles, afterwards only the doubles, the header names and the digest.
 *
 * Called once, at mount, before any thread starts; a loaded ds is never
 * written again, so nothing here locks.  It does not watch the file: an
 * edited file is only seen by the next mount.
 */
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "data/ds.h"
#include "util/clock.h"
#include "util/errmsg.h"
#include "util/file.h"
#include "util/mem.h"
#include "util/log.h"
#include "data/quote.h"
#include "data/rng.h"

#define DS_READ_HINT (64u << 10)	/* first buffer when size is unknown */
#define DS_READ_MAX (SIZE_MAX / 4)	/* the largest file read */
#define DS_DEMO_ROWS 10000
#define DS_DEMO_COLS 4
#define DS_DEMO_SEED 42

#define NPY_MAGIC "\x93NUMPY"
#define NPY_MAGIC_LEN 6

#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define DS_HOST_BIG 1
#else
#define DS_HOST_BIG 0
#endif

_Static_assert(sizeof(double) == 8 && sizeof(float) == 4,
	       ".npy conversion assumes IEEE binary64 and binary32");
_Static_assert(sizeof(((XXH128_canonical_t *)0)->digest) == DS_DIGEST_LEN,
	       "DS_DIGEST_LEN is the size of an XXH3-128 digest");

struct ds {
	char *name;		/* the path given to ds_load(), or "demo" */
	size_t nrows;
	size_t ncols;
	double *values;		/* column j at values + j * nrows */
	char **names;		/* ncols header names, or NULL */
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

/* ---- Messages ---------------------------------------------------------- */

__attribute__((format(printf, 3, 4)))
static int ds_fail(const struct ds_msg *m, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	rc = util_path_verror(m->err, m->errlen, m->path, rc, fmt, ap);
	va_end(ap);
	return rc;
}

static int ds_nomem(const struct ds_msg *m)
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

void ds_free(ds *d)
{
	if (!d)
		return;
	if (d->names)
		for (size_t j = 0; j < d->ncols; j++)
			free(d->names[j]);
	free(d->names);
	free(d->values);
	free(d->name);
	free(d);
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
	return d->names ? d->names[j] : NULL;
}

const double *ds_column(const ds *d, size_t j)
{
	assert(j < d->ncols);
	return d->values + j * d->nrows;
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

/* ---- CSV --------------------------------------------------------------- */

/* A parse position in the file buffer.  The buffer is NUL-terminated and
 * holds no other NUL ahead of p (unquoting writes NULs behind it only), so
 * *q == '\0' exactly when q == end, for any q from p on. */
struct csv {
	const struct ds_msg *m;
	char *p;		/* next byte to read */
	char *end;		/* one past the last byte of the file */
	size_t line;		/* 1-based line number of p */
};

/* One field of a row: its text without the blanks around it, or the
 * unquoted content (unquoted in place) of a quoted field. */
struct csv_cell {
	char *text;
	size_t len;
};

/* The table being filled.  Columns are cap apart until csv_table_pack(). */
struct csv_table {
	size_t ncols;
	size_t cap;		/* room per column: a bound on data rows */
	size_t nrows;		/* data rows stored */
	size_t header_line;	/* line of the header, 0 without one */
	double *values;		/* column j at values + j * cap */
	char **names;		/* ncols header names, or NULL */
};

enum csv_num { CSV_NUM_OK, CSV_NUM_EMPTY, CSV_NUM_BAD };

/* 10^0 .. 10^22: every one exact as a double. */
static const double csv_pow10[] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

__attribute__((format(printf, 3, 4)))
static int csv_fail(const struct csv *c, size_t field, const char *fmt, ...)
{
	char what[DS_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (field)
		return ds_fail(c->m, -EINVAL, "line %zu, field %zu: %s",
			       c->line, field, what);
	return ds_fail(c->m, -EINVAL, "line %zu: %s", c->line, what);
}

static int csv_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

static int csv_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

/* Whether q is at a line end: LF, CRLF, a CR ending the file, or the end
 * of the file. */
static int csv_at_eol(const struct csv *c, const char *q)
{
	return *q == '\n' || q == c->end ||
	       (*q == '\r' && (q[1] == '\n' || q + 1 == c->end));
}

/* Moves past the line end at c->p. */
static void csv_end_line(struct csv *c)
{
	assert(csv_at_eol(c, c->p));
	if (*c->p == '\r')
		c->p++;
	if (*c->p == '\n') {
		c->p++;
		c->line++;
	}
}

/* Skips empty and all-blank lines; returns whether a row starts at c->p. */
static int csv_next_row(struct csv *c)
{
	for (;;) {
		char *q = c->p;

		while (csv_blank(*q))
			q++;
		if (q == c->end) {
			c->p = q;
			return 0;
		}
		if (!csv_at_eol(c, q))
			return 1;
		c->p = q;
		csv_end_line(c);
	}
}

/* Where strtod() must stop for csv_fast_number() to have read the same. */
static int csv_stop(char ch)
{
	return ch == ',' || ch == '\0' || ch == '\n' || ch == '\r' ||
	       csv_blank(ch);
}

/* strtod() for plain decimals, several times faster: when s is a sign,
 * digits with at most one '.', an exponent, and then a csv_stop() byte, with
 * at most 19 significant digits making an integer w <= 2^53 and a decimal
 * exponent e in [-22, 22], w and 10^|e| are exact doubles and one IEEE
 * multiply or divide rounds w * 10^e correctly (Clinger's fast path), so
 * the result is strtod()'s, bit for bit.  Returns the bytes read and sets
 * *v, or returns 0 and leaves everything else to strtod(). */
static size_t csv_fast_number(const char *s, double *v)
{
#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD == 0
	const char *p = s;
	uint64_t w = 0;
	int neg = 0, ndigits = 0, sig = 0, frac = 0, in_frac = 0, e = 0;
	double x;

	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	for (;; p++) {
		if (*p == '.' && !in_frac) {
			in_frac = 1;
			continue;
		}
		if (!csv_digit(*p))
			break;
		if (++ndigits > 40)
			return 0;
		frac += in_frac;
		if ((w || *p != '0') && ++sig > 19)
			return 0;
		w = w * 10 + (uint64_t)(*p - '0');
	}
	if (ndigits == 0)
		return 0;
	if (*p == 'e' || *p == 'E') {
		const char *q = p + 1;
		int eneg = 0, edigits = 0;

		if (*q == '+' || *q == '-')
			eneg = *q++ == '-';
		for (; csv_digit(*q); q++) {
			if (++edigits > 4)
				return 0;
			e = e * 10 + (*q - '0');
		}
		if (edigits == 0)
			return 0;
		e = eneg ? -e : e;
		p = q;
	}
	if (!csv_stop(*p))
		return 0;
	e -= frac;
	if (w == 0)
		x = 0.0;
	else if (w > (UINT64_C(1) << 53) || e < -22 || e > 22)
		return 0;
	else if (e < 0)
		x = (double)w / csv_pow10[-e];
	else
		x = (double)w * csv_pow10[e];
	*v = neg ? -x : x;
	return (size_t)(p - s);
#else
	(void)s;
	(void)v;
	return 0;	/* excess precision would round twice */
#endif
}

/* Reads the number at s, which is not white space (strtod() would skip
 * it, newlines included) and is followed by a byte no number continues
 * with; returns the bytes read (0: not a number) and sets *v. */
static size_t csv_strtod(const char *s, double *v)
{
	size_t n = csv_fast_number(s, v);
	char *end;

	assert(!isspace((unsigned char)*s));
	if (n == 0) {
		*v = strtod(s, &end);
		n = (size_t)(end - s);
	}
	return n;
}

/* Reads a cell as a number: CSV_NUM_OK and *v when strtod() reads all of
 * it but the blanks around it. */
static enum csv_num csv_number(const struct csv_cell *cell, double *v)
{
	const char *s = cell->text, *e = s + cell->len;

	while (s < e && csv_blank(*s))
		s++;
	while (e > s && csv_blank(e[-1]))
		e--;
	if (s == e)
		return CSV_NUM_EMPTY;
	if (isspace((unsigned char)*s))
		return CSV_NUM_BAD;
	return csv_strtod(s, v) == (size_t)(e - s) ? CSV_NUM_OK : CSV_NUM_BAD;
}

/* csv_number(), with a message naming the line and field on failure. */
static int csv_value(const struct csv *c, const struct csv_cell *cell,
		     size_t field, double *v)
{
	char show[QUOTE_BUF];

	switch (csv_number(cell, v)) {
	case CSV_NUM_OK:
		return 0;
	case CSV_NUM_EMPTY:
		return csv_fail(c, field, "empty field");
	default:
		quote_bytes(show, cell->text, cell->len);
		return csv_fail(c, field, "not a number: '%s'", show);
	}
}

/* Parses the quoted field whose opening quote is at q, unquoting it in
 * place and NUL-terminating its content; leaves c->p at the ',' or line
 * end after it. */
static int csv_quoted(struct csv *c, char *q, struct csv_cell *cell,
		      size_t field)
{
	char *src = q + 1, *dst = q + 1;

	for (;;) {
		if (*src == '"' && src[1] == '"') {
			*dst++ = '"';
			src += 2;
		} else if (*src == '"') {
			break;
		} else if (*src == '\n' || *src == '\r') {
			return csv_fail(c, field, "newline inside quoted "
					"field");
		} else if (src == c->end) {
			return csv_fail(c, field, "unterminated quoted field");
		} else {
			*dst++ = *src++;
		}
	}
	for (src++; csv_blank(*src); src++)
		;
	if (*src != ',' && !csv_at_eol(c, src))
		return csv_fail(c, field, "text after closing quote");
	*dst = '\0';		/* at or before the closing quote */
	cell->text = q + 1;
	cell->len = (size_t)(dst - (q + 1));
	c->p = src;
	return 0;
}

/* Parses the field at c->p (field is its 1-based number, for messages);
 * leaves c->p at the ',' or line end after it. */
static int csv_field(struct csv *c, struct csv_cell *cell, size_t field)
{
	char *q = c->p, *e;

	while (csv_blank(*q))
		q++;
	if (*q == '"')
		return csv_quoted(c, q, cell, field);
	cell->text = q;
	while (*q != ',' && *q != '\n' && *q != '\r' && *q != '\0')
		q++;
	if (*q == '\r' && !csv_at_eol(c, q))
		return csv_fail(c, field, "carriage return without line feed");
	for (e = q; e > cell->text && csv_blank(e[-1]); e--)
		;
	cell->len = (size_t)(e - cell->text);
	c->p = q;
	return 0;
}

/* Parses the row at c->p into a malloc'd array of cells (caller frees);
 * leaves c->p at its line end. */
static int csv_split_row(struct csv *c, struct csv_cell **cells, size_t *n)
{
	struct csv_cell *v = NULL, *nv;
	size_t cap = 0, k = 0;
	int rc;

	for (;;) {
		if (k == cap) {
			cap = cap ? 2 * cap : 16;
			nv = reallocarray(v, cap, sizeof(*v));
			if (!nv) {
				rc = ds_nomem(c->m);
				goto out_free_cells;
			}
			v = nv;
		}
		rc = csv_field(c, &v[k], k + 1);
		if (rc)
			goto out_free_cells;
		k++;
		if (*c->p != ',')
			break;
		c->p++;
	}
	*cells = v;
	*n = k;
	return 0;

out_free_cells:
	free(v);
	return rc;
}

/* The first row is a header when a field that is not empty is not a
 * number.  (A numeric row with an empty field is data, and an error.) */
static int csv_is_header(const struct csv_cell *cells, size_t n)
{
	double v;

	for (size_t k = 0; k < n; k++)
		if (csv_number(&cells[k], &v) == CSV_NUM_BAD)
			return 1;
	return 0;
}

/* Lines in the file: a bound on its rows. */
static size_t csv_count_lines(const char *buf, size_t len)
{
	const char *p = buf, *end = buf + len;
	size_t n = 1;

	while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		p++;
		n++;
	}
	return n;
}

/* Allocates room for ncols columns, c->p being at the end of the first row.
 * Each later row, even the one being parsed when it fails, starts after a
 * line feed of its own, and each complete data row takes at least
 * 2 * ncols - 1 bytes (a non-blank byte per field, and the commas); so the
 * index of any data row stored (the first row's being 0) is less than both
 * the lines left and len / (2 * ncols - 1) + 2.  The smaller bound keeps
 * the memory near four times the file's size, whatever the first row
 * claims. */
static int csv_table_alloc(const struct csv *c, struct csv_table *t,
			   size_t ncols)
{
	size_t len = (size_t)(c->end - c->p), lines, by_size, bytes;

	assert(ncols > 0);
	lines = csv_count_lines(c->p, len);
	by_size = len / (2 * ncols - 1) + 2;
	t->ncols = ncols;
	t->cap = lines < by_size ? lines : by_size;
	if (__builtin_mul_overflow(ncols, t->cap, &bytes) ||
	    __builtin_mul_overflow(bytes, sizeof(double), &bytes))
		return ds_nomem(c->m);
	t->values = malloc(bytes);
	if (!t->values)
		return ds_nomem(c->m);
	return 0;
}

static void csv_table_free(struct csv_table *t)
{
	if (t->names)
		for (size_t j = 0; j < t->ncols; j++)
			free(t->names[j]);
	free(t->names);
	free(t->values);
}

/* Keeps the first row's cells as the header names. */
static int csv_take_names(struct csv *c, struct csv_table *t,
			  const struct csv_cell *cells)
{
	t->names = calloc(t->ncols, sizeof(*t->names));
	if (!t->names)
		return ds_nomem(c->m);
	for (size_t j = 0; j < t->ncols; j++) {
		t->names[j] = strndup(cells[j].text, cells[j].len);
		if (!t->names[j])
			return ds_nomem(c->m);
	}
	t->header_line = c->line;
	return 0;
}

/* Stores cells as data row t->nrows. */
static int csv_take_row(struct csv *c, struct csv_table *t,
			const struct csv_cell *cells)
{
	double *slot = t->values + t->nrows;
	int rc;

	assert(t->nrows < t->cap);
	for (size_t j = 0; j < t->ncols; j++) {
		rc = csv_value(c, &cells[j], j + 1, slot + j * t->cap);
		if (rc)
			return rc;
	}
	t->nrows++;
	return 0;
}

/* Parses the first row, which fixes the column count: a header, or the
 * first data row. */
static int csv_first_row(struct csv *c, struct csv_table *t)
{
	struct csv_cell *cells = NULL;
	size_t n = 0;
	int rc;

	rc = csv_split_row(c, &cells, &n);
	if (rc)
		return rc;
	rc = csv_table_alloc(c, t, n);
	if (rc)
		goto out_free_cells;
	if (csv_is_header(cells, n))
		rc = csv_take_names(c, t, cells);
	else
		rc = csv_take_row(c, t, cells);
	if (rc == 0)
		csv_end_line(c);
out_free_cells:
	free(cells);
	return rc;
}

/* csv_field() and csv_value() in one pass, for the common field: not
 * quoted, a number.  Returns 1 with *v set and c->p at the ',' or line end
 * after the field; returns 0, having moved nothing, for anything else,
 * which the slow path parses and explains. */
static int csv_quick_value(struct csv *c, double *v)
{
	const char *q = c->p;
	size_t n;

	while (csv_blank(*q))
		q++;
	if (*q == '"' || *q == ',' || isspace((unsigned char)*q) ||
	    q == c->end)
		return 0;
	n = csv_strtod(q, v);
	if (n == 0)
		return 0;
	for (q += n; csv_blank(*q); q++)
		;
	if (*q != ',' && !csv_at_eol(c, q))
		return 0;
	c->p += q - c->p;
	return 1;
}

/* Parses field k (0-based) of a data row, into the table if k < ncols. */
static int csv_data_field(struct csv *c, struct csv_table *t, size_t k)
{
	double *slot = t->values + k * t->cap + t->nrows;
	struct csv_cell cell;
	int rc;

	if (k < t->ncols && csv_quick_value(c, slot))
		return 0;
	rc = csv_field(c, &cell, k + 1);
	if (rc == 0 && k < t->ncols)
		rc = csv_value(c, &cell, k + 1, slot);
	return rc;
}

/* Parses a data row straight into the table (no cell array: this is the
 * loop that runs a million times). */
static int csv_data_row(struct csv *c, struct csv_table *t)
{
	size_t k = 0;
	int rc;

	assert(t->nrows < t->cap);
	for (;;) {
		rc = csv_data_field(c, t, k);
		if (rc)
			return rc;
		k++;
		if (*c->p != ',')
			break;
		c->p++;
	}
	if (k != t->ncols)
		return csv_fail(c, 0, "expected %zu fields, found %zu",
				t->ncols, k);
	t->nrows++;
	csv_end_line(c);
	return 0;
}

/* Moves the table into d, closing the gaps between its columns. */
static void csv_table_pack(struct csv_table *t, ds *d)
{
	double *shrunk;

	for (size_t j = 1; j < t->ncols; j++)
		memmove(t->values + j * t->nrows, t->values + j * t->cap,
			t->nrows * sizeof(double));
	/* Shrinking in place may fail; the larger block is then kept. */
	shrunk = realloc(t->values, t->ncols * t->nrows * sizeof(double));
	d->values = shrunk ? shrunk : t->values;
	d->names = t->names;
	d->nrows = t->nrows;
	d->ncols = t->ncols;
	t->values = NULL;
	t->names = NULL;
}

/* Refuses a file holding a NUL byte: not text. */
static int csv_check_text(struct csv *c)
{
	const char *nul = memchr(c->p, '\0', (size_t)(c->end - c->p));
	size_t off;

	if (!nul)
		return 0;
	off = (size_t)(nul - c->p);
	c->line = csv_count_lines(c->p, off);
	return csv_fail(c, 0, "NUL byte at offset %zu (binary file?)", off);
}

static int csv_load(ds *d, const struct ds_msg *m, char *buf, size_t len)
{
	struct csv c = { m, buf, buf + len, 1 };
	struct csv_table t = { 0 };
	int rc;

	rc = csv_check_text(&c);
	if (rc)
		return rc;
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		c.p += 3;	/* UTF-8 byte order mark */
	if (!csv_next_row(&c))
		return ds_fail(m, -EINVAL, "empty file");
	rc = csv_first_row(&c, &t);
	while (rc == 0 && csv_next_row(&c))
		rc = csv_data_row(&c, &t);
	if (rc == 0 && t.nrows == 0)
		rc = ds_fail(m, -EINVAL, "line %zu: no data rows after the "
			     "header", t.header_line);
	if (rc == 0)
		csv_table_pack(&t, d);
	csv_table_free(&t);
	return rc;
}

/* ---- NumPy .npy -------------------------------------------------------- */

/* An element type: IEEE float or two's complement integer, 4 or 8 bytes,
 * swap when stored in the byte order the host does not use. */
struct npy_type {
	char kind;		/* 'f' or 'i' */
	size_t size;
	int swap;
};

enum npy_key {
	NPY_DESCR = 1,
	NPY_FORTRAN = 2,
	NPY_SHAPE = 4,
};

/* The file and what its header dict says. */
struct npy {
	const struct ds_msg *m;
	const unsigned char *buf;
	size_t len;
	size_t pos;		/* next header byte, as a file offset */
	size_t hdr_end;		/* one past the header */
	size_t shape_pos;	/* where the shape tuple starts */
	unsigned seen;		/* enum npy_key bits parsed so far */
	struct npy_type type;
	int fortran;		/* fortran_order: column-major data */
	size_t ndim;
	size_t dim[2];
};

__attribute__((format(printf, 3, 4)))
static int npy_fail(const struct npy *n, size_t off, const char *fmt, ...)
{
	char what[DS_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return ds_fail(n->m, -EINVAL, "offset %zu: %s", off, what);
}

/* The next header byte, or -1 at the end of the header. */
static int npy_peek(const struct npy *n)
{
	return n->pos < n->hdr_end ? n->buf[n->pos] : -1;
}

static void npy_skip_space(struct npy *n)
{
	int ch;

	while ((ch = npy_peek(n)) == ' ' || ch == '\t' || ch == '\n' ||
	       ch == '\r')
		n->pos++;
}

/* Skips white space and the byte ch. */
static int npy_expect(struct npy *n, char ch, const char *where)
{
	npy_skip_space(n);
	if (npy_peek(n) != ch)
		return npy_fail(n, n->pos, "expected '%c' %s", ch, where);
	n->pos++;
	return 0;
}

/* Parses a '...' or "..." string literal; *s points into the file. */
static int npy_string(struct npy *n, const char **s, size_t *len)
{
	int quote = npy_peek(n), ch;
	size_t start;

	if (quote != '\'' && quote != '"')
		return npy_fail(n, n->pos, "expected a string");
	start = ++n->pos;
	while ((ch = npy_peek(n)) != quote) {
		if (ch == -1 || ch == '\n' || ch == '\\')
			return npy_fail(n, start - 1, "bad string literal");
		n->pos++;
	}
	*s = (const char *)n->buf + start;
	*len = n->pos++ - start;
	return 0;
}

static int npy_word(const struct npy *n, const char *word)
{
	size_t wlen = strlen(word), after = n->pos + wlen;

	return n->hdr_end - n->pos >= wlen &&
	       memcmp(n->buf + n->pos, word, wlen) == 0 &&
	       (after == n->hdr_end || !isalnum(n->buf[after]));
}

static int npy_bool(struct npy *n, int *v)
{
	if (npy_word(n, "True")) {
		*v = 1;
		n->pos += 4;
	} else if (npy_word(n, "False")) {
		*v = 0;
		n->pos += 5;
	} else {
		return npy_fail(n, n->pos, "fortran_order is not True or "
				"False");
	}
	return 0;
}

/* Reads descr: '<f8', '>i4', '=f4' ... ('=' is the host's order). */
static int npy_descr(struct npy *n)
{
	char show[QUOTE_BUF];
	size_t at = n->pos, len;
	const char *s;
	int rc;

	if (npy_peek(n) == '[')
		return npy_fail(n, at, "unsupported dtype (structured array)");
	rc = npy_string(n, &s, &len);
	if (rc)
		return rc;
	if (len == 3 && strchr("<>=", s[0]) && strchr("fi", s[1]) &&
	    (s[2] == '4' || s[2] == '8')) {
		n->type.kind = s[1];
		n->type.size = (size_t)(s[2] - '0');
		n->type.swap = (s[0] == '<' && DS_HOST_BIG) ||
			       (s[0] == '>' && !DS_HOST_BIG);
		return 0;
	}
	quote_bytes(show, s, len);
	return npy_fail(n, at, "unsupported dtype '%s'", show);
}

/* Reads one dimension: decimal digits, and the 'L' of a Python 2 long. */
static int npy_dim(struct npy *n, size_t *v)
{
	size_t at = n->pos, x = 0;
	int ch;

	if (!isdigit(npy_peek(n)))
		return npy_fail(n, at, "bad shape");
	while (isdigit(ch = npy_peek(n))) {
		if (__builtin_mul_overflow(x, 10, &x) ||
		    __builtin_add_overflow(x, (size_t)(ch - '0'), &x))
			return npy_fail(n, at, "shape dimension too large");
		n->pos++;
	}
	if (npy_peek(n) == 'L')
		n->pos++;
	*v = x;
	return 0;
}

/* Reads the shape tuple: (), (n,), (r, c), with an optional trailing comma;
 * keeps 1-D and 2-D shapes. */
static int npy_shape(struct npy *n)
{
	size_t v = 0;
	int rc;

	n->shape_pos = n->pos;
	rc = npy_expect(n, '(', "to open the shape");
	if (rc)
		return rc;
	for (n->ndim = 0;; n->ndim++) {
		npy_skip_space(n);
		if (npy_peek(n) == ')')
			break;
		rc = npy_dim(n, &v);
		if (rc)
			return rc;
		if (n->ndim < 2)
			n->dim[n->ndim] = v;
		npy_skip_space(n);
		if (npy_peek(n) == ',')
			n->pos++;
		else if (npy_peek(n) != ')')
			return npy_fail(n, n->pos, "bad shape");
	}
	n->pos++;
	if (n->ndim == 0)
		return npy_fail(n, n->shape_pos, "shape (): scalar arrays are "
				"not supported");
	if (n->ndim > 2)
		return npy_fail(n, n->shape_pos, "%zu-D array not supported",
				n->ndim);
	return 0;
}

/* Which key key[0..len) is: an enum npy_key bit, or 0. */
static unsigned npy_key(const char *key, size_t len)
{
	if (len == 5 && memcmp(key, "descr", 5) == 0)
		return NPY_DESCR;
	if (len == 13 && memcmp(key, "fortran_order", 13) == 0)
		return NPY_FORTRAN;
	if (len == 5 && memcmp(key, "shape", 5) == 0)
		return NPY_SHAPE;
	return 0;
}

/* Parses one "key: value" entry of the header dict. */
static int npy_entry(struct npy *n)
{
	char show[QUOTE_BUF];
	size_t at = n->pos, len;
	const char *key;
	unsigned bit;
	int rc;

	rc = npy_string(n, &key, &len);
	if (rc == 0)
		rc = npy_expect(n, ':', "after a key");
	if (rc)
		return rc;
	npy_skip_space(n);
	bit = npy_key(key, len);
	quote_bytes(show, key, len);
	if (!bit)
		return npy_fail(n, at, "unexpected key '%s'", show);
	if (n->seen & bit)
		return npy_fail(n, at, "duplicate key '%s'", show);
	n->seen |= bit;
	if (bit == NPY_DESCR)
		return npy_descr(n);
	if (bit == NPY_FORTRAN)
		return npy_bool(n, &n->fortran);
	return npy_shape(n);
}

/* Parses the header dict: {'descr': ..., 'fortran_order': ...,
 * 'shape': ...}, keys in any order, followed by white space only. */
static int npy_dict(struct npy *n)
{
	size_t start = n->pos;
	int rc;

	rc = npy_expect(n, '{', "to open the header");
	if (rc)
		return rc;
	for (;;) {
		npy_skip_space(n);
		if (npy_peek(n) == '}')
			break;
		rc = npy_entry(n);
		if (rc)
			return rc;
		npy_skip_space(n);
		if (npy_peek(n) == ',')
			n->pos++;
		else if (npy_peek(n) != '}')
			return npy_fail(n, n->pos, "expected ',' or '}'");
	}
	n->pos++;
	npy_skip_space(n);
	if (n->pos != n->hdr_end)
		return npy_fail(n, n->pos, "text after the header dict");
	if (!(n->seen & NPY_DESCR))
		return npy_fail(n, start, "missing key 'descr'");
	if (!(n->seen & NPY_FORTRAN))
		return npy_fail(n, start, "missing key 'fortran_order'");
	if (!(n->seen & NPY_SHAPE))
		return npy_fail(n, start, "missing key 'shape'");
	return 0;
}

/* Checks the magic and version and finds the header. */
static int npy_preamble(struct npy *n)
{
	const unsigned char *b = n->buf;
	size_t hlen, start;

	assert(n->len >= NPY_MAGIC_LEN);
	if (n->len < 10)
		return npy_fail(n, n->len, "truncated header");
	if (b[6] < 1 || b[6] > 3 || b[7] != 0)
		return npy_fail(n, 6, "unsupported .npy version %u.%u",
				(unsigned)b[6], (unsigned)b[7]);
	if (b[6] == 1) {
		hlen = (size_t)b[8] | (size_t)b[9] << 8;
		start = 10;
	} else {
		if (n->len < 12)
			return npy_fail(n, n->len, "truncated header");
		hlen = (size_t)b[8] | (size_t)b[9] << 8 |
		       (size_t)b[10] << 16 | (size_t)b[11] << 24;
		start = 12;
	}
	if (hlen > n->len - start)
		return npy_fail(n, 8, "header length %zu runs past the end of "
				"the file", hlen);
	n->pos = start;
	n->hdr_end = start + hlen;
	return 0;
}

static double npy_value(const unsigned char *p, const struct npy_type *t)
{
	unsigned char b[8];
	float f;
	double d;
	int32_t i4;
	int64_t i8;

	for (size_t k = 0; k < t->size; k++)
		b[k] = p[t->swap ? t->size - 1 - k : k];
	if (t->kind == 'f' && t->size == 4) {
		memcpy(&f, b, 4);
		return f;
	}
	if (t->kind == 'f') {
		memcpy(&d, b, 8);
		return d;
	}
	if (t->size == 4) {
		memcpy(&i4, b, 4);
		return i4;
	}
	memcpy(&i8, b, 8);
	return (double)i8;
}

/* Converts a rows x cols array at src (row-major, or column-major when
 * fortran) into doubles at dst, column-major. */
static void npy_convert(const unsigned char *src, const struct npy_type *t,
			size_t rows, size_t cols, int fortran, double *dst)
{
	for (size_t j = 0; j < cols; j++)
		for (size_t i = 0; i < rows; i++) {
			size_t k = fortran ? j * rows + i : i * cols + j;

			dst[j * rows + i] = npy_value(src + k * t->size, t);
		}
}

/* Checks the shape against the data and converts it into d. */
static int npy_fill(ds *d, struct npy *n)
{
	size_t rows = n->dim[0], cols = n->ndim == 2 ? n->dim[1] : 1;
	size_t count, need, bytes, have = n->len - n->hdr_end;

	if (rows == 0)
		return npy_fail(n, n->shape_pos, "no data rows");
	if (cols == 0)
		return npy_fail(n, n->shape_pos, "no data columns");
	if (__builtin_mul_overflow(rows, cols, &count) ||
	    __builtin_mul_overflow(count, n->type.size, &need) ||
	    __builtin_mul_overflow(count, sizeof(double), &bytes))
		return npy_fail(n, n->shape_pos, "shape (%zu, %zu) too large",
				rows, cols);
	if (need > have)
		return npy_fail(n, n->hdr_end, "truncated data: need %zu "
				"bytes, have %zu", need, have);
	d->values = util_big_alloc(bytes);
	if (!d->values)
		return ds_nomem(n->m);
	npy_convert(n->buf + n->hdr_end, &n->type, rows, cols, n->fortran,
		    d->values);
	d->nrows = rows;
	d->ncols = cols;
	return 0;
}

static int npy_load(ds *d, const struct ds_msg *m, const unsigned char *buf,
		    size_t len)
{
	struct npy n = { .m = m, .buf = buf, .len = len };
	int rc;

	rc = npy_preamble(&n);
	if (rc == 0)
		rc = npy_dict(&n);
	if (rc == 0)
		rc = npy_fill(d, &n);
	return rc;
}

/* ---- Loading ----------------------------------------------------------- */

static int ds_has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && strcasecmp(s + n - k, suffix) == 0;
}

/* Parses the file's bytes into d: .npy by magic, else CSV. */
static int ds_parse(ds *d, const struct ds_msg *m, char *buf, size_t len)
{
	if (len >= NPY_MAGIC_LEN && memcmp(buf, NPY_MAGIC, NPY_MAGIC_LEN) == 0)
		return npy_load(d, m, (const unsigned char *)buf, len);
	if (ds_has_suffix(m->path, ".npy"))
		return ds_fail(m, -EINVAL, "offset 0: bad .npy magic");
	return csv_load(d, m, buf, len);
}

int ds_load(const char *path, ds **out, char *err, size_t errlen)
{
	struct ds_msg m = { path, err, errlen };
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	ds *d = NULL;
	double t0, t1, t2;
	int rc;

	assert(path && out && (err || errlen == 0));
	if (errlen)
		err[0] = '\0';
	t0 = ds_seconds();
	rc = ds_read_file(&m, &buf, &len, &st);
	if (rc)
		return rc;
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
	rc = ds_parse(d, &m, buf, len);
	if (rc)
		goto out_free_ds;
	log_debug("dataset %s: %zu bytes read in %.3f s, digest in %.3f s "
		  "(%.0f MB/s), parsed in %.3f s", path, len, t1 - t0, t2 - t1,
		  len / 1e6 / (t2 - t1 > 1e-9 ? t2 - t1 : 1e-9),
		  ds_seconds() - t2);
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
	static const struct npy_type le_f8 = { 'f', 8, DS_HOST_BIG };
	size_t n = (size_t)DS_DEMO_ROWS * DS_DEMO_COLS;
	unsigned char *bytes = NULL;
	rng *r = NULL;
	ds *d = NULL;
	int rc = -ENOMEM;

	bytes = malloc(n * 8);
	r = rng_new(DS_DEMO_SEED);
	if (!bytes || !r)
		goto out_free;
	for (size_t i = 0; i < n; i++)
		ds_put_le64(bytes + 8 * i, rng_gauss(r));
	rc = ds_new("demo", &d);
	if (rc)
		goto out_free;
	d->values = malloc(n * sizeof(double));
	if (!d->values) {
		rc = -ENOMEM;
		goto out_free;
	}
	npy_convert(bytes, &le_f8, DS_DEMO_ROWS, DS_DEMO_COLS, 0, d->values);
	d->nrows = DS_DEMO_ROWS;
	d->ncols = DS_DEMO_COLS;
	ds_set_digest(d, bytes, n * 8);
	*out = d;
	d = NULL;
out_free:
	ds_free(d);
	rng_free(r);
	free(bytes);
	return rc;
}
