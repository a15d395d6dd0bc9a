/* test_pool.c -- unit test of the worker pool. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <time.h>

#include "check.h"
#include "engine/pool.h"

static atomic_int counter;

static void bump(void *arg)
{
	(void)arg;
	atomic_fetch_add(&counter, 1);
}

/* Jobs that only finish when `want` of them run at the same time. */
struct rendezvous {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int arrived, want, timed_out;
};

static void meet(void *arg)
{
	struct rendezvous *r = arg;
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 10;
	pthread_mutex_lock(&r->lock);
	r->arrived++;
	pthread_cond_broadcast(&r->cond);
	while (r->arrived < r->want && !r->timed_out)
		if (pthread_cond_timedwait(&r->cond, &r->lock, &until) ==
		    ETIMEDOUT)
			r->timed_out = 1;
	pthread_mutex_unlock(&r->lock);
}

static void test_runs_everything(void)
{
	pool *p = NULL;

	atomic_store(&counter, 0);
	CHECK_INT(pool_new(3, &p), 0);
	CHECK_INT(pool_size(p), 3);
	for (int i = 0; i < 10000; i++)
		CHECK_INT(pool_submit(p, bump, NULL), 0);
	pool_free(p);		/* drains the queue first */
	CHECK_INT(atomic_load(&counter), 10000);
}

static void test_parallel(void)
{
	struct rendezvous r = { PTHREAD_MUTEX_INITIALIZER,
				PTHREAD_COND_INITIALIZER, 0, 4, 0 };
	pool *p = NULL;

	CHECK_INT(pool_new(4, &p), 0);
	for (int i = 0; i < 4; i++)
		CHECK_INT(pool_submit(p, meet, &r), 0);
	pool_free(p);
	CHECK_INT(r.arrived, 4);
	CHECK_INT(r.timed_out, 0);	/* all four ran at once */
}

/* A job that holds its worker until the gate opens. */
struct gate {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int entered, open, term_blocked;
};

static void hold(void *arg)
{
	struct gate *g = arg;
	sigset_t mask;

	pthread_sigmask(SIG_BLOCK, NULL, &mask);
	pthread_mutex_lock(&g->lock);
	g->term_blocked = sigismember(&mask, SIGTERM) == 1 &&
			  sigismember(&mask, SIGINT) == 1;
	g->entered = 1;
	pthread_cond_broadcast(&g->cond);
	while (!g->open)
		pthread_cond_wait(&g->cond, &g->lock);
	pthread_mutex_unlock(&g->lock);
}

static atomic_int dropped;

static void count_drop(void *arg)
{
	(void)arg;
	atomic_fetch_add(&dropped, 1);
}

/* pool_cancel drops what is queued, not what runs; workers block
 * signals. */
static void test_cancel(void)
{
	struct gate g = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
			  0, 0, 0 };
	pool *p = NULL;

	atomic_store(&counter, 0);
	atomic_store(&dropped, 0);
	CHECK_INT(pool_new(1, &p), 0);
	CHECK_INT(pool_submit(p, hold, &g), 0);
	pthread_mutex_lock(&g.lock);
	while (!g.entered)
		pthread_cond_wait(&g.cond, &g.lock);
	pthread_mutex_unlock(&g.lock);
	for (int i = 0; i < 5; i++)
		CHECK_INT(pool_submit(p, bump, NULL), 0);
	pool_cancel(p, count_drop);
	CHECK_INT(atomic_load(&dropped), 5);
	CHECK_INT(pool_submit(p, bump, NULL), -ESHUTDOWN);
	pool_cancel(p, count_drop);	/* again: nothing left to drop */
	CHECK_INT(atomic_load(&dropped), 5);
	pthread_mutex_lock(&g.lock);
	g.open = 1;
	pthread_cond_broadcast(&g.cond);
	pthread_mutex_unlock(&g.lock);
	pool_free(p);
	CHECK_INT(atomic_load(&counter), 0);
	CHECK_INT(g.term_blocked, 1);
}

/* pool_try_run(): a job run in the caller's thread in an idle worker's
 * place; -EBUSY while every worker is busy; a queued job waits while the
 * slot is lent; -ESHUTDOWN once cancelled. */
struct lent {
	pool *p;
	pthread_t ran_on;
	int queued_ran;		/* counter seen before returning */
};

static void lend(void *arg)
{
	struct lent *l = arg;
	struct timespec ts = { 0, 50000000L };

	l->ran_on = pthread_self();
	CHECK_INT(pool_submit(l->p, bump, NULL), 0);
	nanosleep(&ts, NULL);	/* the idle worker must not take it */
	l->queued_ran = atomic_load(&counter);
}

static void test_try_run(void)
{
	struct gate g = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
			  0, 0, 0 };
	struct lent l = { 0 };
	pool *p = NULL;

	atomic_store(&counter, 0);
	CHECK_INT(pool_new(1, &p), 0);
	l.p = p;
	CHECK_INT(pool_try_run(p, lend, &l), 0);
	CHECK(pthread_equal(l.ran_on, pthread_self()));
	CHECK_INT(l.queued_ran, 0);
	CHECK_INT(pool_submit(p, hold, &g), 0);
	pthread_mutex_lock(&g.lock);
	while (!g.entered)
		pthread_cond_wait(&g.cond, &g.lock);
	pthread_mutex_unlock(&g.lock);
	CHECK_INT(pool_try_run(p, bump, NULL), -EBUSY);	/* worker busy */
	CHECK_INT(pool_submit(p, bump, NULL), 0);
	pthread_mutex_lock(&g.lock);
	g.open = 1;
	pthread_cond_broadcast(&g.cond);
	pthread_mutex_unlock(&g.lock);
	pool_cancel(p, count_drop);
	CHECK_INT(pool_try_run(p, bump, NULL), -ESHUTDOWN);
	pool_free(p);
	/* lend()'s job ran once the slot came back (or was dropped). */
	CHECK_INT(atomic_load(&counter) + atomic_load(&dropped) >= 1, 1);
}

static void test_bad_input(void)
{
	pool *p = NULL;

	CHECK_INT(pool_new(0, &p), -EINVAL);
	pool_free(NULL);
}

int main(void)
{
	test_runs_everything();
	test_parallel();
	test_cancel();
	test_try_run();
	test_bad_input();
	return check_report("pool");
}
