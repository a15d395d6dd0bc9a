/* test_memo.c -- unit test of the memo layer: single flight, nesting,
 * cycles, failures, damaged records, and every reduction against a naive
 * reference computed here. */
#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <xxhash.h>

#include "check.h"
#include "functions/fn_builtin.h"
#include "engine/key.h"
#include "util/log.h"
#include "engine/memo.h"
#include "engine/pool.h"

#define NROWS 1001

static atomic_int slow_runs, flaky_runs, moving_version = 1;

/* ---- test functions ---------------------------------------------------- */

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static int fn_slow(memofs_ctx *ctx, const char *arg, void *udata)
{
	atomic_fetch_add(&slow_runs, 1);
	sleep_ms(200);
	return memofs_printf(ctx, "slow %s\n", arg);
}

/* Like plugin code: never looks at cancellation. */
static int fn_stuck(memofs_ctx *ctx, const char *arg, void *udata)
{
	sleep_ms(600);
	return memofs_printf(ctx, "stuck %s\n", arg);
}

static int fn_flaky(memofs_ctx *ctx, const char *arg, void *udata)
{
	if (atomic_fetch_add(&flaky_runs, 1) == 0)
		return memofs_error(ctx, "first try fails");
	return memofs_printf(ctx, "ok\n");
}

/* A function whose code can change: its version is moving_version, and
 * computing "b" changes it, as an edit of a script while it runs would. */
static int moving_version_of(void *udata, char *suffix)
{
	snprintf(suffix, REG_SUFFIX_MAX + 1, "v%d",
		 atomic_load(&moving_version));
	return 0;
}

static int fn_moving(memofs_ctx *ctx, const char *arg, void *udata)
{
	int v = atomic_load(&moving_version);

	if (strcmp(arg, "b") == 0)
		atomic_fetch_add(&moving_version, 1);
	return memofs_printf(ctx, "v%d\n", v);
}

/* where(X): notes the thread that computes it; "s..." take 5 ms. */
/* Borrows values without being a dataset view: a misuse, never a result. */
static int fn_borrow(memofs_ctx *ctx, const char *arg, void *udata)
{
	static const double one = 1.0;

	memo_ctx_borrow(ctx, &one, NULL, 1);
	return 0;
}

static pthread_t where_thread[8];

static int where_slot(const char *arg)
{
	static const char *const names[] = { "a", "b", "c", "s1", "s2" };

	for (int i = 0; i < 5; i++)
		if (strcmp(arg, names[i]) == 0)
			return i;
	return 7;
}

static int fn_where(memofs_ctx *ctx, const char *arg, void *udata)
{
	where_thread[where_slot(arg)] = pthread_self();
	if (arg[0] == 's')
		sleep_ms(5);
	return memofs_printf(ctx, "where %s\n", arg);
}

/* gate(X): "warm" returns at once; any other waits until gate_open,
 * counting in gate_in the computations inside and in gate_pool those on
 * a worker (named POOL_THREAD_NAME). */
static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;
static int gate_in, gate_pool, gate_open;

static int fn_gate(memofs_ctx *ctx, const char *arg, void *udata)
{
	char name[32] = "";

	if (strcmp(arg, "warm") == 0)
		return memofs_printf(ctx, "warm\n");
	pthread_getname_np(pthread_self(), name, sizeof(name));
	pthread_mutex_lock(&gate_lock);
	gate_in++;
	gate_pool += strcmp(name, POOL_THREAD_NAME) == 0;
	pthread_cond_broadcast(&gate_cond);
	while (!gate_open)
		pthread_cond_wait(&gate_cond, &gate_lock);
	pthread_mutex_unlock(&gate_lock);
	return memofs_printf(ctx, "gate %s\n", arg);
}

