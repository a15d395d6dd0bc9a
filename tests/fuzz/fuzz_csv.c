/* fuzz_csv.c -- libFuzzer target: ds_load() on arbitrary bytes as a CSV.
 *
 * Each input is written to a file named *.csv and loaded.  A refusal must
 * be a negative errno with a one-line message; a table must pass
 * fz_check_table() and must equal what a naive reference parser, written
 * from ds.h's description of the format, makes of the same bytes: the
 * same header decision and names, and every value bit for bit what
 * strtod() reads from its field (which checks the fast number path against
 * strtod()).
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "data/ds.h"
#include "fuzz_ds.h"
#include "fuzz_util.h"
#include "util/log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int ref_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

/* A field's text as ds.h describes it: a quoted field unquoted, any other
 * without the blanks around it.  The text is NUL-terminated in out. */
struct ref_field {
	char *out;		/* room for the whole line */
	size_t len;
};

/* Reads the field at *q in the line [*q, e) and moves *q to the ',' or e
 * after it.  Only called on lines ds_load() accepted, so a malformed
 * quote is a failed check. */
static void ref_next_field(const char **q, const char *e,
			   struct ref_field *f)
{
	const char *p = *q, *start, *t;

	f->len = 0;
	while (p < e && ref_blank(*p))
		p++;
	if (p < e && *p == '"') {
		for (p++;; p++) {
			FZ_CHECK(p < e);	/* accepted: terminated */
			if (*p == '"' && p + 1 < e && p[1] == '"')
				f->out[f->len++] = *p++;
			else if (*p == '"')
				break;
			else
				f->out[f->len++] = *p;
		}
		for (p++; p < e && ref_blank(*p); p++)
			;
		FZ_CHECK(p == e || *p == ',');
	} else {
		start = p;
		while (p < e && *p != ',')
			p++;
		for (t = p; t > start && ref_blank(t[-1]); t--)
			;
		memcpy(f->out, start, (size_t)(t - start));
		f->len = (size_t)(t - start);
	}
	f->out[f->len] = '\0';
	*q = p;
}

/* Whether the field is a number, strtod() reading all of it but the
 * blanks around it; sets *v. */
static int ref_number(const struct ref_field *f, double *v)
{
	const char *s = f->out, *e = f->out + f->len;
	char *end;

	while (s < e && ref_blank(*s))
		s++;
	while (e > s && ref_blank(e[-1]))
		e--;
	if (s == e || isspace((unsigned char)*s))
		return 0;
	*v = strtod(s, &end);
	return end == e;
}

static int ref_empty(const struct ref_field *f)
{
	for (size_t i = 0; i < f->len; i++)
		if (!ref_blank(f->out[i]))
			return 0;
	return 1;
}

/* Checks one row [s, e) against d: the header when is_header, else data
 * row *row.  Returns whether the row is a header by the format's rule
 * (some non-empty field is not a number). */
static int ref_row(const ds *d, const char *s, const char *e, int is_header,
		   size_t *row, struct ref_field *f)
{
	size_t nc = ds_ncols(d), k = 0;
	const char *q = s;
	int header_like = 0;
	double v = 0;

	for (;;) {
		ref_next_field(&q, e, f);
		FZ_CHECK(k < nc);
		if (!ref_empty(f) && !ref_number(f, &v))
			header_like = 1;
		if (is_header) {
			const char *name = ds_colname(d, k);

			FZ_CHECK(strlen(name) == f->len);
			FZ_CHECK(memcmp(name, f->out, f->len) == 0);
		} else {
			FZ_CHECK(*row < ds_nrows(d));
			FZ_CHECK(ref_number(f, &v));
			FZ_CHECK(fz_same_bits(v, ds_column(d, k)[*row]));
		}
		k++;
		if (q == e)
			break;
		q++;		/* the ',' */
	}
	FZ_CHECK(k == nc);
	if (!is_header)
		(*row)++;
	return header_like;
}

/* Re-parses the accepted bytes naively, line by line, and compares. */
static void ref_check(const ds *d, const char *data, size_t size)
{
	const char *p = data, *end = data + size;
	int has_header = ds_colname(d, 0) != NULL, first = 1;
	struct ref_field f = { malloc(size + 1), 0 };
	size_t row = 0;

	FZ_CHECK(f.out != NULL);
	if (size >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
		p += 3;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *s = p, *e = nl ? nl : end, *b;

		p = nl ? nl + 1 : end;
		if (e > s && e[-1] == '\r')
			e--;
		for (b = s; b < e && ref_blank(*b); b++)
			;
		if (b == e)
			continue;	/* empty or all-blank line */
		if (first)
			FZ_CHECK(ref_row(d, s, e, has_header, &row, &f) ==
				 has_header);
		else
			ref_row(d, s, e, 0, &row, &f);
		first = 0;
	}
	FZ_CHECK(row == ds_nrows(d));
	free(f.out);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init(0, LOG_LVL_ERROR);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t errlen = fz_pick_errlen(data, size);
	const char *path = fz_write(data, size, FZ_CSV);
	char err[DS_ERR_MAX];
	ds *d = NULL;
	int rc;

	memset(err, 'x', sizeof(err));
	rc = ds_load(path, &d, errlen ? err : NULL, errlen);
	if (rc) {
		fz_check_refusal(rc, d, err, errlen);
		return 0;
	}
	fz_check_table(d, data, size, path, 2);
	ref_check(d, (const char *)data, size);
	ds_free(d);
	return 0;
}
