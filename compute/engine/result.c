/* result.c -- computed results and their parsed numbers (see result.h). */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/result.h"

struct memo_result {
	atomic_uint refs;
	const void *data;
	size_t len;
	void *owned;		/* malloc'd bytes, or NULL */
	store_rec rec;		/* or the store record data points into */
	pthread_mutex_t parse_lock;
	double *vals;		/* the bytes parsed as numbers, one per line:
				 * protected by parse_lock, parsed once */
	size_t nvals;
	int parse_rc;		/* 1: not parsed yet; else 0 or -errno */
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
	free(res->vals);
	pthread_mutex_destroy(&res->parse_lock);
	free(res);
}

static void memo_result_init(memo_result *res)
{
	atomic_init(&res->refs, 1);
	pthread_mutex_init(&res->parse_lock, NULL);
	res->parse_rc = 1;
}

memo_result *memo_result_from_buf(char *buf, size_t len)
{
	memo_result *res = calloc(1, sizeof(*res));
	struct timespec now;

	if (!res) {
		free(buf);
		return NULL;
	}
	memo_result_init(res);
	clock_gettime(CLOCK_REALTIME, &now);
	res->created_ns = (uint64_t)now.tv_sec * 1000000000u +
			  (uint64_t)now.tv_nsec;
	res->owned = buf;
	res->data = buf ? buf : "";
	res->len = len;
	return res;
}

memo_result *memo_result_from_rec(store_rec *rec)
{
	memo_result *res = calloc(1, sizeof(*res));

	if (!res) {
		store_rec_free(rec);
		return NULL;
	}
	memo_result_init(res);
	res->rec = *rec;
	res->data = rec->data;
	res->len = rec->len;
	return res;
}

/* Parses one number per line; 0, -EIO (bad line) or -ENOMEM. */
static int memo_parse_doubles(const char *p, size_t len, double **vals,
			      size_t *n)
{
	size_t lines = 0, k = 0;
	const char *end = p + len;
	double *v;

	for (const char *q = p; q < end; q++)
		lines += *q == '\n';
	v = malloc((lines ? lines : 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	while (p < end) {
		char *stop;
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		if (!nl)
			goto out_bad;
		v[k] = strtod(p, &stop);
		if (stop != nl || stop == p)
			goto out_bad;
		k++;
		p = nl + 1;
	}
	*vals = v;
	*n = k;
	return 0;

out_bad:
	free(v);
	return -EIO;
}

/* Parses res once (a column read by every reduction is parsed by the
 * first), then hands out copies. */
int memo_result_doubles(memo_result *res, double **vals, size_t *n)
{
	int rc;

	pthread_mutex_lock(&res->parse_lock);
	if (res->parse_rc == 1)
		res->parse_rc = memo_parse_doubles(res->data, res->len,
						   &res->vals, &res->nvals);
	rc = res->parse_rc;
	pthread_mutex_unlock(&res->parse_lock);
	if (rc)
		return rc;
	*vals = malloc(res->nvals ? res->nvals * sizeof(double) : 1);
	if (!*vals)
		return -ENOMEM;
	memcpy(*vals, res->vals, res->nvals * sizeof(double));
	*n = res->nvals;
	return 0;
}
