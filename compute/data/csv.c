/* csv.c -- delimited text (CSV, TSV, ';' or '|' separated, whitespace
 * aligned) into typed columns (ds_impl.h's csv_load()).
 *
 * The format, as pandas.read_csv() reads it with default options unless
 * said otherwise:
 *   - Lines end with LF, CRLF or a lone CR (csv_lone_cr); empty and
 *     all-blank lines are skipped; a leading UTF-8 byte order mark too.
 *   - The separator is sniffed from up to CSV_SNIFF_LINES lines (csv_sniff):
 *     the first of ',' tab ';' '|' that every sampled line holds the same
 *     number of times (the most of them), else blank runs when every line
 *     has the same number (>= 2) of blank-separated words and one word is
 *     a number in every row (the first row may be a header), else ','.
 *     ds_opts.sep overrides.
 *   - Fields may be "double-quoted" with "" for a quote; a quoted field may
 *     hold separators and line breaks.  Blanks (space, tab unless tab
 *     separates) around an unquoted field are ignored.
 *   - Lines before the header whose first non-blank byte is '#' are
 *     skipped (pandas would take such a line as the header); with
 *     ds_opts.comment, the rest of any line from that byte is ignored.
 *   - The first row is the header when one of its cells is text (not a
 *     number, not missing), as before memofs read text columns; pandas
 *     always takes it: -o header=none says there is none, header=N skips N
 *     rows first.  A first row like scikit-learn's metadata (the row count,
 *     maybe more integers, then labels) is refused with a hint.
 *   - A row with fewer fields than the first row has the rest missing (as
 *     pandas); one with more is refused, with a hint when another
 *     separator fits.
 *   - Missing cells: empty ones and pandas' default na_values (csv_na[]).
 *   - A column is DS_INT64 when all its cells are integers ([+-]digits)
 *     that fit in int64 and none is missing; DS_FLOAT64 when every cell is
 *     a number or missing (strtod's decimal syntax, inf and infinity in any
 *     case; not hex, not nan(...), not a decimal beyond the double range);
 *     else DS_TEXT, whose values are the
 *     cells' bytes (a missing cell is NULL).
 *
 * How: one pass (csv_chunk_run) tokenizes the rows and parses every cell
 * that can be a number straight into the column it belongs to, as int64
 * until a cell is not an integer (then the column's values so far become
 * doubles), stopping to parse a column at its first text cell.  A large
 * file is split at a line end into two halves parsed by two threads (the
 * machine's cores; the join costs a memmove at most); when the first
 * half's last row does not end at the split (a quoted field held that
 * line end), the second half's work is dropped and the whole is parsed
 * again on one thread.  Only
 * when a column is text does a second, single-threaded pass collect the
 * cells of the text columns (csv_collect_text).  Numbers take exact fast
 * paths (csv_scan, csv_num_fast: Clinger's and an extended-precision
 * check), then atod_decimal() (libstdc++'s from_chars: correctly rounded
 * for any length), and strtod() only for what that declines (inf, out of
 * range).  Errors name the line (counted from the start of the file when
 * one happens) and the field.
 */
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/atod.h"
#include "data/ds_impl.h"
#include "data/quote.h"
#include "util/log.h"
#include "util/mem.h"

#define CSV_SNIFF_LINES 20		/* lines the separator is sniffed from */
#define CSV_PARALLEL_MIN (4u << 20)	/* bytes below which one thread parses */
#define CSV_WHAT_MAX 256

/* How the rows are cut into fields. */
struct csv_dialect {
	char sep;		/* a byte, or DS_SEP_WHITESPACE for blank runs */
	char comment;		/* 0, or the byte that starts a comment */
};

/* A growable buffer: a quoted field's content, NUL-terminated. */
struct csv_buf {
	char *p;
	size_t len;
	size_t cap;
};

struct csv_cell {
	const char *s;		/* the content: into the file or a csv_buf */
	size_t len;
};

enum csv_class { CSV_MISSING, CSV_INT, CSV_FLOAT, CSV_TEXT };

/* What a column holds so far, in one chunk. */
enum csv_mode { CSV_MODE_INT, CSV_MODE_FLOAT, CSV_MODE_TEXT };

/* A plain decimal number, as csv_scan() found it: its text, and when
 * exact, its value (-1)^neg * w * 10^e. */
struct csv_num {
	const char *s;		/* its first byte (a sign, a digit or '.') */
	const char *end;	/* one past its last */
	uint64_t w;
	int e;
	int neg;
	int exact;		/* w and e hold it: at most 19 significant
				 * digits, 400 after the point, 4 in the
				 * exponent */
	int is_int;		/* exact, no '.' and no exponent */
};

/* What the chunks share: the file, the dialect and the columns. */
struct csv_job {
	struct csv_dialect dl;
	const char *buf;	/* the file (line numbers count from here) */
	const char *end;	/* its end: *end == '\0' */
	const char *first;	/* the first row (header or data) */
	int first_ints;		/* it holds integers only (metadata?) */
	size_t ncols;
	void **cells;		/* ncols arrays of cap int64 or double */
	size_t cap;
};

/* A range of whole lines and the rows parsed from it. */
struct csv_chunk {
	struct csv_job *job;
	const char *p;		/* the first line */
	const char *stop;	/* one past the last line */
	size_t base;		/* index of its first row in job->cells */
	size_t nrows;		/* rows parsed */
	const char *at;		/* where parsing stopped */
	uint8_t *mode;		/* ncols enum csv_mode */
	struct csv_buf sc;	/* quoted fields */
	struct csv_buf num;	/* a cell for strtod() */
	int rc;			/* 0, -EINVAL (err_*), -ENOMEM, -EFBIG */
	const char *err_at;	/* where the error is */
	size_t err_field;	/* its 1-based field, or 0 */
	char err_what[CSV_WHAT_MAX];
};

/* pandas' default na_values (pandas._libs.parsers.STR_NA_VALUES, 1.5),
 * the empty cell aside. */
static const char *const csv_na[] = {
	"#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan",
	"1.#IND", "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "n/a", "nan",
	"null",
};

/* ---- Bytes ------------------------------------------------------------- */

static int csv_eol(const char *p, const char *end)
{
	return p == end || *p == '\n' ||
	       (*p == '\r' && (p + 1 == end || p[1] == '\n'));
}

/* A blank around a field (not the separator itself). */
static int csv_pad(const struct csv_dialect *dl, char c)
{
	if (dl->sep == DS_SEP_WHITESPACE)
		return 0;
	return c == ' ' || (c == '\t' && dl->sep != '\t');
}

