/* reg.c -- the function registry (see reg.h).
 *
 * Functions live in a growing array in registration order; lookups by name
 * are linear (a mount has tens of functions, not thousands).  Column
 * aliases (header names usable in place of "colN") are computed once by
 * reg_bind_dataset() into a table sorted by name.  Everything is written
 * before threads start and only read afterwards.
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memofs_config.h"
#include "functions/reg.h"
#include "util/mem.h"

/* The size of struct memofs_function in ABI 1: what a plugin built then
 * passes; every later field is read as 0 for it. */
#define REG_DEF_V1_SIZE \
	(offsetof(struct memofs_function, udata) + sizeof(void *))

struct reg_fn {
	char *name;
	char *version;		/* declared version, plus "+suffix" */
	char *declared;		/* the declared version alone */
	reg_version_fn version_now;	/* or NULL: version is final */
	char *description;
	enum args_kind args;
	char **arg_list;	/* ARGS_LIST: arg_count names */
	size_t arg_count;
	memofs_compute_fn compute;
	void *udata;
	enum memofs_dtype dtype;	/* what compute writes */
	enum memofs_shape shape;	/* typed only */
	int by_kind;		/* dtype per column kind: reg_fn_arg_dtype() */
};

struct reg_alias {
	const char *name;	/* borrowed from the dataset */
	size_t col;
};

struct reg_hook {
	void (*fn)(void *arg);
	void *arg;
};

struct memofs_registry {
	struct reg_fn **fns;
	size_t nfns;
	size_t cap;
	const ds *data;		/* bound dataset, NULL before binding */
	struct reg_alias *aliases; /* valid header names, in column order */
	struct reg_alias *by_name; /* the same, sorted by name */
	size_t naliases;
	size_t *numeric;	/* the numeric columns, in order */
	size_t nnumeric;
	struct reg_alias *num_aliases; /* aliases of numeric columns */
	size_t nnum_aliases;
	argdir *files;		/* bound directory, or NULL */
	char *suffix;		/* appended by memofs_register(), or NULL */
	char clash[REG_NAME_MAX + 1]; /* last name refused with -EEXIST */
	struct reg_hook *hooks;	/* reg_on_cancel() */
	size_t nhooks, caphooks;
};

int reg_new(reg **out)
{
	reg *r = calloc(1, sizeof(*r));

	if (!r)
		return -ENOMEM;
	*out = r;
	return 0;
}

static void reg_fn_free(struct reg_fn *f)
{
	if (!f)
		return;
	util_strv_free(f->arg_list, f->arg_count);
	free(f->name);
	free(f->version);
	free(f->declared);
	free(f->description);
	free(f);
}

void reg_free(reg *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nfns; i++)
		reg_fn_free(r->fns[i]);
	free(r->fns);
	free(r->aliases);
	free(r->by_name);
	free(r->numeric);
	free(r->num_aliases);
	free(r->suffix);
	free(r->hooks);
	free(r);
}

int reg_on_cancel(reg *r, void (*fn)(void *arg), void *arg)
{
	if (util_grow(&r->hooks, &r->caphooks, r->nhooks + 1,
		      sizeof(*r->hooks), 2))
		return -ENOMEM;
	r->hooks[r->nhooks].fn = fn;
	r->hooks[r->nhooks].arg = arg;
	r->nhooks++;
	return 0;
}

void reg_cancel(const reg *r)
{
	for (size_t i = 0; r && i < r->nhooks; i++)
		r->hooks[i].fn(r->hooks[i].arg);
}

/* A name usable as one path component: 1..255 bytes, no '/', not "." or
 * "..", no control characters. */
int reg_valid_component(const char *s)
{
	return util_name_component(s, strlen(s));
}

/* The kind of def's arguments (memofs.h's values are args.h's). */
static enum args_kind reg_def_kind(const struct memofs_function *def)
{
	return (enum args_kind)def->args;
}

