/* resolve.c -- the one resolver of argument names (see resolve.h).
 *
 * Owns the rules of every kind: columns and their header aliases (the
 * alias table, built once from the dataset), list items, numbers and
 * their canonical spelling, and files (through argdir.h).  The registry
 * (reg.h) holds each function's declared levels and what they resolve
 * against; this file is the only one that turns a name into a canonical
 * argument, or a level into a listing.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/fmt.h"
#include "functions/resolve.h"
#include "util/mem.h"
#include "util/name.h"

#define RESOLVE_INT_MAX 9007199254740992.0	/* 2^53 */
#define RESOLVE_NUMBER_MAX 32			/* longest number text */

/* The size of struct memofs_arg when it was introduced: what a plugin
 * built then passes as arg_size (reg.c checks it). */
_Static_assert(sizeof(struct memofs_arg) >=
	       offsetof(struct memofs_arg, max) + sizeof(double),
	       "memofs_arg ends with max");

/* ---- columns ------------------------------------------------------------ */

struct resolve_alias {
	const char *name;	/* borrowed from the dataset */
	size_t col;
};

struct resolve_columns {
	const ds *data;
	struct resolve_alias *aliases;	/* valid header names, column order */
	struct resolve_alias *by_name;	/* the same, sorted by name */
	size_t naliases;
	size_t *numeric;		/* the numeric columns, in order */
	size_t nnumeric;
	struct resolve_alias *num_aliases; /* aliases of those, col order */
	size_t nnum_aliases;
};

int resolve_parse_column(const char *arg, size_t ncols, size_t *col)
{
	const char *p;
	uint64_t v = 0;

	if (strncmp(arg, "col", 3) != 0)
		return -ENOENT;
	p = arg + 3;
	if (*p < '0' || *p > '9' || (p[0] == '0' && p[1] != '\0'))
		return -ENOENT;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return -ENOENT;
		if (v > (UINT64_MAX - 9) / 10)
			return -ENOENT;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (v >= ncols)
		return -ENOENT;
	*col = (size_t)v;
	return 0;
}

static int resolve_alias_cmp(const void *a, const void *b)
{
	const struct resolve_alias *x = a, *y = b;

	return strcmp(x->name, y->name);
}

static int resolve_col_cmp(const void *a, const void *b)
{
	const struct resolve_alias *x = a, *y = b;

	return (x->col > y->col) - (x->col < y->col);
}

