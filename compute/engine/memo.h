/* memo.h -- the memo layer: compute each result once, serve it ever after.
 *
 * memo ties the registry, the worker pool and the store together.  A
 * result is named by (function, canonical argument: for a function of
 * several, the canonical arguments joined by '/', resolve.h); its cache
 * key hashes each argument apart and adds the function's version and the
 * dataset digest (key.h).  memo guarantees:
 *   - single flight: however many callers ask for one uncomputed result at
 *     once, it is computed once and every caller gets the same bytes;
 *   - nested calls (memofs_call() inside a computation) never deadlock, even
 *     with one worker: a nested call on a result still queued runs it in the
 *     calling worker, one already running is waited for, a cycle is -ELOOP;
 *   - a failed computation is reported to every waiter and never cached;
 *   - the key holds the function's version as it is now
 *     (reg_fn_version_now()); a computation during which that changed
 *     fails (-EIO, logged) and is not cached;
 *   - a damaged stored record is recomputed, never served;
 *   - with a remote tier (memo_set_remote()), the same across machines:
 *     a result is computed once among the machines sharing the tier, and
 *     a pool job does not hold its worker while another machine computes
 *     its result.
 * Every function here may be called from any thread.  Callbacks are never
 * called with a memo lock held.
 */
#ifndef MEMOFS_MEMO_H
#define MEMOFS_MEMO_H

#include <stddef.h>
#include <stdint.h>

#include "data/ds.h"
#include "functions/reg.h"
#include "engine/remote.h"
#include "engine/result.h"
#include "engine/store.h"

typedef struct memo memo;

#define MEMO_CACHE_BYTES (256u << 20)	/* default cache budget */
/* A function whose last computation took less than this many nanoseconds
 * computes on the thread that asks (memo_submit()). */
#define MEMO_INLINE_NS 1000000
/* At most this many computations run on asking threads at once: should
 * a cheap function turn slow, most of libfuse's threads (10) stay free
 * to answer other requests. */
#define MEMO_INLINE_MAX 4

struct memo_stats {
	uint64_t computed;	/* computations that succeeded */
	uint64_t failed;	/* computations that failed */
	uint64_t store_hits;	/* results read from the store */
	uint64_t mem_hits;	/* results served from memory */
	uint64_t joined;	/* requests that joined a running flight */
	uint64_t store_errors;	/* results that could not be stored */
	uint64_t remote_hits;	/* results copied from the remote tier */
	uint64_t remote_misses;	/* remote lookups that found nothing */
	uint64_t remote_leases;	/* remote leases taken: computed for all */
	uint64_t remote_waited;	/* waits for another machine's lease */
};

/* Creates the memo layer with its own pool of workers threads.  st, r and d
 * are borrowed and must outlive the memo.  Returns 0 and *out (caller frees
 * with memo_free()), or a negative errno. */
int memo_new(store *st, const reg *r, const ds *d, unsigned workers,
	     memo **out);

/* Waits for queued and running computations, calls their callbacks, then
 * frees.  memo_free(NULL) is a no-op. */
void memo_free(memo *m);

/* Stops computing, at once: every queued computation is dropped and its
 * callbacks get -ESHUTDOWN; memo_submit() and nested calls on results not
 * computed yet fail with -ESHUTDOWN from now on; memo_sleep() in running
 * computations returns early, and a running computation that fails from
 * now on reports -ESHUTDOWN (never cached); and reg_cancel() ends what
 * may not end by itself (commands).  Lookups still work.  May be called
 * from any thread, more than once. */
void memo_cancel(memo *m);

/* After memo_cancel(): waits up to grace seconds for the running
 * computations to end (their callbacks are called as usual).  Returns 0
 * when none is left, else the number still running: their callbacks have
 * then been called with -ESHUTDOWN and memo no longer touches the store
 * (the caller may close it), but those computations still use the memo,
 * the registry, the dataset and the plugins: the caller either ends the
 * process without freeing them, or waits in memo_free(). */
int memo_drain(memo *m, double grace);

/* The in-memory cache's byte budget (lru.h); MEMO_CACHE_BYTES until set.
 * Whoever reads results in pieces sets it to the largest result it reads
 * whole, so that one stays in memory while it is read piece by piece (the
 * FUSE layer: MFS_PUSH_MAX).  Before the first computation. */
void memo_set_cache_bytes(memo *m, size_t bytes);

/* Adds the remote tier (remote.h) below the store: a result missing
 * locally is looked up there (and copied into the store), and computed
 * under its lease and published there otherwise.  rm is borrowed and
 * must outlive the memo; memo_cancel() cancels it.  Before the first
 * computation. */
