/* hitbench.c -- the tight loops of the memofs benchmark (tests/bench).
 *
 *   hitbench rate THREADS SECONDS PATH...   open+read+close ops/s; thread i
 *                                           reads PATH[i % count]
 *   hitbench lat COUNT PATH...              latency of open+read+close,
 *                                           cycling over the paths: prints
 *                                           "p50 p99 max" in microseconds
 *   hitbench readbw PATH                    sequential read MB/s of a file
 *
 * Each read must return the whole file (checked against its first read),
 * so a wrong or short answer is an error, not a fast figure.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define HIT_BUF (1 << 16)

static double hit_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One open+read+close; returns the bytes read, or -1. */
static ssize_t hit_once(const char *path, char *buf)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, HIT_BUF);
	close(fd);
	return n;
}

struct hit_worker {
	const char *path;
	double seconds;
	long ops;
	int failed;
};

static void *hit_loop(void *arg)
{
	struct hit_worker *w = arg;
	char *buf = malloc(HIT_BUF);
	ssize_t want = buf ? hit_once(w->path, buf) : -1;
	double end = hit_now() + w->seconds;

	w->failed = want <= 0;
	while (!w->failed && hit_now() < end) {
		for (int i = 0; i < 256; i++)
			if (hit_once(w->path, buf) != want)
				w->failed = 1;
		w->ops += 256;
	}
	free(buf);
	return NULL;
}

static int hit_rate(int threads, double seconds, char **paths, int npaths)
{
	struct hit_worker *w = calloc((size_t)threads, sizeof(*w));
	pthread_t *tid = calloc((size_t)threads, sizeof(*tid));
	double t0, t;
	long ops = 0;
	int failed = 0;

	if (!w || !tid)
		return 1;
	t0 = hit_now();
	for (int i = 0; i < threads; i++) {
		w[i].path = paths[i % npaths];
		w[i].seconds = seconds;
		pthread_create(&tid[i], NULL, hit_loop, &w[i]);
	}
	for (int i = 0; i < threads; i++) {
		pthread_join(tid[i], NULL);
		ops += w[i].ops;
		failed |= w[i].failed;
	}
	t = hit_now() - t0;
	printf("%.0f\n", (double)ops / t);
	free(w);
	free(tid);
	if (failed)
		fprintf(stderr, "hitbench: a read failed or came back short\n");
	return failed;
}

static int hit_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static int hit_lat(long count, char **paths, int npaths)
{
	double *lat = malloc((size_t)count * sizeof(*lat));
	char *buf = malloc(HIT_BUF);

	if (!lat || !buf)
		return 1;
	for (long i = 0; i < count; i++) {
		double t0 = hit_now();

		if (hit_once(paths[i % npaths], buf) <= 0) {
			perror(paths[i % npaths]);
			return 1;
		}
		lat[i] = (hit_now() - t0) * 1e6;
	}
	qsort(lat, (size_t)count, sizeof(*lat), hit_cmp);
	printf("%.2f %.2f %.2f\n", lat[count / 2], lat[(count * 99) / 100],
	       lat[count - 1]);
	free(lat);
	free(buf);
	return 0;
}

static int hit_readbw(const char *path)
{
	char *buf = malloc(1 << 20);
	int fd = open(path, O_RDONLY);
	double t0 = hit_now(), bytes = 0;
	ssize_t n;

	if (fd < 0 || !buf) {
		perror(path);
		return 1;
	}
	while ((n = read(fd, buf, 1 << 20)) > 0)
		bytes += (double)n;
	close(fd);
	printf("%.1f %.0f\n", bytes / 1e6 / (hit_now() - t0), bytes);
	free(buf);
	return n < 0;
}

int main(int argc, char **argv)
{
	if (argc >= 5 && strcmp(argv[1], "rate") == 0)
		return hit_rate(atoi(argv[2]), atof(argv[3]), argv + 4,
				argc - 4);
	if (argc >= 4 && strcmp(argv[1], "lat") == 0)
		return hit_lat(atol(argv[2]), argv + 3, argc - 3);
	if (argc == 3 && strcmp(argv[1], "readbw") == 0)
		return hit_readbw(argv[2]);
	fprintf(stderr, "usage: hitbench rate THREADS SECONDS PATH...\n"
			"       hitbench lat COUNT PATH...\n"
			"       hitbench readbw PATH\n");
	return 2;
}
