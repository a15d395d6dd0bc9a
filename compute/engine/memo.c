/* memo.c -- the memo layer (see memo.h): single flight, driving the pool,
 * computing and persisting, nested calls, stopping.  The result object is
 * result.c, the in-memory cache lru.c, and the memofs_* API that compute
 * callbacks use functions/ctx.c, on memo_ctx_*.
 *
 * State, all protected by memo->lock:
 *   flights  in-flight results (queued or running), a list: there are at
 *            most a few hundred at once, each found by its key;
 *   cache    a small LRU of recently used results (lru.h);
 *   stats    counters.
 * A flight is QUEUED when a pool job will run it, RUNNING once a thread
 * computes it, and DONE when its waiters have been told.  A nested call
 * that finds its result QUEUED runs it itself ("steals" it; the pool job
 * then finds it no longer QUEUED and does nothing), which is why one worker
 * suffices for any depth of nesting.  A nested call that finds its result
 * RUNNING waits, unless following waiting_on from that flight leads back
 * to the caller: that is a dependency cycle, answered with -ELOOP.  With a
 * remote tier (remote.h), a RUNNING pool job whose result another machine
 * is computing goes back to QUEUED, parked (memo_job_park): the tier's
 * listener submits its job again (memo_job_wake) when that machine
 * publishes; a nested call may steal it meanwhile, as any QUEUED flight.
 *
 * Where a pool job runs (memo_submit): on a worker, or, when the
 * function's last computation took under MEMO_INLINE_NS (memo->costs, a
 * small hash of the last time per function) and a worker is idle, on the
 * thread that asked, in that worker's place (pool_try_run()).  Measured
 * (tests/bench, figure 11): a cold read of a trivial result then sleeps
 * the daemon's threads about 3.7 times instead of 5.5 (one sleep per FUSE
 * request, no worker wake-up and no hand-back), which on an idle VM
 * saves the wake-up of a second vCPU.  The job is the same memo_job(), so
 * QUEUED -> RUNNING -> DONE, stealing, cancel and drain do not change.
 * A worker calls its waiters back before its slot is free again, so with
 * -o workers=1 a request that follows an answer from a worker within
 * microseconds may still find it busy and go to the pool.
 *
 * Stopping (memo_cancel, memo_drain): queued jobs are dropped, their
 * flights finished with -ESHUTDOWN; nothing new starts; running built-ins
 * wake from memo_sleep(); memo_drain() waits a bounded time for the jobs
 * still running, then answers their waiters itself and stops using the
 * store, leaving those jobs (uninterruptible plugin code) to the exit.
 *
 * Lock order: memo->lock, then pool's own lock (memo_submit queues a job
 * while holding memo->lock).  Never held across a computation, a store
 * call or a callback.  memo->st_lock (read: a store call; write: the
 * store is let go) is taken without memo->lock held.
 */
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/evict.h"
#include "engine/key.h"
#include "engine/lru.h"
#include "engine/result.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/mem.h"
#include "engine/memo.h"
#include "functions/resolve.h"
#include "engine/pool.h"

#define MEMO_MAX_DEPTH 64		/* nested calls deeper fail, -ELOOP */
#define MEMO_COSTS 64			/* functions whose cost is known */
#define MEMO_ERR_MAX 4096
_Static_assert(MEMO_ERR_MAX + 2 * REG_ARG_MAX + 64 < LOG_LINE_MAX,
	       "a failure line with its message fits one log line");

_Static_assert(MEMO_COSTS == 64, "memo_cost_slot() keeps 6 bits");

enum memo_state { MEMO_QUEUED, MEMO_RUNNING, MEMO_DONE };

struct memo_waiter {
	memo_done_fn cb;
	void *cbarg;
	struct memo_waiter *next;
};

struct memo_flight {
	uint8_t key[KEY_LEN];
	const reg_fn *fn;
	char *arg;
	int view;			/* reg_fn_dataset_view() when made: its
					 * result is kept in memory only, never
					 * stored, fetched or published, and
					 * only such a flight may borrow */
	enum memo_state state;
	unsigned refs;			/* table, job, executor, waiters */
	struct memo_waiter *waiters;	/* async callbacks, newest first */
	pthread_cond_t done;		/* broadcast when state is DONE */
	int err;			/* once DONE */
	memo_result *res;		/* once DONE, if err == 0 */
	struct memo_flight *waiting_on;	/* flight its computation waits for */
	struct memo_flight *next;	/* in memo->flights */
	memo *m;
	int64_t queued_ns;		/* CLOCK_MONOTONIC, when asked for */
	int64_t started_ns;		/* when it began RUNNING, or 0 */
	double progress;		/* memofs_progress(): 0..1, or -1 */
};

/* A use of a stored result, not yet written to its accounting entry. */
struct memo_use {
	uint8_t key[KEY_LEN];
	uint64_t ns;			/* CLOCK_REALTIME */
};

struct memo {
	store *st;			/* protected by st_lock; NULL once let
					 * go by memo_drain() */
	pthread_rwlock_t st_lock;
	remote *remote;			/* or NULL; set before computing */
	const reg *r;
	const ds *data;
	pool *workers;
	pthread_mutex_t lock;
	pthread_cond_t changed;		/* CLOCK_MONOTONIC; broadcast when a
					 * job ends and on memo_cancel() */
	int stopping;			/* protected by lock */
	unsigned running;		/* protected by lock: jobs computing */
	unsigned here;			/* protected by lock: jobs started on
					 * an asking thread, still running */
	struct memo_flight *flights;	/* protected by lock */
	struct memo_lru cache;		/* protected by lock */
	struct memo_stats stats;	/* protected by lock */
	struct memo_fn_stats *fnstats;	/* protected by lock: one per
					 * function, registry order */
	size_t nfn;
	struct memo_use *uses;		/* protected by lock: MEMO_USES_MAX */
	size_t nuses;
	uint64_t max_age_ns;		/* memo_set_max_age(); 0: none */
	struct memo_cost {		/* protected by lock: a hint, hashed */
		const reg_fn *fn;	/* by function, a collision replaces */
		uint64_t ns;		/* its last computation's time */
	} costs[MEMO_COSTS];
};

struct memofs_ctx {
	memo *m;
	struct memo_flight *f;		/* the result being computed */
	unsigned depth;			/* 0 for a pool job */
	char *out;			/* the result so far (typed: room
					 * for the .npy header, then the
					 * values) */
	size_t len, cap;
	const void *borrowed;		/* memo_ctx_borrow(): the values */
	const double *borrowed_f64;	/* and as doubles, or NULL */
	size_t nborrowed;
	int misused;			/* memo_ctx_misuse(): fails */
	char err[MEMO_ERR_MAX];		/* memofs_error()'s message */
	memo_result **held;		/* results memofs_call() returned */
	size_t nheld, capheld;
	/* f->arg split into its canonical components (memofs_arg()). */
	char args[REG_ARG_MAX + 1];
	const char *argv[RESOLVE_ARGS_MAX];
	size_t nargs;
};

/* ---- lookups ------------------------------------------------------------ */

/* The key of fn(arg) now: with the function's current version, and each
 * canonical argument its own field (resolve_split()).  An arg that does
 * not split (never one resolve.h made) is hashed as one field. */
