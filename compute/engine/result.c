/* result.c -- computed results, typed or bytes, and their views (see
 * result.h). */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "data/fmt.h"
#include "data/numtext.h"
#include "engine/result.h"
#include "util/mem.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "memofs's typed results need a little-endian host (result.h)"
#endif

#define MEMO_VAL 8u		/* bytes per value (both dtypes) */

struct memo_result {
	atomic_uint refs;
	const void *data;	/* the stored bytes (typed: the .npy) */
	size_t len;
	void *owned;		/* malloc'd bytes, or NULL */
	store_rec rec;		/* or the store record data points into */
	enum memofs_dtype dtype;
	unsigned ndim;
	size_t count;		/* typed: how many values */
	const void *values;	/* typed: data + MEMO_NPY_HDR, or borrowed */
	const double *alias;	/* borrowed int64: the values as doubles */
	int borrowed;		/* memo_result_borrowed(): no data */
	pthread_mutex_t lock;	/* protects the rest, each made once */
	char *npy;		/* borrowed: the .npy view, once made */
	char *text;		/* typed: the text view */
	size_t text_len;
	int text_rc;		/* 1: not made yet; 0: made */
	double *vals;		/* bytes or int64: the values as doubles */
	size_t nvals;
	int vals_rc;		/* 1: not made yet; else 0 or -errno */
	_Atomic size_t extra;	/* bytes of text and vals, once made */
	uint64_t created_ns;	/* CLOCK_REALTIME when it was made */
};

const void *memo_result_data(const memo_result *res)
{
	return res->data;
}

size_t memo_result_len(const memo_result *res)
{
	return res->len;
}

uint64_t memo_result_created_ns(const memo_result *res)
{
	return res->rec.raw ? res->rec.created_ns : res->created_ns;
}

enum memofs_dtype memo_result_dtype(const memo_result *res)
{
	return res->dtype;
}

unsigned memo_result_ndim(const memo_result *res)
{
	return res->ndim;
}

size_t memo_result_count(const memo_result *res)
{
	return res->count;
}

/* The values of a typed result: 8-byte aligned (the store's data is, and
 * malloc's buffers are; memo_result_from_rec() checks; a dataset's columns
 * are), little-endian. */
static const void *memo_result_values(const memo_result *res)
{
	return res->values;
}

const double *memo_result_f64(const memo_result *res)
{
	return res->dtype == MEMOFS_FLOAT64 ? memo_result_values(res) : NULL;
}

const int64_t *memo_result_i64(const memo_result *res)
{
	return res->dtype == MEMOFS_INT64 ? memo_result_values(res) : NULL;
}

uint32_t memo_result_tag(const memo_result *res)
{
	return res->dtype == MEMOFS_BYTES
		       ? 0 : (uint32_t)res->dtype | (uint32_t)res->ndim << 8;
}

size_t memo_result_mem(const memo_result *res)
{
	return res->len + atomic_load(&res->extra);
}

memo_result *memo_result_ref(memo_result *res)
{
	atomic_fetch_add(&res->refs, 1);
	return res;
}

void memo_result_unref(memo_result *res)
{
	if (!res || atomic_fetch_sub(&res->refs, 1) != 1)
		return;
	free(res->owned);
	if (res->rec.raw)
		store_rec_free(&res->rec);
	free(res->text);
	free(res->vals);
	free(res->npy);
	pthread_mutex_destroy(&res->lock);
	free(res);
}

static memo_result *memo_result_new(void)
{
	memo_result *res = calloc(1, sizeof(*res));
	struct timespec now;

	if (!res)
		return NULL;
	atomic_init(&res->refs, 1);
	atomic_init(&res->extra, 0);
	pthread_mutex_init(&res->lock, NULL);
	res->text_rc = 1;
	res->vals_rc = 1;
	clock_gettime(CLOCK_REALTIME, &now);
	res->created_ns = (uint64_t)now.tv_sec * 1000000000u +
			  (uint64_t)now.tv_nsec;
	return res;
}

memo_result *memo_result_from_buf(char *buf, size_t len)
{
	memo_result *res = memo_result_new();

	if (!res) {
		free(buf);
		return NULL;
	}
	res->owned = buf;
	res->data = buf ? buf : "";
	res->len = len;
	return res;
}

/* ---- .npy --------------------------------------------------------------- */

