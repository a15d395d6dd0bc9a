/* dump_demo.c -- prints numpy.random.RandomState(42).randn(10000, 4) as
 * rng.h computes it, for test_demo_data.py to compare with NumPy.
 *
 *   dump_demo           40000 raw little-endian float64, row-major
 *   dump_demo --repr    the same values through fmt_double(), one a line
 *
 * Exit status 0, or 1 on a usage or write error.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "data/fmt.h"
#include "data/rng.h"

#define DEMO_SEED 42
#define DEMO_VALUES (10000 * 4)

/* Writes x as 8 little-endian bytes, whatever the host's byte order. */
static int put_raw(double x)
{
	unsigned char b[8];
	uint64_t bits;

	memcpy(&bits, &x, sizeof(bits));
	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(bits >> (8 * i));
	return fwrite(b, 1, sizeof(b), stdout) == sizeof(b) ? 0 : -1;
}

static int put_repr(double x)
{
	char buf[FMT_DOUBLE_MAX];

	fmt_double(buf, x);
	return puts(buf) < 0 ? -1 : 0;
}

int main(int argc, char **argv)
{
	int as_repr = argc == 2 && strcmp(argv[1], "--repr") == 0;
	int rc = 0;
	rng *r;

	if (argc > 2 || (argc == 2 && !as_repr)) {
		fprintf(stderr, "usage: dump_demo [--repr]\n");
		return 1;
	}
	r = rng_new(DEMO_SEED);
	if (!r) {
		fprintf(stderr, "dump_demo: out of memory\n");
		return 1;
	}
	for (int i = 0; i < DEMO_VALUES && rc == 0; i++) {
		double x = rng_gauss(r);

		rc = as_repr ? put_repr(x) : put_raw(x);
	}
	rng_free(r);
	if (rc < 0 || fflush(stdout) != 0) {
		perror("dump_demo: write");
		return 1;
	}
	return 0;
}