static int csv_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Is p where a field ends: a separator, a line end or a comment? */
static int csv_field_end(const struct csv_dialect *dl, const char *p,
			 const char *end)
{
	if (csv_eol(p, end) || (dl->comment && *p == dl->comment))
		return 1;
	return dl->sep == DS_SEP_WHITESPACE ? csv_blank(*p) : *p == dl->sep;
}

/* Moves past the line end at or after p (skipping a comment's text). */
static const char *csv_next_line(const char *p, const char *end)
{
	const char *nl;

	if (p < end && *p == '\n')	/* the common case: no call */
		return p + 1;
	nl = memchr(p, '\n', (size_t)(end - p));

	return nl ? nl + 1 : end;
}

/* Newlines in [p, q): line numbers, and bounds on rows.  Sixteen bytes
 * at a time (GCC's vector extension: SSE2 on x86-64, plain words
 * elsewhere): each lane of acc counts down by one (a match is -1) per
 * newline, summed before a lane can wrap (255 blocks).  A call to memchr()
 * per line cost more than the whole count on lines of 160 bytes. */
typedef unsigned char csv_v16 __attribute__((vector_size(16)));

static size_t csv_count_lines(const char *p, const char *q)
{
	const csv_v16 nl = {
		'\n', '\n', '\n', '\n', '\n', '\n', '\n', '\n',
		'\n', '\n', '\n', '\n', '\n', '\n', '\n', '\n',
	};
	size_t n = 0;

	while (q - p >= 16) {
		csv_v16 acc = { 0 };

		for (int i = 0; i < 255 && q - p >= 16; i++, p += 16) {
			csv_v16 x;

			memcpy(&x, p, 16);
			acc -= (csv_v16)(x == nl);
		}
		for (int k = 0; k < 16; k++)
			n += acc[k];
	}
	for (; p < q; p++)
		n += *p == '\n';
	return n;
}

static int csv_buf_put(struct csv_buf *b, const char *s, size_t n)
{
	if (util_grow(&b->p, &b->cap, b->len + n + 1, 1, 64))
		return -ENOMEM;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

/* ---- Numbers ----------------------------------------------------------- */

/* 10^0 .. 10^27: every one exact as a double up to 10^22, and as an x87
 * long double (64-bit significand) up to 10^27 (5^27 < 2^64). */
static const double csv_pow10[] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};
#if LDBL_MANT_DIG == 64 && (defined(__x86_64__) || defined(__i386__))
static const long double csv_pow10l[] = {
	1e0L, 1e1L, 1e2L, 1e3L, 1e4L, 1e5L, 1e6L, 1e7L, 1e8L, 1e9L, 1e10L,
	1e11L, 1e12L, 1e13L, 1e14L, 1e15L, 1e16L, 1e17L, 1e18L, 1e19L, 1e20L,
	1e21L, 1e22L, 1e23L, 1e24L, 1e25L, 1e26L, 1e27L,
};
#endif

static int csv_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Reads digits at *pp into *w (w = w * 10 + digit), eight at a time where
 * 8 bytes before lim are all digits (SWAR, on little-endian hosts), then
 * one at a time; moves *pp past them. */
static uint64_t csv_digits(const char **pp, const char *lim, uint64_t w)
{
	const char *p = *pp;

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	while (lim - p >= 8) {
		uint64_t x;

		memcpy(&x, p, 8);
		if (((x + UINT64_C(0x4646464646464646)) |
		     (x - UINT64_C(0x3030303030303030))) &
		    UINT64_C(0x8080808080808080))
			break;		/* not 8 digits */
		x -= UINT64_C(0x3030303030303030);
		x = x * 10 + (x >> 8);
		x = ((x & UINT64_C(0x000000ff000000ff)) *
		     (100 + (UINT64_C(1000000) << 32)) +
		     ((x >> 16) & UINT64_C(0x000000ff000000ff)) *
		     (1 + (UINT64_C(10000) << 32))) >> 32;
		w = w * 100000000 + x;	/* wraps only past 19 digits */
		p += 8;
	}
#else
	(void)lim;
#endif
	for (; csv_digit(*p); p++)
		w = w * 10 + (uint64_t)(*p - '0');
	*pp = p;
	return w;
}

/* Scans [+-]digits[.digits][(e|E)[+-]digits] at s (at least one digit
 * before the exponent; any number of digits); lim bounds the bytes read 8
 * at a time (past it, bytes are read one by one up to one that is no
 * digit, as a NUL-terminated buffer allows).  Returns where it ends, with
 * n describing it, or NULL when s holds no such number (strtod() may
 * still read one: inf, hex). */
static const char *csv_scan(const char *s, const char *lim,
			    struct csv_num *n)
{
	const char *p = s, *start, *sig0;
	size_t digits, sig, frac = 0;
	uint64_t w;

	n->s = s;
	n->neg = 0;
	if (*p == '+' || *p == '-')
		n->neg = *p++ == '-';
	start = p;
	while (*p == '0')
		p++;
	sig0 = p;
	w = csv_digits(&p, lim, 0);
	digits = (size_t)(p - start);
	sig = (size_t)(p - sig0);
	n->is_int = *p != '.';
	if (*p == '.') {
		const char *f0 = ++p;

		if (sig == 0)
			while (*p == '0')
				p++;
		sig0 = p;
		w = csv_digits(&p, lim, w);
		frac = (size_t)(p - f0);
		digits += frac;
		sig += (size_t)(p - sig0);
	}
	if (digits == 0)
		return NULL;
	n->exact = sig <= 19 && frac <= 400;	/* else w wrapped: unused */
	n->w = w;
	n->e = n->exact ? -(int)frac : 0;
	if (*p == 'e' || *p == 'E') {
		const char *q = p + 1;
		int eneg = 0, edigits = 0, e = 0;

		if (*q == '+' || *q == '-')
			eneg = *q++ == '-';
		for (; csv_digit(*q); q++)
			if (++edigits <= 4)
				e = e * 10 + (*q - '0');
		if (edigits == 0)
			return NULL;	/* "1e": strtod() reads "1" */
		n->exact &= edigits <= 4;
		n->e += eneg ? -e : e;
		n->is_int = 0;
		p = q;
	}
	n->is_int &= n->exact;
	n->end = p;
	return p;
}

/* An integer cell's value, when it fits in int64. */
static int csv_num_int(const struct csv_num *n, int64_t *v)
{
	if (!n->is_int)
		return 0;
	if (n->neg) {
		if (n->w > (uint64_t)INT64_MAX + 1)
			return 0;
		*v = n->w == (uint64_t)INT64_MAX + 1 ? INT64_MIN
						     : -(int64_t)n->w;
		return 1;
	}
	if (n->w > (uint64_t)INT64_MAX)
		return 0;
	*v = (int64_t)n->w;
	return 1;
}