size_t memo_npy_size(size_t n)
{
	return MEMO_NPY_HDR + n * MEMO_VAL;
}

void memo_npy_header(uint8_t hdr[MEMO_NPY_HDR], enum memofs_dtype dtype,
		     unsigned ndim, size_t n)
{
	char shape[32];
	int k;

	if (ndim == 0)
		snprintf(shape, sizeof(shape), "()");
	else
		snprintf(shape, sizeof(shape), "(%zu,)", n);
	memcpy(hdr, "\x93NUMPY\x01\x00", 8);
	hdr[8] = (uint8_t)(MEMO_NPY_HDR - 10);	/* header length, u16 LE */
	hdr[9] = 0;
	/* numpy's dict: keys sorted, repr'd values, ", " after each. */
	k = snprintf((char *)hdr + 10, MEMO_NPY_HDR - 10,
		     "{'descr': '%s', 'fortran_order': False, 'shape': %s, }",
		     dtype == MEMOFS_INT64 ? "<i8" : "<f8", shape);
	memset(hdr + 10 + k, ' ', MEMO_NPY_HDR - 11 - (size_t)k);
	hdr[MEMO_NPY_HDR - 1] = '\n';
}

/* Checks what memo_result_typed() and memo_result_from_rec() are given;
 * 0 and the count, or -EINVAL. */
static int memo_typed_check(size_t len, enum memofs_dtype dtype,
			    unsigned ndim, size_t *count)
{
	if ((dtype != MEMOFS_FLOAT64 && dtype != MEMOFS_INT64) || ndim > 1)
		return -EINVAL;
	if (len < MEMO_NPY_HDR || (len - MEMO_NPY_HDR) % MEMO_VAL)
		return -EINVAL;
	*count = (len - MEMO_NPY_HDR) / MEMO_VAL;
	if (ndim == 0 && *count != 1)
		return -EINVAL;
	return 0;
}

int memo_result_typed(char *buf, size_t len, enum memofs_dtype dtype,
		      unsigned ndim, memo_result **out)
{
	memo_result *res;
	size_t count;

	if (!buf || memo_typed_check(len, dtype, ndim, &count)) {
		free(buf);
		return -EINVAL;
	}
	res = memo_result_new();
	if (!res) {
		free(buf);
		return -ENOMEM;
	}
	memo_npy_header((uint8_t *)buf, dtype, ndim, count);
	res->owned = buf;
	res->data = buf;
	res->len = len;
	res->dtype = dtype;
	res->ndim = ndim;
	res->count = count;
	res->values = buf + MEMO_NPY_HDR;
	*out = res;
	return 0;
}

int memo_result_borrowed(const void *values, const double *alias, size_t n,
			 enum memofs_dtype dtype, unsigned ndim,
			 memo_result **out)
{
	memo_result *res;

	if ((dtype != MEMOFS_FLOAT64 && dtype != MEMOFS_INT64) || ndim > 1 ||
	    (ndim == 0 && n != 1) || !values ||
	    (uintptr_t)values % MEMO_VAL != 0 ||
	    n > (SIZE_MAX - MEMO_NPY_HDR) / MEMO_VAL)
		return -EINVAL;
	res = memo_result_new();
	if (!res)
		return -ENOMEM;
	res->data = "";
	res->len = 0;
	res->dtype = dtype;
	res->ndim = ndim;
	res->count = n;
	res->values = values;
	res->alias = dtype == MEMOFS_INT64 ? alias : NULL;
	res->borrowed = 1;
	*out = res;
	return 0;
}

int memo_result_is_borrowed(const memo_result *res)
{
	return res->borrowed;
}

int memo_result_from_rec(store_rec *rec, memo_result **out)
{
	enum memofs_dtype dtype = (enum memofs_dtype)(rec->tag & 0xff);
	unsigned ndim = (unsigned)(rec->tag >> 8);
	uint8_t hdr[MEMO_NPY_HDR];
	memo_result *res;
	size_t count = 0;

	if (rec->tag != 0) {
		/* The header must be the one memofs writes, and the values
		 * aligned for in-place reads (store.h promises both). */
		if (memo_typed_check(rec->len, dtype, ndim, &count) ||
		    (uintptr_t)rec->data % MEMO_VAL != 0) {
			store_rec_free(rec);
			return -EBADMSG;
		}
		memo_npy_header(hdr, dtype, ndim, count);
		if (memcmp(hdr, rec->data, MEMO_NPY_HDR) != 0) {
			store_rec_free(rec);
			return -EBADMSG;
		}
	}
	res = memo_result_new();
	if (!res) {
		store_rec_free(rec);
		return -ENOMEM;
	}
	res->rec = *rec;
	res->data = rec->data;
	res->len = rec->len;
	if (rec->tag != 0) {
		res->dtype = dtype;
		res->ndim = ndim;
		res->count = count;
		res->values = (const char *)rec->data + MEMO_NPY_HDR;
	}
	*out = res;
	return 0;
}

