/* reg.c -- the function registry (see reg.h).
 *
 * Functions live in a growing array in registration order; lookups by name
 * are linear (a mount has tens of functions, not thousands).  Each
 * function holds its declared arguments (struct resolve_arg, one per path
 * level); what they resolve against (the dataset's columns, the
 * directory DATA) is bound here once, and resolve.c does the resolving.
 * Everything is written before threads start and only read afterwards.
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memofs_config.h"
#include "functions/reg.h"
#include "functions/resolve.h"
#include "util/mem.h"

/* The size of struct memofs_function in ABI 1: what a plugin built then
 * passes; every later field is read as 0 for it. */
#define REG_DEF_V1_SIZE \
	(offsetof(struct memofs_function, udata) + sizeof(void *))
/* The size of struct memofs_arg when it was introduced. */
#define REG_ARG_V1_SIZE \
	(offsetof(struct memofs_arg, max) + sizeof(double))

struct reg_fn {
	char *name;
	char *version;		/* declared version, plus "+suffix" */
	char *declared;		/* the declared version alone */
	reg_version_fn version_now;	/* or NULL: version is final */
	char *description;
	struct resolve_arg argv[RESOLVE_ARGS_MAX];	/* one per level */
	size_t nargs;		/* 1..RESOLVE_ARGS_MAX */
	memofs_compute_fn compute;
	void *udata;
	enum memofs_dtype dtype;	/* what compute writes */
	enum memofs_shape shape;	/* typed only */
	int by_kind;		/* dtype per column kind: reg_fn_arg_dtype() */
	int view;		/* reg_set_dataset_view(): never stored */
	const double *view_unless;	/* while this is 0, or NULL */
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
	resolve_columns *cols;	/* its columns, or NULL */
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
	for (size_t i = 0; i < f->nargs; i++)
		resolve_arg_clear(&f->argv[i]);
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
	resolve_columns_free(r->cols);
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

static int reg_valid_def(const struct memofs_function *def)
{
	if (!def || !def->name || !def->version || !def->compute)
		return 0;
	if (def->nargs > RESOLVE_ARGS_MAX ||
	    (def->nargs && (!def->argv || def->arg_size < REG_ARG_V1_SIZE)))
		return 0;
	/* Checked as integers: a plugin may pass any value in an enum. */
	if ((unsigned)def->dtype > MEMOFS_INT64 ||
	    (unsigned)def->shape > MEMOFS_SHAPE_COLUMN ||
	    (def->dtype == MEMOFS_BYTES && def->shape != MEMOFS_SHAPE_VECTOR))
		return 0;
	return util_name_function(def->name, strlen(def->name));
}

/* Argument i of def as this memofs's struct: the caller's entries are
 * arg_size bytes apart, and fields past arg_size read as 0.  A function
 * of one argument (nargs 0) declares it by args and arg_list. */
static void reg_def_arg(const struct memofs_function *def, size_t i,
			struct memofs_arg *out)
{
	memset(out, 0, sizeof(*out));
	if (!def->nargs) {
		out->kind = def->args;
		out->list = def->arg_list;
		return;
	}
	memcpy(out, (const char *)def->argv + i * def->arg_size,
	       def->arg_size < sizeof(*out) ? def->arg_size : sizeof(*out));
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

static int reg_copy_args(struct reg_fn *f,
			 const struct memofs_function *def)
{
	size_t n = def->nargs ? def->nargs : 1;

	for (f->nargs = 0; f->nargs < n; f->nargs++) {
		struct memofs_arg a;
		int rc;

		reg_def_arg(def, f->nargs, &a);
		rc = resolve_arg_init(&f->argv[f->nargs], &a, 1);
		if (rc)
			return rc;
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
	f->compute = def->compute;
	f->udata = def->udata;
	f->dtype = def->dtype;
	f->shape = def->shape;
	rc = reg_copy_args(f, def);
	if (rc)
		goto out_free_fn;
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
	if (!reg_valid_def(&def))
		return -EINVAL;
	for (size_t i = 0; i < (def.nargs ? def.nargs : 1); i++) {
		struct memofs_arg a;

		reg_def_arg(&def, i, &a);
		if ((enum args_kind)a.kind == ARGS_FILES) /* commands only */
			return -EINVAL;
	}
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
		    r->fns[i]->nargs == 1 &&
		    r->fns[i]->argv[0].kind == ARGS_COLUMNS &&
		    r->fns[i]->shape == MEMOFS_SHAPE_COLUMN) {
			r->fns[i]->by_kind = 1;
			return 0;
		}
	return -ENOENT;
}

int reg_set_dataset_view(reg *r, const char *name, const double *unless)
{
	for (size_t i = 0; i < r->nfns; i++)
		if (strcmp(r->fns[i]->name, name) == 0) {
			r->fns[i]->view = 1;
			r->fns[i]->view_unless = unless;
			return 0;
		}
	return -ENOENT;
}

int reg_fn_dataset_view(const reg_fn *f)
{
	return f->view && (!f->view_unless || *f->view_unless == 0);
}

enum memofs_dtype reg_fn_arg_dtype(const reg *r, const reg_fn *f,
				   const char *arg)
{
	size_t col;

	if (!f->by_kind || !r->data ||
	    resolve_parse_column(arg, ds_ncols(r->data), &col) != 0)
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

size_t reg_fn_nargs(const reg_fn *f)
{
	return f->nargs;
}

const struct resolve_arg *reg_fn_arg(const reg_fn *f, size_t i)
{
	assert(i < f->nargs);
	return &f->argv[i];
}

int reg_bind_dataset(reg *r, const ds *d)
{
	assert(!r->cols);
	r->data = d;
	return resolve_columns_new(d, &r->cols);
}

const resolve_columns *reg_columns(const reg *r)
{
	return r->cols;
}

argdir *reg_dir(const reg *r)
{
	return r->files;
}

void reg_bind_dir(reg *r, argdir *d)
{
	assert(!r->files);
	r->files = d;
}
