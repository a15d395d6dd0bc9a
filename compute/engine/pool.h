/* pool.h -- a fixed-size pool of worker threads running queued jobs.
 *
 * Jobs run in submission order (FIFO), up to nthreads at once, counting
 * those a caller runs itself in a worker's place (pool_try_run()).  The pool
 * knows nothing about results or caching; memo builds single flight and
 * nested calls on top of it.  pool_submit() may be called from any thread,
 * including a worker.
 */
#ifndef MEMOFS_POOL_H
#define MEMOFS_POOL_H

typedef struct pool pool;

/* The name of every worker thread (/proc/PID/task/TID/comm). */
#define POOL_THREAD_NAME "memofs-pool"
typedef void (*pool_job_fn)(void *arg);

/* Starts nthreads (>= 1) workers.  Returns 0 and *out (caller frees with
 * pool_free()), -EINVAL, -ENOMEM, or the pthread_create() error. */
int pool_new(unsigned nthreads, pool **out);

/* Queues fn(arg).  Returns 0, -ENOMEM, or -ESHUTDOWN once pool_free() has
 * begun; on failure fn is never called. */
int pool_submit(pool *p, pool_job_fn fn, void *arg);

/* Runs fn(arg) now, in the calling thread, in the place of a worker: only
 * when a worker is idle and nothing is queued, and no worker starts a
 * queued job meanwhile unless another is idle, so at most nthreads jobs
 * run at once however they were started.  Returns 0 once fn has
 * returned, -EBUSY (every worker busy, or jobs queued: submit it
 * instead), or -ESHUTDOWN once pool_cancel() or pool_free() has begun;
 * on failure fn is not called.  Must not be called from a job. */
int pool_try_run(pool *p, pool_job_fn fn, void *arg);

/* Stops the pool at once: every job still queued is taken off the queue
 * and handed to drop(arg) instead of running (in queue order, in the
 * calling thread), and pool_submit() fails with -ESHUTDOWN from now on.
 * Running jobs go on.  May be called from any thread, more than once. */
void pool_cancel(pool *p, pool_job_fn drop);

/* Runs every queued job (none after pool_cancel()), then joins the workers
 * and frees the pool.  Must not be called from a worker.  pool_free(NULL)
 * is a no-op. */
void pool_free(pool *p);

unsigned pool_size(const pool *p);

#endif
