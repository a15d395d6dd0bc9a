/* stream.c -- chunked two-thread pread with an in-order digest (see
 * stream.h).
 *
 * Threads claim chunks in file order from one counter (run.next) and
 * hash them in the same order: a thread that has consumed chunk k waits
 * until run.hashed == k, feeds the hash state, then advances run.hashed.
 * The hash state is only touched by the thread whose turn it is, so it
 * needs no lock of its own; run.mu guards next, hashed and the failure.
 * A failing chunk also waits for its turn before it is recorded, so the
 * failure reported is the first in file order, whichever thread met it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "data/stream.h"

struct stream_run {
	const struct stream_job *j;
	uint64_t nchunks;
	pthread_mutex_t mu;
	pthread_cond_t turn;	/* hashed or rc changed */
	uint64_t next;		/* the next chunk to claim; under mu */
	uint64_t hashed;	/* chunks hashed (or passed); under mu */
	int rc;			/* the first failure; under mu */
	struct stream_fail fail; /* where; under mu */
};

struct stream_thread {
	struct stream_run *run;
	unsigned tid;
};

/* Reads len bytes at off into p: 0, -EIO and *ended at an early end, or
 * pread's -errno. */
static int stream_pread(int fd, unsigned char *p, size_t len, uint64_t off,
			int *ended)
{
	while (len > 0) {
		ssize_t n = pread(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0) {
			*ended = 1;
			return -EIO;
		}
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

/* Reads and consumes chunk k, into where the job says or the thread's
 * buffer *bounce (made on first use); *p and *len say where it lies. */
static int stream_chunk(const struct stream_job *j, unsigned tid, uint64_t k,
			unsigned char **bounce, const unsigned char **p,
			size_t *len, int *ended)
{
	uint64_t off = j->start + k * j->chunk;
	unsigned char *to;
	int rc;

	*len = (size_t)(j->end - off < j->chunk ? j->end - off : j->chunk);
	to = j->dest ? j->dest(j->ctx, off, *len) : NULL;
	if (!to) {
		if (!*bounce)
			*bounce = malloc(j->chunk);
		if (!*bounce)
			return -ENOMEM;
		to = *bounce;
	}
	*p = to;
	rc = stream_pread(j->fd, to, *len, off, ended);
	if (rc == 0 && j->consume)
		rc = j->consume(j->ctx, tid, off, to, *len);
	return rc;
}

/* Waits until chunk k's turn comes (or another failed): 0 at its turn,
 * 1 when the run has failed.  Called with run->mu held. */
static int stream_wait_turn(struct stream_run *run, uint64_t k)
{
	while (run->rc == 0 && run->hashed != k)
		pthread_cond_wait(&run->turn, &run->mu);
	return run->rc != 0;
}

/* Claims the next chunk: 0 and *k, or 1 when none is left or the run
 * failed. */
static int stream_claim(struct stream_run *run, uint64_t *k)
{
	int done;

	pthread_mutex_lock(&run->mu);
	done = run->rc != 0 || run->next == run->nchunks;
	if (!done)
		*k = run->next++;
	pthread_mutex_unlock(&run->mu);
	return done;
}

/* Reads and consumes chunks outside the lock (overlapping the other
 * thread's), then hashes each at its turn. */
static void stream_loop(struct stream_run *run, unsigned tid)
{
	const struct stream_job *j = run->j;
	unsigned char *bounce = NULL;
	uint64_t k;

	while (!stream_claim(run, &k)) {
		const unsigned char *p = NULL;
		size_t len = 0;
		int rc, ended = 0, failed;

		rc = stream_chunk(j, tid, k, &bounce, &p, &len, &ended);
		pthread_mutex_lock(&run->mu);
		failed = stream_wait_turn(run, k);
		pthread_mutex_unlock(&run->mu);
		if (failed)
			break;
		if (rc == 0 && j->hash)
			(void)XXH3_128bits_update(j->hash, p, len);
		pthread_mutex_lock(&run->mu);
		if (rc) {
			run->rc = rc;
			run->fail.off = j->start + k * j->chunk;
			run->fail.ended = ended;
		} else {
			run->hashed = k + 1;
		}
		pthread_cond_broadcast(&run->turn);
		pthread_mutex_unlock(&run->mu);
		if (rc)
			break;
	}
	free(bounce);
}

static void *stream_thread_main(void *arg)
{
	struct stream_thread *t = arg;

	stream_loop(t->run, t->tid);
	return NULL;
}

int stream_read(const struct stream_job *j, struct stream_fail *f)
{
	struct stream_run run = { .j = j };
	struct stream_thread other = { &run, 1 };
	pthread_t th;
	int started = 0;

	f->off = j->start;
	f->ended = 0;
	if (j->end <= j->start)
		return 0;
	run.nchunks = (j->end - j->start) / j->chunk +
		      ((j->end - j->start) % j->chunk != 0);
	pthread_mutex_init(&run.mu, NULL);
	pthread_cond_init(&run.turn, NULL);
	if (j->threads > 1 && run.nchunks > 1)
		started = pthread_create(&th, NULL, stream_thread_main,
					 &other) == 0;
	stream_loop(&run, 0);
	if (started)
		pthread_join(th, NULL);
	pthread_cond_destroy(&run.turn);
	pthread_mutex_destroy(&run.mu);
	if (run.rc)
		*f = run.fail;
	return run.rc;
}