#if LDBL_MANT_DIG == 64 && (defined(__x86_64__) || defined(__i386__))
#define CSV_X87 1
/* w * 10^e for |e| <= 27 through an x87 long double: w and 10^|e| are
 * exact there, so r is the quotient or product rounded once to a 64-bit
 * significand; rounding r to a double then gives the correctly rounded
 * result unless r lies exactly halfway between two doubles (its 11 bits
 * below a double's are 10000000000), which is then left to strtod().  r is
 * a normal double here (1e-27 < |r| < 2^64 * 1e27). */
static int csv_num_long(uint64_t w, int e, double *v)
{
	long double r = e < 0 ? (long double)w / csv_pow10l[-e]
			      : (long double)w * csv_pow10l[e];
	uint64_t mant;

	memcpy(&mant, &r, sizeof(mant));	/* the explicit significand */
	if ((mant & 0x7ff) == 0x400)
		return 0;
	*v = (double)r;
	return 1;
}
#endif

/* n as the double strtod() gives, bit for bit, when a fast way knows it:
 * Clinger's (w <= 2^53 and |e| <= 22: one correctly rounded operation on
 * exact operands), else csv_num_long().  Returns 0 to leave it to
 * atod_decimal(). */
static int csv_num_fast(const struct csv_num *n, double *v)
{
#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD == 0
	double x;

	if (!n->exact) {
		return 0;
	} else if (n->w == 0) {
		x = 0.0;
	} else if (n->w <= (UINT64_C(1) << 53) && n->e >= -22 && n->e <= 22) {
		x = n->e < 0 ? (double)n->w / csv_pow10[-n->e]
			     : (double)n->w * csv_pow10[n->e];
#ifdef CSV_X87
	} else if (n->e >= -27 && n->e <= 27) {
		if (!csv_num_long(n->w, n->e, &x))
			return 0;
#endif
	} else {
		return 0;
	}
	*v = n->neg ? -x : x;
	return 1;
#else
	(void)n;
	(void)v;
	return 0;	/* excess precision would round twice */
#endif
}

/* n's double: strtod()'s bits, from csv_num_fast() or atod_decimal()
 * (which reads any length: more than 19 digits, long exponents, the ties
 * csv_num_long() leaves); 0 when atod_decimal() declines too (out of
 * range), for strtod() to say.  On this project's machine the x87 path
 * took 29 to 30 ns a cell of 17 significant digits, from_chars 31 to 32
 * (one thread each, 10.4 M cells, both at once): the fast paths stay. */
static int csv_num_double(const struct csv_num *n, double *v)
{
	return csv_num_fast(n, v) || atod_decimal(n->s, n->end, v) == n->end;
}

static int csv_is_na(const char *s, size_t len)
{
	for (size_t i = 0; i < sizeof(csv_na) / sizeof(csv_na[0]); i++)
		if (strlen(csv_na[i]) == len && memcmp(csv_na[i], s, len) == 0)
			return 1;
	return 0;
}

/* strtod() of a cell the fast scan did not read: a number only when all
 * of it is read, and not hex or a NaN (pandas reads neither), nor a
 * decimal too large for a double ("1e400", "-1e309", "9.9e308": strtod's
 * ERANGE with an infinity), which pandas's parser declines too
 * (precise_xstrtod()'s ERANGE), making the column text.  One that
 * underflows is a number, 0.0 or a subnormal, as in pandas; "inf" and
 * "infinity" set no ERANGE. */
static int csv_strtod(struct csv_buf *num, const char *s, size_t len,
		      double *v)
{
	char *end;

	if (isspace((unsigned char)*s) || memchr(s, 'x', len) ||
	    memchr(s, 'X', len))
		return CSV_TEXT;
	num->len = 0;
	if (csv_buf_put(num, s, len))
		return -1;	/* out of memory */
	errno = 0;
	*v = strtod(num->p, &end);
	if (end != num->p + len || isnan(*v) ||
	    (errno == ERANGE && isinf(*v)))
		return CSV_TEXT;
	return CSV_FLOAT;
}

/* What a cell is: missing, an integer (*iv), a number (*v) or text.
 * Returns -1 when out of memory. */
static int csv_classify(struct csv_buf *num, const struct csv_cell *c,
			double *v, int64_t *iv)
{
	const char *s = c->s, *e = s + c->len;
	struct csv_num n;

	while (s < e && csv_blank(*s))
		s++;
	while (e > s && csv_blank(e[-1]))
		e--;
	if (s == e || csv_is_na(s, (size_t)(e - s)))
		return CSV_MISSING;
	if (csv_scan(s, e, &n) == e) {
		if (csv_num_int(&n, iv) && !(n.neg && n.w == 0))
			return CSV_INT;
		if (csv_num_double(&n, v))
			return CSV_FLOAT;
	}
	return csv_strtod(num, s, (size_t)(e - s), v);
}

/* ---- Fields ------------------------------------------------------------ */

/* The quoted field whose opening quote is at *pp, unquoted into sc; *pp
 * left at its end.  0, or -EINVAL with *why, or -ENOMEM. */
static int csv_quoted(const struct csv_dialect *dl, const char **pp,
		      const char *end, struct csv_buf *sc, const char **why)
{
	const char *q = *pp + 1, *k;

	sc->len = 0;
	if (csv_buf_put(sc, "", 0))
		return -ENOMEM;
	for (;;) {
		k = memchr(q, '"', (size_t)(end - q));
		if (!k) {
			*why = "unterminated quoted field";
			return -EINVAL;
		}
		if (csv_buf_put(sc, q, (size_t)(k - q)))
			return -ENOMEM;
		if (k[1] != '"')
			break;
		if (csv_buf_put(sc, "\"", 1))
			return -ENOMEM;
		q = k + 2;
	}
	for (q = k + 1; csv_pad(dl, *q); q++)
		;
	if (!csv_field_end(dl, q, end)) {
		*pp = q;
		*why = "text after closing quote";
		return -EINVAL;
	}
	*pp = q;
	return 0;
}

/* Reads the field at *pp into cell (pointing into the file, or into sc
 * when quoted); leaves *pp at the separator, line end or comment after it.
 * 0, or -EINVAL with *why (and *pp at the fault), or -ENOMEM. */
static int csv_token(const struct csv_dialect *dl, const char **pp,
		     const char *end, struct csv_buf *sc, struct csv_cell *cell,
		     const char **why)
{
	const char *p = *pp, *s, *e;
	int rc;

	while (csv_pad(dl, *p))
		p++;
	if (*p == '"') {
		*pp = p;
		rc = csv_quoted(dl, pp, end, sc, why);
		cell->s = sc->p;
		cell->len = sc->len;
		return rc;
	}
	for (s = p; !csv_field_end(dl, p, end); p++)
		;	/* (no lone CR: csv_lone_cr() made them LF) */
	for (e = p; e > s && csv_pad(dl, e[-1]); e--)
		;
	cell->s = s;
	cell->len = (size_t)(e - s);
	*pp = p;
	return 0;
}

