/* mfs_stop.h -- how a memofs mount ends: stop signals, unmount, grace.
 *
 * SIGTERM, SIGINT and SIGHUP ask memofs to stop; so does an unmount (the
 * session loop then ends by itself).  Either way the computations are
 * stopped before the mount goes: queued ones are dropped, running ones
 * cancelled, and code that cannot be cancelled gets MFS_STOP_GRACE
 * seconds.  The main thread calls, in order:
 *   mfs_stop_signals_install()  before starting any thread;
 *   mfs_stopper_start()         once the session and the memo exist;
 *   mfs_stop_signals_unblock()  right before the session loop;
 *   mfs_stopper_end()           once the loop has returned.
 */
#ifndef MEMOFS_MFS_STOP_H
#define MEMOFS_MFS_STOP_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>

#include "mfs.h"

#define MFS_STOP_GRACE 1.0	/* seconds running plugin code gets */

/* The stopper thread; lives on the main thread's stack. */
struct mfs_stopper {
	struct mfs *fs;
	pthread_t thread;
	pthread_t main;		/* runs the session loop */
	atomic_int loop_done;	/* the session loop has returned */
	int stopped;		/* the stopper stopped the computations */
	int abandoned;		/* computations left running after the grace */
};

/* Installs the handlers and blocks the stop signals in the calling thread
 * (and so in every thread it starts from now on).  Returns 0 or a
 * negative errno. */
int mfs_stop_signals_install(void);

/* The stop signals, SIGTERM, SIGINT and SIGHUP, as a set (for start-up's
 * own masks: the store thread's, the daemon's fork). */
void mfs_stop_sigset(sigset_t *set);

/* Lets the calling (main) thread take the stop signals. */
void mfs_stop_signals_unblock(void);

/* Starts the stopper for fs (fs->se and fs->m set).  Returns 0 or a
 * negative errno. */
int mfs_stopper_start(struct mfs_stopper *sp, struct mfs *fs);

/* After the session loop: ends the stopper and stops the computations if
 * it has not.  Returns the number of computations left running: if not 0,
 * fs->m and what they use (registry, dataset, plugins) must not be freed
 * (see memo_drain()). */
int mfs_stopper_end(struct mfs_stopper *sp);

#endif