static int reg_valid_def(const struct memofs_function *def)
{
	if (!def || !def->name || !def->version || !def->compute)
		return 0;
	if (!util_name_function(def->name, strlen(def->name)))
		return 0;
	/* Checked as integers: a plugin may pass any value in an enum. */
	if ((unsigned)def->dtype > MEMOFS_INT64 ||
	    (unsigned)def->shape > MEMOFS_SHAPE_COLUMN ||
	    (def->dtype == MEMOFS_BYTES && def->shape != MEMOFS_SHAPE_VECTOR))
		return 0;
	if (reg_def_kind(def) == ARGS_COLUMNS ||
	    reg_def_kind(def) == ARGS_NUMERIC ||
	    reg_def_kind(def) == ARGS_FILES)
		return 1;
	if (reg_def_kind(def) != ARGS_LIST || !def->arg_list)
		return 0;
	for (const char *const *a = def->arg_list; *a; a++)
		if (!reg_valid_component(*a))
			return 0;
	return 1;
}

static char *reg_join_version(const char *version, const char *suffix)
{
	size_t n = strlen(version) + (suffix ? strlen(suffix) + 1 : 0) + 1;
	char *s = malloc(n);

	if (!s)
		return NULL;
	if (suffix)
		snprintf(s, n, "%s+%s", version, suffix);
	else
		snprintf(s, n, "%s", version);
	return s;
}

static int reg_copy_arg_list(struct reg_fn *f, const char *const *list)
{
	size_t n = 0;

	while (list[n])
		n++;
	f->arg_list = calloc(n ? n : 1, sizeof(*f->arg_list));
	if (!f->arg_list)
		return -ENOMEM;
	for (f->arg_count = 0; f->arg_count < n; f->arg_count++) {
		f->arg_list[f->arg_count] = strdup(list[f->arg_count]);
		if (!f->arg_list[f->arg_count])
			return -ENOMEM;
	}
	return 0;
}

static int reg_append(reg *r, struct reg_fn *f)
{
	if (util_grow(&r->fns, &r->cap, r->nfns + 1, sizeof(*r->fns), 16))
		return -ENOMEM;
	r->fns[r->nfns++] = f;
	return 0;
}

int reg_add(reg *r, const struct memofs_function *def,
	    const char *version_suffix)
{
	struct reg_fn *f;
	int rc = -ENOMEM;

	if (!reg_valid_def(def))
		return -EINVAL;
	if (reg_find(r, def->name)) {
		snprintf(r->clash, sizeof(r->clash), "%s", def->name);
		return -EEXIST;
	}
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->name = strdup(def->name);
	f->version = reg_join_version(def->version, version_suffix);
	f->declared = strdup(def->version);
	f->description = strdup(def->description ? def->description : "");
	if (!f->name || !f->version || !f->declared || !f->description)
		goto out_free_fn;
	f->args = reg_def_kind(def);
	f->compute = def->compute;
	f->udata = def->udata;
	f->dtype = def->dtype;
	f->shape = def->shape;
	if (f->args == ARGS_LIST) {
		rc = reg_copy_arg_list(f, def->arg_list);
		if (rc)
			goto out_free_fn;
	}
	rc = reg_append(r, f);
	if (rc)
		goto out_free_fn;
	return 0;

out_free_fn:
	reg_fn_free(f);
	return rc;
}

int reg_add_versioned(reg *r, const struct memofs_function *def,
		      reg_version_fn version_now)
{
	char suffix[REG_SUFFIX_MAX + 1];
	int rc;

	if (!def || !def->version || strlen(def->version) > REG_NAME_MAX)
		return -EINVAL;
	rc = version_now(def->udata, suffix);
	if (rc == 0)
		rc = reg_add(r, def, suffix);
	if (rc == 0)
		r->fns[r->nfns - 1]->version_now = version_now;
	return rc;
}

int memofs_register_size(memofs_registry *r,
			 const struct memofs_function *fn, size_t size)
{
	struct memofs_function def;

	if (!r || !fn || size < REG_DEF_V1_SIZE)
		return -EINVAL;
	/* A plugin's struct may be older (shorter) or newer (longer) than
	 * ours: read the fields both know, the rest as 0. */
	memset(&def, 0, sizeof(def));
	memcpy(&def, fn, size < sizeof(def) ? size : sizeof(def));
	if (reg_def_kind(&def) == ARGS_FILES)	/* commands only */
		return -EINVAL;
	return reg_add(r, &def, r->suffix);
}