/* After a field at p: moves to the next field and returns 1, or returns 0
 * at the row's end (a line end or comment). */
static int csv_next_field(const struct csv_dialect *dl, const char **pp,
			  const char *end)
{
	const char *p = *pp;

	if (dl->sep == DS_SEP_WHITESPACE)
		while (csv_blank(*p))
			p++;
	if (csv_eol(p, end) || (dl->comment && *p == dl->comment)) {
		*pp = p;
		return 0;
	}
	if (dl->sep != DS_SEP_WHITESPACE)
		p++;		/* the separator */
	*pp = p;
	return 1;
}

/* Skips what starts a line that holds no row: blanks, then a line end or
 * a comment.  Returns 1 (and *pp on the next line) for such a line, else
 * 0 with *pp at the first field (blanks skipped where they do not make an
 * empty first field). */
static int csv_skip_empty(const struct csv_dialect *dl, const char **pp,
			  const char *end)
{
	const char *q = *pp;

	while (csv_blank(*q))
		q++;
	if (csv_eol(q, end) || (dl->comment && *q == dl->comment)) {
		*pp = csv_next_line(q, end);
		return 1;
	}
	if (dl->sep == DS_SEP_WHITESPACE)
		*pp = q;	/* else a leading tab may be an empty field */
	return 0;
}

/* ---- Sniffing ---------------------------------------------------------- */

static const char csv_seps[] = { ',', '\t', ';', '|' };
#define CSV_NSEPS (sizeof(csv_seps) / sizeof(csv_seps[0]))

/* Counts, in the logical line at *pp (a quoted field may span lines), each
 * candidate separator and the blank-separated words, outside quotes;
 * moves *pp to the next line. */
/* Is [p, q) one number (strtod's syntax, nothing else)?  For sniffing
 * only: a word of more than 63 bytes is not. */
static int csv_sniff_number(const char *p, const char *q)
{
	char buf[64], *e;
	size_t n = (size_t)(q - p);

	if (n == 0 || n >= sizeof(buf))
		return 0;
	memcpy(buf, p, n);
	buf[n] = '\0';
	strtod(buf, &e);
	return e == buf + n;
}

/* Counts the separators of the line at p outside quotes into counts, its
 * blank-separated words into *words, and sets bit i of *numbers when word
 * i (of the first 64) is a number; moves *pp to the next line. */
static void csv_sniff_line(const char **pp, const char *end,
			   size_t counts[CSV_NSEPS], size_t *words,
			   uint64_t *numbers)
{
	const char *p = *pp, *word = NULL;
	int quoted = 0;

	memset(counts, 0, CSV_NSEPS * sizeof(*counts));
	*words = 0;
	*numbers = 0;
	for (; p < end && (quoted || *p != '\n'); p++) {
		if (*p == '"')
			quoted = !quoted;
		if (quoted)
			continue;
		for (size_t k = 0; k < CSV_NSEPS; k++)
			counts[k] += *p == csv_seps[k];
		if (isspace((unsigned char)*p)) {
			if (word && csv_sniff_number(word, p) && *words <= 64)
				*numbers |= UINT64_C(1) << (*words - 1);
			word = NULL;
		} else if (!word) {
			word = p;
			(*words)++;
		}
	}
	if (word && csv_sniff_number(word, p) && *words <= 64)
		*numbers |= UINT64_C(1) << (*words - 1);
	*pp = p < end ? p + 1 : end;
}

/* Is the line at p one that holds no row for sniffing: blank, or a
 * comment (comment, or '#' when there is none)? */
static int csv_sniff_skip(const char *p, const char *end, char comment)
{
	while (csv_blank(*p))
		p++;
	return csv_eol(p, end) || *p == (comment ? comment : '#');
}

/* The separator the lines from p look separated by (see the top). */
static char csv_sniff(const char *p, const char *end, char comment)
{
	size_t first[CSV_NSEPS], counts[CSV_NSEPS], words, first_words = 0;
	int same[CSV_NSEPS], same_words = 1, lines = 0;
	uint64_t numbers, numeric = ~UINT64_C(0);	/* in every row */

	for (size_t k = 0; k < CSV_NSEPS; k++)
		same[k] = 1;
	while (p < end && lines < CSV_SNIFF_LINES) {
		if (csv_sniff_skip(p, end, comment)) {
			p = csv_next_line(p, end);
			continue;
		}
		csv_sniff_line(&p, end, counts, &words, &numbers);
		if (lines++ == 0) {
			memcpy(first, counts, sizeof(first));
			first_words = words;
			numeric = numbers;	/* a header-less file's, for one */
			continue;
		}
		if (lines == 2)
			numeric = ~UINT64_C(0);	/* the first may be a header */
		numeric &= numbers;
		for (size_t k = 0; k < CSV_NSEPS; k++)
			same[k] &= counts[k] == first[k];
		same_words &= words == first_words;
	}
	if (lines == 0)
		return ',';
	{
		size_t best = CSV_NSEPS;

		for (size_t k = 0; k < CSV_NSEPS; k++)
			if (same[k] && first[k] > 0 &&
			    (best == CSV_NSEPS || first[k] > first[best]))
				best = k;
		if (best < CSV_NSEPS)
			return csv_seps[best];
	}
	/* Blank-separated words make columns only when one of them is a
	 * number in every row: "John Smith" lines are one text column (as
	 * pandas reads them), "3 4.5" lines two. */
	if (same_words && first_words >= 2 && numeric != 0)
		return DS_SEP_WHITESPACE;
	return ',';
}

/* How -o sep= names a separator, for a hint. */
static const char *csv_sep_name(char sep, char *one)
{
	if (sep == '\t')
		return "tab";
	if (sep == DS_SEP_WHITESPACE)
		return "whitespace";
	if (sep == ',')
		return "comma";
	one[0] = '\'';
	one[1] = sep;
	one[2] = '\'';
	one[3] = '\0';
	return one;
}

/* ---- Errors ------------------------------------------------------------ */

static int csv_chunk_fail(struct csv_chunk *ch, const char *at, size_t field,
			  const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int csv_chunk_fail(struct csv_chunk *ch, const char *at, size_t field,
			  const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ch->err_what, sizeof(ch->err_what), fmt, ap);
	va_end(ap);
	ch->err_at = at;
	ch->err_field = field;
	ch->rc = -EINVAL;
	return -EINVAL;
}

