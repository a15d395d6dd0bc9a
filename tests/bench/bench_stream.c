/* bench_stream.c -- sequential read bandwidth for the memofs benchmark.
 *
 *   bench_stream FILE [BUFSIZE]
 *       reads FILE to its end through one reused buffer of BUFSIZE bytes
 *       (default 1 MiB): from the page cache this runs at memcpy speed.
 *   bench_stream --whole FILE
 *       reads FILE whole into one new buffer of its size, as a loader that
 *       keeps the bytes must (page faults on fresh memory included).
 *
 * Prints "bytes N secs S mb_per_s X hash XXH64" and exits 0, or 1 on an
 * error.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int fail(const char *path)
{
	fprintf(stderr, "bench_stream: %s: %s\n", path, strerror(errno));
	return 1;
}

int main(int argc, char **argv)
{
	int whole = argc == 3 && strcmp(argv[1], "--whole") == 0;
	const char *path = argv[whole ? 2 : 1];
	size_t bufsize = 1u << 20, total = 0;
	uint64_t t0, t1, hash;
	struct stat sb;
	char *buf;
	int fd;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: bench_stream FILE [BUFSIZE]\n"
			"       bench_stream --whole FILE\n");
		return 2;
	}
	if (!whole && argc == 3)
		bufsize = strtoull(argv[2], NULL, 0);
	t0 = now_ns();
	fd = open(path, O_RDONLY);
	if (fd < 0 || fstat(fd, &sb) != 0)
		return fail(path);
	if (whole)
		bufsize = (size_t)sb.st_size + 1;
	buf = malloc(bufsize);
	if (!buf)
		return fail(path);
	for (;;) {
		ssize_t n = read(fd, whole ? buf + total : buf,
				 whole ? bufsize - total : bufsize);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return fail(path);
		if (n == 0)
			break;
		total += (size_t)n;
		if (whole && total == bufsize)
			break;
	}
	close(fd);
	t1 = now_ns();
	/* Hash outside the timing: only the whole buffer can be hashed. */
	hash = whole ? XXH64(buf, total, 0) : 0;
	printf("bytes %zu secs %.6f mb_per_s %.1f hash %016llx\n", total,
	       (t1 - t0) / 1e9, total / 1e6 / ((t1 - t0) / 1e9),
	       (unsigned long long)hash);
	free(buf);
	return 0;
}
