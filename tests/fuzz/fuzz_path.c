/* fuzz_path.c -- libFuzzer target: arbitrary bytes as the names a FUSE
 * lookup hands to the registry and the resolver (reg_find, resolve_name,
 * resolve_parse_column, resolve_path, resolve_split), checked against a
 * naive reference written from reg.h, resolve.h and README.md.
 *
 * Input: byte 0 holds flags; bit 0 set: the bytes up to the first NUL are
 * a header row (names split at ','; each is quoted, so any byte but
 * CR and LF, which become '?', reaches ds_colname()), and a dataset with
 * that header is loaded for this input; clear: a fixed dataset with
 * usable, duplicated, column-like and invalid names is used.  Bits 1-3
 * pick the size of the canonical name buffer (mostly roomy, sometimes too
 * small).  The rest, split at NULs, is up to FZ_MAX_NAMES path components.
 *
 * Invariants, for each component s:
 *   - reg_find(s) is the function named s, found by a linear scan, or NULL;
 *   - resolve_parse_column(s, n) accepts exactly "col" + the decimal of some
 *     k < n without sign or leading zeros (strtoull and back), for several n;
 *   - resolve_name() on a column function gives "colN" for s = "colN"
 *     (N < ncols) and for s = the header name of column N when that name is
 *     a valid component, not "col" + digits, 0, and no other column's; else
 *     -ENOENT; -ENAMETOOLONG exactly when "colN" does not fit;
 *   - a resolved canonical name is "colN" with N < ncols, 0, and resolving it
 *     again yields itself;
 *   - on a MEMOFS_ARGS_LIST function, s resolves exactly when listed;
 *   - at a REAL level of [0, 1] s resolves exactly when it is a finite
 *     number in range written as fmt_double() writes it without ".0",
 *     and then it has no '+', no leading or trailing zero, no "E"; at an
 *     INTEGER level of [-5, 1000] exactly when it is -?(0|[1-9][0-9]*),
 *     not "-0", in range; canonical = s.
 * The first four components joined by '/' (and two other joins) as a path
 * of the four-level function "q4" (REAL, COLUMNS, INTEGER, LIST): it
 * resolves exactly when it has four '/'-separated names each resolving at
 * its level, to their canonical forms joined by '/', and resolve_split()
 * gives those back.
 * Per dataset: the listed names are col0.. then the usable header names in
 * column order, each resolving to its column.
 */
#include <ctype.h>
#include <math.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/ds.h"
#include "functions/fn_builtin.h"
#include "fuzz_util.h"
#include "util/log.h"
#include "functions/reg.h"
#include "functions/resolve.h"
#include "../listing.h"
#include "data/fmt.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_MAX_NAMES 16		/* components tried per input */
#define FZ_MAX_COLS 64		/* header names kept per input */
#define CANON_MAX (REG_NAME_MAX + 1)

/* 12 columns (so col10, col11 exist): usable names, a duplicate pair, names
 * that look like columns, and names that are no valid component. */
static const char fixed_csv[] =
	"price,qty,price,col0,a/b,color,col01,..,\" sp \",\x01x,"
	"\xc3\xa9t\xc3\xa9,col\n"
	"1,2,3,4,5,6,7,8,9,10,11,12\n";

static const char *const list_args[] = { "a", "b c", "-x", "col0",
					  "\xc3\xa9", "x.y", NULL };

/* Buffer sizes for the canonical name: roomy, and too small for some or
 * all of "colN". */
static const size_t canon_lens[] = { CANON_MAX, CANON_MAX, CANON_MAX,
				     CANON_MAX, 0, 1, 4, 5 };

/* A dataset and a registry bound to it. */
struct world {
	ds *d;
	reg *r;
	const reg_fn *cols;	/* "mean": MEMOFS_ARGS_COLUMNS */
	const reg_fn *list;	/* "pick": MEMOFS_ARGS_LIST */
	const reg_fn *q4;	/* REAL, COLUMNS, INTEGER, LIST */
};

static struct world fixed;	/* built once; lives until exit */
static const double no_delay = 0;

static int nop(memofs_ctx *ctx, const char *arg, void *udata)
{
	(void)ctx;
	(void)arg;
	(void)udata;
	return 0;
}

/* ---- the reference -------------------------------------------------- */

/* reg.c's rule for a path component: 1..REG_NAME_MAX bytes, not "." or
 * "..", no '/' and no control character. */