void memo_set_remote(memo *m, remote *rm);

/* The computation a compute callback runs in (memofs.h's memofs_ctx), for
 * functions/ctx.c, which builds the memofs_* API on these.  Each is
 * called only from the thread running that computation. */
const ds *memo_ctx_data(const memofs_ctx *ctx);
/* The function of the computation, the registry, and its canonical
 * arguments: how many, and the i-th (NUL-terminated; NULL when i >= that
 * count), valid while the computation runs. */
const reg_fn *memo_ctx_fn(const memofs_ctx *ctx);
const reg *memo_ctx_reg(const memofs_ctx *ctx);
size_t memo_ctx_nargs(const memofs_ctx *ctx);
const char *memo_ctx_arg(const memofs_ctx *ctx, size_t i);

/* A nested call: the result of fn(arg), arg a path of names resolved as
 * a lookup would (resolve_path()), found, computed here or waited for; it stays referenced until the computation that asked ends.  0 and
 * *res (borrowed), -ENOENT (no such function or argument), -ELOOP (too
 * deep, or a cycle), -ESHUTDOWN, -ENOMEM or -EIO. */
int memo_ctx_call(memofs_ctx *ctx, const char *fn, const char *arg,
		  memo_result **res);

/* Appends len bytes to the result being made (of a typed function: the
 * values, little-endian; the .npy header is added before the first).
 * 0 or -ENOMEM.  When the callback returns, a typed function's values
 * are checked against its declared shape (memofs.h): another count
 * fails the computation (-EIO, logged). */
int memo_ctx_write(memofs_ctx *ctx, const void *buf, size_t len);

/* Makes the result the bound dataset's own n values at values (of the
 * running function's dtype: float64, or int64 with f64 the same values as
 * doubles, or NULL), borrowed, never copied: for a function marked by
 * reg_set_dataset_view() only, before anything is written.  The dataset
 * outlives every result (memo_new()).  0, or -EINVAL (a misuse:
 * memo_ctx_misuse()). */
int memo_ctx_borrow(memofs_ctx *ctx, const void *values, const double *f64,
		    size_t n);

/* The dtype the running function makes for its argument
 * (reg_fn_arg_dtype()). */
enum memofs_dtype memo_ctx_dtype(const memofs_ctx *ctx);

/* A misuse of the API (bytes written by a typed function, values of the
 * wrong dtype): the computation fails even if its callback returns 0,
 * with the first what as its message.  Returns -EINVAL. */
int memo_ctx_misuse(memofs_ctx *ctx, const char *what);

/* The buffer for the computation's error message (memofs_error()), and
 * its size in *size. */
char *memo_ctx_err(memofs_ctx *ctx, size_t *size);

/* For built-in functions: sleeps seconds, or less if memo_cancel() is
 * called meanwhile.  Returns 0, or -ECANCELED when cancelled. */
int memo_sleep(memofs_ctx *ctx, double seconds);

/* Looks fn(arg) up in memory and in the store; never computes.  Returns 0
 * and *out (caller unrefs), -ENOENT when not computed yet, or -EIO. */
int memo_lookup(memo *m, const reg_fn *fn, const char *arg,
		memo_result **out);

/* Called exactly once per successful memo_submit(): err 0 with res
 * (borrowed: memo_result_ref() to keep it), or a negative errno and res
 * NULL.  From a worker thread, or from the thread that called
 * memo_submit(), before it returns, when the computation ran there. */
typedef void (*memo_done_fn)(void *cbarg, int err, memo_result *res);

/* Asks for fn(arg) (arg canonical): computes it unless it is cached or
 * already being computed, then calls cb.  Where: a computation of a
 * function whose last computation (nested calls included) took under
 * MEMO_INLINE_NS runs on the calling thread, in the place of an idle
 * worker (pool_try_run(): -o workers still bounds the computations at
 * once), so a cheap result costs no hand-off to a worker and back; any
 * other (the first of a function, an expensive one, when no worker is
 * idle, or when MEMO_INLINE_MAX already run so) runs on the pool.  Returns 0, or a negative errno (-ENOMEM) and
 * then cb is never called.  Must not be called from a computation. */
int memo_submit(memo *m, const reg_fn *fn, const char *arg, memo_done_fn cb,
		void *cbarg);

void memo_get_stats(memo *m, struct memo_stats *out);

/* ---- operating ----------------------------------------------------------
 * Counters per function, the size and age limits, clearing, the list of
 * computations, and a result's provenance (memofs's -o max_size,
 * max_age, `memofs stats`, `memofs clear`, .memofs/jobs, user.memofs.*
 * xattrs).  Any thread.  New counters go at the end of the struct: the
 * stats printers (fs/mfs_ctl.c) list them by name. */