/* Is s "col" followed by digits only (a column name, maybe malformed)? */
static int resolve_looks_like_column(const char *s)
{
	if (strncmp(s, "col", 3) != 0 || s[3] == '\0')
		return 0;
	for (s += 3; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

/* A header name is an alias when it is a valid file name and does not look
 * like a "colN" name (which would be ambiguous).  Duplicates are dropped
 * by resolve_columns_new(). */
static int resolve_alias_usable(const char *name)
{
	return name && util_name_component(name, strlen(name)) &&
	       !resolve_looks_like_column(name);
}

/* Keeps the entries of a (sorted by name) whose name no other entry has;
 * returns how many are kept. */
static size_t resolve_drop_shared(struct resolve_alias *a, size_t n)
{
	size_t kept = 0, i = 0;

	while (i < n) {
		size_t j = i + 1;

		while (j < n && strcmp(a[j].name, a[i].name) == 0)
			j++;
		if (j == i + 1)
			a[kept++] = a[i];
		i = j;
	}
	return kept;
}

/* Is name + ".npy" (or, for a name ending in ".npy", its stem) another
 * alias of the sorted a[0..n), or, for the stem, a colN name?  Such a name
 * would make one file both a column's text and another's .npy view. */
static int resolve_npy_clash(const struct resolve_alias *a, size_t n,
			     const char *name)
{
	size_t len = strlen(name), ext = sizeof(".npy") - 1;
	char *other = malloc(len + ext + 1);
	struct resolve_alias key = { other, 0 };
	int clash;

	if (!other)
		return 1;	/* drop the name rather than risk a clash */
	memcpy(other, name, len);
	memcpy(other + len, ".npy", ext + 1);
	clash = bsearch(&key, a, n, sizeof(*a), resolve_alias_cmp) != NULL;
	if (!clash && len > ext && strcmp(name + len - ext, ".npy") == 0) {
		other[len - ext] = '\0';
		clash = resolve_looks_like_column(other) ||
			bsearch(&key, a, n, sizeof(*a), resolve_alias_cmp);
	}
	free(other);
	return clash;
}

/* Keeps the entries of a (sorted by name) that clash with no other's .npy
 * view (resolve_npy_clash()); returns how many are kept. */
static size_t resolve_drop_npy_clashes(struct resolve_alias *a, size_t n)
{
	unsigned char *drop = calloc(n ? n : 1, 1);
	size_t kept = 0;

	if (!drop)
		return 0;	/* no aliases at all: colN names still work */
	for (size_t i = 0; i < n; i++)
		drop[i] = (unsigned char)resolve_npy_clash(a, n, a[i].name);
	for (size_t i = 0; i < n; i++)
		if (!drop[i])
			a[kept++] = a[i];
	free(drop);
	return kept;
}

void resolve_columns_free(resolve_columns *c)
{
	if (!c)
		return;
	free(c->aliases);
	free(c->by_name);
	free(c->numeric);
	free(c->num_aliases);
	free(c);
}

int resolve_columns_new(const ds *d, resolve_columns **out)
{
	size_t ncols = ds_ncols(d), n = 0;
	resolve_columns *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->by_name = calloc(ncols ? ncols : 1, sizeof(*c->by_name));
	c->aliases = calloc(ncols ? ncols : 1, sizeof(*c->aliases));
	c->numeric = calloc(ncols ? ncols : 1, sizeof(*c->numeric));
	c->num_aliases = calloc(ncols ? ncols : 1, sizeof(*c->num_aliases));
	if (!c->by_name || !c->aliases || !c->numeric || !c->num_aliases) {
		resolve_columns_free(c);
		return -ENOMEM;
	}
	for (size_t j = 0; j < ncols; j++)
		if (resolve_alias_usable(ds_colname(d, j)))
			c->by_name[n++] = (struct resolve_alias){
				ds_colname(d, j), j };
	qsort(c->by_name, n, sizeof(*c->by_name), resolve_alias_cmp);
	c->naliases = resolve_drop_shared(c->by_name, n);
	c->naliases = resolve_drop_npy_clashes(c->by_name, c->naliases);
	memcpy(c->aliases, c->by_name, c->naliases * sizeof(*c->aliases));
	qsort(c->aliases, c->naliases, sizeof(*c->aliases), resolve_col_cmp);
	for (size_t j = 0; j < ncols; j++)
		if (ds_col_numeric(d, j))
			c->numeric[c->nnumeric++] = j;
	for (size_t i = 0; i < c->naliases; i++)
		if (ds_col_numeric(d, c->aliases[i].col))
			c->num_aliases[c->nnum_aliases++] = c->aliases[i];
	c->data = d;
	*out = c;
	return 0;
}

/* Is column col acceptable for a (NUMERIC: a column of numbers, not of
 * text: ds_col_numeric())? */
static int resolve_column_fits(const resolve_columns *c,
			       const struct resolve_arg *a, size_t col)
{
	return col < ds_ncols(c->data) &&
	       (a->kind != ARGS_NUMERIC || ds_col_numeric(c->data, col));
}

static int resolve_put(char *buf, size_t buflen, const char *s, int err)
{
	int n = snprintf(buf, buflen, "%s", s);

	return (n < 0 || (size_t)n >= buflen) ? err : 0;
}

static int resolve_column(const resolve_columns *c,
			  const struct resolve_arg *a, const char *name,
			  char *canon, size_t canonlen)
{
	struct resolve_alias key = { name, 0 }, *hit;
	size_t col;
	int n;

	if (!c)
		return -ENOENT;		/* a directory DATA: no columns */
	if (resolve_parse_column(name, ds_ncols(c->data), &col) != 0) {
		hit = bsearch(&key, c->by_name, c->naliases, sizeof(key),
			      resolve_alias_cmp);
		if (!hit)
			return -ENOENT;
		col = hit->col;
	}
	if (!resolve_column_fits(c, a, col))
		return -ENOENT;
	n = snprintf(canon, canonlen, "col%zu", col);
	return (n < 0 || (size_t)n >= canonlen) ? -ENAMETOOLONG : 0;
}

/* ---- numbers ------------------------------------------------------------ */

/* The canonical text of x for kind (REAL: repr without ".0"; INTEGER:
 * plain decimal, x integral).  buf holds FMT_DOUBLE_MAX bytes. */
static void resolve_number_text(enum args_kind kind, double x, char *buf)
{
	size_t n;

	if (kind == ARGS_INTEGER) {
		snprintf(buf, FMT_DOUBLE_MAX, "%.0f", x);
		return;
	}
	n = fmt_double(buf, x);
	if (n > 2 && strcmp(buf + n - 2, ".0") == 0)
		buf[n - 2] = '\0';
}

static int resolve_is_number_kind(enum args_kind kind)
{
	return kind == ARGS_REAL || kind == ARGS_INTEGER;
}

int resolve_parse_number(const struct resolve_arg *a, const char *name,
			 double *x)
{
	char canon[FMT_DOUBLE_MAX];
	char *end;
	double v;

	if (!resolve_is_number_kind(a->kind) || !name[0] ||
	    strlen(name) > RESOLVE_NUMBER_MAX)
		return -ENOENT;
	/* strtod() takes what C does ("0x1p-1", "infinity", " 1", "1e999"
	 * as inf, "1e-999" as 0); the comparison with the canonical text
	 * below refuses all of them.  Its ERANGE for a subnormal result is
	 * no error: "5e-324" is canonical. */
	v = strtod(name, &end);
	if (*end || !isfinite(v) || v < a->min ||
	    v > a->max || (v == 0 && signbit(v)))
		return -ENOENT;
	if (a->kind == ARGS_INTEGER &&
	    (v != floor(v) || fabs(v) > RESOLVE_INT_MAX))
		return -ENOENT;
	resolve_number_text(a->kind, v, canon);
	if (strcmp(canon, name) != 0)
		return -ENOENT;
	*x = v;
	return 0;
}

/* ---- declarations ------------------------------------------------------- */

const char *resolve_kind_label(enum args_kind kind)
{
	switch (kind) {
	case ARGS_COLUMNS:
	case ARGS_NUMERIC:
		return "COLUMN";
	case ARGS_LIST:
		return "ITEM";
	case ARGS_FILES:
		return "FILE";
	case ARGS_REAL:
		return "X";
	case ARGS_INTEGER:
		return "N";
	}
	return "?";
}

void resolve_arg_clear(struct resolve_arg *a)
{
	util_strv_free(a->list, a->nlist);
	memset(a, 0, sizeof(*a));
}

static int resolve_label_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > RESOLVE_LABEL_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!(('a' <= s[i] && s[i] <= 'z') ||
		      ('A' <= s[i] && s[i] <= 'Z') ||
		      ('0' <= s[i] && s[i] <= '9') || s[i] == '_'))
			return 0;
	return 1;
}

