/* test_memo_ops.c -- unit test of memo's operating functions: counters
 * per function, memo_info, memo_clear at each scope, memo_evict (LRU
 * order through memo_flush_uses, max_age), memo_jobs and progress.
 *
 * A small registry of list functions over a temporary store: "stamp"
 * returns a fresh number at every computation (so a test sees whether a
 * result was recomputed), "big" returns 1000 bytes, "prog" reports
 * progress and waits until the test lets it finish.
 */
#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <stddef.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "engine/memo.h"
#include "util/log.h"

static atomic_int stamp_runs, prog_release, prog_bad_rc;

static int fn_stamp(memofs_ctx *ctx, const char *arg, void *udata)
{
	return memofs_printf(ctx, "%s %d\n", arg,
			     atomic_fetch_add(&stamp_runs, 1));
}

static int fn_big(memofs_ctx *ctx, const char *arg, void *udata)
{
	char buf[1000];

	memset(buf, arg[0], sizeof(buf));
	return memofs_write(ctx, buf, sizeof(buf));
}

static int fn_prog(memofs_ctx *ctx, const char *arg, void *udata)
{
	struct timespec ts = { 0, 5000000 };

	if (memofs_progress(ctx, NAN) != -EINVAL ||
	    memofs_progress(ctx, 1.5) != -EINVAL ||
	    memofs_progress(ctx, -0.1) != -EINVAL ||
	    memofs_progress(NULL, 0.5) != -EINVAL)
		atomic_store(&prog_bad_rc, 1);
	memofs_progress(ctx, 0.25);
	for (int i = 0; i < 4000 && !atomic_load(&prog_release); i++)
		nanosleep(&ts, NULL);
	return memofs_printf(ctx, "done\n");
}

struct env {
	char dir[64];
	ds *d;
	reg *r;
	store *st;
	memo *m;
};

static int env_open(struct env *e)
{
	static const char *const args[] = { "a", "b", "c", "d", NULL };
	struct memofs_function defs[] = {
		{ .name = "stamp", .version = "1", .description = "",
		  .args = MEMOFS_ARGS_LIST, .arg_list = args,
		  .compute = fn_stamp },
		{ .name = "big", .version = "1", .description = "",
		  .args = MEMOFS_ARGS_LIST, .arg_list = args,
		  .compute = fn_big },
		{ .name = "prog", .version = "1", .description = "",
		  .args = MEMOFS_ARGS_LIST, .arg_list = args,
		  .compute = fn_prog },
	};

	strcpy(e->dir, "/tmp/memofs-test-memo-ops-XXXXXX");
	if (!mkdtemp(e->dir) || ds_demo(&e->d) || reg_new(&e->r))
		return -1;
	for (size_t i = 0; i < sizeof(defs) / sizeof(defs[0]); i++)
		if (memofs_register(e->r, &defs[i]))
			return -1;
	if (reg_bind_dataset(e->r, e->d) || store_open(e->dir, &e->st))
		return -1;
	return memo_new(e->st, e->r, e->d, 2, &e->m);
}

static int rm_entry(const char *p, const struct stat *sb, int flag,
		    struct FTW *ftw)
{
	return remove(p);
}