static int ref_component(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > REG_NAME_MAX || !strcmp(s, ".") || !strcmp(s, ".."))
		return 0;
	for (; *s; s++)
		if (*s == '/' || (unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

static int ref_looks_like_column(const char *s)
{
	if (strncmp(s, "col", 3) != 0 || s[3] == '\0')
		return 0;
	for (s += 3; *s; s++)
		if (!isdigit((unsigned char)*s))
			return 0;
	return 1;
}

static int ref_parse_column(const char *s, size_t ncols, size_t *col)
{
	unsigned long long v;
	char back[32];

	if (!ref_looks_like_column(s) || strlen(s + 3) > 20)
		return -ENOENT;
	errno = 0;
	v = strtoull(s + 3, NULL, 10);
	if (errno)
		return -ENOENT;
	snprintf(back, sizeof(back), "%llu", v);
	if (strcmp(back, s + 3) != 0 || v >= ncols)	/* "col01" */
		return -ENOENT;
	*col = (size_t)v;
	return 0;
}

static int ref_usable(const ds *d, size_t j)
{
	const char *name = ds_colname(d, j);

	return name && ref_component(name) && !ref_looks_like_column(name);
}

/* The column whose header name s is, usable and unique, or -1 (before
 * the .npy rule of ref_alias()). */
static long ref_alias_named(const ds *d, const char *s)
{
	long found = -1;
	int count = 0;

	for (size_t j = 0; j < ds_ncols(d); j++)
		if (ref_usable(d, j) && strcmp(ds_colname(d, j), s) == 0) {
			found = (long)j;
			count++;
		}
	return count == 1 ? found : -1;
}

/* The column whose header name s is, or -1: usable, unique, and neither
 * s + ".npy" another such name nor, for s ending in ".npy", its stem a
 * colN name or another such name (one file cannot be both a column's text
 * and another column's .npy view). */
static long ref_alias(const ds *d, const char *s)
{
	size_t len = strlen(s), ext = strlen(".npy");
	char other[REG_NAME_MAX + 8];
	long found = ref_alias_named(d, s);

	if (found < 0 || len + ext >= sizeof(other))
		return found;
	snprintf(other, sizeof(other), "%s.npy", s);
	if (ref_alias_named(d, other) >= 0)
		return -1;
	if (len > ext && strcmp(s + len - ext, ".npy") == 0) {
		other[len - ext] = '\0';
		if (ref_looks_like_column(other) ||
		    ref_alias_named(d, other) >= 0)
			return -1;
	}
	return found;
}

static int ref_alias_unique(const ds *d, size_t j)
{
	return ref_usable(d, j) && ref_alias(d, ds_colname(d, j)) == (long)j;
}

/* Is s a REAL of [0, 1] by resolve.h's rule?  fmt_double() is fuzzed on
 * its own (fuzz_fmt.c). */
static int ref_real(const char *s, double *x)
{
	char canon[FMT_DOUBLE_MAX];
	char *end;
	size_t n;

	if (!*s || strlen(s) > 32)
		return 0;
	*x = strtod(s, &end);
	if (*end || !isfinite(*x) || *x < 0 || *x > 1 ||
	    (*x == 0 && signbit(*x)))
		return 0;
	n = fmt_double(canon, *x);
	if (n > 2 && strcmp(canon + n - 2, ".0") == 0)
		canon[n - 2] = '\0';
	return strcmp(canon, s) == 0;
}

/* The spelling rules an accepted REAL follows, checked by hand. */
static void check_real_spelling(const char *s)
{
	const char *dot = strchr(s, '.'), *e = strchr(s, 'e');
	size_t mant = e ? (size_t)(e - s) : strlen(s);

	FZ_CHECK(s[0] != '+' && s[0] != '-' && !strchr(s, 'E'));
	FZ_CHECK(!(s[0] == '0' && mant > 1 && s[1] != '.'));
	if (dot && (!e || dot < e)) {
		FZ_CHECK(dot + 1 < s + mant);		/* "1." */
		FZ_CHECK(s[mant - 1] != '0');		/* "0.50" */
	}
	for (const char *p = s; *p; p++)
		FZ_CHECK(isdigit((unsigned char)*p) || *p == '.' ||
			 *p == 'e' || *p == '-' || *p == '+');
}

/* Is s an INTEGER of [-5, 1000] by resolve.h's rule? */
static int ref_integer(const char *s)
{
	const char *d = s[0] == '-' ? s + 1 : s;
	long v;

	if (!*d || strlen(d) > 16 || (d[0] == '0' && d[1]) ||
	    (d[0] == '0' && d != s))
		return 0;
	for (const char *p = d; *p; p++)
		if (!isdigit((unsigned char)*p))
			return 0;
	v = strtol(s, NULL, 10);
	return v >= -5 && v <= 1000;
}

/* ---- checks --------------------------------------------------------- */

static void check_find(const struct world *w, const char *s)
{
	const reg_fn *want = NULL, *got = reg_find(w->r, s);

	for (size_t i = 0; i < reg_count(w->r); i++)
		if (strcmp(reg_fn_name(reg_at(w->r, i)), s) == 0)
			want = reg_at(w->r, i);
	FZ_CHECK(got == want);
}

static void check_parse(const char *s, size_t ncols)
{
	size_t got = SIZE_MAX, want = SIZE_MAX;
	int rc = resolve_parse_column(s, ncols, &got);

	FZ_CHECK(rc == ref_parse_column(s, ncols, &want));
	FZ_CHECK(rc != 0 || got == want);
}

/* A canonical name: "colN", N < ncols, resolving to itself. */
static void check_canonical(const struct world *w, const char *canon,
			    size_t col)
{
	char again[CANON_MAX];
	size_t k;

	FZ_CHECK(resolve_parse_column(canon, ds_ncols(w->d), &k) == 0);
	FZ_CHECK(k == col && col < ds_ncols(w->d));
	FZ_CHECK(resolve_name(w->r, w->cols, 0, canon, 0, again,
				 sizeof(again)) == 0);
	FZ_CHECK(strcmp(again, canon) == 0);
}

static void check_resolve_column(const struct world *w, const char *s,
				 size_t canonlen)
{
	char canon[CANON_MAX], want[CANON_MAX];
	size_t col;
	long alias;
	int rc, n;

	memset(canon, '#', sizeof(canon));
	rc = resolve_name(w->r, w->cols, 0, s, 0, canon, canonlen);
	if (ref_parse_column(s, ds_ncols(w->d), &col) != 0) {
		alias = ref_alias(w->d, s);
		if (alias < 0) {
			FZ_CHECK(rc == -ENOENT);
			return;
		}
		col = (size_t)alias;
	}
	n = snprintf(want, sizeof(want), "col%zu", col);
	if ((size_t)n >= canonlen) {
		FZ_CHECK(rc == -ENAMETOOLONG);
		return;
	}
	FZ_CHECK(rc == 0);
	FZ_CHECK(strcmp(canon, want) == 0);
	check_canonical(w, canon, col);
}

static void check_resolve_list(const struct world *w, const char *s,
			       size_t canonlen)
{
	char canon[CANON_MAX];
	int listed = 0, rc;

	for (const char *const *a = list_args; *a; a++)
		listed |= strcmp(*a, s) == 0;
	rc = resolve_name(w->r, w->list, 0, s, 0, canon, canonlen);
	if (!listed)
		FZ_CHECK(rc == -ENOENT);
	else if (strlen(s) >= canonlen)
		FZ_CHECK(rc == -ENAMETOOLONG);
	else
		FZ_CHECK(rc == 0 && strcmp(canon, s) == 0);
}

static void check_numbers(const struct world *w, const char *s)
{
	char canon[CANON_MAX];
	double x = 0;
	int rc = resolve_name(w->r, w->q4, 0, s, 0, canon, sizeof(canon));
	int want = ref_real(s, &x);

	FZ_CHECK((rc == 0) == want);
	FZ_CHECK(rc == 0 || rc == -ENOENT);
	if (rc == 0) {
		FZ_CHECK(strcmp(canon, s) == 0);
		check_real_spelling(s);
	}
	rc = resolve_name(w->r, w->q4, 2, s, 0, canon, sizeof(canon));
	FZ_CHECK((rc == 0) == ref_integer(s));
	FZ_CHECK(rc != 0 || strcmp(canon, s) == 0);
}

/* path, as names of q4's four levels. */
static void check_path(const struct world *w, const char *path)
{
	char canon[REG_ARG_MAX + 1], want[REG_ARG_MAX + 1];
	char name[REG_NAME_MAX + 1], level[CANON_MAX];
	const char *part[RESOLVE_ARGS_MAX], *p = path;
	size_t len[RESOLVE_ARGS_MAX], used = 0, n = 0;
	int ok = 1, rc = resolve_path(w->r, w->q4, path, canon,
				      sizeof(canon));

	for (;;) {
		const char *slash = strchr(p, '/');
		size_t k = slash ? (size_t)(slash - p) : strlen(p);

		if (n >= 4 || k >= sizeof(name)) {
			ok = 0;
			break;
		}
		memcpy(name, p, k);
		name[k] = '\0';
		if (resolve_name(w->r, w->q4, n, name, 0, level,
				 sizeof(level)) != 0)
			ok = 0;
		else
			used += (size_t)snprintf(want + used,
						 sizeof(want) - used, "%s%s",
						 n ? "/" : "", level);
		n++;
		if (!slash)
			break;
		p = slash + 1;
	}
	ok = ok && n == 4;
	FZ_CHECK((rc == 0) == ok);
	if (!ok)
		return;
	FZ_CHECK(strcmp(canon, want) == 0);
	FZ_CHECK(resolve_split(w->q4, canon, part, len) == 0);
	for (size_t i = 0, at = 0; i < 4; i++) {
		FZ_CHECK(part[i] == canon + at);
		at += len[i] + 1;
		FZ_CHECK(canon[at - 1] == (i < 3 ? '/' : '\0'));
	}
}

static void check_name(const struct world *w, const char *s,
		       size_t canonlen)
{
	const size_t ncols[] = { ds_ncols(w->d), 0, 1, 10, 1000000 };

	check_find(w, s);
	check_numbers(w, s);
	for (size_t i = 0; i < sizeof(ncols) / sizeof(*ncols); i++)
		check_parse(s, ncols[i]);
	check_resolve_column(w, s, canonlen);
	check_resolve_list(w, s, canonlen);
}

/* The listing: col0..colN-1, then the usable unique header names in column
 * order, each resolving to its column. */
static void check_listing(const struct world *w)
{
	size_t nc = ds_ncols(w->d), i = nc, n = arg_count(w->r, w->cols);
	char buf[CANON_MAX], canon[CANON_MAX], want[CANON_MAX];

	for (size_t j = 0; j < nc; j++) {
		FZ_CHECK(arg_name(w->r, w->cols, j, buf, sizeof(buf)) == 0);
		snprintf(want, sizeof(want), "col%zu", j);
		FZ_CHECK(strcmp(buf, want) == 0);
		check_canonical(w, buf, j);
	}
	for (size_t j = 0; j < nc; j++) {
		if (!ref_alias_unique(w->d, j))
			continue;
		FZ_CHECK(i < n);
		FZ_CHECK(arg_name(w->r, w->cols, i, buf, sizeof(buf)) == 0);
		FZ_CHECK(strcmp(buf, ds_colname(w->d, j)) == 0);
		FZ_CHECK(resolve_name(w->r, w->cols, 0, buf, 0, canon,
					 sizeof(canon)) == 0);
		snprintf(want, sizeof(want), "col%zu", j);
		FZ_CHECK(strcmp(canon, want) == 0);
		i++;
	}
	FZ_CHECK(i == n);
	if (n > 0)
		FZ_CHECK(arg_name(w->r, w->cols, n - 1, buf, 1) == -ERANGE);
}

/* ---- setting up ----------------------------------------------------- */

static void world_free(struct world *w)
{
	reg_free(w->r);
	ds_free(w->d);
	memset(w, 0, sizeof(*w));
}

/* Loads csv into w->d and registers the built-ins and "pick".  Returns 0,
 * or -1 when ds_load() refuses the CSV. */
static int world_new(struct world *w, const char *csv, size_t len)
{
	const struct memofs_function pick = {
		.name = "pick", .version = "1", .description = "a list",
		.args = MEMOFS_ARGS_LIST, .arg_list = list_args, .compute = nop,
	};
	static const char *const sugg[] = { "0.5", "1", NULL };
	static const struct memofs_arg q4_args[] = {
		{ "Q", MEMOFS_ARGS_REAL, sugg, 0, 1 },
		{ NULL, MEMOFS_ARGS_COLUMNS, NULL, 0, 0 },
		{ "N", MEMOFS_ARGS_INTEGER, NULL, -5, 1000 },
		{ NULL, MEMOFS_ARGS_LIST, list_args, 0, 0 },
	};
	const struct memofs_function q4 = {
		.name = "q4", .version = "1", .compute = nop,
		MEMOFS_ARGV(q4_args),
	};
	char err[DS_ERR_MAX];

	memset(w, 0, sizeof(*w));
	if (ds_load(fz_write(csv, len, FZ_CSV), &w->d, err, sizeof(err)))
		return -1;
	FZ_CHECK(reg_new(&w->r) == 0);
	FZ_CHECK(fn_register_builtins(w->r, &no_delay) == 0);
	FZ_CHECK(memofs_register(w->r, &pick) == 0);
	FZ_CHECK(memofs_register(w->r, &q4) == 0);
	FZ_CHECK(reg_bind_dataset(w->r, w->d) == 0);
	w->cols = reg_find(w->r, "mean");
	w->list = reg_find(w->r, "pick");
	w->q4 = reg_find(w->r, "q4");
	FZ_CHECK(w->cols && w->list && w->q4);
	check_listing(w);
	return 0;
}

/* Builds a CSV whose header is hdr[0..len) split at ',', each name quoted,
 * and one data row of ones.  Returns its length; *out is malloc'd. */
static size_t header_csv(const uint8_t *hdr, size_t len, char **out)
{
	/* A byte takes 2 at most, a ',' 3; the data row 2 a column. */
	char *csv = malloc(2 * len + 4 * FZ_MAX_COLS + 3), *p = csv;
	size_t cols = 1;

	FZ_CHECK(csv != NULL);
	*p++ = '"';
	for (size_t i = 0; i < len; i++) {
		char ch = (char)hdr[i];

		if (ch == ',' && cols == FZ_MAX_COLS)
			break;
		if (ch == ',') {
			memcpy(p, "\",\"", 3);
			p += 3;
			cols++;
			continue;
		}
		if (ch == '\n' || ch == '\r')
			ch = '?';
		if (ch == '"')
			*p++ = '"';
		*p++ = ch;
	}
	*p++ = '"';
	*p++ = '\n';
	for (size_t j = 0; j < cols; j++) {
		*p++ = '1';
		*p++ = j + 1 < cols ? ',' : '\n';
	}
	*out = csv;
	return (size_t)(p - csv);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init(0, LOG_LVL_ERROR);
	FZ_CHECK(world_new(&fixed, fixed_csv, sizeof(fixed_csv) - 1) == 0);
	FZ_CHECK(ds_ncols(fixed.d) == 12);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p, *end = data + size;
	struct world own = { 0 }, *w = &fixed;
	size_t canonlen, nnames = 0;
	char name[512], names[4][512];

	if (size < 1)
		return 0;
	canonlen = canon_lens[(data[0] >> 1) & 7];
	p = data + 1;
	if (data[0] & 1) {
		const uint8_t *nul = memchr(p, '\0', (size_t)(end - p));
		const uint8_t *hend = nul ? nul : end;
		char *csv;
		size_t len = header_csv(p, (size_t)(hend - p), &csv);

		if (world_new(&own, csv, len) == 0)
			w = &own;
		free(csv);
		p = nul ? nul + 1 : end;
	}
	for (int k = 0; k < FZ_MAX_NAMES && p <= end; k++) {
		const uint8_t *nul = memchr(p, '\0', (size_t)(end - p));
		size_t len = (size_t)((nul ? nul : end) - p);

		if (len >= sizeof(name))
			len = sizeof(name) - 1;
		memcpy(name, p, len);
		name[len] = '\0';
		check_name(w, name, canonlen);
		if (nnames < 4)
			memcpy(names[nnames++], name, len + 1);
		if (!nul)
			break;
		p = nul + 1;
	}
	if (nnames == 4) {
		/* four names as one path, and joined by other counts */
		char path[4 * 512 + 4];

		snprintf(path, sizeof(path), "%s/%s/%s/%s", names[0], names[1],
			 names[2], names[3]);
		check_path(w, path);
		snprintf(path, sizeof(path), "%s/%s/%s", names[0], names[1],
			 names[2]);
		check_path(w, path);
		snprintf(path, sizeof(path), "%s/%s/%s/%s/%s", names[0],
			 names[1], names[2], names[3], names[3]);
		check_path(w, path);
	}
	world_free(&own);
	return 0;
}
