/* npy.c -- NumPy .npy files into typed columns (ds_impl.h's npy_*()).
 *
 * The format (numpy/lib/format.py): the magic "\x93NUMPY", a version (1.0,
 * 2.0, 3.0), a header length, and a Python dict literal with 'descr',
 * 'fortran_order' and 'shape', then the data.  What memofs reads:
 *   - dtypes bool ('|b1'), int8..int64 ('i1'..'i8'), uint8..uint64
 *     ('u1'..'u8'), float16/32/64 ('f2', 'f4', 'f8'), in either byte order
 *     ('<', '>', '=' native, '|' for one byte);
 *   - shapes (n,) (one column) and (n, m) (m columns), C or Fortran order;
 *   - a structured (record) array of shape (n,) whose fields have those
 *     dtypes: one column per field, named by the field; padding fields
 *     (no name, 'V' dtype) are skipped.
 * Integer and bool columns are DS_INT64 (bool as 0 and 1), except a uint64
 * column holding a value above INT64_MAX, which is DS_FLOAT64 (rounded to
 * the nearest double, as every integer above 2^53); float16 and float32
 * widen to double exactly.  Refused, each with its own line: object arrays
 * ('O': Python objects, which only pickle can read), strings, complex,
 * dates, subarray and nested fields, 0-d and 3-d and higher arrays.
 *
 * Loading is a plan made from the header (npy_begin(): the columns,
 * allocated), then the data fed in chunks of whole elements to
 * npy_consume(), the one conversion code, by one of two feeders: ds.c's
 * two-thread pread (stream.h) of a regular file, or npy_load() from a
 * buffer (a decompressed file, a pipe).  Chunks may arrive on two threads
 * at once and in any order: each writes its own rows of the columns and
 * counts the values not missing in its thread's counters, which
 * npy_finish() sums.  Where the layout allows, nothing is converted: a
 * Fortran-order or 1-D float64 or int64 array in the host's byte order is
 * read straight into one block (ds.block) that its columns borrow.  A
 * C-order float64 array of up to NPY_SCATTER_COLS columns is converted row
 * by row (each value read once, in file order); other layouts column by
 * column, with a stride.  Bytes after the data are ignored, as
 * numpy.load() does (but hashed: the digest is the whole file's).
 */
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/ds_impl.h"
#include "data/quote.h"
#include "util/mem.h"

#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define NPY_HOST_BIG 1
#else
#define NPY_HOST_BIG 0
#endif

#define NPY_FIELDS_MAX 4096	/* fields of a structured array */
#define NPY_SCATTER_COLS 16	/* C-order float64 arrays this narrow are
				 * converted row by row */
#define NPY_MAGIC_LEN 6

_Static_assert(sizeof(double) == 8 && sizeof(float) == 4,
	       ".npy conversion assumes IEEE binary64 and binary32");

/* An element type: 'b' bool, 'i' signed, 'u' unsigned, 'f' IEEE float;
 * size in bytes; swap when stored in the byte order the host does not
 * use. */
struct npy_type {
	char kind;
	size_t size;
	int swap;
};