static void memo_key(const memo *m, const reg_fn *fn, const char *arg,
		     uint8_t key[KEY_LEN])
{
	char version[REG_VERSION_BUF];
	const char *part[RESOLVE_ARGS_MAX];
	size_t len[RESOLVE_ARGS_MAX], n = reg_fn_nargs(fn);

	if (resolve_split(fn, arg, part, len)) {
		part[0] = arg;
		len[0] = strlen(arg);
		n = 1;
	}
	key_make_args(key, reg_fn_name(fn), reg_fn_version_now(fn, version),
		      part, len, n, ds_digest(m->data), DS_DIGEST_LEN);
}

/* Has f's function changed since its key was made (reg_add_versioned())?
 * Its result then belongs to no version for sure. */
static int memo_version_moved(const memo *m, const struct memo_flight *f)
{
	uint8_t now[KEY_LEN];

	if (!reg_fn_versioned(f->fn))
		return 0;
	memo_key(m, f->fn, f->arg, now);
	return memcmp(now, f->key, KEY_LEN) != 0;
}

/* fn's counters (never NULL: an unknown fn, which the registry never
 * gives, counts in a spare slot past the end).  Caller holds m->lock. */
static struct memo_fn_stats *memo_fn_counters(memo *m, const reg_fn *fn)
{
	size_t i = 0;

	while (i < m->nfn && reg_at(m->r, i) != fn)
		i++;
	return &m->fnstats[i];
}

/* Notes that key's result was used now (for LRU eviction).  When more
 * than MEMO_USES_MAX results were used since the last memo_flush_uses(),
 * the rest keep their older time.  Caller holds m->lock. */
static void memo_note_use(memo *m, const uint8_t key[KEY_LEN])
{
	struct timespec now;

	if (m->nuses && memcmp(m->uses[m->nuses - 1].key, key, KEY_LEN) == 0)
		return;		/* one result read in many chunks */
	if (m->nuses == MEMO_USES_MAX)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	memcpy(m->uses[m->nuses].key, key, KEY_LEN);
	m->uses[m->nuses++].ns = (uint64_t)now.tv_sec * 1000000000u +
				 (uint64_t)now.tv_nsec;
}

/* Is res older than -o max_age?  Caller holds m->lock. */
static int memo_expired(const memo *m, const memo_result *res)
{
	struct timespec now;
	uint64_t ns;

	if (!m->max_age_ns)
		return 0;
	clock_gettime(CLOCK_REALTIME, &now);
	ns = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
	/* A result made in the future (a machine whose clock is ahead, or
	 * this one's set back) is new, not older than any max_age. */
	return ns > memo_result_created_ns(res) &&
	       ns - memo_result_created_ns(res) > m->max_age_ns;
}

/* The ndim a typed function's results have. */
static unsigned memo_fn_ndim(const reg_fn *fn)
{
	return reg_fn_shape(fn) == MEMOFS_SHAPE_SCALAR ? 0 : 1;
}

/* Is res of the type fn declares (dtype, ndim, and for a column nrows
 * values)?  A record that is not (written by an older memofs under the
 * same key, or by a function whose declaration changed without a new
 * version) is never served: it is recomputed and overwritten. */
static int memo_fits(const memo *m, const reg_fn *fn, const char *arg,
		     const memo_result *res)
{
	enum memofs_dtype dtype = reg_fn_arg_dtype(m->r, fn, arg);

	if (memo_result_dtype(res) != dtype)
		return 0;
	if (dtype == MEMOFS_BYTES)
		return 1;
	if (memo_result_ndim(res) != memo_fn_ndim(fn))
		return 0;
	return reg_fn_shape(fn) != MEMOFS_SHAPE_COLUMN ||
	       memo_result_count(res) == ds_nrows(m->data);
}

/* Memory, then the store, for fn's result under key.  0 and *out,
 * -ENOENT (damaged records, records not of fn's type, and results older
 * than max_age count as missing), -EIO or -ENOMEM. */
static int memo_find(memo *m, const reg_fn *fn, const char *arg,
		     const uint8_t key[KEY_LEN], memo_result **out)
{
	store_rec rec;
	memo_result *res;
	char hex[2 * KEY_LEN + 1];
	int rc;

	pthread_mutex_lock(&m->lock);
	res = memo_lru_get(&m->cache, key);
	if (res && memo_expired(m, res)) {
		memo_lru_drop(&m->cache, key);
		memo_result_unref(res);
		res = NULL;
	}
	if (res) {
		m->stats.mem_hits++;
		memo_fn_counters(m, fn)->mem_hits++;
		memo_note_use(m, key);
	}
	pthread_mutex_unlock(&m->lock);
	if (res && memo_fits(m, fn, arg, res)) {
		*out = res;
		return 0;
	}
	memo_result_unref(res);	/* NULL, or (not expected) another type */
	/* A view is never stored (a flight's writes follow its f->view): it
	 * is made again, for nothing, rather than read from the store.  The
	 * one question asked without a flight: lookups have none. */
	if (reg_fn_dataset_view(fn))
		return -ENOENT;
	pthread_rwlock_rdlock(&m->st_lock);
	rc = m->st ? store_get(m->st, key, &rec) : -ESHUTDOWN;
	pthread_rwlock_unlock(&m->st_lock);
	if (rc == -EBADMSG)
		return -ENOENT;
	if (rc)
		return rc;
	rc = memo_result_from_rec(&rec, &res);
	if (rc == 0 && !memo_fits(m, fn, arg, res)) {
		memo_result_unref(res);
		rc = -EBADMSG;
	}
	if (rc == -EBADMSG) {
		key_hex(key, hex);
		log_warn("%s: stored record %s is not of the function's type "
			 "(%s): recomputing", reg_fn_name(fn), hex,
			 "an older memofs, or a changed declaration");
		return -ENOENT;
	}
	if (rc)
		return rc;
	pthread_mutex_lock(&m->lock);
	if (memo_expired(m, res)) {
		pthread_mutex_unlock(&m->lock);
		memo_result_unref(res);
		return -ENOENT;	/* recomputed; upkeep removes the old one */
	}
	m->stats.store_hits++;
	memo_fn_counters(m, fn)->store_hits++;
	memo_note_use(m, key);
	memo_lru_put(&m->cache, key, res);
	pthread_mutex_unlock(&m->lock);
	*out = res;
	return 0;
}

int memo_lookup(memo *m, const reg_fn *fn, const char *arg,
		memo_result **out)
{
	uint8_t key[KEY_LEN];

	memo_key(m, fn, arg, key);
	return memo_find(m, fn, arg, key, out);
}

/* ---- flights ------------------------------------------------------------ */

/* Caller holds m->lock. */
static struct memo_flight *memo_flight_find(memo *m,
					    const uint8_t key[KEY_LEN])
{
	for (struct memo_flight *f = m->flights; f; f = f->next)
		if (memcmp(f->key, key, KEY_LEN) == 0)
			return f;
	return NULL;
}

/* Caller holds m->lock.  Returns a flight with refs 1 (the table's),
 * linked into m->flights, or NULL. */
