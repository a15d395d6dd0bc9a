/* pool.c -- a fixed-size pool of worker threads (see pool.h).
 *
 * The queue is a singly linked FIFO of jobs protected by pool->lock;
 * workers sleep on pool->cond while it is empty or every slot is busy.
 * busy counts the jobs running, on workers or lent to a caller by
 * pool_try_run(), which runs a short job on the thread that asked (saving
 * the hand-off to a worker and back: see memo.c) only while busy <
 * nthreads and nothing is queued; a worker takes a job only while busy <
 * nthreads, so a lent slot is a worker kept idle.  pool_cancel() sets
 * stopping and empties the queue, handing each job to its drop function;
 * pool_free() sets stopping, wakes every worker, and each worker leaves
 * once the queue is empty, so a job queued and not dropped always runs.
 * Workers block every asynchronous signal: a signal sent to the process
 * is handled by a thread that expects it, never by a computation.
 */
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "engine/pool.h"

struct pool_job {
	pool_job_fn fn;
	void *arg;
	struct pool_job *next;
};

struct pool {
	pthread_mutex_t lock;
	pthread_cond_t cond;	  /* signalled when a job is queued or on stop */
	struct pool_job *head;	  /* protected by lock */
	struct pool_job *tail;	  /* protected by lock */
	int stopping;		  /* protected by lock */
	unsigned busy;		  /* protected by lock: jobs running */
	unsigned nthreads;	  /* threads started; read-only once running */
	pthread_t *threads;
};

/* Takes the next job, waiting for one; NULL when stopping and drained. */
static struct pool_job *pool_take(pool *p)
{
	struct pool_job *job;

	pthread_mutex_lock(&p->lock);
	while ((!p->head || p->busy >= p->nthreads) && !p->stopping)
		pthread_cond_wait(&p->cond, &p->lock);
	job = p->head;
	if (job) {
		p->head = job->next;
		if (!p->head)
			p->tail = NULL;
		p->busy++;
	}
	pthread_mutex_unlock(&p->lock);
	return job;
}

/* A job ended: its slot is free for a queued job. */
static void pool_release(pool *p)
{
	pthread_mutex_lock(&p->lock);
	assert(p->busy > 0);
	p->busy--;
	if (p->head)
		pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

static void *pool_worker(void *arg)
{
	pool *p = arg;
	struct pool_job *job;

	/* Named for top -H, gdb and the tests (tests/test_perf_paths.py):
	 * whether a computation ran on a worker or on the thread that asked
	 * (pool_try_run()) shows in /proc/thread-self/comm. */
	pthread_setname_np(pthread_self(), POOL_THREAD_NAME);
	while ((job = pool_take(p)) != NULL) {
		job->fn(job->arg);
		free(job);
		pool_release(p);
	}
	return NULL;
}

/* Stops and joins the first n threads; used by pool_free and on errors. */
static void pool_stop(pool *p, unsigned n)
{
	pthread_mutex_lock(&p->lock);
	p->stopping = 1;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	for (unsigned i = 0; i < n; i++)
		pthread_join(p->threads[i], NULL);
}

/* Starts one worker with every signal blocked (it inherits the mask). */
static int pool_start(pool *p, pthread_t *thread)
{
	sigset_t all, old;
	int rc;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(thread, NULL, pool_worker, p);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

int pool_new(unsigned nthreads, pool **out)
{
	pool *p;
	int rc;

	if (nthreads == 0)
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->threads = calloc(nthreads, sizeof(*p->threads));
	if (!p->threads) {
		rc = -ENOMEM;
		goto out_free_pool;
	}
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	for (p->nthreads = 0; p->nthreads < nthreads; p->nthreads++) {
		rc = pool_start(p, &p->threads[p->nthreads]);
		if (rc) {
			log_error("pool: cannot start worker %u: %s",
				  p->nthreads, strerror(rc));
			rc = -rc;
			goto out_stop;
		}
	}
	*out = p;
	return 0;

out_stop:
	pool_stop(p, p->nthreads);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p->threads);
out_free_pool:
	free(p);
	return rc;
}

int pool_submit(pool *p, pool_job_fn fn, void *arg)
{
	struct pool_job *job = malloc(sizeof(*job));

	if (!job)
		return -ENOMEM;
	job->fn = fn;
	job->arg = arg;
	job->next = NULL;
	pthread_mutex_lock(&p->lock);
	if (p->stopping) {
		pthread_mutex_unlock(&p->lock);
		free(job);
		return -ESHUTDOWN;
	}
	if (p->tail)
		p->tail->next = job;
	else
		p->head = job;
	p->tail = job;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
	return 0;
}

int pool_try_run(pool *p, pool_job_fn fn, void *arg)
{
	pthread_mutex_lock(&p->lock);
	if (p->stopping) {
		pthread_mutex_unlock(&p->lock);
		return -ESHUTDOWN;
	}
	if (p->head || p->busy >= p->nthreads) {
		pthread_mutex_unlock(&p->lock);
		return -EBUSY;
	}
	p->busy++;
	pthread_mutex_unlock(&p->lock);
	fn(arg);
	pool_release(p);
	return 0;
}

void pool_cancel(pool *p, pool_job_fn drop)
{
	struct pool_job *job;

	pthread_mutex_lock(&p->lock);
	p->stopping = 1;
	job = p->head;
	p->head = p->tail = NULL;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	while (job) {
		struct pool_job *next = job->next;

		drop(job->arg);
		free(job);
		job = next;
	}
}

void pool_free(pool *p)
{
	if (!p)
		return;
	pool_stop(p, p->nthreads);
	assert(!p->head);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p->threads);
	free(p);
}

unsigned pool_size(const pool *p)
{
	return p->nthreads;
}