/* A column: a field of a structured array, or the array's own dtype. */
struct npy_field {
	char *name;		/* the field's name, or NULL */
	struct npy_type type;
	size_t offset;		/* within a record */
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
	size_t descr_pos;	/* where descr starts */
	unsigned seen;		/* enum npy_key bits parsed so far */
	struct npy_field *fields;
	size_t nfields;
	int structured;		/* descr was a list of fields */
	size_t itemsize;	/* bytes of one element (record) */
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

/* Reads a dtype string: '<f8', '>i4', '|b1', '=u2' ... */
static int npy_type_str(struct npy *n, struct npy_type *t)
{
	char show[QUOTE_BUF];
	size_t at = n->pos, len, size;
	const char *s;
	int rc;

	rc = npy_string(n, &s, &len);
	if (rc)
		return rc;
	quote_bytes(show, s, len);
	if (len >= 2 && strchr("<>=|", s[0]) && s[1] == 'O')
		return npy_fail(n, at, "dtype '%s' is an object array (Python "
				"objects, which only pickle can read): save "
				"a numeric array", show);
	if (len != 3 || !strchr("<>=|", s[0]) || !strchr("biuf", s[1]) ||
	    !strchr("1248", s[2]) || s[0] == '\0' || s[1] == '\0' ||
	    s[2] == '\0')
		return npy_fail(n, at, "unsupported dtype '%s'", show);
	size = (size_t)(s[2] - '0');
	if ((s[1] == 'b' && size != 1) || (s[1] == 'f' && size == 1) ||
	    (s[0] == '|' && size != 1))
		return npy_fail(n, at, "unsupported dtype '%s'", show);
	t->kind = s[1];
	t->size = size;
	t->swap = size > 1 && ((s[0] == '<' && NPY_HOST_BIG) ||
			       (s[0] == '>' && !NPY_HOST_BIG));
	return 0;
}

/* Reads one field of a structured dtype: ('name', 'dtype'). */
static int npy_field(struct npy *n, size_t *offset)
{
	struct npy_field *f = &n->fields[n->nfields];
	size_t at = n->pos, len;
	const char *name;
	int rc;

	rc = npy_expect(n, '(', "to open a field");
	if (rc == 0) {
		npy_skip_space(n);
		rc = npy_string(n, &name, &len);
	}
	if (rc == 0)
		rc = npy_expect(n, ',', "after a field name");
	if (rc)
		return rc;
	npy_skip_space(n);
	if (npy_peek(n) == '[')
		return npy_fail(n, n->pos, "nested structured dtype not "
				"supported");
	if (len == 0 && npy_peek(n) == '\'' && n->pos + 2 < n->hdr_end &&
	    n->buf[n->pos + 1] == '|' && n->buf[n->pos + 2] == 'V') {
		size_t pad = 0;
		const char *s;

		rc = npy_string(n, &s, &len);	/* padding: '|V4' */
		for (size_t i = 2; rc == 0 && i < len; i++) {
			if (!isdigit((unsigned char)s[i]) ||
			    __builtin_mul_overflow(pad, 10, &pad) ||
			    __builtin_add_overflow(pad, (size_t)(s[i] - '0'),
						   &pad))
				return npy_fail(n, at, "bad padding field");
		}
		if (rc == 0 && __builtin_add_overflow(*offset, pad, offset))
			return npy_fail(n, at, "record too large");
		return rc ? rc : npy_expect(n, ')', "to close a field");
	}
	rc = npy_type_str(n, &f->type);
	if (rc)
		return rc;
	npy_skip_space(n);
	if (npy_peek(n) == ',') {
		n->pos++;
		npy_skip_space(n);
		if (npy_peek(n) != ')')
			return npy_fail(n, at, "subarray fields not "
					"supported");
	}
	rc = npy_expect(n, ')', "to close a field");
	if (rc)
		return rc;
	f->name = strndup(name, len);
	if (!f->name)
		return ds_nomem(n->m);
	f->offset = *offset;
	n->nfields++;
	if (__builtin_add_overflow(*offset, f->type.size, offset))
		return npy_fail(n, at, "record too large");
	return 0;
}

/* Reads a structured dtype: [('a', '<f8'), ('b', '<i4'), ...]. */
static int npy_fields(struct npy *n)
{
	size_t offset = 0;
	int rc;

	n->pos++;		/* '[' */
	n->structured = 1;
	n->fields = calloc(NPY_FIELDS_MAX, sizeof(*n->fields));
	if (!n->fields)
		return ds_nomem(n->m);
	for (;;) {
		npy_skip_space(n);
		if (npy_peek(n) == ']')
			break;
		if (n->nfields == NPY_FIELDS_MAX)
			return npy_fail(n, n->pos, "more than %d fields",
					NPY_FIELDS_MAX);
		rc = npy_field(n, &offset);
		if (rc)
			return rc;
		npy_skip_space(n);
		if (npy_peek(n) == ',')
			n->pos++;
		else if (npy_peek(n) != ']')
			return npy_fail(n, n->pos, "expected ',' or ']'");
	}
	n->pos++;
	if (n->nfields == 0)
		return npy_fail(n, n->descr_pos, "structured dtype without "
				"fields");
	n->itemsize = offset;
	return 0;
}

/* Reads descr: a dtype string or a list of fields. */
static int npy_descr(struct npy *n)
{
	n->descr_pos = n->pos;
	if (npy_peek(n) == '[')
		return npy_fields(n);
	n->fields = calloc(1, sizeof(*n->fields));
	if (!n->fields)
		return ds_nomem(n->m);
	n->nfields = 1;
	n->itemsize = 0;
	{
		int rc = npy_type_str(n, &n->fields[0].type);

		n->itemsize = n->fields[0].type.size;
		return rc;
	}
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

/* ---- Values ----------------------------------------------------------- */

/* The element of type t at p, its bytes in the host's order, as bits. */
static uint64_t npy_bits(const unsigned char *p, const struct npy_type *t)
{
	unsigned char b[8] = { 0 };
	uint8_t u1;
	uint16_t u2;
	uint32_t u4;
	uint64_t u8;

	for (size_t k = 0; k < t->size; k++)
		b[k] = p[t->swap ? t->size - 1 - k : k];
	switch (t->size) {
	case 1: memcpy(&u1, b, 1); return u1;
	case 2: memcpy(&u2, b, 2); return u2;
	case 4: memcpy(&u4, b, 4); return u4;
	default: memcpy(&u8, b, 8); return u8;
	}
}

/* IEEE binary16 to double, exactly. */
static double npy_half(uint16_t h)
{
	int e = (h >> 10) & 0x1f, m = h & 0x3ff;
	double v;

	if (e == 0)
		v = ldexp(m, -24);
	else if (e == 31)
		v = m ? NAN : INFINITY;
	else
		v = ldexp(m + 1024, e - 25);
	return h >> 15 ? -v : v;
}

static double npy_float(uint64_t bits, size_t size)
{
	uint32_t u4 = (uint32_t)bits;
	float f;
	double d;

	if (size == 2)
		return npy_half((uint16_t)bits);
	if (size == 4) {
		memcpy(&f, &u4, 4);
		return f;
	}
	memcpy(&d, &bits, 8);
	return d;
}

/* An integer element as int64 (sign-extended for 'i', 0/1 for 'b');
 * *over when a 'u8' value exceeds INT64_MAX. */
static int64_t npy_int(uint64_t bits, const struct npy_type *t, int *over)
{
	if (t->kind == 'b')
		return bits != 0;
	if (t->kind == 'u') {
		*over |= bits > (uint64_t)INT64_MAX;
		return (int64_t)(bits & (uint64_t)INT64_MAX);
	}
	switch (t->size) {
	case 1: return (int8_t)bits;
	case 2: return (int16_t)bits;
	case 4: return (int32_t)bits;
	default: return (int64_t)bits;
	}
}

/* ---- The plan: columns made, then filled chunk by chunk ---------------- */

enum npy_layout {
	NPY_ROWS = 1,		/* C order, 2-D: a row is cols elements */
	NPY_COLS = 2,		/* Fortran order or 1-D: a column is
				 * contiguous */
	NPY_RECORDS = 3,	/* structured: a record holds every field */
};

/* What npy_begin() learnt and what the feeders fill.  The columns are d's;
 * count and over are per thread, summed by npy_finish(). */
struct npy_plan {
	struct npy n;		/* the header (fields, shape) */
	ds *d;
	enum npy_layout layout;
	size_t rows, cols;
	size_t elem;		/* bytes of one element, or of a record */
	uint64_t data_off;	/* the data's offset in the file */
	uint64_t data_len;	/* its bytes (the file may hold more) */
	unsigned char *block;	/* d->block when the data is read straight
				 * into it (the columns as they are), or
				 * NULL */
	size_t *count[STREAM_THREADS_MAX];	/* per column: not NaN */
	unsigned char *over[STREAM_THREADS_MAX]; /* per column: a 'u8' value
						  * above INT64_MAX */
};

static int npy_native(const struct npy_type *t, char kind)
{
	return t->kind == kind && t->size == 8 && !t->swap;
}

/* Converts cnt values of column j, rows i0.., from src, stride bytes
 * apart, on thread tid.  in_place: the column's own array already holds
 * them (d->block), only the rest is made (counts, an int64's doubles). */
static void npy_run(struct npy_plan *p, unsigned tid, size_t j,
		    const unsigned char *src, size_t stride, size_t i0,
		    size_t cnt, int in_place)
{
	const struct npy_type *t = &p->n.fields[p->n.structured ? j : 0].type;
	struct ds_col *c = &p->d->cols[j];
	double *f = c->f64 + i0;
	size_t present = 0;
	int over = 0;

	if (t->kind == 'f') {
		if (in_place) {
			for (size_t k = 0; k < cnt; k++)
				present += !isnan(f[k]);
		} else if (npy_native(t, 'f')) {
			for (size_t k = 0; k < cnt; k++) {
				memcpy(&f[k], src + k * stride, 8);
				present += !isnan(f[k]);
			}
		} else {
			for (size_t k = 0; k < cnt; k++) {
				f[k] = npy_float(npy_bits(src + k * stride, t),
						 t->size);
				present += !isnan(f[k]);
			}
		}
		p->count[tid][j] += present;
		return;
	}
	for (size_t k = 0; k < cnt; k++) {
		uint64_t bits = npy_bits(src + k * stride, t);
		int64_t v = in_place ? c->i64[i0 + k] : npy_int(bits, t, &over);

		if (!in_place)
			c->i64[i0 + k] = v;
		f[k] = t->kind == 'u' ? (double)bits : (double)v;
	}
	if (over)
		p->over[tid][j] = 1;
}

/* Elements e0 .. e0 + ne of a Fortran-order or 1-D array at src. */
static void npy_fill_cols(struct npy_plan *p, unsigned tid,
			  const unsigned char *src, size_t e0, size_t ne)
{
	size_t size = p->elem;

	while (ne > 0) {
		size_t j = e0 / p->rows, i = e0 % p->rows;
		size_t run = p->rows - i < ne ? p->rows - i : ne;

		npy_run(p, tid, j, src, size, i, run, p->block != NULL);
		src += run * size;
		e0 += run;
		ne -= run;
	}
}

/* Rows i0 .. i0 + nrows of a C-order native float64 array of cols columns
 * at src, row by row: each value read once in file order and written to
 * its column (one pass over the chunk rather than one a column).  Inlined
 * with cols a constant (npy_scatter_f8), so that the column pointers and
 * counts live in registers. */
static inline __attribute__((always_inline))
void npy_scatter_n(struct npy_plan *p, unsigned tid, const unsigned char *src,
		   size_t i0, size_t nrows, size_t cols)
{
	size_t present[NPY_SCATTER_COLS] = { 0 };
	double *dst[NPY_SCATTER_COLS];

	for (size_t j = 0; j < cols; j++)
		dst[j] = p->d->cols[j].f64 + i0;
	for (size_t i = 0; i < nrows; i++, src += cols * 8)
		for (size_t j = 0; j < cols; j++) {
			double v;

			memcpy(&v, src + j * 8, 8);
			dst[j][i] = v;
			present[j] += !isnan(v);
		}
	for (size_t j = 0; j < cols; j++)
		p->count[tid][j] += present[j];
}

static void npy_scatter_f8(struct npy_plan *p, unsigned tid,
			   const unsigned char *src, size_t i0, size_t nrows)
{
	switch (p->cols) {
#define NPY_SCATTER_CASE(k) \
	case k: npy_scatter_n(p, tid, src, i0, nrows, k); break;
	NPY_SCATTER_CASE(2) NPY_SCATTER_CASE(3) NPY_SCATTER_CASE(4)
	NPY_SCATTER_CASE(5) NPY_SCATTER_CASE(6) NPY_SCATTER_CASE(7)
	NPY_SCATTER_CASE(8) NPY_SCATTER_CASE(9) NPY_SCATTER_CASE(10)
	NPY_SCATTER_CASE(11) NPY_SCATTER_CASE(12) NPY_SCATTER_CASE(13)
	NPY_SCATTER_CASE(14) NPY_SCATTER_CASE(15) NPY_SCATTER_CASE(16)
#undef NPY_SCATTER_CASE
	default: npy_scatter_n(p, tid, src, i0, nrows, p->cols); break;
	}
}

/* Elements e0 .. e0 + ne of a C-order 2-D array at src: a partial first
 * row, whole rows column by column, a partial last row. */
static void npy_fill_rows(struct npy_plan *p, unsigned tid,
			  const unsigned char *src, size_t e0, size_t ne)
{
	size_t size = p->elem, cols = p->cols, whole;

	while (ne > 0 && (e0 % cols != 0 || ne < cols)) {
		npy_run(p, tid, e0 % cols, src, size, e0 / cols, 1, 0);
		src += size;
		e0++;
		ne--;
	}
	whole = ne / cols;
	if (whole > 0 && cols <= NPY_SCATTER_COLS &&
	    npy_native(&p->n.fields[0].type, 'f'))
		npy_scatter_f8(p, tid, src, e0 / cols, whole);
	else
		for (size_t j = 0; whole > 0 && j < cols; j++)
		npy_run(p, tid, j, src + j * size, cols * size, e0 / cols,
			whole, 0);
	src += whole * cols * size;
	e0 += whole * cols;
	ne -= whole * cols;
	for (; ne > 0; ne--, e0++, src += size)
		npy_run(p, tid, e0 % cols, src, size, e0 / cols, 1, 0);
}

int npy_consume(void *ctx, unsigned tid, uint64_t off,
		const unsigned char *src, size_t len)
{
	struct npy_plan *p = ctx;
	uint64_t rel;
	size_t n, e0;

	assert(tid < STREAM_THREADS_MAX && off >= p->data_off);
	rel = off - p->data_off;
	if (rel >= p->data_len)
		return 0;		/* bytes after the data */
	n = (size_t)(p->data_len - rel < len ? p->data_len - rel : len);
	assert(rel % p->elem == 0 && n % p->elem == 0);
	e0 = (size_t)(rel / p->elem);
	if (p->block && src != p->block + rel)
		memcpy(p->block + rel, src, n);	/* not read in place */
	if (p->layout == NPY_COLS)
		npy_fill_cols(p, tid, p->block ? p->block + rel : src, e0,
			      n / p->elem);
	else if (p->layout == NPY_ROWS)
		npy_fill_rows(p, tid, src, e0, n / p->elem);
	else
		for (size_t j = 0; j < p->cols; j++)
			npy_run(p, tid, j, src + p->n.fields[j].offset,
				p->elem, e0, n / p->elem, 0);
	return 0;
}

unsigned char *npy_dest(void *ctx, uint64_t off, size_t len)
{
	struct npy_plan *p = ctx;

	if (!p->block || off < p->data_off ||
	    off - p->data_off + len > p->data_len)
		return NULL;
	return p->block + (off - p->data_off);
}

size_t npy_chunk(const struct npy_plan *p, size_t want)
{
	size_t row = p->elem;

	if (p->layout == NPY_ROWS && p->cols <= want / p->elem)
		row = p->cols * p->elem;	/* whole rows a chunk */
	return want / row > 0 ? want / row * row : row;
}

uint64_t npy_data_off(const struct npy_plan *p)
{
	return p->data_off;
}

/* Allocates column j's arrays; a column in d->block borrows from it. */
static int npy_col_alloc(struct npy_plan *p, size_t j)
{
	const struct npy_type *t = &p->n.fields[p->n.structured ? j : 0].type;
	struct ds_col *c = &p->d->cols[j];
	size_t bytes = p->rows * sizeof(double);
	unsigned char *mine = p->block ? p->block + j * bytes : NULL;

	c->kind = t->kind == 'f' ? DS_FLOAT64 : DS_INT64;
	if (mine && t->kind == 'f') {
		c->f64 = (double *)(void *)mine;
		c->f64_borrowed = 1;
		return 0;
	}
	c->f64 = util_big_alloc(bytes);
	if (!c->f64)
		return -ENOMEM;
	if (t->kind == 'f')
		return 0;
	if (mine) {
		c->i64 = (int64_t *)(void *)mine;
		c->i64_borrowed = 1;
		return 0;
	}
	c->i64 = util_big_alloc(bytes);
	return c->i64 ? 0 : -ENOMEM;
}

/* Checks the shape against the file's size and makes d's columns. */
static int npy_plan_columns(struct npy_plan *p)
{
	struct npy *n = &p->n;
	size_t rows = n->dim[0], cols = n->ndim == 2 ? n->dim[1] : 1;
	size_t count, need, have = n->len - n->hdr_end;

	if (n->structured && n->ndim != 1)
		return npy_fail(n, n->shape_pos, "a structured array must be "
				"1-D");
	if (n->structured)
		cols = n->nfields;
	if (rows == 0)
		return npy_fail(n, n->shape_pos, "no data rows");
	if (cols == 0)
		return npy_fail(n, n->shape_pos, "no data columns");
	if (__builtin_mul_overflow(rows, n->structured ? 1 : cols, &count) ||
	    __builtin_mul_overflow(count, n->itemsize, &need) ||
	    __builtin_mul_overflow(rows, cols, &count) ||
	    __builtin_mul_overflow(count, sizeof(double), &count))
		return npy_fail(n, n->shape_pos, "shape (%zu, %zu) too large",
				rows, cols);
	if (need > have)
		return npy_fail(n, n->hdr_end, "truncated data: need %zu "
				"bytes, have %zu", need, have);
	p->rows = rows;
	p->cols = cols;
	p->elem = n->itemsize;
	p->data_off = n->hdr_end;
	p->data_len = need;
	p->layout = n->structured ? NPY_RECORDS
		    : n->fortran || cols == 1 ? NPY_COLS : NPY_ROWS;
	if (ds_cols_alloc(p->d, cols))
		return ds_nomem(n->m);
	p->d->nrows = rows;
	if (p->layout == NPY_COLS && (npy_native(&n->fields[0].type, 'f') ||
				      npy_native(&n->fields[0].type, 'i'))) {
		p->block = util_big_alloc(need);
		if (!p->block)
			return ds_nomem(n->m);
		p->d->block = p->block;
	}
	for (size_t j = 0; j < cols; j++) {
		if (npy_col_alloc(p, j))
			return ds_nomem(n->m);
		if (n->structured) {
			p->d->cols[j].name = n->fields[j].name;
			n->fields[j].name = NULL;
		}
	}
	return 0;
}

void npy_plan_free(struct npy_plan *p)
{
	if (!p)
		return;
	for (size_t j = 0; p->n.fields && j < p->n.nfields; j++)
		free(p->n.fields[j].name);
	free(p->n.fields);
	for (unsigned t = 0; t < STREAM_THREADS_MAX; t++) {
		free(p->count[t]);
		free(p->over[t]);
	}
	free(p);
}

int npy_header_end(const struct ds_msg *m, const unsigned char *head,
		   uint64_t size, size_t *hdr_end)
{
	struct npy n = { .m = m, .buf = head, .len = (size_t)size };
	int rc;

	if (size > SIZE_MAX)
		return ds_fail(m, -EFBIG, "%s", strerror(EFBIG));
	rc = npy_preamble(&n);
	if (rc == 0)
		*hdr_end = n.hdr_end;
	return rc;
}

int npy_begin(ds *d, const struct ds_msg *m, const unsigned char *hdr,
	      uint64_t size, struct npy_plan **out)
{
	struct npy_plan *p = calloc(1, sizeof(*p));
	int rc;

	if (!p)
		return ds_nomem(m);
	p->d = d;
	p->n.m = m;
	p->n.buf = hdr;
	p->n.len = (size_t)size;
	rc = size > SIZE_MAX ? ds_fail(m, -EFBIG, "%s", strerror(EFBIG))
			     : npy_preamble(&p->n);
	if (rc == 0)
		rc = npy_dict(&p->n);
	if (rc == 0)
		rc = npy_plan_columns(p);
	for (unsigned t = 0; rc == 0 && t < STREAM_THREADS_MAX; t++) {
		p->count[t] = calloc(p->cols, sizeof(*p->count[t]));
		p->over[t] = calloc(p->cols, sizeof(*p->over[t]));
		if (!p->count[t] || !p->over[t])
			rc = ds_nomem(m);
	}
	if (rc) {
		npy_plan_free(p);
		return rc;
	}
	p->n.buf = NULL;	/* the header is not kept */
	*out = p;
	return 0;
}

void npy_finish(struct npy_plan *p)
{
	for (size_t j = 0; j < p->cols; j++) {
		struct ds_col *c = &p->d->cols[j];
		size_t count = 0;
		int over = 0;

		for (unsigned t = 0; t < STREAM_THREADS_MAX; t++) {
			count += p->count[t][j];
			over |= p->over[t][j];
		}
		c->count = c->kind == DS_INT64 ? p->rows : count;
		if (over) {	/* uint64 beyond int64: a float64 column */
			assert(!c->i64_borrowed);
			free(c->i64);
			c->i64 = NULL;
			c->kind = DS_FLOAT64;
		}
	}
	npy_plan_free(p);
}

/* The buffer feeder: the same plan and converters as ds.c's two-thread
 * streaming, fed from memory on this thread (a decompressed file, a
 * pipe). */
int npy_load(ds *d, const struct ds_msg *m, const unsigned char *buf,
	     size_t len)
{
	struct npy_plan *p = NULL;
	size_t chunk;
	int rc;

	rc = npy_begin(d, m, buf, len, &p);
	if (rc)
		return rc;
	chunk = npy_chunk(p, ds_chunk_bytes);
	for (uint64_t off = p->data_off; off < p->data_off + p->data_len;
	     off += chunk) {
		uint64_t left = p->data_off + p->data_len - off;

		npy_consume(p, 0, off, buf + off,
			    (size_t)(left < chunk ? left : chunk));
	}
	npy_finish(p);
	return 0;
}

void npy_f8le_to_double(const unsigned char *src, size_t rows, size_t cols,
			double *dst)
{
	static const struct npy_type le_f8 = { 'f', 8, NPY_HOST_BIG };

	for (size_t j = 0; j < cols; j++)
		for (size_t i = 0; i < rows; i++)
			dst[j * rows + i] = npy_float(
				npy_bits(src + (i * cols + j) * 8, &le_f8), 8);
}