/* ---- views -------------------------------------------------------------- */

/* The text view of a long column is rendered by several threads at once:
 * one part of at least MEMO_TEXT_PART values per online CPU (at most
 * MEMO_TEXT_PARTS), each into its own slot of the one buffer (part i
 * starts at its first value times FMT_LINE_MAX, room for any line), then
 * the parts are moved down to follow each other.  Measured on this
 * project's 2-CPU VM, 5e6 randn values: one thread 232 ms of CPU (21.6 M
 * values/s, bench_fmt), two parts about half that in wall time; the moves
 * cost one memmove of the later parts (about 50 MB, a few ms). */
#define MEMO_TEXT_PART (1u << 18)
#define MEMO_TEXT_PARTS 8

struct memo_text_part {
	const memo_result *res;
	char *out;		/* its slot */
	size_t first, n;	/* its values */
	size_t len;		/* bytes rendered */
	pthread_t thread;
	int threaded;		/* thread runs it (else the caller did) */
};

static void memo_text_part_render(struct memo_text_part *p)
{
	const double *f = memo_result_f64(p->res);
	size_t cap = p->n * FMT_LINE_MAX;

	p->len = f ? fmt_doubles(p->out, cap, f + p->first, p->n, NULL)
		   : fmt_int64s(p->out, cap, memo_result_i64(p->res) +
					     p->first, p->n, NULL);
}

static void *memo_text_part_main(void *arg)
{
	memo_text_part_render(arg);
	return NULL;
}

/* How many parts to render count values in: 1 for short columns. */
static size_t memo_text_parts(size_t count)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t parts = count / MEMO_TEXT_PART;

	if (cpus < 1)
		cpus = 1;
	if (parts > (size_t)cpus)
		parts = (size_t)cpus;
	if (parts > MEMO_TEXT_PARTS)
		parts = MEMO_TEXT_PARTS;
	return parts ? parts : 1;
}

/* Renders the values one per line into res->text (fmt_doubles(): Python's
 * repr digits; fmt_int64s(): decimal), in parallel parts when long (see
 * MEMO_TEXT_PART); 0 or -ENOMEM.  A part whose thread cannot be started is
 * rendered by the caller: the bytes are the same either way. */
static int memo_render_text(memo_result *res)
{
	struct memo_text_part part[MEMO_TEXT_PARTS];
	size_t parts = memo_text_parts(res->count), cap, k = 0;
	char *text, *small;

	if (res->count > (SIZE_MAX - 1) / FMT_LINE_MAX)
		return -ENOMEM;
	cap = res->count * FMT_LINE_MAX + 1;	/* every line fits at once */
	text = util_big_alloc(cap);
	if (!text)
		return -ENOMEM;
	for (size_t i = 0; i < parts; i++) {
		size_t first = res->count / parts * i;
		size_t end = i + 1 == parts ? res->count
					    : res->count / parts * (i + 1);

		part[i] = (struct memo_text_part){
			.res = res, .out = text + first * FMT_LINE_MAX,
			.first = first, .n = end - first };
		if (i > 0)
			part[i].threaded = pthread_create(
				&part[i].thread, NULL, memo_text_part_main,
				&part[i]) == 0;
	}
	memo_text_part_render(&part[0]);
	for (size_t i = 0; i < parts; i++) {
		if (i > 0 && part[i].threaded)
			pthread_join(part[i].thread, NULL);
		else if (i > 0)
			memo_text_part_render(&part[i]);
		if (part[i].out != text + k)
			memmove(text + k, part[i].out, part[i].len);
		k += part[i].len;
	}
	small = realloc(text, k ? k : 1);	/* give back the slack */
	if (small)
		text = small;
	res->text = text;
	res->text_len = k;
	atomic_fetch_add(&res->extra, k);
	return 0;
}