static struct memo_flight *memo_flight_new(memo *m, const reg_fn *fn,
					   const char *arg,
					   const uint8_t key[KEY_LEN],
					   enum memo_state state)
{
	struct memo_flight *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->arg = strdup(arg);
	if (!f->arg) {
		free(f);
		return NULL;
	}
	memcpy(f->key, key, KEY_LEN);
	f->fn = fn;
	/* Asked once: -o delay may change what a function is while the
	 * flight runs, and its borrow, result and publication must agree. */
	f->view = reg_fn_dataset_view(fn);
	f->state = state;
	f->refs = 1;
	f->m = m;
	f->queued_ns = util_now_ns();
	f->progress = -1.0;
	pthread_cond_init(&f->done, NULL);
	f->next = m->flights;
	m->flights = f;
	return f;
}

static void memo_flight_unlink(memo *m, struct memo_flight *f)
{
	struct memo_flight **pp = &m->flights;

	while (*pp != f)
		pp = &(*pp)->next;
	*pp = f->next;
}

/* Caller holds m->lock. */
static void memo_flight_put(struct memo_flight *f)
{
	assert(f->refs > 0);
	if (--f->refs)
		return;
	assert(f->state == MEMO_DONE && !f->waiters);
	memo_result_unref(f->res);
	pthread_cond_destroy(&f->done);
	free(f->arg);
	free(f);
}

/* Publishes the outcome: the flight leaves the table, waiters are told.
 * Takes ownership of res. */
static void memo_flight_finish(memo *m, struct memo_flight *f, int err,
			       memo_result *res)
{
	struct memo_waiter *w;

	pthread_mutex_lock(&m->lock);
	f->state = MEMO_DONE;
	f->err = err;
	f->res = res;
	memo_flight_unlink(m, f);
	w = f->waiters;
	f->waiters = NULL;
	pthread_cond_broadcast(&f->done);
	memo_flight_put(f);		/* the table's reference */
	pthread_mutex_unlock(&m->lock);
	while (w) {
		struct memo_waiter *next = w->next;

		w->cb(w->cbarg, err, res);
		free(w);
		w = next;
	}
}

/* ---- computing ---------------------------------------------------------- */

/* Has memo_cancel() been called? */
static int memo_stopping(memo *m)
{
	int stopping;

	pthread_mutex_lock(&m->lock);
	stopping = m->stopping;
	pthread_mutex_unlock(&m->lock);
	return stopping;
}

static void memo_ctx_release(memofs_ctx *ctx)
{
	for (size_t i = 0; i < ctx->nheld; i++)
		memo_result_unref(ctx->held[i]);
	free(ctx->held);
	free(ctx->out);
}

/* ---- where to compute --------------------------------------------------- */

static struct memo_cost *memo_cost_slot(memo *m, const reg_fn *fn)
{
	uintptr_t h = (uintptr_t)fn;

	h ^= h >> 17;
	return &m->costs[(h * UINT64_C(0x9e3779b97f4a7c15)) >> 58];
}

/* Notes how long fn's last computation took (nested ones included). */
static void memo_cost_set(memo *m, const reg_fn *fn, uint64_t ns)
{
	struct memo_cost *c;

	pthread_mutex_lock(&m->lock);
	c = memo_cost_slot(m, fn);
	c->fn = fn;
	c->ns = ns;
	pthread_mutex_unlock(&m->lock);
}

/* Caller holds m->lock.  Is fn known to be cheap: did its last computation,
 * nested calls included, take less than MEMO_INLINE_NS?  A function never
 * computed yet is not. */
static int memo_cheap(memo *m, const reg_fn *fn)
{
	const struct memo_cost *c = memo_cost_slot(m, fn);

	return c->fn == fn && c->ns < MEMO_INLINE_NS;
}

/* Stores the new result; a failure to store is logged and counted, and
 * the result is still served (it just is not cached on disk). */
static void memo_persist(memo *m, struct memo_flight *f, memo_result *res,
			 uint64_t ns)
{
	int rc;

	pthread_rwlock_rdlock(&m->st_lock);
	rc = m->st ? store_put_named(m->st, f->key, reg_fn_name(f->fn), f->arg,
				     memo_result_data(res),
				     memo_result_len(res), ns,
				     memo_result_created_ns(res),
				     memo_result_tag(res))
		   : -ESHUTDOWN;
	pthread_rwlock_unlock(&m->st_lock);
	pthread_mutex_lock(&m->lock);
	if (rc)
		m->stats.store_errors++;
	memo_lru_put(&m->cache, f->key, res);
	pthread_mutex_unlock(&m->lock);
	if (rc && rc != -ESHUTDOWN)	/* not after memo_drain() gave up */
		log_warn("%s(%s): result served but not cached: %s",
			 reg_fn_name(f->fn), f->arg, strerror(-rc));
}

/* Splits f->arg into ctx->argv, NUL-terminated copies in ctx->args (an
 * argument that does not split is one component). */
static void memo_ctx_split(memofs_ctx *ctx)
{
	const char *part[RESOLVE_ARGS_MAX];
	size_t len[RESOLVE_ARGS_MAX], used = 0;

	ctx->nargs = reg_fn_nargs(ctx->f->fn);
	if (strlen(ctx->f->arg) >= sizeof(ctx->args) ||
	    resolve_split(ctx->f->fn, ctx->f->arg, part, len)) {
		ctx->nargs = 1;
		part[0] = ctx->f->arg;
		len[0] = strnlen(ctx->f->arg, sizeof(ctx->args) - 1);
	}
	for (size_t i = 0; i < ctx->nargs; i++) {
		memcpy(ctx->args + used, part[i], len[i]);
		ctx->args[used + len[i]] = '\0';
		ctx->argv[i] = ctx->args + used;
		used += len[i] + 1;
	}
}

/* The expected count of values of a typed result of fn: got when its
 * shape does not say. */
static size_t memo_shape_count(const memo *m, const reg_fn *fn, size_t got)
{
	if (reg_fn_shape(fn) == MEMOFS_SHAPE_SCALAR)
		return 1;
	if (reg_fn_shape(fn) == MEMOFS_SHAPE_COLUMN)
		return ds_nrows(m->data);
	return got;
}

/* The result of a dataset view (memo_ctx_borrow()): 0 and *out, or
 * -EINVAL / -ENOMEM with why in ctx->err. */
static int memo_make_borrowed(memo *m, const struct memo_flight *f,
			      memofs_ctx *ctx, enum memofs_dtype dtype,
			      memo_result **out)
{
	size_t want = memo_shape_count(m, f->fn, ctx->nborrowed);
	int rc;

	if (ctx->nborrowed != want) {
		snprintf(ctx->err, sizeof(ctx->err), "borrowed %zu values, "
			 "its shape says %zu", ctx->nborrowed, want);
		return -EINVAL;
	}
	rc = memo_result_borrowed(ctx->borrowed, ctx->borrowed_f64,
				  ctx->nborrowed, dtype, memo_fn_ndim(f->fn),
				  out);
	if (rc)
		snprintf(ctx->err, sizeof(ctx->err), "%s",
			 rc == -ENOMEM ? "out of memory" : "bad typed result");
	return rc;
}

