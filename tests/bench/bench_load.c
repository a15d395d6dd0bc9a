/* bench_load.c -- how long ds_load() takes on a file (issue 12's "fast
 * input", issue 13's loaders).
 *
 *   bench_load FILE
 *       loads FILE as memofs does at mount (read, decompress, digest,
 *       parse); prints "load rows R cols C secs S" and, on stderr, the
 *       loader's debug line splitting the time into read, digest and parse.
 *
 * Run it under /usr/bin/time for CPU time and peak RSS, e.g. on the 5e6 x 8
 * CSV of 17 significant digits the README's Performance section names.
 * Exit status 1 when the file is refused (its message on stderr), 2 for a
 * usage error.
 */
#include <stdio.h>
#include <time.h>

#include "data/ds.h"
#include "util/log.h"

int main(int argc, char **argv)
{
	char err[DS_ERR_MAX];
	struct timespec a, b;
	ds *d = NULL;
	int rc;

	if (argc != 2) {
		fprintf(stderr, "usage: bench_load FILE\n");
		return 2;
	}
	log_init(0, LOG_LVL_DEBUG);
	clock_gettime(CLOCK_MONOTONIC, &a);
	rc = ds_load(argv[1], &d, err, sizeof(err));
	clock_gettime(CLOCK_MONOTONIC, &b);
	if (rc) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	printf("load rows %zu cols %zu secs %.3f\n", ds_nrows(d), ds_ncols(d),
	       (double)(b.tv_sec - a.tv_sec) +
	       (double)(b.tv_nsec - a.tv_nsec) / 1e9);
	ds_free(d);
	return 0;
}
