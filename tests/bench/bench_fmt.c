/* bench_fmt.c -- the column text renderer alone, for the memofs benchmark
 * (run.py, figure 15): how many values a second fmt_doubles() prints on
 * one core, on the values of numpy.random.RandomState(SEED).randn(N).
 *
 *   bench_fmt N SEED OUT
 *       renders the N values REPS=3 times into one buffer (CPU time of
 *       this thread, the best of 3), writes the text once to OUT (for
 *       run.py to compare with Python's repr, byte for byte) and prints
 *       "values N secs S per_s X bytes B".
 *
 * Exit status 1 on an error (message on stderr), 2 on a usage error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "data/fmt.h"
#include "data/rng.h"

static double cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	size_t n, len = 0, done;
	double *x, best = 1e30;
	char *buf;
	FILE *out;
	rng *r;

	if (argc != 4 || (n = strtoul(argv[1], NULL, 10)) == 0) {
		fprintf(stderr, "usage: bench_fmt N SEED OUT\n");
		return 2;
	}
	r = rng_new((uint32_t)strtoul(argv[2], NULL, 10));
	x = malloc(n * sizeof(*x));
	buf = malloc(n * FMT_LINE_MAX);
	if (!r || !x || !buf) {
		fprintf(stderr, "bench_fmt: out of memory\n");
		return 1;
	}
	for (size_t i = 0; i < n; i++)
		x[i] = rng_gauss(r);
	for (int rep = 0; rep < 3; rep++) {
		double t0 = cpu_s();

		len = fmt_doubles(buf, n * FMT_LINE_MAX, x, n, &done);
		t0 = cpu_s() - t0;
		if (t0 < best)
			best = t0;
		if (done != n) {
			fprintf(stderr, "bench_fmt: rendered %zu of %zu\n",
				done, n);
			return 1;
		}
	}
	out = fopen(argv[3], "wb");
	if (!out || fwrite(buf, 1, len, out) != len || fclose(out) != 0) {
		perror(argv[3]);
		return 1;
	}
	printf("values %zu secs %.6f per_s %.0f bytes %zu\n", n, best,
	       n / best, len);
	rng_free(r);
	free(x);
	free(buf);
	return 0;
}