/* The result ctx made for f, of f's declared type.  0 and *out, with
 * ctx->out taken (set to NULL); or -EINVAL (a typed result of another
 * count of values than its shape says) or -ENOMEM, with why in ctx->err
 * (ctx->out is then taken or left for memo_ctx_release()). */
static int memo_make_result(memo *m, const struct memo_flight *f,
			    memofs_ctx *ctx, memo_result **out)
{
	enum memofs_dtype dtype = reg_fn_arg_dtype(m->r, f->fn, f->arg);
	size_t want, got;
	int rc;

	if (ctx->borrowed)
		return memo_make_borrowed(m, f, ctx, dtype, out);
	if (dtype == MEMOFS_BYTES) {
		*out = memo_result_from_buf(ctx->out, ctx->len);
		rc = *out ? 0 : -ENOMEM;
	} else {
		if (ctx->len == 0 && memo_ctx_write(ctx, NULL, 0) != 0) {
			snprintf(ctx->err, sizeof(ctx->err), "out of memory");
			return -ENOMEM;	/* memo_ctx_release() frees out */
		}
		got = (ctx->len - MEMO_NPY_HDR) / 8;
		want = memo_shape_count(m, f->fn, got);
		if (got != want) {
			snprintf(ctx->err, sizeof(ctx->err),
				 "wrote %zu values, its shape says %zu", got,
				 want);
			return -EINVAL;	/* memo_ctx_release() frees out */
		}
		rc = memo_result_typed(ctx->out, ctx->len, dtype,
				       memo_fn_ndim(f->fn), out);
	}
	ctx->out = NULL;	/* taken, even on failure */
	if (rc)
		snprintf(ctx->err, sizeof(ctx->err), "%s",
			 rc == -ENOMEM ? "out of memory" : "bad typed result");
	return rc;
}

/* Runs f's function.  Returns 0 and *out, or -EIO (logged). */
static int memo_compute(memo *m, struct memo_flight *f, unsigned depth,
			memo_result **out)
{
	memofs_ctx ctx = { .m = m, .f = f, .depth = depth };
	uint64_t t0 = (uint64_t)util_now_ns(), ns;
	int rc;

	memo_ctx_split(&ctx);
	log_info("%s(%s): computing", reg_fn_name(f->fn), f->arg);
	rc = reg_fn_compute(f->fn, &ctx, f->arg);
	if (rc == 0 && ctx.misused)
		rc = -EINVAL;	/* its message is in ctx.err */
	ns = (uint64_t)util_now_ns() - t0;
	memo_cost_set(m, f->fn, ns);
	if (rc) {
		log_warn("%s(%s): failed after %.3f s: %s", reg_fn_name(f->fn),
			 f->arg, ns / 1e9,
			 ctx.err[0] ? ctx.err : strerror(rc < 0 ? -rc : EIO));
		memo_ctx_release(&ctx);
		return memo_stopping(m) ? -ESHUTDOWN : -EIO;
	}
	if (memo_version_moved(m, f)) {
		log_warn("%s(%s): failed after %.3f s: the function's program "
			 "or script changed while it ran", reg_fn_name(f->fn),
			 f->arg, ns / 1e9);
		memo_ctx_release(&ctx);
		return -EIO;
	}
	rc = memo_make_result(m, f, &ctx, out);
	memo_ctx_release(&ctx);
	if (rc) {
		log_warn("%s(%s): failed after %.3f s: %s", reg_fn_name(f->fn),
			 f->arg, ns / 1e9, ctx.err);
		return -EIO;
	}
	/* Only a view borrows (memo_ctx_borrow()): a borrowed result is
	 * never stored. */
	assert(f->view || !memo_result_is_borrowed(*out));
	if (f->view) {
		log_info("%s(%s): done in %.3f s, a view of the dataset "
			 "(kept in memory, never stored)", reg_fn_name(f->fn),
			 f->arg, ns / 1e9);
		pthread_mutex_lock(&m->lock);
		memo_lru_put(&m->cache, f->key, *out);
		pthread_mutex_unlock(&m->lock);
		return 0;
	}
	log_info("%s(%s): done in %.3f s, %zu bytes", reg_fn_name(f->fn),
		 f->arg, ns / 1e9, memo_result_len(*out));
	memo_persist(m, f, *out, ns);
	return 0;
}

/* Counts a remote fetch's outcome for fn (`memofs stats`). */
static void memo_remote_count(memo *m, const reg_fn *fn,
			      const struct remote_claim *cl)
{
	struct memo_fn_stats *c;

	pthread_mutex_lock(&m->lock);
	c = memo_fn_counters(m, fn);
	c->remote_hits += cl->outcome == REMOTE_HIT;
	c->remote_leases += cl->outcome == REMOTE_LEASED;
	c->remote_misses += cl->missed && cl->outcome != REMOTE_BUSY;
	c->remote_waited += cl->outcome == REMOTE_BUSY;
	pthread_mutex_unlock(&m->lock);
}

/* After a local miss, the remote tier (remote.h): 0 and *out when it had
 * the result, now also in the store; -EBUSY when another machine computes
 * it and wait is 0; -ESHUTDOWN; else -ENOENT, and *cl says whether this
 * machine computes it for every machine. */
static int memo_remote_find(memo *m, struct memo_flight *f, int wait,
			    struct remote_claim *cl, memo_result **out)
{
	store_rec srec;
	void *rec;
	size_t len;
	char why[96];
	int rc;

	if (!m->remote || f->view)
		return -ENOENT;	/* a view takes no lease: nothing published */
	rc = remote_fetch(m->remote, f->key, wait, cl, &rec, &len);
	memo_remote_count(m, f->fn, cl);
	if (rc || cl->outcome != REMOTE_HIT)
		return rc ? rc : cl->outcome == REMOTE_BUSY ? -EBUSY : -ENOENT;
	rc = store_rec_adopt(rec, len, &srec, why, sizeof(why));
	assert(rc == 0);	/* remote_fetch() verified it */
	rc = memo_result_from_rec(&srec, out);	/* owns rec now */
	if (rc == 0 && !memo_fits(m, f->fn, f->arg, *out)) {
		memo_result_unref(*out);
		rc = -EBADMSG;
	}
	if (rc) {
		log_warn("%s(%s): remote record not of the function's type: "
			 "recomputing", reg_fn_name(f->fn), f->arg);
		return -ENOENT;	/* computed, and published, here */
	}
	pthread_rwlock_rdlock(&m->st_lock);
	if (m->st)	/* the same record, with its accounting entry */
		store_put_named(m->st, f->key, reg_fn_name(f->fn), f->arg,
				srec.data, srec.len, srec.compute_ns,
				srec.created_ns, srec.tag);	/* logs */
	pthread_rwlock_unlock(&m->st_lock);
	log_info("%s(%s): from the remote cache, %zu bytes",
		 reg_fn_name(f->fn), f->arg, memo_result_len(*out));
	pthread_mutex_lock(&m->lock);
	memo_lru_put(&m->cache, f->key, *out);
	pthread_mutex_unlock(&m->lock);
	return 0;
}