/* The message of a chunk's failure, with its line. */
static int csv_report(const struct ds_msg *m, const struct csv_job *job,
		      const struct csv_chunk *ch)
{
	size_t line = 1 + csv_count_lines(job->buf, ch->err_at);

	if (ch->rc == -ENOMEM)
		return ds_nomem(m);
	if (ch->err_field)
		return ds_fail(m, ch->rc, "line %zu, field %zu: %s", line,
			       ch->err_field, ch->err_what);
	return ds_fail(m, ch->rc, "line %zu: %s", line, ch->err_what);
}

/* A hint for a row with more fields than the first: another separator
 * that the file looks separated by. */
static void csv_hint_sep(const struct csv_job *job, char *hint, size_t len)
{
	char sniffed = csv_sniff(job->first, job->end, job->dl.comment);
	char one[4];

	size_t first_line = 1 + csv_count_lines(job->buf, job->first);

	if (sniffed != job->dl.sep)
		snprintf(hint, len, " (the fields look separated by %s: try "
			 "-o sep=%s)", sniffed == DS_SEP_WHITESPACE ?
			 "blanks" : csv_sep_name(sniffed, one),
			 csv_sep_name(sniffed, one));
	else if (job->first_ints)
		snprintf(hint, len, " (line %zu, the first row, holds only "
			 "integers: row and column counts? try -o skiprows=%zu)",
			 first_line, first_line);
	else if (job->ncols == 1)
		snprintf(hint, len, " (line %zu, the first row, has one field: "
			 "a title? try -o skiprows=%zu)", first_line,
			 first_line);
	else
		snprintf(hint, len, " (a field holding the separator "
			 "without quotes?)");
}

/* ---- The first pass: numbers ------------------------------------------- */

/* Column k's rows [from, to) of this chunk, int64 so far, become doubles
 * (in place: the same 8 bytes). */
static void csv_ints_to_doubles(void *cells, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++) {
		int64_t x = ((int64_t *)cells)[i];

		((double *)cells)[i] = (double)x;
	}
}

/* Stores a cell of class cls in column k, row r. */
static void csv_store(struct csv_chunk *ch, size_t k, size_t r, int cls,
		      double v, int64_t iv)
{
	void *col = ch->job->cells[k];

	if (cls == CSV_TEXT) {
		ch->mode[k] = CSV_MODE_TEXT;
		return;
	}
	if (ch->mode[k] == CSV_MODE_INT) {
		if (cls == CSV_INT) {
			((int64_t *)col)[r] = iv;
			return;
		}
		csv_ints_to_doubles(col, ch->base, r);
		ch->mode[k] = CSV_MODE_FLOAT;
	}
	((double *)col)[r] = cls == CSV_INT ? (double)iv
			     : cls == CSV_MISSING ? NAN : v;
}

/* The common cell: unquoted, a number csv_scan() reads, then the field's
 * end.  Returns its class with *pp after it, or -1 for the slow path. */
static int csv_quick(const struct csv_dialect *dl, const char **pp,
		     const char *end, double *v, int64_t *iv)
{
	const char *p = *pp, *q;
	struct csv_num n;

	while (csv_pad(dl, *p))
		p++;
	q = csv_scan(p, end, &n);
	if (!q)
		return -1;
	while (csv_pad(dl, *q))
		q++;
	if (!csv_field_end(dl, q, end))
		return -1;
	if (csv_num_int(&n, iv) && !(n.neg && n.w == 0)) {
		*pp = q;
		return CSV_INT;
	}
	if (!csv_num_double(&n, v))
		return -1;
	*pp = q;
	return CSV_FLOAT;
}

/* Parses the field at *pp for column k (k < ncols) of row r. */
static int csv_value_field(struct csv_chunk *ch, const char **pp, size_t k,
			   size_t r)
{
	const struct csv_job *job = ch->job;
	const char *why = NULL, *at;
	struct csv_cell cell;
	double v = 0;
	int64_t iv = 0;
	int cls, rc;

	if (ch->mode[k] != CSV_MODE_TEXT) {
		cls = csv_quick(&job->dl, pp, job->end, &v, &iv);
		if (cls >= 0) {
			csv_store(ch, k, r, cls, v, iv);
			return 0;
		}
	}
	at = *pp;
	rc = csv_token(&job->dl, pp, job->end, &ch->sc, &cell, &why);
	if (rc == -ENOMEM)
		return ch->rc = -ENOMEM;
	if (rc)
		return csv_chunk_fail(ch, why ? *pp : at, k + 1, "%s", why);
	if (ch->mode[k] == CSV_MODE_TEXT)
		return 0;
	cls = csv_classify(&ch->num, &cell, &v, &iv);
	if (cls < 0)
		return ch->rc = -ENOMEM;
	csv_store(ch, k, r, cls, v, iv);
	return 0;
}

/* Refuses the row at row_start, which has more than ncols fields: counts
 * them from the field at p (number k + 1). */
static int csv_too_many(struct csv_chunk *ch, const char *row_start,
			const char *p, size_t k)
{
	const struct csv_job *job = ch->job;
	char hint[160];
	struct csv_cell cell;
	const char *why;
	size_t n = k;

	do {
		if (csv_token(&job->dl, &p, job->end, &ch->sc, &cell, &why))
			break;
		n++;
	} while (csv_next_field(&job->dl, &p, job->end));
	csv_hint_sep(job, hint, sizeof(hint));
	return csv_chunk_fail(ch, row_start, 0, "expected %zu fields, found "
			      "%zu%s", job->ncols, n, hint);
}

/* Parses one row at *pp (not an empty line) as row r. */
static int csv_value_row(struct csv_chunk *ch, const char **pp, size_t r)
{
	const struct csv_job *job = ch->job;
	const char *row = *pp;
	size_t k = 0;
	int rc;

	for (;;) {
		if (k == job->ncols)
			return csv_too_many(ch, row, *pp, k);
		rc = csv_value_field(ch, pp, k, r);
		if (rc)
			return rc;
		k++;
		if (!csv_next_field(&job->dl, pp, job->end))
			break;
	}
	for (; k < job->ncols; k++)	/* a short row: the rest missing */
		if (ch->mode[k] != CSV_MODE_TEXT)
			csv_store(ch, k, r, CSV_MISSING, 0, 0);
	*pp = csv_next_line(*pp, job->end);
	return 0;
}

/* Parses the chunk's lines into the columns, from row ch->base on. */
static void *csv_chunk_run(void *arg)
{
	struct csv_chunk *ch = arg;
	const char *p = ch->p;

	while (p < ch->stop) {
		if (csv_skip_empty(&ch->job->dl, &p, ch->job->end))
			continue;
		assert(ch->base + ch->nrows < ch->job->cap);
		if (csv_value_row(ch, &p, ch->base + ch->nrows))
			break;
		ch->nrows++;
	}
	ch->at = p;
	return NULL;
}