/* Is item i of a valid for its kind, and unlike every item before it? */
static int resolve_item_ok(const struct resolve_arg *a, size_t i)
{
	const char *s = a->list[i];
	double x;

	if (resolve_is_number_kind(a->kind) &&
	    resolve_parse_number(a, s, &x) != 0)
		return 0;
	if (!util_name_component(s, strlen(s)))
		return 0;
	for (size_t j = 0; j < i; j++)
		if (strcmp(a->list[j], s) == 0)
			return 0;
	return 1;
}

static int resolve_copy_list(struct resolve_arg *a, const char *const *list)
{
	size_t n = 0;

	while (list && list[n])
		n++;
	a->list = calloc(n ? n : 1, sizeof(*a->list));
	if (!a->list)
		return -ENOMEM;
	for (a->nlist = 0; a->nlist < n; a->nlist++) {
		a->list[a->nlist] = strdup(list[a->nlist]);
		if (!a->list[a->nlist])
			return -ENOMEM;
		if (!resolve_item_ok(a, a->nlist)) {
			a->nlist++;
			return -EINVAL;
		}
	}
	return 0;
}

static int resolve_range_ok(const struct memofs_arg *def)
{
	if (!isfinite(def->min) || !isfinite(def->max) || def->min > def->max)
		return 0;
	if (def->kind != MEMOFS_ARGS_INTEGER)
		return 1;
	return def->min == floor(def->min) && def->max == floor(def->max) &&
	       fabs(def->min) <= RESOLVE_INT_MAX &&
	       fabs(def->max) <= RESOLVE_INT_MAX;
}