/* The caller has made f RUNNING and holds a reference.  Serves f from the
 * cache if someone stored it meanwhile, or from the remote tier, else
 * computes (publishing to the remote tier when leased); then finishes.
 * With may_park (a pool job, memo_job), it does not wait for another
 * machine's computation: it returns -EBUSY, f not finished, for the
 * caller to park f (memo_job_park).  Else 0: f is finished. */
static int memo_execute(memo *m, struct memo_flight *f, unsigned depth,
			int may_park)
{
	struct remote_claim cl = { .outcome = REMOTE_LOCAL };
	memo_result *res = NULL;
	int rc = memo_find(m, f->fn, f->arg, f->key, &res);
	int computed = 0;
	int64_t t0 = util_now_ns();

	if (rc == -ENOENT || rc == -EIO)
		rc = memo_remote_find(m, f, !may_park, &cl, &res);
	if (rc == -EBUSY)
		return rc;
	pthread_mutex_lock(&m->lock);
	f->started_ns = util_now_ns();
	pthread_mutex_unlock(&m->lock);
	if (rc == -ENOENT || rc == -EIO) {
		rc = memo_compute(m, f, depth, &res);
		computed = 1;
	}
	if (m->remote)	/* publishes only what it leased: never a view */
		remote_finish(m->remote, &cl, rc ? NULL : memo_result_data(res),
			      rc ? 0 : memo_result_len(res),
			      (uint64_t)(util_now_ns() - t0),
			      rc ? 0 : memo_result_tag(res));
	if (computed) {
		pthread_mutex_lock(&m->lock);
		if (rc) {
			m->stats.failed++;
			memo_fn_counters(m, f->fn)->failed++;
		} else {
			m->stats.computed++;
			memo_fn_counters(m, f->fn)->computed++;
		}
		pthread_mutex_unlock(&m->lock);
	}
	memo_flight_finish(m, f, rc, rc ? NULL : res);
	return 0;
}

static void memo_job_wake(void *arg);

/* A pool job whose result another machine computes (memo_execute() said
 * -EBUSY) gives its worker back: the flight is QUEUED again, and the
 * remote tier's listener resubmits the job (memo_job_wake) when that
 * result is published or the lease may have expired.  Returns 1 when the
 * job is done with f (parked, the job's reference passed on; or taken
 * meanwhile by a nested call, the reference dropped), 0 to look again
 * here at once.  Nested calls never park: their caller needs the result
 * now. */
static int memo_job_park(memo *m, struct memo_flight *f)
{
	int rc, mine;

	pthread_mutex_lock(&m->lock);
	f->state = MEMO_QUEUED;
	pthread_mutex_unlock(&m->lock);
	rc = remote_watch(m->remote, f->key, memo_job_wake, f);
	pthread_mutex_lock(&m->lock);
	mine = rc != 0 && f->state == MEMO_QUEUED;
	if (mine)
		f->state = MEMO_RUNNING;	/* look again, here */
	else if (rc != 0)
		memo_flight_put(f);		/* stolen meanwhile */
	pthread_mutex_unlock(&m->lock);
	return !mine;
}

static void memo_job(void *arg)
{
	struct memo_flight *f = arg;
	memo *m = f->m;
	int parked = 0;

	pthread_mutex_lock(&m->lock);
	if (f->state != MEMO_QUEUED) {	/* stolen by a nested call */
		memo_flight_put(f);
		pthread_mutex_unlock(&m->lock);
		return;
	}
	f->state = MEMO_RUNNING;
	m->running++;
	pthread_mutex_unlock(&m->lock);
	while (!parked && memo_execute(m, f, 0, 1) == -EBUSY)
		parked = memo_job_park(m, f);
	pthread_mutex_lock(&m->lock);
	m->running--;
	pthread_cond_broadcast(&m->changed);
	if (!parked)
		memo_flight_put(f);
	pthread_mutex_unlock(&m->lock);
}

/* The job of f will not run: f, unless a nested call has taken it, fails
 * with err.  Drops the job's reference. */
static void memo_job_fail(struct memo_flight *f, int err)
{
	memo *m = f->m;

	pthread_mutex_lock(&m->lock);
	if (f->state == MEMO_QUEUED) {
		f->state = MEMO_RUNNING;
		pthread_mutex_unlock(&m->lock);
		memo_flight_finish(m, f, err, NULL);
		pthread_mutex_lock(&m->lock);
	}
	memo_flight_put(f);
	pthread_mutex_unlock(&m->lock);
}

/* pool_cancel()'s drop function. */
static void memo_job_drop(void *arg)
{
	memo_job_fail(arg, -ESHUTDOWN);
}

/* remote_watch()'s wake: the parked job runs again, or, once the pool is
 * stopping, fails. */
static void memo_job_wake(void *arg)
{
	struct memo_flight *f = arg;
	int rc = pool_submit(f->m->workers, memo_job, f);

	if (rc)
		memo_job_fail(f, rc);
}

/* Runs the job of the new flight f here when a worker is free (in its
 * place, pool_try_run()), else queues it.  The job's reference is taken. */
static void memo_job_start_here(memo *m, struct memo_flight *f)
{
	int rc = pool_try_run(m->workers, memo_job, f);

	if (rc == -EBUSY)
		rc = pool_submit(m->workers, memo_job, f);
	if (rc)
		memo_job_fail(f, rc);
}

int memo_submit(memo *m, const reg_fn *fn, const char *arg, memo_done_fn cb,
		void *cbarg)
{
	uint8_t key[KEY_LEN];
	struct memo_waiter *w = malloc(sizeof(*w));
	struct memo_flight *f = NULL;
	int rc = 0, here = 0;

	if (!w)
		return -ENOMEM;
	w->cb = cb;
	w->cbarg = cbarg;
	memo_key(m, fn, arg, key);
	pthread_mutex_lock(&m->lock);
	if (m->stopping) {
		rc = -ESHUTDOWN;
	} else if ((f = memo_flight_find(m, key)) != NULL) {
		m->stats.joined++;
		memo_fn_counters(m, fn)->joined++;
	} else {
		f = memo_flight_new(m, fn, arg, key, MEMO_QUEUED);
		/* Never with a remote tier: its lookup is a network round
		 * trip, up to remote_timeout, not for a FUSE thread. */
		here = f && !m->remote && m->here < MEMO_INLINE_MAX &&
		       memo_cheap(m, fn);
		m->here += here;
		rc = !f ? -ENOMEM
			: here ? 0 : pool_submit(m->workers, memo_job, f);
		if (rc == 0)
			f->refs++;	/* the job's reference */
		else if (f) {
			memo_flight_unlink(m, f);
			f->state = MEMO_DONE;
			memo_flight_put(f);
		}
	}
	if (rc == 0) {
		w->next = f->waiters;
		f->waiters = w;
	}
	pthread_mutex_unlock(&m->lock);
	if (rc)
		free(w);
	else if (here)
		memo_job_start_here(m, f);
	if (here) {
		pthread_mutex_lock(&m->lock);
		m->here--;
		pthread_mutex_unlock(&m->lock);
	}
	return rc;
}

/* ---- nested calls ------------------------------------------------------- */