/* cyc(a) -> cyc(b) -> cyc(a); self(a) -> self(a) */
static int fn_cyc(memofs_ctx *ctx, const char *arg, void *udata)
{
	const void *data;
	size_t len;
	int rc = memofs_call(ctx, udata ? "self" : "cyc",
			     strcmp(arg, "a") == 0 && !udata ? "b" : "a",
			     &data, &len);

	if (rc == -ELOOP)
		return memofs_error(ctx, "cycle");
	return rc;
}

/* ---- fixtures ----------------------------------------------------------- */

struct waitset {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int done, errors, last_err;
	char first[64];
	int mismatches;
};

static void on_done(void *arg, int err, memo_result *res)
{
	struct waitset *w = arg;

	pthread_mutex_lock(&w->lock);
	if (err) {
		w->errors++;
		w->last_err = err;
	} else {
		const void *data = "";
		size_t n = 0;
		char buf[64] = "";

		CHECK_INT(memo_result_view(res, MEMO_VIEW_TEXT, &data, &n), 0);
		memcpy(buf, data, n < 63 ? n : 63);
		if (!w->first[0])
			strcpy(w->first, buf);
		else if (strcmp(w->first, buf) != 0)
			w->mismatches++;
	}
	w->done++;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

static void waitset_init(struct waitset *w)
{
	memset(w, 0, sizeof(*w));
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
}

/* Waits (at most 20 s) until n callbacks came; returns how many did. */
static int waitset_wait(struct waitset *w, int n)
{
	struct timespec until;
	int done;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 20;
	pthread_mutex_lock(&w->lock);
	while (w->done < n &&
	       pthread_cond_timedwait(&w->cond, &w->lock, &until) == 0)
		;
	done = w->done;
	pthread_mutex_unlock(&w->lock);
	return done;
}

struct env {
	char dir[64];
	char csv[96];
	double delay;
	double values[NROWS];
	ds *d;
	reg *r;
	store *st;
};

static int write_csv(struct env *e)
{
	FILE *f = fopen(e->csv, "w");

	if (!f)
		return -1;
	fprintf(f, "x,y\n");
	for (int i = 0; i < NROWS; i++) {
		e->values[i] = (i * 7919 % 1000) / 7.0 - 50.0;
		fprintf(f, "%.17g,%d\n", e->values[i], i);
	}
	return fclose(f);
}

static int env_open(struct env *e)
{
	static const char *const cyc_args[] = { "a", "b", NULL };
	static const char *const where_args[] = { "a", "b", "c", "s1", "s2",
						  NULL };
	static const char *const gate_args[] = { "warm", "g1", "g2", "g3",
						 "g4", "g5", "g6", NULL };
	struct memofs_function defs[] = {
		{ "slow", "1", "", MEMOFS_ARGS_LIST, cyc_args, fn_slow, NULL,
		  MEMOFS_BYTES, 0, NULL, 0, 0 },
		{ "flaky", "1", "", MEMOFS_ARGS_LIST, cyc_args, fn_flaky, NULL,
		  MEMOFS_BYTES, 0, NULL, 0, 0 },
		{ "cyc", "1", "", MEMOFS_ARGS_LIST, cyc_args, fn_cyc, NULL,
		  MEMOFS_BYTES, 0, NULL, 0, 0 },
		{ "self", "1", "", MEMOFS_ARGS_LIST, cyc_args, fn_cyc, e,
		  MEMOFS_BYTES, 0, NULL, 0, 0 },
		{ "stuck", "1", "", MEMOFS_ARGS_LIST, cyc_args, fn_stuck, NULL,
		  MEMOFS_BYTES, 0, NULL, 0, 0 },
		{ "where", "1", "", MEMOFS_ARGS_LIST, where_args, fn_where,
		  NULL, MEMOFS_BYTES, 0, NULL, 0, 0 },
		{ "gate", "1", "", MEMOFS_ARGS_LIST, gate_args, fn_gate, NULL,
		  MEMOFS_BYTES, 0, NULL, 0, 0 },
		{ "borrow", "1", "", MEMOFS_ARGS_LIST, cyc_args, fn_borrow,
		  NULL, MEMOFS_FLOAT64, MEMOFS_SHAPE_SCALAR, NULL, 0, 0 },
	};
	struct memofs_function moving = { "moving", "1", "", MEMOFS_ARGS_LIST,
					  cyc_args, fn_moving, NULL,
					  MEMOFS_BYTES, 0, NULL, 0, 0 };
	char err[DS_ERR_MAX];

	strcpy(e->dir, "/tmp/memofs-test-memo-XXXXXX");
	if (!mkdtemp(e->dir))
		return -1;
	snprintf(e->csv, sizeof(e->csv), "%s/data.csv", e->dir);
	if (write_csv(e) || ds_load(e->csv, &e->d, err, sizeof(err)) ||
	    reg_new(&e->r) || fn_register_builtins(e->r, &e->delay))
		return -1;
	for (size_t i = 0; i < sizeof(defs) / sizeof(defs[0]); i++)
		if (memofs_register(e->r, &defs[i]))
			return -1;
	if (reg_add_versioned(e->r, &moving, moving_version_of))
		return -1;
	if (reg_bind_dataset(e->r, e->d))
		return -1;
	return store_open(e->dir, &e->st);
}

static int rm_entry(const char *p, const struct stat *sb, int flag,
		    struct FTW *ftw)
{
	return remove(p);
}

static void env_close(struct env *e)
{
	store_close(e->st);
	reg_free(e->r);
	ds_free(e->d);
	nftw(e->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* Computes fn(arg) through memo_submit and returns its text (static). */
static const char *get(memo *m, reg *r, const char *fn, const char *arg)
{
	static char out[64];
	struct waitset w;

	waitset_init(&w);
	if (memo_submit(m, reg_find(r, fn), arg, on_done, &w) != 0)
		return "(submit failed)";
	if (waitset_wait(&w, 1) != 1)
		return "(timeout)";
	if (w.errors)
		return "(error)";
	strcpy(out, w.first);
	return out;
}

/* ---- tests -------------------------------------------------------------- */

static double ref_mean(const double *v, int n)
{
	long double s = 0;

	for (int i = 0; i < n; i++)
		s += v[i];
	return (double)(s / n);
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void check_close(const char *text, double want)
{
	double got = strtod(text, NULL);

	CHECK(fabs(got - want) <= 1e-12 * fabs(want) + 1e-300);
	if (!(fabs(got - want) <= 1e-12 * fabs(want) + 1e-300))
		fprintf(stderr, "  got %s, want %.17g\n", text, want);
}

/* The mean of col1 (0, 1, ..., NROWS - 1). */
static double ref_mean_col1(void)
{
	return (NROWS - 1) / 2.0;
}

static void test_reductions(struct env *e, memo *m)
{
	double v[NROWS], mean = ref_mean(e->values, NROWS), var = 0;
	double mn = e->values[0], mx = e->values[0];

	memcpy(v, e->values, sizeof(v));
	for (int i = 0; i < NROWS; i++) {
		var += (v[i] - mean) * (v[i] - mean);
		mn = v[i] < mn ? v[i] : mn;
		mx = v[i] > mx ? v[i] : mx;
	}
	var /= NROWS;
	qsort(v, NROWS, sizeof(double), cmp_d);
	check_close(get(m, e->r, "mean", "col0"), mean);
	check_close(get(m, e->r, "sum", "col0"), mean * NROWS);
	check_close(get(m, e->r, "var", "col0"), var);
	check_close(get(m, e->r, "std", "col0"), sqrt(var));
	check_close(get(m, e->r, "min", "col0"), mn);
	check_close(get(m, e->r, "max", "col0"), mx);
	check_close(get(m, e->r, "median", "col0"), v[NROWS / 2]);
	CHECK_STR(get(m, e->r, "count", "col0"), "1001\n");
	CHECK_STR(get(m, e->r, "max", "col1"), "1000.0\n");
}

static void test_reuse(struct env *e, memo *m)
{
	struct memo_stats s0, s1;

	memo_get_stats(m, &s0);
	get(m, e->r, "mean", "col1");
	memo_get_stats(m, &s1);
	/* mean(col1) only: column(col1) was computed by max(col1). */
	CHECK_INT(s1.computed - s0.computed, 1);
}

static void test_single_flight(struct env *e, memo *m)
{
	struct waitset w;

	waitset_init(&w);
	atomic_store(&slow_runs, 0);
	for (int i = 0; i < 64; i++)
		CHECK_INT(memo_submit(m, reg_find(e->r, "slow"), "a", on_done,
				      &w), 0);
	CHECK_INT(waitset_wait(&w, 64), 64);
	CHECK_INT(atomic_load(&slow_runs), 1);
	CHECK_INT(w.errors, 0);
	CHECK_INT(w.mismatches, 0);
	CHECK_STR(w.first, "slow a\n");
}

static void test_failures(struct env *e, memo *m)
{
	memo_result *res = NULL;

	atomic_store(&flaky_runs, 0);
	CHECK_STR(get(m, e->r, "flaky", "a"), "(error)");
	CHECK_INT(memo_lookup(m, reg_find(e->r, "flaky"), "a", &res),
		  -ENOENT);
	CHECK_STR(get(m, e->r, "flaky", "a"), "ok\n");
	CHECK_INT(atomic_load(&flaky_runs), 2);
	CHECK_STR(get(m, e->r, "cyc", "a"), "(error)");
	CHECK_STR(get(m, e->r, "self", "a"), "(error)");
}

/* column without -o delay is a view of the dataset: computed (borrowed,
 * in memory) but never stored; with a delay it is stored like any other.
 * Borrowing in a function that is no view fails the computation. */
/* Results in m's store, every function's together (-1 on error). */
static long stored_entries(memo *m)
{
	struct memo_usage *u = calloc(memo_fn_count(m) + 1, sizeof(*u));
	long n = -1;

	if (u && memo_usage(m, u) == 0) {
		n = 0;
		for (size_t i = 0; i <= memo_fn_count(m); i++)
			n += (long)u[i].entries;
	}
	free(u);
	return n;
}

static void test_dataset_view(struct env *e, memo *m)
{
	const reg_fn *col = reg_find(e->r, "column");
	memo_result *res = NULL;
	memo *m2 = NULL;
	long n0 = stored_entries(m);

	CHECK(reg_fn_dataset_view(col));
	CHECK(n0 >= 0);
	CHECK(get(m, e->r, "column", "col0")[0] != '(');
	CHECK_INT(stored_entries(m), n0);		/* nothing stored */
	CHECK_INT(memo_lookup(m, col, "col0", &res), 0);	/* memory */
	if (res) {
		CHECK(memo_result_is_borrowed(res));
		CHECK(memo_result_f64(res) == ds_column(e->d, 0));
		memo_result_unref(res);
	}
	/* A fresh memo (nothing in memory), with a delay: stored. */
	e->delay = 0.001;
	CHECK(!reg_fn_dataset_view(col));
	CHECK_INT(memo_new(e->st, e->r, e->d, 1, &m2), 0);
	if (m2) {
		CHECK(get(m2, e->r, "column", "col0")[0] != '(');
		CHECK_INT(stored_entries(m2), n0 + 1);
		memo_free(m2);
	}
	e->delay = 0;
	CHECK_STR(get(m, e->r, "borrow", "a"), "(error)");
}

/* Keys follow the version as it is when they are made; a computation
 * during which it changed is an error, cached under neither version. */
static void test_versions(struct env *e, memo *m)
{
	const reg_fn *fn = reg_find(e->r, "moving");
	memo_result *res = NULL;

	atomic_store(&moving_version, 1);
	CHECK_STR(get(m, e->r, "moving", "a"), "v1\n");
	atomic_store(&moving_version, 2);
	CHECK_INT(memo_lookup(m, fn, "a", &res), -ENOENT);
	CHECK_STR(get(m, e->r, "moving", "a"), "v2\n");
	atomic_store(&moving_version, 1);
	CHECK_INT(memo_lookup(m, fn, "a", &res), 0);
	if (res)
		CHECK(memcmp(memo_result_data(res), "v1\n", 3) == 0);
	memo_result_unref(res);
	CHECK_STR(get(m, e->r, "moving", "b"), "(error)");	/* 1 -> 2 */
	CHECK_INT(memo_lookup(m, fn, "b", &res), -ENOENT);
	atomic_store(&moving_version, 1);
	CHECK_INT(memo_lookup(m, fn, "b", &res), -ENOENT);
	atomic_store(&moving_version, 3);
	CHECK_STR(get(m, e->r, "moving", "b"), "(error)");	/* 3 -> 4 */
	CHECK_STR(get(m, e->r, "moving", "a"), "v4\n");
}

static void test_damaged(struct env *e, memo *m)
{
	uint8_t key[KEY_LEN];
	memo_result *res = NULL;
	struct memo_stats s0, s1;

	key_make(key, "count", reg_fn_version(reg_find(e->r, "count")),
		 "col0", ds_digest(e->d), DS_DIGEST_LEN);
	CHECK_INT(store_put_raw(e->st, key, "garbage", 7), 0);
	/* The memory copy would still serve it: use a fresh memo. */
	memo_get_stats(m, &s0);
	CHECK(s0.computed > 0);
	memo *m2 = NULL;
	CHECK_INT(memo_new(e->st, e->r, e->d, 2, &m2), 0);
	CHECK_INT(memo_lookup(m2, reg_find(e->r, "count"), "col0", &res),
		  -ENOENT);
	CHECK_STR(get(m2, e->r, "count", "col0"), "1001\n");
	memo_get_stats(m2, &s1);
	CHECK_INT(s1.computed, 1);
	CHECK_INT(memo_lookup(m2, reg_find(e->r, "count"), "col0", &res), 0);
	memo_result_unref(res);
	memo_free(m2);
}

/* Stores data under key as memofs before typed results did: a format 1
 * record (store.c), bytes. */
static void put_format1(store *st, const uint8_t key[KEY_LEN],
			const char *data)
{
	size_t len = strlen(data);
	uint8_t *raw = malloc(40 + len);
	uint64_t fields[4] = { len, XXH3_64bits(data, len), 1, 2 };

	CHECK(raw != NULL);
	if (!raw)
		return;
	memcpy(raw, "MFS\0\1\0\0\0", 8);
	for (int f = 0; f < 4; f++)
		for (int i = 0; i < 8; i++)
			raw[8 + 8 * f + i] = (uint8_t)(fields[f] >> (8 * i));
	memcpy(raw + 40, data, len);
	CHECK_INT(store_put_raw(st, key, raw, 40 + len), 0);
	free(raw);
}

/* An old cache: a text record where a typed result is now expected is
 * never served (it is recomputed, typed, and overwritten); an old bytes
 * record of a bytes function still is. */
static void test_old_records(struct env *e)
{
	const reg_fn *col = reg_find(e->r, "column");
	const reg_fn *slow = reg_find(e->r, "slow");
	uint8_t key[KEY_LEN];
	memo_result *res = NULL;
	const void *data;
	size_t len;
	memo *m = NULL;
	int runs = atomic_load(&slow_runs);

	key_make(key, "column", reg_fn_version(col), "col1", ds_digest(e->d),
		 DS_DIGEST_LEN);
	put_format1(e->st, key, "1.0\n2.0\n");
	key_make(key, "mean", reg_fn_version(reg_find(e->r, "mean")), "col1",
		 ds_digest(e->d), DS_DIGEST_LEN);
	put_format1(e->st, key, "1.5\n");
	key_make(key, "slow", reg_fn_version(slow), "b", ds_digest(e->d),
		 DS_DIGEST_LEN);
	put_format1(e->st, key, "old slow b\n");
	CHECK_INT(memo_new(e->st, e->r, e->d, 2, &m), 0);
	if (!m)
		return;
	CHECK_INT(memo_lookup(m, col, "col1", &res), -ENOENT);
	check_close(get(m, e->r, "mean", "col1"), ref_mean_col1());
	CHECK_INT(memo_lookup(m, col, "col1", &res), 0);
	if (res) {
		/* col1 holds integers: an int64 column (issue 13) */
		CHECK_INT(memo_result_dtype(res), MEMOFS_INT64);
		CHECK_INT(memo_result_count(res), NROWS);
		CHECK(memo_result_i64(res) &&
		      memo_result_i64(res)[NROWS - 1] == NROWS - 1);
	}
	memo_result_unref(res);
	res = NULL;
	CHECK_INT(memo_lookup(m, slow, "b", &res), 0);
	if (res) {
		CHECK_INT(memo_result_dtype(res), MEMOFS_BYTES);
		CHECK_INT(memo_result_view(res, MEMO_VIEW_TEXT, &data, &len),
			  0);
		CHECK(len == 11 && memcmp(data, "old slow b\n", 11) == 0);
	}
	memo_result_unref(res);
	CHECK_INT(atomic_load(&slow_runs), runs);
	memo_free(m);
}

/* With one worker, a reduction queued first steals its column's job. */
static void test_one_worker(struct env *e)
{
	struct waitset w;
	memo *m = NULL;
	struct memo_stats s;

	CHECK_INT(memo_new(e->st, e->r, e->d, 1, &m), 0);
	waitset_init(&w);
	e->delay = 0.1;
	CHECK_INT(memo_submit(m, reg_find(e->r, "median"), "col1", on_done,
			      &w), 0);
	CHECK_INT(memo_submit(m, reg_find(e->r, "column"), "col1", on_done,
			      &w), 0);
	CHECK_INT(memo_submit(m, reg_find(e->r, "var"), "col1", on_done, &w),
		  0);
	CHECK_INT(waitset_wait(&w, 3), 3);
	CHECK_INT(w.errors, 0);
	e->delay = 0;
	memo_get_stats(m, &s);
	CHECK_INT(s.computed, 3);	/* column(col1) once, not twice */
	memo_free(m);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* memo_cancel: the queued computations fail at once, the running delay
 * ends early, nothing new starts; lookups still work. */
static void test_cancel(struct env *e)
{
	struct waitset w;
	memo *m = NULL;
	memo_result *res = NULL;
	double t0;

	CHECK_INT(memo_new(e->st, e->r, e->d, 1, &m), 0);
	CHECK_STR(get(m, e->r, "slow", "b"), "slow b\n");
	waitset_init(&w);
	e->delay = 30;
	CHECK_INT(memo_submit(m, reg_find(e->r, "column"), "col0", on_done,
			      &w), 0);
	CHECK_INT(memo_submit(m, reg_find(e->r, "mean"), "col0", on_done, &w),
		  0);
	CHECK_INT(memo_submit(m, reg_find(e->r, "sum"), "col1", on_done, &w),
		  0);
	sleep_ms(100);		/* column(col0) is sleeping */
	t0 = now_s();
	memo_cancel(m);
	CHECK_INT(waitset_wait(&w, 3), 3);
	CHECK_INT(memo_drain(m, 5.0), 0);
	CHECK(now_s() - t0 < 2.0);
	CHECK_INT(w.errors, 3);
	CHECK_INT(w.last_err, -ESHUTDOWN);
	CHECK_INT(memo_submit(m, reg_find(e->r, "max"), "col0", on_done, &w),
		  -ESHUTDOWN);
	CHECK_INT(memo_lookup(m, reg_find(e->r, "slow"), "b", &res), 0);
	memo_result_unref(res);
	CHECK_INT(memo_lookup(m, reg_find(e->r, "column"), "col0", &res),
		  -ENOENT);
	e->delay = 0;
	memo_free(m);
}

/* memo_drain gives up on code that ignores cancellation: its waiters are
 * told, and what it makes later is no longer stored. */
static void test_drain_gives_up(struct env *e)
{
	uint8_t key[KEY_LEN];
	struct waitset w;
	store_rec rec;
	memo *m = NULL;
	double t0;

	CHECK_INT(memo_new(e->st, e->r, e->d, 1, &m), 0);
	waitset_init(&w);
	CHECK_INT(memo_submit(m, reg_find(e->r, "stuck"), "a", on_done, &w),
		  0);
	sleep_ms(100);
	memo_cancel(m);
	t0 = now_s();
	CHECK_INT(memo_drain(m, 0.1), 1);
	CHECK(now_s() - t0 < 0.4);
	CHECK_INT(waitset_wait(&w, 1), 1);
	CHECK_INT(w.last_err, -ESHUTDOWN);
	memo_free(m);		/* waits for the stuck computation */
	CHECK_INT(w.done, 1);	/* its end told nobody twice */
	key_make(key, "stuck", "1", "a", ds_digest(e->d), DS_DIGEST_LEN);
	CHECK_INT(store_get(e->st, key, &rec), -ENOENT);
}

/* Submits where(arg) and returns whether its callback had come when
 * memo_submit() returned; waits for it. */
static int where_done_at_once(struct env *e, memo *m, const char *arg)
{
	struct waitset w;
	int at_once;

	waitset_init(&w);
	CHECK_INT(memo_submit(m, reg_find(e->r, "where"), arg, on_done, &w),
		  0);
	pthread_mutex_lock(&w.lock);
	at_once = w.done;
	pthread_mutex_unlock(&w.lock);
	CHECK_INT(waitset_wait(&w, 1), 1);
	CHECK_INT(w.errors, 0);
	return at_once;
}

/* A computation whose function was cheap last time (under a millisecond)
 * runs on the thread that asks, callback included, when a worker is free;
 * the first of a function, one after an expensive one, and any while the
 * workers are busy go to the pool. */
static void test_runs_here(struct env *e)
{
	struct waitset w;
	memo *m = NULL;
	pthread_t me = pthread_self();

	CHECK_INT(memo_new(e->st, e->r, e->d, 1, &m), 0);
	/* Cost unknown: the pool runs it.  Its idle worker may call back
	 * before memo_submit() returns (seen under TSan), so only the thread
	 * that ran it tells. */
	(void)where_done_at_once(e, m, "a");
	CHECK(!pthread_equal(where_thread[0], me));
	sleep_ms(100);	/* the worker calls back before it is idle again */
	CHECK_INT(where_done_at_once(e, m, "b"), 1);	/* cheap: here */
	CHECK(pthread_equal(where_thread[1], me));
	waitset_init(&w);		/* the one worker busy for 600 ms */
	CHECK_INT(memo_submit(m, reg_find(e->r, "stuck"), "b", on_done, &w),
		  0);
	sleep_ms(100);
	CHECK_INT(where_done_at_once(e, m, "c"), 0);	/* queued */
	CHECK(!pthread_equal(where_thread[2], me));
	CHECK_INT(waitset_wait(&w, 1), 1);
	sleep_ms(100);
	CHECK_INT(where_done_at_once(e, m, "s1"), 1);	/* here, 5 ms */
	CHECK(pthread_equal(where_thread[3], me));
	CHECK_INT(where_done_at_once(e, m, "s2"), 0);	/* 5 ms: the pool */
	CHECK(!pthread_equal(where_thread[4], me));
	memo_free(m);
}

struct asker {
	struct env *e;
	memo *m;
	const char *arg;
	struct waitset *w;
	pthread_t tid;
	int rc;			/* memo_submit()'s: checked after join */
};

static void *ask(void *arg)
{
	struct asker *a = arg;

	a->rc = memo_submit(a->m, reg_find(a->e->r, "gate"), a->arg, on_done,
			    a->w);
	return NULL;
}

/* However many threads ask at once, at most MEMO_INLINE_MAX compute on
 * their own thread; the others go to the workers. */
static void test_here_at_most(struct env *e)
{
	static const char *const args[] = { "g1", "g2", "g3", "g4", "g5",
					     "g6" };
	struct asker a[6];
	struct waitset w;
	memo *m = NULL;
	int in = 0;

	_Static_assert(MEMO_INLINE_MAX == 4, "the counts below");
	CHECK_INT(memo_new(e->st, e->r, e->d, 8, &m), 0);
	CHECK_STR(get(m, e->r, "gate", "warm"), "warm\n");
	sleep_ms(100);		/* its worker idle again */
	waitset_init(&w);
	for (int i = 0; i < 6; i++) {
		a[i] = (struct asker){ e, m, args[i], &w, 0, -1 };
		CHECK_INT(pthread_create(&a[i].tid, NULL, ask, &a[i]), 0);
	}
	for (int k = 0; k < 200 && in < 6; k++) {
		sleep_ms(10);
		pthread_mutex_lock(&gate_lock);
		in = gate_in;
		pthread_mutex_unlock(&gate_lock);
	}
	pthread_mutex_lock(&gate_lock);
	CHECK_INT(gate_in, 6);
	CHECK_INT(gate_pool, 2);
	gate_open = 1;
	pthread_cond_broadcast(&gate_cond);
	pthread_mutex_unlock(&gate_lock);
	for (int i = 0; i < 6; i++) {
		pthread_join(a[i].tid, NULL);
		CHECK_INT(a[i].rc, 0);
	}
	CHECK_INT(waitset_wait(&w, 6), 6);
	CHECK_INT(w.errors, 0);
	memo_free(m);
}

static void count_hook(void *arg)
{
	(*(int *)arg)++;
}

/* memo_cancel() ends, through the registry, what may not end by itself
 * (cmdfn registers its commands so): the owner stops in one call. */
static void test_cancel_hooks(struct env *e)
{
	memo *m = NULL;
	int n = 0;

	CHECK_INT(reg_on_cancel(e->r, count_hook, &n), 0);
	CHECK_INT(memo_new(e->st, e->r, e->d, 1, &m), 0);
	CHECK_INT(n, 0);
	memo_cancel(m);
	CHECK_INT(n, 1);
	memo_cancel(m);		/* more than once: each time */
	CHECK_INT(n, 2);
	CHECK_INT(memo_drain(m, 1.0), 0);
	memo_free(m);
	CHECK_INT(n, 2);
}

int main(void)
{
	struct env e;
	memo *m = NULL;

	memset(&e, 0, sizeof(e));
	log_init(0, LOG_LVL_WARN);
	if (env_open(&e) != 0) {
		fprintf(stderr, "test_memo: cannot set up\n");
		return 1;
	}
	test_cancel(&e);		/* first: column(col0) not stored yet */
	test_drain_gives_up(&e);
	test_one_worker(&e);
	test_runs_here(&e);
	test_here_at_most(&e);
	CHECK_INT(memo_new(e.st, e.r, e.d, 2, &m), 0);
	test_reductions(&e, m);
	test_reuse(&e, m);
	test_single_flight(&e, m);
	test_failures(&e, m);
	test_dataset_view(&e, m);
	test_versions(&e, m);
	test_damaged(&e, m);
	memo_free(m);
	test_old_records(&e);
	test_cancel_hooks(&e);	/* last: its hook stays on e.r */
	env_close(&e);
	return check_report("memo");
}