int resolve_arg_init(struct resolve_arg *a, const struct memofs_arg *def,
		     int files_ok)
{
	enum args_kind kind = (enum args_kind)def->kind;
	int rc;

	memset(a, 0, sizeof(*a));
	switch (kind) {
	case ARGS_FILES:
		if (!files_ok)
			return -EINVAL;
		break;
	case ARGS_COLUMNS:
	case ARGS_NUMERIC:
		break;
	case ARGS_LIST:
		if (!def->list || !def->list[0])
			return -EINVAL;
		break;
	case ARGS_REAL:
	case ARGS_INTEGER:
		if (!resolve_range_ok(def))
			return -EINVAL;
		break;
	default:
		return -EINVAL;
	}
	if (def->name && !resolve_label_ok(def->name))
		return -EINVAL;
	snprintf(a->label, sizeof(a->label), "%s",
		 def->name ? def->name : resolve_kind_label(kind));
	a->kind = kind;
	a->min = def->min;
	a->max = def->max;
	if (kind != ARGS_LIST && !resolve_is_number_kind(kind))
		return 0;
	rc = resolve_copy_list(a, def->list);
	if (rc)
		resolve_arg_clear(a);
	return rc;
}

/* ---- one level ---------------------------------------------------------- */

static const struct resolve_arg *resolve_level(const reg_fn *f, size_t level)
{
	return level < reg_fn_nargs(f) ? reg_fn_arg(f, level) : NULL;
}

int resolve_name(const reg *r, const reg_fn *f, size_t level,
		 const char *name, int quick, char *canon, size_t canonlen)
{
	const struct resolve_arg *a = resolve_level(f, level);
	argdir *d = reg_dir(r);
	double x;

	if (!a)
		return -ENOENT;
	switch (a->kind) {
	case ARGS_COLUMNS:
	case ARGS_NUMERIC:
		return resolve_column(reg_columns(r), a, name, canon, canonlen);
	case ARGS_FILES:
		if (!d)
			return -ENOENT;
		return quick ? argdir_resolve_quick(d, name, canon, canonlen)
			     : argdir_resolve(d, name, canon, canonlen);
	case ARGS_REAL:
	case ARGS_INTEGER:
		if (resolve_parse_number(a, name, &x))
			return -ENOENT;
		return resolve_put(canon, canonlen, name, -ENAMETOOLONG);
	case ARGS_LIST:
		for (size_t i = 0; i < a->nlist; i++)
			if (strcmp(a->list[i], name) == 0)
				return resolve_put(canon, canonlen, name,
						   -ENAMETOOLONG);
		return -ENOENT;
	}
	return -ENOENT;
}

int resolve_level_files(const reg *r, const reg_fn *f, size_t level)
{
	const struct resolve_arg *a = resolve_level(f, level);

	return a && a->kind == ARGS_FILES && reg_dir(r) != NULL;
}

int resolve_takes_files(const reg *r, const reg_fn *f)
{
	for (size_t i = 0; i < reg_fn_nargs(f); i++)
		if (resolve_level_files(r, f, i))
			return 1;
	return 0;
}

int resolve_level_stat(const reg *r, const reg_fn *f, size_t level,
		       struct stat *st)
{
	if (!resolve_level_files(r, f, level))
		return -ENOTDIR;
	return argdir_stat(reg_dir(r), st);
}

int resolve_listing_get(const reg *r, const reg_fn *f, size_t level,
			int fresh, struct resolve_listing *l)
{
	l->r = r;
	l->a = resolve_level(f, level);
	l->files = NULL;
	if (!l->a)
		return -ENOTDIR;
	if (!resolve_level_files(r, f, level))
		return 0;
	return argdir_listing_get(reg_dir(r), fresh, &l->files);
}