/* Caller holds m->lock.  Would waiting for f from ctx close a cycle? */
static int memo_would_cycle(const memofs_ctx *ctx,
			    const struct memo_flight *f)
{
	for (const struct memo_flight *g = f; g; g = g->waiting_on)
		if (g == ctx->f)
			return 1;
	return 0;
}

/* Gets f's outcome for a nested caller, computing f here when nobody has
 * started it.  Caller holds m->lock; it is held again on return. */
static int memo_await(memofs_ctx *ctx, struct memo_flight *f,
		      memo_result **out)
{
	memo *m = ctx->m;
	int rc;

	if (f->state == MEMO_RUNNING && memo_would_cycle(ctx, f))
		return -ELOOP;
	f->refs++;
	ctx->f->waiting_on = f;
	if (f->state == MEMO_QUEUED) {
		f->state = MEMO_RUNNING;
		pthread_mutex_unlock(&m->lock);
		memo_execute(m, f, ctx->depth + 1, 0);
		pthread_mutex_lock(&m->lock);
	} else {
		m->stats.joined++;
		memo_fn_counters(m, f->fn)->joined++;
		while (f->state != MEMO_DONE)
			pthread_cond_wait(&f->done, &m->lock);
	}
	ctx->f->waiting_on = NULL;
	rc = f->err;
	if (rc == 0)
		*out = memo_result_ref(f->res);
	memo_flight_put(f);
	return rc;
}

/* The flight for key, joined or created (QUEUED, for memo_await() to run
 * here).  Caller holds m->lock. */
static struct memo_flight *memo_flight_get(memo *m, const reg_fn *fn,
					   const char *arg,
					   const uint8_t key[KEY_LEN])
{
	struct memo_flight *f = memo_flight_find(m, key);

	return f ? f : memo_flight_new(m, fn, arg, key, MEMO_QUEUED);
}

static int memo_hold(memofs_ctx *ctx, memo_result *res)
{
	if (util_grow(&ctx->held, &ctx->capheld, ctx->nheld + 1,
		      sizeof(*ctx->held), 4) != 0) {
		memo_result_unref(res);
		return -ENOMEM;
	}
	ctx->held[ctx->nheld++] = res;
	return 0;
}

static int memo_call_result(memofs_ctx *ctx, const char *fname,
			    const char *arg, memo_result **out)
{
	memo *m = ctx->m;
	char canon[REG_ARG_MAX + 1];
	uint8_t key[KEY_LEN];
	const reg_fn *fn = reg_find(m->r, fname);
	struct memo_flight *f;
	int rc;

	if (!fn || resolve_path(m->r, fn, arg, canon, sizeof(canon)))
		return -ENOENT;
	if (ctx->depth + 1 >= MEMO_MAX_DEPTH)
		return -ELOOP;
	memo_key(m, fn, canon, key);
	rc = memo_find(m, fn, canon, key, out);
	if (rc != -ENOENT && rc != -EIO)
		return rc;
	if (memo_stopping(m))
		return -ESHUTDOWN;
	pthread_mutex_lock(&m->lock);
	f = memo_flight_get(m, fn, canon, key);
	rc = f ? memo_await(ctx, f, out) : -ENOMEM;
	pthread_mutex_unlock(&m->lock);
	return rc;
}

const reg_fn *memo_ctx_fn(const memofs_ctx *ctx)
{
	return ctx->f->fn;
}

const char *memo_ctx_arg(const memofs_ctx *ctx, size_t i)
{
	return i < ctx->nargs ? ctx->argv[i] : NULL;
}

size_t memo_ctx_nargs(const memofs_ctx *ctx)
{
	return ctx->nargs;
}

const reg *memo_ctx_reg(const memofs_ctx *ctx)
{
	return ctx->m->r;
}

int memo_ctx_call(memofs_ctx *ctx, const char *fn, const char *arg,
			  memo_result **res)
{
	int rc = memo_call_result(ctx, fn, arg, res);

	return rc ? rc : memo_hold(ctx, *res);
}

const ds *memo_ctx_data(const memofs_ctx *ctx)
{
	return ctx->m->data;
}

int memo_ctx_write(memofs_ctx *ctx, const void *buf, size_t len)
{
	size_t hdr = 0;

	if (ctx->borrowed)
		return memo_ctx_misuse(ctx, "values written after borrowed "
				       "ones");
	/* A typed result starts with room for its .npy header. */
	if (ctx->len == 0 && memo_ctx_dtype(ctx) != MEMOFS_BYTES)
		hdr = MEMO_NPY_HDR;
	if (len > SIZE_MAX - ctx->len - hdr ||
	    util_grow(&ctx->out, &ctx->cap, ctx->len + hdr + len, 1, 256) != 0)
		return -ENOMEM;
	memset(ctx->out, 0, hdr);
	ctx->len += hdr;
	if (len)
		memcpy(ctx->out + ctx->len, buf, len);
	ctx->len += len;
	return 0;
}

int memo_ctx_borrow(memofs_ctx *ctx, const void *values, const double *f64,
		    size_t n)
{
	if (!ctx->f->view || ctx->len || ctx->borrowed ||
	    !values || memo_ctx_dtype(ctx) == MEMOFS_BYTES)
		return memo_ctx_misuse(ctx, "borrowed values misused");
	ctx->borrowed = values;
	ctx->borrowed_f64 = memo_ctx_dtype(ctx) == MEMOFS_FLOAT64 ? values
								  : f64;
	ctx->nborrowed = n;
	return 0;
}

enum memofs_dtype memo_ctx_dtype(const memofs_ctx *ctx)
{
	return reg_fn_arg_dtype(ctx->m->r, ctx->f->fn, ctx->f->arg);
}

int memo_ctx_misuse(memofs_ctx *ctx, const char *what)
{
	if (!ctx->misused)
		snprintf(ctx->err, sizeof(ctx->err), "%s", what);
	ctx->misused = 1;
	return -EINVAL;
}

char *memo_ctx_err(memofs_ctx *ctx, size_t *size)
{
	*size = sizeof(ctx->err);
	return ctx->err;
}

/* ---- life cycle --------------------------------------------------------- */

int memo_new(store *st, const reg *r, const ds *d, unsigned workers,
	     memo **out)
{
	memo *m = calloc(1, sizeof(*m));
	pthread_condattr_t ca;
	int rc;

	if (!m)
		return -ENOMEM;
	m->st = st;
	m->r = r;
	m->data = d;
	m->nfn = reg_count(r);
	m->fnstats = calloc(m->nfn + 1, sizeof(*m->fnstats));
	m->uses = malloc(MEMO_USES_MAX * sizeof(*m->uses));
	if (!m->fnstats || !m->uses) {
		free(m->fnstats);
		free(m->uses);
		free(m);
		return -ENOMEM;
	}
	memo_lru_init(&m->cache, MEMO_CACHE_BYTES);
	pthread_mutex_init(&m->lock, NULL);
	pthread_rwlock_init(&m->st_lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&m->changed, &ca);
	pthread_condattr_destroy(&ca);
	rc = pool_new(workers, &m->workers);
	if (rc) {
		pthread_cond_destroy(&m->changed);
		pthread_rwlock_destroy(&m->st_lock);
		pthread_mutex_destroy(&m->lock);
		free(m->fnstats);
		free(m->uses);
		free(m);
		return rc;
	}
	*out = m;
	return 0;
}