int (memofs_register)(memofs_registry *r, const struct memofs_function *fn)
{
	return memofs_register_size(r, fn, REG_DEF_V1_SIZE);
}

int memofs_abi_version(void)
{
	return MEMOFS_ABI_VERSION;
}

const char *memofs_version(void)
{
	return MEMOFS_VERSION;
}

int reg_set_suffix(reg *r, const char *suffix)
{
	char *copy = NULL;

	if (suffix && !(copy = strdup(suffix)))
		return -ENOMEM;
	free(r->suffix);
	r->suffix = copy;
	return 0;
}

const char *reg_last_clash(const reg *r)
{
	return r->clash[0] ? r->clash : NULL;
}

size_t reg_count(const reg *r)
{
	return r->nfns;
}

const reg_fn *reg_at(const reg *r, size_t i)
{
	assert(i < r->nfns);
	return r->fns[i];
}

const reg_fn *reg_find(const reg *r, const char *name)
{
	for (size_t i = 0; i < r->nfns; i++)
		if (strcmp(r->fns[i]->name, name) == 0)
			return r->fns[i];
	return NULL;
}

const char *reg_fn_name(const reg_fn *f)
{
	return f->name;
}

const char *reg_fn_version(const reg_fn *f)
{
	return f->version;
}

const char *reg_fn_version_now(const reg_fn *f, char buf[REG_VERSION_BUF])
{
	char suffix[REG_SUFFIX_MAX + 1];

	if (!f->version_now)
		return f->version;
	if (f->version_now(f->udata, suffix) != 0)
		snprintf(suffix, sizeof(suffix), "?");	/* matches no result */
	snprintf(buf, REG_VERSION_BUF, "%s+%s", f->declared, suffix);
	return buf;
}

int reg_fn_versioned(const reg_fn *f)
{
	return f->version_now != NULL;
}

const char *reg_fn_description(const reg_fn *f)
{
	return f->description;
}

enum memofs_dtype reg_fn_dtype(const reg_fn *f)
{
	return f->dtype;
}

enum memofs_shape reg_fn_shape(const reg_fn *f)
{
	return f->shape;
}

int reg_set_dtype_by_kind(reg *r, const char *name)
{
	for (size_t i = 0; i < r->nfns; i++)
		if (strcmp(r->fns[i]->name, name) == 0 &&
		    r->fns[i]->args == ARGS_COLUMNS &&
		    r->fns[i]->shape == MEMOFS_SHAPE_COLUMN) {
			r->fns[i]->by_kind = 1;
			return 0;
		}
	return -ENOENT;
}

enum memofs_dtype reg_fn_arg_dtype(const reg *r, const reg_fn *f,
				   const char *arg)
{
	size_t col;

	if (!f->by_kind || !r->data ||
	    reg_parse_column(arg, ds_ncols(r->data), &col) != 0)
		return f->dtype;
	switch (ds_col_kind(r->data, col)) {
	case DS_INT64:
		return MEMOFS_INT64;
	case DS_TEXT:
		return MEMOFS_BYTES;
	default:
		return MEMOFS_FLOAT64;
	}
}

int reg_fn_compute(const reg_fn *f, memofs_ctx *ctx, const char *arg)
{
	return f->compute(ctx, arg, f->udata);
}

int reg_parse_column(const char *arg, size_t ncols, size_t *col)
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

static int reg_alias_cmp(const void *a, const void *b)
{
	const struct reg_alias *x = a, *y = b;

	return strcmp(x->name, y->name);
}

/* Is s "col" followed by digits only (a column name, maybe malformed)? */
static int reg_looks_like_column(const char *s)
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
 * by reg_bind_dataset(). */
static int reg_alias_usable(const char *name)
{
	return name && reg_valid_component(name) &&
	       !reg_looks_like_column(name);
}

/* Keeps the entries of a (sorted by name) whose name no other entry has;
 * returns how many are kept. */
