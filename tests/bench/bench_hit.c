/* bench_hit.c -- warm-hit loops for the memofs benchmark (run.py).
 *
 * One "hit" is what a program does to get a small cached result:
 * open(O_RDONLY) + one read() + close().
 *
 *   bench_hit ops SECONDS THREADS PATH...
 *       THREADS threads, thread i hitting PATH[i % npaths], for SECONDS;
 *       prints "ops N secs S ops_per_s X".
 *   bench_hit lat SECONDS PATH
 *       one thread, every hit timed; prints
 *       "lat n N p50_ns A p99_ns B p999_ns C max_ns D".
 *   bench_hit once LISTFILE
 *       hits each path of LISTFILE (one a line) once, in order, each timed;
 *       prints the same "lat" line (for first reads of distinct results).
 *   bench_hit rt SECONDS PATH XATTR
 *       times pairs of getxattr(PATH, XATTR), two requests that a FUSE
 *       daemon must answer, for SECONDS; prints the same "lat" line: the
 *       floor of anything that needs two round trips to the daemon.
 *
 * Every read must return at least one byte, and the same number of bytes
 * each time for one path; anything else is an error (exit 1, message on
 * stderr).  Exit status 2 is a usage error.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/xattr.h>
#include <unistd.h>

#define HIT_BUF 65536
#define HIT_CHECK_EVERY 1024	/* iterations between clock reads */
#define LAT_MAX_SAMPLES (16u << 20)

struct hit_thread {
	const char *path;
	double seconds;
	uint64_t ops;
	int err;		/* errno of the failure, or 0 */
	pthread_t tid;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* One hit.  Returns the number of bytes read (> 0) or a negative errno. */
static ssize_t hit(const char *path, char *buf)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, HIT_BUF);
	if (n < 0)
		n = -errno;
	else if (n == 0)
		n = -ENODATA;
	close(fd);
	return n;
}

static void *hit_loop(void *arg)
{
	struct hit_thread *t = arg;
	char *buf = malloc(HIT_BUF);
	uint64_t end, ops = 0;
	ssize_t want, n;

	if (!buf) {
		t->err = ENOMEM;
		return NULL;
	}
	want = hit(t->path, buf);
	if (want < 0) {
		t->err = (int)-want;
		goto out_free_buf;
	}
	end = now_ns() + (uint64_t)(t->seconds * 1e9);
	for (;;) {
		for (int i = 0; i < HIT_CHECK_EVERY; i++) {
			n = hit(t->path, buf);
			if (n != want) {
				t->err = n < 0 ? (int)-n : EIO;
				goto out_free_buf;
			}
		}
		ops += HIT_CHECK_EVERY;
		if (now_ns() >= end)
			break;
	}
out_free_buf:
	t->ops = ops;
	free(buf);
	return NULL;
}

