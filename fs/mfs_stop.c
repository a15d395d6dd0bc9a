/* mfs_stop.c -- how a memofs mount ends (see mfs_stop.h).
 *
 * The stop signals reach only the main thread (every other thread blocks
 * them: libfuse's, the pool's, RocksDB's and the stopper start after
 * mfs_stop_signals_install()), whose handler wakes the stopper thread.
 * The FUSE session goes on serving while the stopper
 *   1. drops the queued computations (their readers get ENOTCONN) and
 *      cancels the running ones: built-in delays end, commands are killed;
 *   2. waits up to MFS_STOP_GRACE seconds for the computations still
 *      running (plugin code, which cannot be interrupted): what ends in
 *      time is stored and reaches its readers (their READ is still
 *      served), the readers of the rest get ENOTCONN;
 *   3. ends the session loop: fuse_session_exit(), then SIGTERM to the
 *      main thread, repeated, since only a signal interrupts the wait of
 *      libfuse's main thread and one sent just before it waits is lost.
 * The main thread then unmounts (libfuse detaches lazily and closes
 * /dev/fuse, so a request still in the kernel fails at once), closes the
 * store (releasing its lock) and removes a temporary cache.  When the
 * kernel unmounts first (fusermount3 -u), the loop ends by itself and
 * mfs_stopper_end() runs steps 1 and 2 in the main thread.
 */
#include <errno.h>
#include <semaphore.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include "util/log.h"
#include "mfs_stop.h"

#define MFS_KICK_NS 50000000L	/* re-interrupt the loop's wait this often */

/* The signal handler can reach nothing but static state: the first stop
 * signal, and the semaphore (sem_post() is async-signal-safe) that wakes
 * the stopper thread, once for a signal and once when the loop has
 * ended. */
static volatile sig_atomic_t mfs_stop_signal;
static sem_t mfs_stop_sem;

static void mfs_on_signal(int sig)
{
	if (!mfs_stop_signal) {
		mfs_stop_signal = sig;
		sem_post(&mfs_stop_sem);
	}
}

static void mfs_on_sigpipe(int sig)
{
	(void)sig;	/* a handler, not SIG_IGN: commands get the default */
}

void mfs_stop_sigset(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
}

/* Blocks (how = SIG_BLOCK) or unblocks the stop signals in this thread. */
static void mfs_signals_mask(int how)
{
	sigset_t stop;

	mfs_stop_sigset(&stop);
	pthread_sigmask(how, &stop, NULL);
}

int mfs_stop_signals_install(void)
{
	struct sigaction sa = { .sa_handler = mfs_on_signal };

	mfs_signals_mask(SIG_BLOCK);
	sigemptyset(&sa.sa_mask);
	if (sem_init(&mfs_stop_sem, 0, 0) != 0 ||
	    sigaction(SIGTERM, &sa, NULL) != 0 ||
	    sigaction(SIGINT, &sa, NULL) != 0 ||
	    sigaction(SIGHUP, &sa, NULL) != 0)
		return -errno;
	sa.sa_handler = mfs_on_sigpipe;
	return sigaction(SIGPIPE, &sa, NULL) != 0 ? -errno : 0;
}

/* Steps 1 and 2 of stopping (see the top of this file).  Returns the
 * number of computations left running. */
static int mfs_stop_computing(struct mfs *fs)
{
	int left;

	memo_cancel(fs->m);	/* and, through the registry, commands */
	left = memo_drain(fs->m, MFS_STOP_GRACE);
	if (left)
		log_warn("%d computation%s still running after %.1f s: left "
			 "to end with memofs", left, left == 1 ? "" : "s",
			 MFS_STOP_GRACE);
	return left;
}

static int mfs_sem_wait_ns(long ns)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += ns;
	ts.tv_sec += ts.tv_nsec / 1000000000L;
	ts.tv_nsec %= 1000000000L;
	return sem_timedwait(&mfs_stop_sem, &ts);
}

static void *mfs_stopper_run(void *arg)
{
	struct mfs_stopper *sp = arg;

	while (sem_wait(&mfs_stop_sem) != 0)
		;
	if (atomic_load(&sp->loop_done))
		return NULL;	/* unmounted: main stops the computations */
	log_info("stopping on %s", strsignal(mfs_stop_signal));
	sp->abandoned = mfs_stop_computing(sp->fs);
	sp->stopped = 1;
	fuse_session_exit(sp->fs->se);
	/* libfuse's main thread waits in sem_wait(), which only a signal
	 * interrupts; one sent before it waits is lost, hence the repeat. */
	do
		pthread_kill(sp->main, SIGTERM);
	while (mfs_sem_wait_ns(MFS_KICK_NS) != 0 &&
	       !atomic_load(&sp->loop_done));
	return NULL;
}

void mfs_stop_signals_unblock(void)
{
	mfs_signals_mask(SIG_UNBLOCK);
}

int mfs_stopper_start(struct mfs_stopper *sp, struct mfs *fs)
{
	*sp = (struct mfs_stopper){ .fs = fs, .main = pthread_self() };
	atomic_init(&sp->loop_done, 0);
	return -pthread_create(&sp->thread, NULL, mfs_stopper_run, sp);
}

int mfs_stopper_end(struct mfs_stopper *sp)
{
	atomic_store(&sp->loop_done, 1);
	sem_post(&mfs_stop_sem);
	pthread_join(sp->thread, NULL);
	return sp->stopped ? sp->abandoned : mfs_stop_computing(sp->fs);
}
