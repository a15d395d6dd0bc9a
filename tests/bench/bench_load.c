/* bench_load.c -- how long ds_load() takes on a file (issue 12's "fast
 * input", issue 13's loaders).
 *
 *   bench_load [-D] [-c CHUNK] [-n REPS] FILE
 *       loads FILE as memofs does at mount (read, decompress, digest,
 *       parse) REPS times (default 1), with chunks of CHUNK bytes (default
 *       ds.c's), without the digest with -D (a temporary cache's load,
 *       ds_opts.no_digest); prints one "load rows R cols C secs S" line a load and,
 *       when REPS > 1, "median secs S"; on stderr, the loader's debug line
 *       splitting each load's time into opening the file, reading with the
 *       digest (and, for .npy, the conversion into columns) and parsing.
 *
 * Run it under /usr/bin/time for CPU time and peak RSS, e.g. on the 5e6 x 8
 * CSV of 17 significant digits the README's Performance section names.
 * Exit status 1 when the file is refused (its message on stderr), 2 for a
 * usage error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "data/ds.h"
#include "data/ds_impl.h"
#include "util/log.h"

#define REPS_MAX 99

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	double secs[REPS_MAX];
	struct ds_opts o = DS_OPTS_INIT;
	char err[DS_ERR_MAX];
	int opt, reps = 1;

	while ((opt = getopt(argc, argv, "Dc:n:")) != -1) {
		if (opt == 'D')
			o.no_digest = 1;
		else if (opt == 'c' && atol(optarg) > 0)
			ds_chunk_bytes = (size_t)atol(optarg);
		else if (opt == 'n' && atoi(optarg) > 0 &&
			 atoi(optarg) <= REPS_MAX)
			reps = atoi(optarg);
		else
			goto usage;
	}
	if (optind != argc - 1)
		goto usage;
	log_init(0, LOG_LVL_DEBUG);
	for (int r = 0; r < reps; r++) {
		struct timespec a, b;
		ds *d = NULL;
		int rc;

		clock_gettime(CLOCK_MONOTONIC, &a);
		rc = ds_load_opts(argv[optind], &o, &d, err, sizeof(err));
		clock_gettime(CLOCK_MONOTONIC, &b);
		if (rc) {
			fprintf(stderr, "%s\n", err);
			return 1;
		}
		secs[r] = (double)(b.tv_sec - a.tv_sec) +
			  (double)(b.tv_nsec - a.tv_nsec) / 1e9;
		printf("load rows %zu cols %zu secs %.3f\n", ds_nrows(d),
		       ds_ncols(d), secs[r]);
		ds_free(d);
	}
	if (reps > 1) {
		qsort(secs, (size_t)reps, sizeof(*secs), cmp_double);
		printf("median secs %.3f\n", secs[reps / 2]);
	}
	return 0;
usage:
	fprintf(stderr, "usage: bench_load [-D] [-c CHUNK] [-n REPS] FILE\n");
	return 2;
}