void memo_set_cache_bytes(memo *m, size_t bytes)
{
	pthread_mutex_lock(&m->lock);
	m->cache.budget = bytes;
	pthread_mutex_unlock(&m->lock);
}

void memo_set_remote(memo *m, remote *rm)
{
	m->remote = rm;
}

void memo_cancel(memo *m)
{
	pthread_mutex_lock(&m->lock);
	m->stopping = 1;
	pthread_cond_broadcast(&m->changed);
	pthread_mutex_unlock(&m->lock);
	if (m->remote)
		remote_cancel(m->remote);	/* wakes remote waits */
	pool_cancel(m->workers, memo_job_drop);
	reg_cancel(m->r);	/* what may never end by itself (commands) */
}

/* The absolute CLOCK_MONOTONIC time seconds from now. */
static struct timespec memo_deadline(double seconds)
{
	struct timespec ts;
	uint64_t ns;

	if (seconds > 1e9)
		seconds = 1e9;
	ns = (uint64_t)util_now_ns() + (uint64_t)(seconds * 1e9);
	ts.tv_sec = (time_t)(ns / 1000000000u);
	ts.tv_nsec = (long)(ns % 1000000000u);
	return ts;
}

/* Caller holds m->lock.  Takes the waiters off every flight. */
static struct memo_waiter *memo_take_waiters(memo *m)
{
	struct memo_waiter *all = NULL;

	for (struct memo_flight *f = m->flights; f; f = f->next) {
		while (f->waiters) {
			struct memo_waiter *w = f->waiters;

			f->waiters = w->next;
			w->next = all;
			all = w;
		}
	}
	return all;
}

int memo_drain(memo *m, double grace)
{
	struct timespec until = memo_deadline(grace);
	struct memo_waiter *w = NULL;
	unsigned left;

	pthread_mutex_lock(&m->lock);
	while (m->running && pthread_cond_timedwait(&m->changed, &m->lock,
						    &until) != ETIMEDOUT)
		;
	left = m->running;
	if (left)
		w = memo_take_waiters(m);
	pthread_mutex_unlock(&m->lock);
	if (!left)
		return 0;
	while (w) {
		struct memo_waiter *next = w->next;

		w->cb(w->cbarg, -ESHUTDOWN, NULL);
		free(w);
		w = next;
	}
	pthread_rwlock_wrlock(&m->st_lock);
	m->st = NULL;
	pthread_rwlock_unlock(&m->st_lock);
	return (int)left;
}

int memo_sleep(memofs_ctx *ctx, double seconds)
{
	memo *m = ctx->m;
	struct timespec until = memo_deadline(seconds);
	int rc = 0;

	pthread_mutex_lock(&m->lock);
	while (!m->stopping && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&m->changed, &m->lock, &until);
	rc = m->stopping ? -ECANCELED : 0;
	pthread_mutex_unlock(&m->lock);
	return rc;
}

void memo_free(memo *m)
{
	if (!m)
		return;
	if (m->remote)
		remote_cancel(m->remote);	/* parked jobs run, and end */
	pool_free(m->workers);
	assert(!m->flights && !m->running);
	memo_lru_clear(&m->cache);
	pthread_cond_destroy(&m->changed);
	pthread_rwlock_destroy(&m->st_lock);
	pthread_mutex_destroy(&m->lock);
	free(m->fnstats);
	free(m->uses);
	free(m);
}

void memo_get_stats(memo *m, struct memo_stats *out)
{
	struct remote_stats rs = { 0 };

	if (m->remote)
		remote_get_stats(m->remote, &rs);
	pthread_mutex_lock(&m->lock);
	*out = m->stats;
	pthread_mutex_unlock(&m->lock);
	out->remote_hits = rs.hits;
	out->remote_misses = rs.misses;
	out->remote_leases = rs.leases;
	out->remote_waited = rs.waited;
}

/* ---- operating: stats, limits, clearing, jobs, provenance -------------- */

void memo_note_read(memo *m, const reg_fn *fn)
{
	pthread_mutex_lock(&m->lock);
	memo_fn_counters(m, fn)->reads++;
	pthread_mutex_unlock(&m->lock);
}

int memo_get_fn_stats(memo *m, size_t i, struct memo_fn_stats *out)
{
	if (i >= m->nfn)
		return -ENOENT;
	pthread_mutex_lock(&m->lock);
	*out = m->fnstats[i];
	pthread_mutex_unlock(&m->lock);
	return 0;
}

void memo_set_max_age(memo *m, uint64_t max_age_ns)
{
	pthread_mutex_lock(&m->lock);
	m->max_age_ns = max_age_ns;
	pthread_mutex_unlock(&m->lock);
}

int memo_flush_uses(memo *m)
{
	struct memo_use *uses = malloc(MEMO_USES_MAX * sizeof(*uses));
	size_t n;
	int rc = 0;

	if (!uses)
		return -ENOMEM;
	pthread_mutex_lock(&m->lock);
	n = m->nuses;
	memcpy(uses, m->uses, n * sizeof(*uses));
	m->nuses = 0;
	pthread_mutex_unlock(&m->lock);
	pthread_rwlock_rdlock(&m->st_lock);
	for (size_t i = 0; m->st && i < n; i++) {
		int r = store_touch(m->st, uses[i].key, uses[i].ns);

		if (r && r != -ENOENT)
			rc = r;
	}
	pthread_rwlock_unlock(&m->st_lock);
	free(uses);
	return rc;
}

/* The index of the function named name in the registry, or m->nfn. */
static size_t memo_fn_index(const memo *m, const char *name)
{
	size_t i = 0;

	while (i < m->nfn && strcmp(reg_fn_name(reg_at(m->r, i)), name) != 0)
		i++;
	return i;
}

/* Removes key's record (the caller read-holds m->st_lock, m->st set):
 * from the store, from memory, counted as evicted (else as cleared) for
 * its function, and tells cb.  0 or -errno. */
static int memo_remove(memo *m, const uint8_t key[KEY_LEN], int evicting,
		       memo_removed_fn cb, void *cbarg)
{
	char names[STORE_NAMES_BUF];
	struct store_meta meta;
	int have = store_get_meta(m->st, key, &meta, names) == 0;
	int rc = store_delete(m->st, key);

	if (rc)
		return rc;
	pthread_mutex_lock(&m->lock);
	memo_lru_drop(&m->cache, key);
	if (have && evicting)
		m->fnstats[memo_fn_index(m, meta.fn)].evicted++;
	else if (have)
		m->fnstats[memo_fn_index(m, meta.fn)].cleared++;
	pthread_mutex_unlock(&m->lock);
	if (have && cb)
		cb(cbarg, meta.fn, meta.arg);
	return 0;
}

/* A growing array of evict_item's, filled by store_scan(). */
struct memo_scan {
	struct evict_item *items;
	size_t n, cap;
	const char *fn, *arg;	/* memo_clear(): the ones to keep, or NULL */
};