/* ---- The second pass: text --------------------------------------------- */

/* The text of one column being collected: offsets into blob. */
struct csv_texts {
	size_t *off;		/* nrows offsets, SIZE_MAX: missing */
	struct csv_buf blob;
};

static int csv_text_put(struct csv_texts *t, size_t r,
			const struct csv_cell *c)
{
	const char *s = c->s;
	size_t len = c->len;

	if (len == 0 || csv_is_na(s, len)) {
		t->off[r] = SIZE_MAX;
		return 0;
	}
	t->off[r] = t->blob.len;
	if (csv_buf_put(&t->blob, s, len) ||
	    csv_buf_put(&t->blob, "", 1))	/* keep the NUL */
		return -ENOMEM;
	return 0;
}

/* Collects the cells of the text columns (texts[k].off != NULL) of nrows
 * rows from p: the rows the first pass parsed without error. */
static int csv_collect_text(const struct csv_job *job, const char *p,
			    size_t nrows, struct csv_texts *texts)
{
	struct csv_buf sc = { 0 };
	struct csv_cell cell;
	const char *why;
	size_t r = 0, k;
	int rc = 0;

	while (rc == 0 && r < nrows) {
		if (csv_skip_empty(&job->dl, &p, job->end))
			continue;
		k = 0;
		do {
			rc = csv_token(&job->dl, &p, job->end, &sc, &cell,
				       &why);
			if (rc == 0 && k < job->ncols && texts[k].off)
				rc = csv_text_put(&texts[k], r, &cell);
			k++;
		} while (rc == 0 && csv_next_field(&job->dl, &p, job->end));
		for (; rc == 0 && k < job->ncols; k++)
			if (texts[k].off)
				texts[k].off[r] = SIZE_MAX;
		p = csv_next_line(p, job->end);
		r++;
	}
	free(sc.p);
	return rc;
}

/* Makes column j of d text from t (taking its blob). */
static int csv_text_column(ds *d, size_t j, struct csv_texts *t)
{
	struct ds_col *c = &d->cols[j];

	c->text = malloc((d->nrows ? d->nrows : 1) * sizeof(*c->text));
	if (!c->text)
		return -ENOMEM;
	c->kind = DS_TEXT;
	c->blob = t->blob.p;
	t->blob.p = NULL;
	for (size_t i = 0; i < d->nrows; i++)
		c->text[i] = t->off[i] == SIZE_MAX ? NULL : c->blob + t->off[i];
	return 0;
}

/* ---- Loading ----------------------------------------------------------- */

/* The columns' arrays: ncols of cap 8-byte cells. */
static int csv_cells_alloc(struct csv_job *job, const struct ds_msg *m,
			   size_t len)
{
	size_t cells, bytes;

	/* Short rows are padded: bound the table by the file's size. */
	if (__builtin_mul_overflow(job->ncols, job->cap, &cells) ||
	    cells / 2 > len + ((size_t)1 << 23) ||
	    __builtin_mul_overflow(cells, sizeof(double), &bytes))
		return ds_fail(m, -EFBIG, "%zu columns x %zu lines: too large "
			       "for a file of %zu bytes", job->ncols, job->cap,
			       len);
	job->cells = calloc(job->ncols, sizeof(*job->cells));
	if (!job->cells)
		return ds_nomem(m);
	for (size_t j = 0; j < job->ncols; j++) {
		job->cells[j] = util_big_alloc(job->cap * sizeof(double));
		if (!job->cells[j])
			return ds_nomem(m);
	}
	return 0;
}

static void csv_job_free(struct csv_job *job)
{
	for (size_t j = 0; job->cells && j < job->ncols; j++)
		free(job->cells[j]);
	free(job->cells);
}

static void csv_chunk_free(struct csv_chunk *ch)
{
	free(ch->mode);
	free(ch->sc.p);
	free(ch->num.p);
}

static int csv_chunk_init(struct csv_chunk *ch, struct csv_job *job,
			  const char *p, const char *stop, size_t base)
{
	memset(ch, 0, sizeof(*ch));
	ch->job = job;
	ch->p = p;
	ch->stop = stop;
	ch->base = base;
	ch->mode = calloc(job->ncols, 1);	/* CSV_MODE_INT */
	return ch->mode ? 0 : -ENOMEM;
}

/* Where to split [p, end) in two: after the line end nearest the middle,
 * or NULL when it is too small to pay.  A quoted field may hold that line
 * end: then the first half's last row ends past the split, and
 * csv_parse_values() parses the whole again on one thread. */
static const char *csv_split_point(const char *p, const char *end)
{
	const char *mid;

	if ((size_t)(end - p) < CSV_PARALLEL_MIN)
		return NULL;
	mid = memchr(p + (end - p) / 2, '\n', (size_t)(end - p) / 2);
	return mid ? mid + 1 : NULL;
}

/* Joins chunk b's rows to chunk a's: a column that is int64 in one and
 * double in the other becomes double; b's rows move down to follow a's. */
static void csv_join(struct csv_job *job, struct csv_chunk *a,
		     struct csv_chunk *b)
{
	for (size_t j = 0; j < job->ncols; j++) {
		if (a->mode[j] == CSV_MODE_TEXT || b->mode[j] == CSV_MODE_TEXT) {
			a->mode[j] = CSV_MODE_TEXT;
			continue;
		}
		if (a->mode[j] == CSV_MODE_INT && b->mode[j] == CSV_MODE_FLOAT) {
			csv_ints_to_doubles(job->cells[j], a->base, a->nrows);
			a->mode[j] = CSV_MODE_FLOAT;
		} else if (a->mode[j] == CSV_MODE_FLOAT &&
			   b->mode[j] == CSV_MODE_INT) {
			csv_ints_to_doubles(job->cells[j], b->base,
					    b->base + b->nrows);
		}
		if (b->base != a->base + a->nrows)
			memmove((double *)job->cells[j] + a->base + a->nrows,
				(double *)job->cells[j] + b->base,
				b->nrows * sizeof(double));
	}
	a->nrows += b->nrows;
}

/* Lines to count on another thread. */
struct csv_lines {
	const char *p, *q;
	size_t n;
};

static void *csv_lines_run(void *arg)
{
	struct csv_lines *l = arg;

	l->n = csv_count_lines(l->p, l->q);
	return NULL;
}

/* The lines in [p, split) (*first) and in [split, end), those on another
 * thread (the count is a pass over the file before the parse can start:
 * 0.1 s for 806 MB here, half of it with two). */