size_t resolve_listing_count(const struct resolve_listing *l)
{
	const resolve_columns *c = reg_columns(l->r);

	if (l->files)
		return argdir_listing_count(l->files);
	switch (l->a->kind) {
	case ARGS_COLUMNS:
		return c ? ds_ncols(c->data) + c->naliases : 0;
	case ARGS_NUMERIC:
		return c ? c->nnumeric + c->nnum_aliases : 0;
	case ARGS_LIST:
	case ARGS_REAL:
	case ARGS_INTEGER:
		return l->a->nlist;
	case ARGS_FILES:	/* no directory bound */
		break;
	}
	return 0;
}

int resolve_listing_name(const struct resolve_listing *l, size_t i,
			 char *buf, size_t buflen)
{
	const resolve_columns *c = reg_columns(l->r);
	size_t ncols;
	int n;

	if (i >= resolve_listing_count(l))
		return -ERANGE;
	if (l->files)
		return resolve_put(buf, buflen,
				   argdir_listing_name(l->files, i), -ERANGE);
	if (l->a->kind != ARGS_COLUMNS && l->a->kind != ARGS_NUMERIC)
		return resolve_put(buf, buflen, l->a->list[i], -ERANGE);
	if (l->a->kind == ARGS_NUMERIC) {	/* numeric columns, aliases */
		if (i >= c->nnumeric)
			return resolve_put(buf, buflen,
					   c->num_aliases[i - c->nnumeric].name,
					   -ERANGE);
		i = c->numeric[i];
		n = snprintf(buf, buflen, "col%zu", i);
		return (n < 0 || (size_t)n >= buflen) ? -ERANGE : 0;
	}
	ncols = ds_ncols(c->data);
	if (i >= ncols)
		return resolve_put(buf, buflen, c->aliases[i - ncols].name,
				   -ERANGE);
	n = snprintf(buf, buflen, "col%zu", i);
	return (n < 0 || (size_t)n >= buflen) ? -ERANGE : 0;
}

void resolve_listing_release(struct resolve_listing *l)
{
	if (l->files)
		argdir_listing_release(reg_dir(l->r), l->files);
	l->files = NULL;
}

/* ---- whole paths -------------------------------------------------------- */

int resolve_path(const reg *r, const reg_fn *f, const char *path,
		 char *canon, size_t canonlen)
{
	char name[REG_NAME_MAX + 1];
	size_t used = 0, nargs = reg_fn_nargs(f);
	const char *p = path;

	for (size_t level = 0; level < nargs; level++) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		int rc;

		if ((slash != NULL) != (level + 1 < nargs) ||
		    n >= sizeof(name))
			return -ENOENT;
		memcpy(name, p, n);
		name[n] = '\0';
		if (level > 0) {
			if (used + 1 >= canonlen)
				return -ENAMETOOLONG;
			canon[used++] = '/';
		}
		rc = resolve_name(r, f, level, name, 0, canon + used,
				  canonlen - used);
		if (rc)
			return rc;
		used += strlen(canon + used);
		p = slash ? slash + 1 : p + n;
	}
	return nargs ? 0 : -ENOENT;
}

int resolve_split(const reg_fn *f, const char *canon,
		  const char *part[RESOLVE_ARGS_MAX],
		  size_t len[RESOLVE_ARGS_MAX])
{
	size_t nargs = reg_fn_nargs(f);
	const char *p = canon;

	for (size_t level = 0; level < nargs; level++) {
		const char *end = strchr(p, '/');

		/* A file's component is NAME/HEX: its own '/' is not the
		 * separator. */
		if (end && reg_fn_arg(f, level)->kind == ARGS_FILES)
			end = strchr(end + 1, '/');
		if ((end != NULL) != (level + 1 < nargs))
			return -EINVAL;
		part[level] = p;
		len[level] = end ? (size_t)(end - p) : strlen(p);
		if (len[level] == 0)
			return -EINVAL;
		p = end ? end + 1 : p + len[level];
	}
	return nargs ? 0 : -EINVAL;
}
