/* bench_readers.c -- concurrent whole-file readers for the memofs benchmark.
 *
 *   bench_readers [-p] PATH...
 *
 * Starts one reader per PATH (a thread, or with -p a forked process), holds
 * them at a barrier until all are ready, releases them at once, and each
 * reads its file to the end.  Prints one line per reader,
 *   "reader I len BYTES hash XXH64 secs S err ERRNO"
 * (S from the release to that reader's last byte), then
 *   "elapsed S"
 * from the release to the last reader done.  Exit status 0 when every
 * reader read without error, 1 otherwise, 2 on a usage error.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#define RD_BUF (128u << 10)

struct reader {
	const char *path;
	uint64_t len;
	uint64_t hash;
	uint64_t end_ns;	/* CLOCK_MONOTONIC when done */
	int err;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Reads r->path to its end, filling r. */
static void read_whole(struct reader *r)
{
	XXH64_state_t *st = XXH64_createState();
	char *buf = malloc(RD_BUF);
	int fd = open(r->path, O_RDONLY);
	ssize_t n;

	if (!st || !buf) {
		r->err = ENOMEM;
		goto out;
	}
	if (fd < 0) {
		r->err = errno;
		goto out;
	}
	XXH64_reset(st, 0);
	while ((n = read(fd, buf, RD_BUF)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r->err = errno;
			break;
		}
		XXH64_update(st, buf, (size_t)n);
		r->len += (uint64_t)n;
	}
	r->hash = XXH64_digest(st);
	close(fd);
out:
	r->end_ns = now_ns();
	XXH64_freeState(st);
	free(buf);
}

/* ---- threads ------------------------------------------------------------ */

static pthread_barrier_t barrier;

static void *reader_thread(void *arg)
{
	pthread_barrier_wait(&barrier);
	read_whole(arg);
	return NULL;
}

static uint64_t run_threads(struct reader *r, int n)
{
	pthread_t *tid = calloc((size_t)n, sizeof(*tid));
	pthread_attr_t attr;
	uint64_t t0;

	if (!tid || pthread_barrier_init(&barrier, NULL, (unsigned)n + 1))
		exit(1);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256u << 10);
	for (int i = 0; i < n; i++)
		if (pthread_create(&tid[i], &attr, reader_thread, &r[i])) {
			fprintf(stderr, "bench_readers: cannot start thread\n");
			exit(1);
		}
	t0 = now_ns();
	pthread_barrier_wait(&barrier);
	for (int i = 0; i < n; i++)
		pthread_join(tid[i], NULL);
	free(tid);
	return t0;
}

/* ---- processes ---------------------------------------------------------- */

/* Each child waits until the parent closes the go pipe, reads, and sends
 * its struct reader back through its own result pipe. */
static uint64_t run_processes(struct reader *r, int n)
{
	int go[2], *res = calloc((size_t)n, sizeof(*res));
	uint64_t t0;
	char c;

	if (!res || pipe(go))
		exit(1);
	for (int i = 0; i < n; i++) {
		int p[2];
		pid_t pid;

		if (pipe(p))
			exit(1);
		pid = fork();
		if (pid < 0)
			exit(1);
		if (pid == 0) {
			close(go[1]);
			close(p[0]);
			if (read(go[0], &c, 1) < 0)
				_exit(1);
			read_whole(&r[i]);
			_exit(write(p[1], &r[i], sizeof(r[i])) ==
			      (ssize_t)sizeof(r[i]) ? 0 : 1);
		}
		close(p[1]);
		res[i] = p[0];
	}
	close(go[0]);
	t0 = now_ns();
	close(go[1]);	/* releases every child */
	for (int i = 0; i < n; i++) {
		const char *path = r[i].path;

		if (read(res[i], &r[i], sizeof(r[i])) != (ssize_t)sizeof(r[i]))
			r[i].err = EPIPE;
		r[i].path = path;
		close(res[i]);
	}
	while (wait(NULL) > 0)
		;
	free(res);
	return t0;
}

int main(int argc, char **argv)
{
	int procs = argc > 1 && strcmp(argv[1], "-p") == 0;
	int n = argc - 1 - procs, rc = 0;
	struct reader *r;
	uint64_t t0, last = 0;

	if (n < 1) {
		fprintf(stderr, "usage: bench_readers [-p] PATH...\n");
		return 2;
	}
	r = calloc((size_t)n, sizeof(*r));
	if (!r)
		return 1;
	for (int i = 0; i < n; i++)
		r[i].path = argv[1 + procs + i];
	t0 = procs ? run_processes(r, n) : run_threads(r, n);
	for (int i = 0; i < n; i++) {
		if (r[i].end_ns > last)
			last = r[i].end_ns;
		if (r[i].err) {
			fprintf(stderr, "bench_readers: %s: %s\n", r[i].path,
				strerror(r[i].err));
			rc = 1;
		}
		printf("reader %d len %llu hash %016llx secs %.6f err %d\n", i,
		       (unsigned long long)r[i].len,
		       (unsigned long long)r[i].hash,
		       (r[i].end_ns - t0) / 1e9, r[i].err);
	}
	printf("elapsed %.6f\n", (last - t0) / 1e9);
	free(r);
	return rc;
}