static size_t csv_count_halves(const char *p, const char *split,
			       const char *end, size_t *first)
{
	struct csv_lines second = { split, end, 0 };
	pthread_t t;
	int threaded;

	if (!split) {
		*first = csv_count_lines(p, end);
		return *first;
	}
	threaded = pthread_create(&t, NULL, csv_lines_run, &second) == 0;
	*first = csv_count_lines(p, split);
	if (threaded)
		pthread_join(t, NULL);
	else
		csv_lines_run(&second);
	return *first + second.n;
}

/* The first pass over the data rows at p, on two threads from split (see
 * csv_split_point(); NULL: one thread), whose first row is numbered
 * base. */
static int csv_parse_values(struct csv_job *job, const struct ds_msg *m,
			    const char *p, const char *split, size_t base,
			    struct csv_chunk *out)
{
	struct csv_chunk second;
	pthread_t t;
	int threaded = 0, rc;

	if (csv_chunk_init(out, job, p, split ? split : job->end, 0))
		return ds_nomem(m);
	if (split) {
		if (csv_chunk_init(&second, job, split, job->end, base)) {
			csv_chunk_free(out);
			return ds_nomem(m);
		}
		threaded = pthread_create(&t, NULL, csv_chunk_run,
					  &second) == 0;
	}
	csv_chunk_run(out);
	if (split) {
		if (threaded)
			pthread_join(t, NULL);
		else if (out->rc == 0 && out->at == split)
			csv_chunk_run(&second);
		if (out->rc == 0 && out->at != split) {
			/* split inside a quoted field: the second half's
			 * rows mean nothing; once more, whole */
			log_debug("%s: a quoted field holds the line end the "
				  "file was split at: parsing on one thread",
				  m->path);
			csv_chunk_free(&second);
			csv_chunk_free(out);
			if (csv_chunk_init(out, job, p, job->end, 0))
				return ds_nomem(m);
			csv_chunk_run(out);
			return out->rc ? csv_report(m, job, out) : 0;
		}
		if (out->rc == 0 && second.rc == 0) {
			csv_join(job, out, &second);
		} else if (out->rc == 0) {	/* the first error in the file */
			out->rc = second.rc;
			out->err_at = second.err_at;
			out->err_field = second.err_field;
			memcpy(out->err_what, second.err_what,
			       sizeof(out->err_what));
		}
		csv_chunk_free(&second);
	}
	rc = out->rc ? csv_report(m, job, out) : 0;
	return rc;
}

/* Turns the parsed columns into d's, collecting text columns' cells from
 * data (the first data row). */
static int csv_finish(ds *d, const struct ds_msg *m, struct csv_job *job,
		      const struct csv_chunk *ch, const char *data)
{
	struct csv_texts *texts;
	int rc = 0, any_text = 0;

	d->nrows = ch->nrows;
	texts = calloc(job->ncols, sizeof(*texts));
	if (!texts)
		return ds_nomem(m);
	for (size_t j = 0; j < job->ncols && rc == 0; j++) {
		struct ds_col *c = &d->cols[j];
		void *cells = job->cells[j], *shrunk;

		if (ch->mode[j] == CSV_MODE_TEXT) {
			texts[j].off = malloc(d->nrows * sizeof(size_t));
			rc = texts[j].off ? 0 : -ENOMEM;
			any_text = 1;
			continue;
		}
		job->cells[j] = NULL;
		shrunk = realloc(cells, d->nrows * sizeof(double));
		if (shrunk)	/* else the larger block is kept */
			cells = shrunk;
		if (ch->mode[j] == CSV_MODE_FLOAT) {
			c->f64 = cells;
			continue;
		}
		c->kind = DS_INT64;
		c->i64 = cells;
		c->f64 = malloc(d->nrows * sizeof(double));
		if (!c->f64) {
			rc = -ENOMEM;
			break;
		}
		for (size_t i = 0; i < d->nrows; i++)
			c->f64[i] = (double)c->i64[i];
	}
	if (rc == 0 && any_text)
		rc = csv_collect_text(job, data, d->nrows, texts);
	for (size_t j = 0; j < job->ncols; j++) {
		if (rc == 0 && texts[j].off)
			rc = csv_text_column(d, j, &texts[j]);
		free(texts[j].off);
		free(texts[j].blob.p);
	}
	free(texts);
	for (size_t j = 0; rc == 0 && j < job->ncols; j++)
		ds_col_count(d, j);
	return rc ? ds_nomem(m) : 0;
}

/* Skips n lines from p. */
static const char *csv_skip_lines(const char *p, const char *end, size_t n)
{
	while (n-- > 0 && p < end)
		p = csv_next_line(p, end);
	return p;
}

/* Skips the lines before the first row: empty ones, comments, and lines
 * starting with '#'. */
static const char *csv_skip_preamble(const struct csv_dialect *dl,
				     const char *p, const char *end)
{
	while (p < end) {
		if (csv_sniff_skip(p, end, dl->comment)) {
			p = csv_next_line(p, end);
			continue;
		}
		if (!csv_skip_empty(dl, &p, end))
			break;
	}
	return p;
}

/* The first row's cells: kept as header names or looked at. */
struct csv_first {
	size_t n;
	char **cells;
	int *cls;
};

static void csv_first_free(struct csv_first *f)
{
	for (size_t k = 0; k < f->n; k++)
		free(f->cells[k]);
	free(f->cells);
	free(f->cls);
}

/* Reads the row at *pp into f. */
static int csv_first_row(const struct csv_job *job, const struct ds_msg *m,
			 const char **pp, struct csv_first *f)
{
	struct csv_buf sc = { 0 }, num = { 0 };
	struct csv_cell cell;
	const char *why = NULL, *p = *pp;
	size_t cap = 0;
	double v;
	int64_t iv;
	int rc;

	do {
		size_t ccap = cap;

		rc = csv_token(&job->dl, &p, job->end, &sc, &cell, &why);
		if (rc)
			break;
		rc = -ENOMEM;
		if (util_grow(&f->cells, &cap, f->n + 1, sizeof(*f->cells),
			      16) ||
		    util_grow(&f->cls, &ccap, f->n + 1, sizeof(*f->cls), 16))
			break;
		f->cls[f->n] = csv_classify(&num, &cell, &v, &iv);
		f->cells[f->n] = strndup(cell.s, cell.len);
		if (!f->cells[f->n])
			break;
		f->n++;
		rc = f->cls[f->n - 1] < 0 ? -ENOMEM : 0;
	} while (rc == 0 && csv_next_field(&job->dl, &p, job->end));
	free(sc.p);
	free(num.p);
	if (rc == -EINVAL)
		return ds_fail(m, rc, "line %zu, field %zu: %s",
			       1 + csv_count_lines(job->buf, p), f->n + 1, why);
	if (rc)
		return ds_nomem(m);
	*pp = csv_next_line(p, job->end);
	return 0;
}