static int cmd_ops(double seconds, int nthreads, char **paths, int npaths)
{
	struct hit_thread *t = calloc((size_t)nthreads, sizeof(*t));
	uint64_t t0, t1, ops = 0;
	int rc = 0;

	if (!t)
		return 1;
	t0 = now_ns();
	for (int i = 0; i < nthreads; i++) {
		t[i].path = paths[i % npaths];
		t[i].seconds = seconds;
		if (pthread_create(&t[i].tid, NULL, hit_loop, &t[i])) {
			fprintf(stderr, "bench_hit: cannot start threads\n");
			exit(1);
		}
	}
	for (int i = 0; i < nthreads; i++) {
		pthread_join(t[i].tid, NULL);
		if (t[i].err) {
			fprintf(stderr, "bench_hit: %s: %s\n", t[i].path,
				strerror(t[i].err));
			rc = 1;
		}
		ops += t[i].ops;
	}
	t1 = now_ns();
	printf("ops %llu secs %.6f ops_per_s %.1f\n", (unsigned long long)ops,
	       (t1 - t0) / 1e9, ops / ((t1 - t0) / 1e9));
	free(t);
	return rc;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* Sorts the n samples and prints their percentiles. */
static void print_lat(uint64_t *s, size_t n)
{
	qsort(s, n, sizeof(*s), cmp_u64);
	printf("lat n %zu p50_ns %llu p99_ns %llu p999_ns %llu max_ns %llu\n",
	       n, (unsigned long long)s[n / 2],
	       (unsigned long long)s[(size_t)(n * 0.99)],
	       (unsigned long long)s[(size_t)(n * 0.999)],
	       (unsigned long long)s[n - 1]);
}

static int cmd_lat(double seconds, const char *path)
{
	uint64_t *s = malloc(LAT_MAX_SAMPLES * sizeof(*s));
	char *buf = malloc(HIT_BUF);
	uint64_t end, t0;
	size_t n = 0;
	ssize_t want, got;

	if (!s || !buf)
		return 1;
	want = hit(path, buf);
	if (want < 0) {
		fprintf(stderr, "bench_hit: %s: %s\n", path, strerror(-want));
		return 1;
	}
	end = now_ns() + (uint64_t)(seconds * 1e9);
	for (t0 = now_ns(); t0 < end && n < LAT_MAX_SAMPLES; n++) {
		uint64_t t1;

		got = hit(path, buf);
		t1 = now_ns();
		if (got != want) {
			fprintf(stderr, "bench_hit: %s: %s\n", path,
				got < 0 ? strerror(-got) : "short read");
			return 1;
		}
		s[n] = t1 - t0;
		t0 = t1;
	}
	print_lat(s, n);
	free(buf);
	free(s);
	return 0;
}

static int cmd_once(const char *list)
{
	FILE *f = fopen(list, "r");
	char *line = NULL, *buf = malloc(HIT_BUF);
	size_t cap = 0, n = 0, max = 1024;
	uint64_t *s = malloc(max * sizeof(*s));
	ssize_t len;

	if (!f || !buf || !s) {
		fprintf(stderr, "bench_hit: %s: %s\n", list, strerror(errno));
		return 1;
	}
	while ((len = getline(&line, &cap, f)) > 0) {
		uint64_t t0;
		ssize_t got;

		if (line[len - 1] == '\n')
			line[len - 1] = '\0';
		if (n == max) {
			max *= 2;
			s = realloc(s, max * sizeof(*s));
			if (!s)
				return 1;
		}
		t0 = now_ns();
		got = hit(line, buf);
		s[n++] = now_ns() - t0;
		if (got < 0) {
			fprintf(stderr, "bench_hit: %s: %s\n", line,
				strerror(-got));
			return 1;
		}
	}
	fclose(f);
	if (n == 0) {
		fprintf(stderr, "bench_hit: %s: no paths\n", list);
		return 1;
	}
	print_lat(s, n);
	free(line);
	free(buf);
	free(s);
	return 0;
}

static int cmd_rt(double seconds, const char *path, const char *name)
{
	uint64_t *s = malloc(LAT_MAX_SAMPLES * sizeof(*s));
	uint64_t end, t0;
	size_t n = 0;
	char val[256];

	if (!s)
		return 1;
	end = now_ns() + (uint64_t)(seconds * 1e9);
	for (t0 = now_ns(); t0 < end && n < LAT_MAX_SAMPLES; n++) {
		uint64_t t1;

		if (getxattr(path, name, val, sizeof(val)) < 0 ||
		    getxattr(path, name, val, sizeof(val)) < 0) {
			fprintf(stderr, "bench_hit: getxattr %s: %s\n", path,
				strerror(errno));
			return 1;
		}
		t1 = now_ns();
		s[n] = t1 - t0;
		t0 = t1;
	}
	print_lat(s, n);
	free(s);
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: bench_hit ops SECONDS THREADS PATH...\n"
		"       bench_hit lat SECONDS PATH\n"
		"       bench_hit once LISTFILE\n"
		"       bench_hit rt SECONDS PATH XATTR\n");
	return 2;
}

int main(int argc, char **argv)
{
	if (argc >= 5 && strcmp(argv[1], "ops") == 0 && atoi(argv[3]) > 0)
		return cmd_ops(atof(argv[2]), atoi(argv[3]), argv + 4,
			       argc - 4);
	if (argc == 4 && strcmp(argv[1], "lat") == 0)
		return cmd_lat(atof(argv[2]), argv[3]);
	if (argc == 3 && strcmp(argv[1], "once") == 0)
		return cmd_once(argv[2]);
	if (argc == 5 && strcmp(argv[1], "rt") == 0)
		return cmd_rt(atof(argv[2]), argv[3], argv[4]);
	return usage();
}