static size_t reg_drop_shared(struct reg_alias *a, size_t n)
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
static int reg_npy_clash(const struct reg_alias *a, size_t n,
			 const char *name)
{
	size_t len = strlen(name), ext = sizeof(".npy") - 1;
	char *other = malloc(len + ext + 1);
	struct reg_alias key = { other, 0 };
	int clash;

	if (!other)
		return 1;	/* drop the name rather than risk a clash */
	memcpy(other, name, len);
	memcpy(other + len, ".npy", ext + 1);
	clash = bsearch(&key, a, n, sizeof(*a), reg_alias_cmp) != NULL;
	if (!clash && len > ext && strcmp(name + len - ext, ".npy") == 0) {
		other[len - ext] = '\0';
		clash = reg_looks_like_column(other) ||
			bsearch(&key, a, n, sizeof(*a), reg_alias_cmp);
	}
	free(other);
	return clash;
}

/* Keeps the entries of a (sorted by name) that clash with no other's .npy
 * view (reg_npy_clash()); returns how many are kept. */
static size_t reg_drop_npy_clashes(struct reg_alias *a, size_t n)
{
	unsigned char *drop = calloc(n ? n : 1, 1);
	size_t kept = 0;

	if (!drop)
		return 0;	/* no aliases at all: colN names still work */
	for (size_t i = 0; i < n; i++)
		drop[i] = (unsigned char)reg_npy_clash(a, n, a[i].name);
	for (size_t i = 0; i < n; i++)
		if (!drop[i])
			a[kept++] = a[i];
	free(drop);
	return kept;
}

static int reg_col_cmp(const void *a, const void *b)
{
	const struct reg_alias *x = a, *y = b;

	return (x->col > y->col) - (x->col < y->col);
}

/* The numeric columns and their aliases, for ARGS_NUMERIC. */
static int reg_bind_numeric(reg *r, const ds *d)
{
	size_t ncols = ds_ncols(d);

	r->numeric = calloc(ncols ? ncols : 1, sizeof(*r->numeric));
	r->num_aliases = calloc(r->naliases ? r->naliases : 1,
				sizeof(*r->num_aliases));
	if (!r->numeric || !r->num_aliases)
		return -ENOMEM;	/* reg_free() releases both */
	for (size_t j = 0; j < ncols; j++)
		if (ds_col_numeric(d, j))
			r->numeric[r->nnumeric++] = j;
	for (size_t i = 0; i < r->naliases; i++)
		if (ds_col_numeric(d, r->aliases[i].col))
			r->num_aliases[r->nnum_aliases++] = r->aliases[i];
	return 0;
}

int reg_bind_dataset(reg *r, const ds *d)
{
	size_t ncols = ds_ncols(d), n = 0;

	assert(!r->data);
	r->by_name = calloc(ncols ? ncols : 1, sizeof(*r->by_name));
	r->aliases = calloc(ncols ? ncols : 1, sizeof(*r->aliases));
	if (!r->by_name || !r->aliases)
		return -ENOMEM;	/* reg_free() releases both */
	for (size_t j = 0; j < ncols; j++)
		if (reg_alias_usable(ds_colname(d, j)))
			r->by_name[n++] = (struct reg_alias){ ds_colname(d, j),
							      j };
	qsort(r->by_name, n, sizeof(*r->by_name), reg_alias_cmp);
	r->naliases = reg_drop_shared(r->by_name, n);
	r->naliases = reg_drop_npy_clashes(r->by_name, r->naliases);
	memcpy(r->aliases, r->by_name, r->naliases * sizeof(*r->aliases));
	qsort(r->aliases, r->naliases, sizeof(*r->aliases), reg_col_cmp);
	r->data = d;
	return reg_bind_numeric(r, d);
}

void reg_bind_dir(reg *r, argdir *d)
{
	assert(!r->files);
	r->files = d;
}

static int reg_put(char *buf, size_t buflen, const char *s)
{
	int n = snprintf(buf, buflen, "%s", s);

	return (n < 0 || (size_t)n >= buflen) ? -ERANGE : 0;
}

static argdir *reg_fn_dir(const reg *r, const reg_fn *f)
{
	return f->args == ARGS_FILES ? r->files : NULL;
}

int reg_fn_takes_files(const reg *r, const reg_fn *f)
{
	return reg_fn_dir(r, f) != NULL;
}