static void env_close(struct env *e)
{
	memo_free(e->m);
	store_close(e->st);
	reg_free(e->r);
	ds_free(e->d);
	nftw(e->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

struct done {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int n, err;
	char text[64];
};

static void on_done(void *arg, int err, memo_result *res)
{
	struct done *d = arg;

	pthread_mutex_lock(&d->lock);
	d->err = err;
	if (!err) {
		size_t n = memo_result_len(res);

		memcpy(d->text, memo_result_data(res), n < 63 ? n : 63);
		d->text[n < 63 ? n : 63] = '\0';
	}
	d->n++;
	pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->lock);
}

/* fn(arg) through memo_submit; its text (static), or "(error)". */
static const char *get(struct env *e, const char *fn, const char *arg)
{
	static char out[64];
	struct done d = { .lock = PTHREAD_MUTEX_INITIALIZER,
			  .cond = PTHREAD_COND_INITIALIZER };

	if (memo_submit(e->m, reg_find(e->r, fn), arg, on_done, &d) != 0)
		return "(submit failed)";
	pthread_mutex_lock(&d.lock);
	while (d.n == 0)
		pthread_cond_wait(&d.cond, &d.lock);
	pthread_mutex_unlock(&d.lock);
	snprintf(out, sizeof(out), "%s", d.err ? "(error)" : d.text);
	return out;
}

static enum memo_info_state state(struct env *e, const char *fn,
				  const char *arg)
{
	struct memo_info info;

	CHECK_INT(memo_info(e->m, reg_find(e->r, fn), arg, &info), 0);
	return info.state;
}

static uint64_t fn_counter(struct env *e, size_t i, size_t off)
{
	struct memo_fn_stats s;

	CHECK_INT(memo_get_fn_stats(e->m, i, &s), 0);
	return *(uint64_t *)((char *)&s + off);
}
#define COUNTER(e, i, field) \
	fn_counter((e), (i), offsetof(struct memo_fn_stats, field))

/* Removed results, as memo_removed_fn reports them. */
struct removed {
	char names[16][32];
	int n;
};

static void on_removed(void *arg, const char *fn, const char *a)
{
	struct removed *r = arg;

	if (r->n < 16)
		snprintf(r->names[r->n++], 32, "%s/%s", fn, a);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void test_stats_info_clear(struct env *e)
{
	char first[64];
	struct memo_info info;
	struct memo_usage u[4];
	memo_result *res;
	size_t n;

	CHECK_INT(state(e, "stamp", "a"), MEMO_INFO_ABSENT);
	snprintf(first, sizeof(first), "%s", get(e, "stamp", "a"));
	CHECK_STR(get(e, "stamp", "a"), first);		/* cached */
	get(e, "stamp", "b");
	get(e, "big", "a");
	CHECK_INT(COUNTER(e, 0, computed), 2);
	CHECK_INT(COUNTER(e, 1, computed), 1);
	CHECK_INT(memo_lookup(e->m, reg_find(e->r, "stamp"), "a", &res), 0);
	memo_result_unref(res);
	CHECK(COUNTER(e, 0, mem_hits) >= 1);
	memo_note_read(e->m, reg_find(e->r, "big"));
	CHECK_INT(COUNTER(e, 1, reads), 1);
	CHECK_INT(memo_get_fn_stats(e->m, 3, &(struct memo_fn_stats){ 0 }),
		  -ENOENT);
	/* provenance */
	CHECK_INT(memo_info(e->m, reg_find(e->r, "stamp"), "a", &info), 0);
	CHECK_INT(info.state, MEMO_INFO_CACHED);
	CHECK(info.created_ns > 0 && info.created_ns <= now_ns());
	/* usage per function */
	CHECK_INT(memo_usage(e->m, u), 0);
	CHECK_INT(u[0].entries, 2);
	CHECK_INT(u[1].entries, 1);
	CHECK_INT(u[1].bytes, 1000);
	CHECK_INT(u[3].entries, 0);
	/* one result: recomputed after, the other kept */
	CHECK_INT(memo_clear(e->m, "stamp", "a", NULL, NULL, &n), 0);
	CHECK_INT(n, 1);
	CHECK_INT(state(e, "stamp", "a"), MEMO_INFO_ABSENT);
	CHECK_INT(state(e, "stamp", "b"), MEMO_INFO_CACHED);
	CHECK(strcmp(get(e, "stamp", "a"), first) != 0);
	/* one function */
	CHECK_INT(memo_clear(e->m, "stamp", NULL, NULL, NULL, &n), 0);
	CHECK_INT(n, 2);
	CHECK_INT(state(e, "big", "a"), MEMO_INFO_CACHED);
	CHECK_INT(COUNTER(e, 0, cleared), 3);
	/* everything, a record without an accounting entry too */
	{
		uint8_t key[KEY_LEN];
		store_rec rec;

		key_make(key, "other", "1", "x", NULL, 0);
		CHECK_INT(store_put(e->st, key, "x", 1, 0, 0), 0);
		CHECK_INT(memo_clear(e->m, NULL, NULL, NULL, NULL, &n), 0);
		CHECK_INT(n, 1);		/* big/a; the other had no entry */
		CHECK_INT(store_get(e->st, key, &rec), -ENOENT);
	}
	CHECK_INT(state(e, "big", "a"), MEMO_INFO_ABSENT);
}

static void test_evict_lru_and_age(struct env *e)
{
	struct removed r = { .n = 0 };
	memo_result *res;
	size_t n;

	get(e, "big", "a");
	get(e, "big", "b");
	get(e, "big", "c");
	/* a is used after c: b is now the least recently used */
	usleep(2000);
	CHECK_INT(memo_lookup(e->m, reg_find(e->r, "big"), "a", &res), 0);
	memo_result_unref(res);
	CHECK_INT(memo_flush_uses(e->m), 0);
	CHECK_INT(memo_evict(e->m, 2500, now_ns(), on_removed, &r, &n), 0);
	CHECK_INT(n, 1);
	CHECK_INT(r.n, 1);
	CHECK_STR(r.names[0], "big/b");
	CHECK_INT(state(e, "big", "a"), MEMO_INFO_CACHED);
	CHECK_INT(COUNTER(e, 1, evicted), 1);
	/* within the limit: nothing */
	CHECK_INT(memo_evict(e->m, 2500, now_ns(), NULL, NULL, &n), 0);
	CHECK_INT(n, 0);
	/* max_age: not served at once, removed by the next memo_evict */
	memo_set_max_age(e->m, 1);
	usleep(1000);
	CHECK_INT(memo_lookup(e->m, reg_find(e->r, "big"), "a", &res),
		  -ENOENT);
	CHECK_INT(memo_evict(e->m, 0, now_ns(), NULL, NULL, &n), 0);
	CHECK_INT(n, 2);
	memo_set_max_age(e->m, 0);
	CHECK_INT(state(e, "big", "c"), MEMO_INFO_ABSENT);
}

static void *get_prog(void *arg)
{
	get(arg, "prog", "a");
	return NULL;
}

static void test_jobs_and_progress(struct env *e)
{
	struct memo_job *jobs = NULL;
	pthread_t t;
	size_t n = 0;
	int seen = 0;

	CHECK_INT(memo_jobs(e->m, &jobs, &n), 0);
	CHECK_INT(n, 0);
	free(jobs);
	pthread_create(&t, NULL, get_prog, e);
	for (int i = 0; i < 2000 && !seen; i++) {
		CHECK_INT(memo_jobs(e->m, &jobs, &n), 0);
		seen = n == 1 && jobs[0].running && jobs[0].progress == 0.25;
		if (seen) {
			CHECK_STR(jobs[0].fn, "prog");
			CHECK_STR(jobs[0].arg, "a");
			CHECK_INT(jobs[0].waiters, 1);
			CHECK(jobs[0].seconds >= 0 && jobs[0].seconds < 20);
		}
		free(jobs);
		usleep(1000);
	}
	CHECK(seen);
	CHECK_INT(state(e, "prog", "a"), MEMO_INFO_COMPUTING);
	atomic_store(&prog_release, 1);
	pthread_join(t, NULL);
	CHECK_INT(atomic_load(&prog_bad_rc), 0);
	CHECK_INT(memo_jobs(e->m, &jobs, &n), 0);
	CHECK_INT(n, 0);
	free(jobs);
}

int main(void)
{
	struct env e;

	log_init(0, LOG_LVL_WARN);
	if (env_open(&e) != 0) {
		fprintf(stderr, "test_memo_ops: cannot set up\n");
		return 1;
	}
	test_stats_info_clear(&e);
	test_evict_lru_and_age(&e);
	test_jobs_and_progress(&e);
	env_close(&e);
	return check_report("memo_ops");
}