/* Does the first row look like scikit-learn's metadata: integers, the
 * first of them the number of rows that follow, then labels? */
static int csv_is_metadata(const struct csv_first *f, const char *rest,
			   const char *end, long long *rows)
{
	size_t k = 0, lines = 0;
	const char *p = rest;

	while (k < f->n && f->cls[k] == CSV_INT)
		k++;
	if (k == 0 || k == f->n)
		return 0;
	for (size_t i = k; i < f->n; i++)
		if (f->cls[i] != CSV_TEXT)
			return 0;
	while (p < end) {
		const char *q = p;

		while (csv_blank(*q))
			q++;
		lines += !csv_eol(q, end);
		p = csv_next_line(p, end);
	}
	*rows = strtoll(f->cells[0], NULL, 10);
	return *rows >= 0 && (size_t)*rows == lines;
}

/* Decides whether the first row is the header, keeps its names, and sets
 * *data to the first data row. */
static int csv_header(ds *d, const struct ds_msg *m, const struct csv_job *job,
		      const struct ds_opts *o, const char *row,
		      const struct csv_first *f, const char **data)
{
	size_t line = 1 + csv_count_lines(job->buf, row);
	long long rows;
	int header = o->header >= 0;

	for (size_t k = 0; o->header == DS_HEADER_DETECT && k < f->n; k++)
		header |= f->cls[k] == CSV_TEXT;
	if (header && o->header == DS_HEADER_DETECT && o->skiprows == 0 &&
	    csv_is_metadata(f, *data, job->end, &rows))
		return ds_fail(m, -EINVAL, "line %zu looks like scikit-learn "
			       "metadata (%lld rows, then labels), not a "
			       "header: try -o skiprows=%zu -o header=none",
			       line, rows, line);
	if (!header) {
		*data = row;
		return 0;
	}
	for (size_t k = 0; k < f->n; k++) {
		d->cols[k].name = f->cells[k];
		f->cells[k] = NULL;
	}
	if (*data == job->end)
		return ds_fail(m, -EINVAL, "line %zu: no data rows after the "
			       "header", line);
	return 0;
}

/* Makes every CR not followed by LF a LF: pandas takes a lone CR (old
 * Mac files, or mixed) for a line end, so do the rows here, which then
 * only know LF and CRLF.  (A lone CR inside a quoted field becomes a LF.)
 * The digest was taken before: the file's bytes are what it keys. */
static void csv_lone_cr(char *buf, size_t len)
{
	char *p = buf, *end = buf + len;

	while ((p = memchr(p, '\r', (size_t)(end - p))) != NULL) {
		if (p + 1 == end || p[1] != '\n')
			*p = '\n';
		p++;
	}
}

/* Refuses a file holding a NUL byte: not text. */
static int csv_check_text(const struct ds_msg *m, const char *buf,
			  size_t len)
{
	const char *nul = memchr(buf, '\0', len);

	if (!nul)
		return 0;
	if (len >= 2 && ((buf[0] == '\xff' && buf[1] == '\xfe') ||
			 (buf[0] == '\xfe' && buf[1] == '\xff')))
		return ds_fail(m, -EINVAL, "UTF-16 text (byte order mark %02x "
			       "%02x): convert it to UTF-8 first, e.g. iconv "
			       "-f UTF-16 -t UTF-8", (unsigned char)buf[0],
			       (unsigned char)buf[1]);
	return ds_fail(m, -EINVAL, "line %zu: NUL byte at offset %zu (binary "
		       "file?)", 1 + csv_count_lines(buf, nul),
		       (size_t)(nul - buf));
}

/* The first row (after skiprows, the preamble and header=N's rows). */
static const char *csv_first_at(const struct csv_job *job,
				const struct ds_opts *o, const char *p)
{
	p = csv_skip_preamble(&job->dl, p, job->end);
	for (long n = o->header; n > 0 && p < job->end; n--)
		p = csv_skip_preamble(&job->dl, csv_next_line(p, job->end),
				      job->end);
	return p;
}

int csv_load(ds *d, const struct ds_msg *m, const struct ds_opts *o,
	     char *buf, size_t len)
{
	struct csv_job job = { .buf = buf, .end = buf + len };
	struct csv_first first = { 0 };
	struct csv_chunk ch = { 0 };
	const char *p = buf, *row, *data, *split;
	size_t nfirst;
	int rc;

	rc = csv_check_text(m, buf, len);
	if (rc)
		return rc;
	csv_lone_cr(buf, len);
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		p += 3;		/* UTF-8 byte order mark */
	p = csv_skip_lines(p, job.end, o->skiprows);
	job.dl.comment = o->comment;
	job.dl.sep = o->sep ? o->sep : csv_sniff(p, job.end, o->comment);
	if (o->comment && (o->comment == job.dl.sep ||
			   (job.dl.sep == DS_SEP_WHITESPACE &&
			    csv_blank(o->comment))))
		return ds_fail(m, -EINVAL, "the comment byte '%c' is also the "
			       "separator: give -o sep= another", o->comment);
	row = csv_first_at(&job, o, p);
	job.first = row;
	if (row == job.end && (o->skiprows || o->header > 0) &&
	    csv_skip_preamble(&job.dl, buf, job.end) != job.end)
		return ds_fail(m, -EINVAL, "no row left after -o skiprows=%zu "
			       "and header=%ld (the file has %zu lines)",
			       o->skiprows, o->header > 0 ? o->header : 0,
			       csv_count_lines(buf, job.end) +
			       (buf[len - 1] != '\n'));
	if (row == job.end)
		return ds_fail(m, -EINVAL, "empty file");
	data = row;
	rc = csv_first_row(&job, m, &data, &first);
	if (rc == 0)
		rc = ds_cols_alloc(d, first.n) ? ds_nomem(m) : 0;
	if (rc == 0)
		rc = csv_header(d, m, &job, o, row, &first, &data);
	if (rc)
		goto out_free;
	job.ncols = first.n;
	job.first_ints = 1;
	for (size_t k = 0; k < first.n; k++)
		job.first_ints &= first.cls[k] == CSV_INT;
	split = csv_split_point(data, job.end);
	job.cap = csv_count_halves(data, split, job.end, &nfirst) + 2;
	rc = csv_cells_alloc(&job, m, len);
	if (rc == 0)
		rc = csv_parse_values(&job, m, data, split, nfirst + 1, &ch);
	if (rc == 0 && ch.nrows == 0)
		rc = ds_fail(m, -EINVAL, "line %zu: no data rows after the "
			     "header", 1 + csv_count_lines(buf, row));
	if (rc == 0)
		rc = csv_finish(d, m, &job, &ch, data);
	csv_chunk_free(&ch);
out_free:
	csv_job_free(&job);
	csv_first_free(&first);
	return rc;
}