struct memo_fn_stats {
	uint64_t reads;		/* reads the daemon served (memo_note_read) */
	uint64_t store_hits;	/* results read from the store */
	uint64_t mem_hits;	/* results served from memory */
	uint64_t computed;	/* computations that succeeded */
	uint64_t failed;	/* computations that failed */
	uint64_t joined;	/* requests that joined a running flight */
	uint64_t evicted;	/* results removed by the limits */
	uint64_t cleared;	/* results removed by memo_clear() */
	uint64_t remote_hits;	/* results copied from the remote tier */
	uint64_t remote_misses;	/* remote lookups that found nothing */
	uint64_t remote_leases;	/* computed under a remote lease */
	uint64_t remote_waited;	/* parked for another machine's lease */
};

#define MEMO_USES_MAX 4096	/* uses remembered between flushes */

/* Counts one read of fn's result served by the daemon (a page-cache hit
 * never reaches it). */
void memo_note_read(memo *m, const reg_fn *fn);

/* The counters of function i (registry order).  0, or -ENOENT. */
int memo_get_fn_stats(memo *m, size_t i, struct memo_fn_stats *out);
size_t memo_fn_count(const memo *m);	/* reg_count() at memo_new() */

/* Results older than max_age_ns (0: no limit) are not served from now on
 * (they are recomputed), and memo_evict() removes them. */
void memo_set_max_age(memo *m, uint64_t max_age_ns);

/* Writes the uses noted since the last call (hits from memory and the
 * store) into the records' accounting entries, the recency memo_evict()
 * orders by.  0, or the first store error. */
int memo_flush_uses(memo *m);

/* Told of each result removed (fn's name, canonical argument). */
typedef void (*memo_removed_fn)(void *cbarg, const char *fn,
				const char *arg);

/* Removes the results older than the max_age (as of now_ns,
 * CLOCK_REALTIME), then the least recently used until the rest take at
 * most max_bytes (0: no limit) (evict.h), and compacts the store so the
 * disk space is freed.  Calls cb (may be NULL) for each.  Slow: call it
 * off the request path.  0 and *evicted, or a negative errno. */
int memo_evict(memo *m, uint64_t max_bytes, uint64_t now_ns,
	       memo_removed_fn cb, void *cbarg, size_t *evicted);

/* Removes every stored result (fn NULL), every one of function fn (any
 * version), or fn(arg) (arg canonical): from the store and from memory.
 * A computation running meanwhile still stores its result.  cb as
 * above.  0 and *cleared, or a negative errno. */
int memo_clear(memo *m, const char *fn, const char *arg,
	       memo_removed_fn cb, void *cbarg, size_t *cleared);

/* What the store holds: u[i] for function i, u[memo_fn_count()] for
 * functions this mount does not have.  u has memo_fn_count() + 1
 * entries.  0 or a negative errno. */
struct memo_usage {
	uint64_t entries, bytes;
};
int memo_usage(memo *m, struct memo_usage *u);

/* The bytes the store takes on disk (store_disk_bytes()). */
int memo_disk_bytes(memo *m, uint64_t *bytes);

/* One running or queued computation. */
struct memo_job {
	const char *fn;		/* valid while the registry lives */
	char arg[REG_ARG_MAX + 1];
	int running;		/* else queued */
	double seconds;		/* since it started running (or was asked) */
	unsigned waiters;	/* requests waiting for it */
	double progress;	/* 0..1 as the function reported, or -1 */
};

/* The computations now in flight: *jobs (caller frees with free()),
 * *n.  0 or -ENOMEM. */
int memo_jobs(memo *m, struct memo_job **jobs, size_t *n);

enum memo_info_state {
	MEMO_INFO_ABSENT, MEMO_INFO_QUEUED, MEMO_INFO_COMPUTING,
	MEMO_INFO_CACHED
};

struct memo_info {
	enum memo_info_state state;
	uint8_t key[KEY_LEN];	/* the cache key */
	uint64_t compute_ns;	/* CACHED: how long it took (0: unknown) */
	uint64_t created_ns;	/* CACHED: when (CLOCK_REALTIME) */
};

/* fn(arg)'s state, never computing.  0 and *out, or -EIO. */
int memo_info(memo *m, const reg_fn *fn, const char *arg,
	      struct memo_info *out);

/* memofs_progress(): the running computation is fraction done (0..1).
 * 0, or -EINVAL. */
int memo_ctx_progress(memofs_ctx *ctx, double fraction);

#endif
