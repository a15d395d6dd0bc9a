/* fuzz_util.h -- what the memofs fuzz targets share: the input as a file,
 * and a check that aborts.
 *
 * ds_load() only reads files (ds.c has no in-memory entry point), so each
 * input is written to one file in a private mkdtemp() directory, reached
 * through hard links whose names end in .csv, .npy and .dat: the loader
 * picks its format by magic and by suffix.  The file stays open and is
 * rewritten in place for every input (ftruncate + pwrite), so no name is
 * created or removed per run.  The directory is removed at exit; a crash
 * leaves it behind in $TMPDIR (memofs-fuzz-XXXXXX).
 *
 * Header-only: each target is one executable and these are its only
 * globals.  libFuzzer runs inputs one at a time, on one thread.
 */
#ifndef MEMOFS_FUZZ_UTIL_H
#define MEMOFS_FUZZ_UTIL_H

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>

/* A broken invariant: say which and abort, which libFuzzer reports as a
 * crash and saves the input for. */
#define FZ_CHECK(cond)                                                     \
	do {                                                               \
		if (!(cond)) {                                             \
			fprintf(stderr, "%s:%d: FZ_CHECK failed: %s\n",    \
				__FILE__, __LINE__, #cond);                \
			abort();                                           \
		}                                                          \
	} while (0)

enum fz_name { FZ_CSV, FZ_NPY, FZ_DAT, FZ_NNAMES };

static const char *const fz_suffix[FZ_NNAMES] = { "in.csv", "in.npy",
						  "in.dat" };

/* The directory and the open data file (static: set once, see above). */
static struct {
	char dir[PATH_MAX / 2];
	char path[FZ_NNAMES][PATH_MAX];
	int fd;
} fz_file = { .fd = -1 };

static inline void fz_cleanup(void)
{
	for (int i = 0; i < FZ_NNAMES; i++)
		unlink(fz_file.path[i]);
	rmdir(fz_file.dir);
}

/* Makes the directory and the file; exits on failure (a fuzzer that cannot
 * write its input tests nothing). */
static inline void fz_file_init(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(fz_file.dir, sizeof(fz_file.dir), "%s/memofs-fuzz-XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(fz_file.dir)) {
		perror(fz_file.dir);
		exit(2);
	}
	for (int i = 0; i < FZ_NNAMES; i++)
		snprintf(fz_file.path[i], sizeof(fz_file.path[i]), "%s/%s",
			 fz_file.dir, fz_suffix[i]);
	fz_file.fd = open(fz_file.path[0], O_RDWR | O_CREAT | O_EXCL |
			  O_CLOEXEC, 0600);
	if (fz_file.fd < 0) {
		perror(fz_file.path[0]);
		exit(2);
	}
	for (int i = 1; i < FZ_NNAMES; i++)
		if (link(fz_file.path[0], fz_file.path[i]) != 0) {
			perror(fz_file.path[i]);
			exit(2);
		}
	atexit(fz_cleanup);
}

/* Replaces the file's content with data[0..size); returns the path under
 * the given name. */
static inline const char *fz_write(const void *data, size_t size,
				   enum fz_name name)
{
	const char *p = data;
	size_t done = 0;

	if (fz_file.fd < 0)
		fz_file_init();
	if (ftruncate(fz_file.fd, 0) != 0) {
		perror("ftruncate");
		exit(2);
	}
	while (done < size) {
		ssize_t n = pwrite(fz_file.fd, p + done, size - done,
				   (off_t)done);

		if (n <= 0) {
			perror("pwrite");
			exit(2);
		}
		done += (size_t)n;
	}
	return fz_file.path[name];
}

/* Whether two doubles have the same bits. */
static inline int fz_same_bits(double a, double b)
{
	return memcmp(&a, &b, sizeof(a)) == 0;
}

#endif