/* A borrowed result's .npy, copied from the values it borrows into
 * res->npy; 0 or -ENOMEM. */
static int memo_make_npy(memo_result *res)
{
	size_t len = memo_npy_size(res->count);
	char *npy = util_big_alloc(len);

	if (!npy)
		return -ENOMEM;
	memo_npy_header((uint8_t *)npy, res->dtype, res->ndim, res->count);
	memcpy(npy + MEMO_NPY_HDR, res->values, res->count * MEMO_VAL);
	res->npy = npy;
	atomic_fetch_add(&res->extra, len);
	return 0;
}

/* The .npy view of a typed result. */
static int memo_npy_view(memo_result *res, const void **data, size_t *len)
{
	int rc = 0;

	if (!res->borrowed) {
		*data = res->data;
		*len = res->len;
		return 0;
	}
	pthread_mutex_lock(&res->lock);
	if (!res->npy)
		rc = memo_make_npy(res);	/* a failure is tried again */
	pthread_mutex_unlock(&res->lock);
	if (rc == 0) {
		*data = res->npy;
		*len = memo_npy_size(res->count);
	}
	return rc;
}

int memo_result_view(memo_result *res, enum memo_view view,
		     const void **data, size_t *len)
{
	int rc;

	if (view == MEMO_VIEW_NPY && res->dtype == MEMOFS_BYTES)
		return -ENOENT;
	if (view == MEMO_VIEW_NPY)
		return memo_npy_view(res, data, len);
	if (res->dtype == MEMOFS_BYTES) {
		*data = res->data;
		*len = res->len;
		return 0;
	}
	pthread_mutex_lock(&res->lock);
	rc = res->text_rc == 1 ? memo_render_text(res) : 0;
	if (rc == 0)
		res->text_rc = 0;	/* a failure is tried again */
	pthread_mutex_unlock(&res->lock);
	if (rc == 0) {
		*data = res->text ? res->text : "";
		*len = res->text_len;
	}
	return rc;
}

int memo_result_view_cheap(memo_result *res, enum memo_view view)
{
	int ready;

	if ((view == MEMO_VIEW_NPY && !res->borrowed) ||
	    res->dtype == MEMOFS_BYTES || res->count <= MEMO_TEXT_CHEAP)
		return 1;
	pthread_mutex_lock(&res->lock);
	ready = view == MEMO_VIEW_NPY ? res->npy != NULL : res->text_rc == 0;
	pthread_mutex_unlock(&res->lock);
	return ready;
}

/* ---- values as doubles -------------------------------------------------- */

/* res's values as doubles into res->vals: 0, -EIO or -ENOMEM. */
static int memo_make_vals(memo_result *res)
{
	const int64_t *q = memo_result_i64(res);
	int rc;

	if (!q) {
		size_t line;

		rc = numtext_f64(res->data, res->len, &res->vals, &res->nvals,
				 &line);
		if (rc == -EINVAL)
			rc = -EIO;
	} else {
		res->vals = malloc(res->count ? res->count * sizeof(double)
					      : 1);
		if (!res->vals)
			return -ENOMEM;
		for (size_t i = 0; i < res->count; i++)
			res->vals[i] = (double)q[i];
		res->nvals = res->count;
		rc = 0;
	}
	if (rc == 0)
		atomic_fetch_add(&res->extra, res->nvals * sizeof(double));
	return rc;
}

int memo_result_f64_view(memo_result *res, const double **vals, size_t *n)
{
	int rc;

	if (res->dtype == MEMOFS_FLOAT64 || res->alias) {
		*vals = res->alias ? res->alias : memo_result_f64(res);
		*n = res->count;
		return 0;
	}
	pthread_mutex_lock(&res->lock);
	if (res->vals_rc == 1)
		res->vals_rc = memo_make_vals(res);
	rc = res->vals_rc;
	pthread_mutex_unlock(&res->lock);
	if (rc == 0) {
		*vals = res->vals;
		*n = res->nvals;
	}
	return rc;
}

int memo_result_doubles(memo_result *res, double **vals, size_t *n)
{
	const double *v;
	size_t k;
	int rc = memo_result_f64_view(res, &v, &k);

	if (rc)
		return rc;
	*vals = malloc(k ? k * sizeof(double) : 1);
	if (!*vals)
		return -ENOMEM;
	memcpy(*vals, v, k * sizeof(double));
	*n = k;
	return 0;
}