int reg_fn_dir_stat(const reg *r, const reg_fn *f, struct stat *st)
{
	argdir *d = reg_fn_dir(r, f);

	return d ? argdir_stat(d, st) : -ENOTDIR;
}

int reg_listing_get(const reg *r, const reg_fn *f, int fresh,
		    struct reg_listing *l)
{
	argdir *d = reg_fn_dir(r, f);

	l->r = r;
	l->f = f;
	l->files = NULL;
	return d ? argdir_listing_get(d, fresh, &l->files) : 0;
}

size_t reg_listing_count(const struct reg_listing *l)
{
	return l->files ? argdir_listing_count(l->files)
			: reg_arg_count(l->r, l->f);
}

int reg_listing_name(const struct reg_listing *l, size_t i, char *buf,
		     size_t buflen)
{
	if (l->files)
		return reg_put(buf, buflen, argdir_listing_name(l->files, i));
	return reg_arg_name(l->r, l->f, i, buf, buflen);
}

void reg_listing_release(struct reg_listing *l)
{
	if (l->files)
		argdir_listing_release(reg_fn_dir(l->r, l->f), l->files);
	l->files = NULL;
}

size_t reg_arg_count(const reg *r, const reg_fn *f)
{
	if (f->args == ARGS_LIST)
		return f->arg_count;
	if (f->args == ARGS_FILES)
		return 0;
	assert(r->data);
	if (f->args == ARGS_NUMERIC)
		return r->nnumeric + r->nnum_aliases;
	return ds_ncols(r->data) + r->naliases;
}

int reg_arg_name(const reg *r, const reg_fn *f, size_t i, char *buf,
		 size_t buflen)
{
	size_t ncols;
	int n;

	assert(i < reg_arg_count(r, f));
	if (f->args == ARGS_LIST)
		return reg_put(buf, buflen, f->arg_list[i]);
	if (f->args == ARGS_NUMERIC) {
		if (i >= r->nnumeric)
			return reg_put(buf, buflen,
				       r->num_aliases[i - r->nnumeric].name);
		i = r->numeric[i];
	}
	ncols = ds_ncols(r->data);
	if (i >= ncols)
		return reg_put(buf, buflen, r->aliases[i - ncols].name);
	n = snprintf(buf, buflen, "col%zu", i);
	return (n < 0 || (size_t)n >= buflen) ? -ERANGE : 0;
}

static int reg_resolve_column(const reg *r, const char *name, int numeric,
			      char *canon, size_t canonlen)
{
	struct reg_alias key = { name, 0 }, *hit;
	size_t col;
	int n;

	if (reg_parse_column(name, ds_ncols(r->data), &col) != 0) {
		hit = bsearch(&key, r->by_name, r->naliases, sizeof(key),
			      reg_alias_cmp);
		if (!hit)
			return -ENOENT;
		col = hit->col;
	}
	if (numeric && !ds_col_numeric(r->data, col))
		return -ENOENT;
	n = snprintf(canon, canonlen, "col%zu", col);
	return (n < 0 || (size_t)n >= canonlen) ? -ENAMETOOLONG : 0;
}

int reg_arg_resolve(const reg *r, const reg_fn *f, const char *name,
		    char *canon, size_t canonlen)
{
	if (f->args == ARGS_COLUMNS || f->args == ARGS_NUMERIC) {
		assert(r->data);
		return reg_resolve_column(r, name, f->args == ARGS_NUMERIC,
					  canon, canonlen);
	}
	if (f->args == ARGS_FILES)
		return r->files ? argdir_resolve(r->files, name, canon, canonlen)
				: -ENOENT;
	for (size_t i = 0; i < f->arg_count; i++)
		if (strcmp(f->arg_list[i], name) == 0)
			return reg_put(canon, canonlen, name) ? -ENAMETOOLONG
							      : 0;
	return -ENOENT;
}

int reg_arg_resolve_quick(const reg *r, const reg_fn *f, const char *name,
			  char *canon, size_t canonlen)
{
	argdir *d = reg_fn_dir(r, f);

	if (d)
		return argdir_resolve_quick(d, name, canon, canonlen);
	return reg_arg_resolve(r, f, name, canon, canonlen);
}