static int memo_scan_add(void *arg, const struct store_meta *meta)
{
	struct memo_scan *sc = arg;
	struct evict_item *it;

	if ((sc->fn && strcmp(sc->fn, meta->fn) != 0) ||
	    (sc->arg && strcmp(sc->arg, meta->arg) != 0))
		return 0;
	if (util_grow(&sc->items, &sc->cap, sc->n + 1, sizeof(*sc->items),
		      256) != 0)
		return -ENOMEM;
	it = &sc->items[sc->n++];
	memcpy(it->key, meta->key, KEY_LEN);
	it->bytes = meta->len;
	it->created_ns = meta->created_ns;
	it->used_ns = meta->used_ns;
	return 0;
}

int memo_evict(memo *m, uint64_t max_bytes, uint64_t now_ns,
	       memo_removed_fn cb, void *cbarg, size_t *evicted)
{
	struct memo_scan sc = { 0 };
	uint64_t max_age, min_created = 0;
	size_t k = 0;
	int rc;

	*evicted = 0;
	pthread_mutex_lock(&m->lock);
	max_age = m->max_age_ns;
	pthread_mutex_unlock(&m->lock);
	if (max_age && now_ns > max_age)
		min_created = now_ns - max_age;
	pthread_rwlock_rdlock(&m->st_lock);
	rc = m->st ? store_scan(m->st, memo_scan_add, &sc) : -ESHUTDOWN;
	if (rc == 0)
		k = evict_choose(sc.items, sc.n, max_bytes, min_created);
	for (size_t i = 0; rc == 0 && i < k; i++)
		rc = memo_remove(m, sc.items[i].key, 1, cb, cbarg);
	if (k && rc == 0)
		rc = store_compact(m->st);
	pthread_rwlock_unlock(&m->st_lock);
	free(sc.items);
	*evicted = k;
	return rc;
}

int memo_clear(memo *m, const char *fn, const char *arg,
	       memo_removed_fn cb, void *cbarg, size_t *cleared)
{
	struct memo_scan sc = { .fn = fn, .arg = arg };
	int rc;

	*cleared = 0;
	pthread_rwlock_rdlock(&m->st_lock);
	rc = m->st ? store_scan(m->st, memo_scan_add, &sc) : -ESHUTDOWN;
	for (size_t i = 0; rc == 0 && i < sc.n; i++) {
		rc = memo_remove(m, sc.items[i].key, 0, cb, cbarg);
		*cleared += rc == 0;
	}
	if (rc == 0 && !fn)	/* records without an accounting entry too */
		rc = store_delete_all(m->st);
	pthread_rwlock_unlock(&m->st_lock);
	pthread_mutex_lock(&m->lock);
	memo_lru_clear(&m->cache);
	pthread_mutex_unlock(&m->lock);
	free(sc.items);
	return rc;
}

/* store_scan()'s callback of memo_usage(). */
struct memo_usage_scan {
	memo *m;
	struct memo_usage *u;	/* m->nfn + 1 */
};

static int memo_usage_add(void *arg, const struct store_meta *meta)
{
	struct memo_usage_scan *us = arg;
	struct memo_usage *u = &us->u[memo_fn_index(us->m, meta->fn)];

	u->entries++;
	u->bytes += meta->len;
	return 0;
}

int memo_usage(memo *m, struct memo_usage *u)
{
	struct memo_usage_scan us = { .m = m, .u = u };
	int rc;

	memset(u, 0, (m->nfn + 1) * sizeof(*u));
	pthread_rwlock_rdlock(&m->st_lock);
	rc = m->st ? store_scan(m->st, memo_usage_add, &us) : -ESHUTDOWN;
	pthread_rwlock_unlock(&m->st_lock);
	return rc;
}

size_t memo_fn_count(const memo *m)
{
	return m->nfn;
}

int memo_disk_bytes(memo *m, uint64_t *bytes)
{
	int rc;

	pthread_rwlock_rdlock(&m->st_lock);
	rc = m->st ? store_disk_bytes(m->st, bytes) : -ESHUTDOWN;
	pthread_rwlock_unlock(&m->st_lock);
	return rc;
}

/* Caller holds m->lock.  The callbacks waiting for f. */
static unsigned memo_flight_waiters(const struct memo_flight *f)
{
	unsigned n = 0;

	for (const struct memo_waiter *w = f->waiters; w; w = w->next)
		n++;
	return n;
}

int memo_jobs(memo *m, struct memo_job **out, size_t *n)
{
	struct memo_job *jobs = NULL;
	size_t cnt = 0, i = 0;
	int64_t now = util_now_ns();

	*out = NULL;
	*n = 0;
	pthread_mutex_lock(&m->lock);
	for (struct memo_flight *f = m->flights; f; f = f->next)
		cnt++;
	if (cnt)
		jobs = calloc(cnt, sizeof(*jobs));
	for (struct memo_flight *f = m->flights; jobs && f; f = f->next) {
		struct memo_job *j = &jobs[i];

		j->fn = reg_fn_name(f->fn);
		snprintf(j->arg, sizeof(j->arg), "%s", f->arg);
		j->running = f->state == MEMO_RUNNING;
		j->seconds = (double)(now - (j->running && f->started_ns
						     ? f->started_ns
						     : f->queued_ns)) / 1e9;
		j->waiters = memo_flight_waiters(f);
		j->progress = f->progress;
		i++;
	}
	pthread_mutex_unlock(&m->lock);
	if (cnt && !jobs)
		return -ENOMEM;
	*out = jobs;
	*n = i;
	return 0;
}

int memo_info(memo *m, const reg_fn *fn, const char *arg,
	      struct memo_info *out)
{
	char names[STORE_NAMES_BUF];
	struct store_meta meta;
	struct memo_flight *f;
	memo_result *res;
	int rc;

	memset(out, 0, sizeof(*out));
	memo_key(m, fn, arg, out->key);
	pthread_mutex_lock(&m->lock);
	f = memo_flight_find(m, out->key);
	if (f)
		out->state = f->state == MEMO_RUNNING ? MEMO_INFO_COMPUTING
						      : MEMO_INFO_QUEUED;
	pthread_mutex_unlock(&m->lock);
	if (f)
		return 0;
	pthread_rwlock_rdlock(&m->st_lock);
	rc = m->st ? store_get_meta(m->st, out->key, &meta, names)
		   : -ESHUTDOWN;
	pthread_rwlock_unlock(&m->st_lock);
	if (rc == 0) {
		out->state = MEMO_INFO_CACHED;
		out->compute_ns = meta.compute_ns;
		out->created_ns = meta.created_ns;
		return 0;
	}
	/* A record without an entry (store_put()): read it. */
	rc = memo_find(m, fn, arg, out->key, &res);
	if (rc == 0) {
		out->state = MEMO_INFO_CACHED;
		out->created_ns = memo_result_created_ns(res);
		memo_result_unref(res);
	}
	return rc == -ENOENT ? 0 : rc;
}

int memo_ctx_progress(memofs_ctx *ctx, double fraction)
{
	memo *m = ctx->m;

	if (!(fraction >= 0.0 && fraction <= 1.0))
		return -EINVAL;
	pthread_mutex_lock(&m->lock);
	ctx->f->progress = fraction;
	pthread_mutex_unlock(&m->lock);
	return 0;
}
