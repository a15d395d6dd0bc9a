/* test_stream.c -- unit test of stream.c: the two-thread chunked pread
 * and its in-order digest.
 *
 * Against a naive reference (the file's bytes read whole, XXH3-128 in one
 * call): for sizes around chunk boundaries, one and two threads, reading
 * into the caller's buffer or the threads' own, the digest is the one-shot
 * digest and every byte reaches the consumer exactly once.  Then every
 * way a read stops: the file ends early (given too large an end, or
 * truncated while read), pread fails (a directory), the consumer fails
 * (the first failure in file order is reported), no memory for a chunk.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#include "check.h"
#include "data/stream.h"
#include "tmpdir.h"

#define SIZE_MAX_HERE (1u << 16)	/* largest file written here */

struct fx {
	char dir[256];
	char path[300];
	unsigned char bytes[SIZE_MAX_HERE];
};

/* What a consumer saw. */
struct seen {
	const unsigned char *want;	/* the file's bytes */
	_Atomic unsigned char times[SIZE_MAX_HERE];
	_Atomic int calls;
	int wrong;			/* bytes that differ from want */
	uint64_t fail_at[2];		/* chunk offsets to fail, or ~0 */
	int truncate_fd;		/* ftruncate() it to 0 at the first
					 * call, or -1 */
	unsigned char *buf;		/* the dest buffer, or NULL */
};

static int write_file(struct fx *fx, size_t len)
{
	int fd;

	snprintf(fx->path, sizeof(fx->path), "%s/f", fx->dir);
	fd = open(fx->path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, fx->bytes, len) != (ssize_t)len) {
		perror(fx->path);
		exit(2);
	}
	return fd;
}

static int consume(void *ctx, unsigned tid, uint64_t off,
		   const unsigned char *p, size_t len)
{
	struct seen *s = ctx;

	CHECK(tid < STREAM_THREADS_MAX);
	if (s->truncate_fd >= 0 && atomic_fetch_add(&s->calls, 1) == 0)
		CHECK_INT(ftruncate(s->truncate_fd, 0), 0);
	if (off == s->fail_at[0] || off == s->fail_at[1])
		return -EBADMSG;
	if (s->buf)
		CHECK(p == s->buf + off);
	if (memcmp(p, s->want + off, len) != 0)
		s->wrong = 1;
	for (size_t k = 0; k < len; k++)
		s->times[off + k]++;
	return 0;
}

static unsigned char *dest(void *ctx, uint64_t off, size_t len)
{
	struct seen *s = ctx;

	(void)len;
	return s->buf + off;
}

static struct seen *seen_new(const unsigned char *want)
{
	struct seen *s = calloc(1, sizeof(*s));

	if (!s)
		exit(2);
	s->want = want;
	s->fail_at[0] = s->fail_at[1] = ~(uint64_t)0;
	s->truncate_fd = -1;
	return s;
}

/* Reads a file of size bytes from start in chunks and compares with the
 * reference. */
static void read_case(struct fx *fx, size_t size, size_t start, size_t chunk,
		      unsigned threads, int into_buf)
{
	struct seen *s = seen_new(fx->bytes);
	XXH3_state_t *h = XXH3_createState();
	XXH128_canonical_t got, want;
	struct stream_fail f;
	int fd = write_file(fx, size), rc, once = 1;
	struct stream_job j = {
		.fd = fd, .start = start, .end = size, .chunk = chunk,
		.threads = threads, .consume = consume, .ctx = s, .hash = h,
	};

	if (!h || XXH3_128bits_reset(h) != XXH_OK)
		exit(2);
	if (into_buf) {
		s->buf = calloc(1, size + 1);
		j.dest = dest;
	}
	(void)XXH3_128bits_update(h, fx->bytes, start);	/* the prefix */
	rc = stream_read(&j, &f);
	CHECK_INT(rc, 0);
	XXH128_canonicalFromHash(&got, XXH3_128bits_digest(h));
	XXH128_canonicalFromHash(&want, XXH3_128bits(fx->bytes, size));
	CHECK(memcmp(got.digest, want.digest, sizeof(got.digest)) == 0);
	CHECK(!s->wrong);
	for (size_t k = 0; k < size; k++)
		once &= s->times[k] == (k >= start);
	CHECK(once);
	if (into_buf)
		CHECK(memcmp(s->buf + start, fx->bytes + start,
			     size - start) == 0);
	if (rc || !once || s->wrong)
		fprintf(stderr, "  size %zu start %zu chunk %zu threads %u "
			"buf %d\n", size, start, chunk, threads, into_buf);
	free(s->buf);
	free(s);
	XXH3_freeState(h);
	close(fd);
}

static void test_digest_sizes(struct fx *fx)
{
	static const size_t chunks[] = { 1, 7, 4096 };

	for (size_t c = 0; c < sizeof(chunks) / sizeof(*chunks); c++) {
		size_t ch = chunks[c];
		size_t sizes[] = { 0, 1, ch - 1, ch, ch + 1, 2 * ch - 1,
				   2 * ch, 2 * ch + 1, 5 * ch + 3, 13 * ch };

		for (size_t i = 0; i < sizeof(sizes) / sizeof(*sizes); i++)
			for (unsigned t = 1; t <= 2; t++)
				for (int b = 0; b < 2; b++) {
					read_case(fx, sizes[i], 0, ch, t, b);
					if (sizes[i] >= 3)
						read_case(fx, sizes[i], 3, ch,
							  t, b);
				}
	}
}

/* Runs j and expects rc, f.ended and f.off. */
static void expect_stop(const struct stream_job *j, int want_rc,
			int want_ended, uint64_t want_off)
{
	struct stream_fail f;
	int rc = stream_read(j, &f);

	CHECK_INT(rc, want_rc);
	CHECK_INT(f.ended, want_ended);
	CHECK_INT(f.off, want_off);
}

static void test_failures(struct fx *fx)
{
	struct seen *s = seen_new(fx->bytes);
	XXH3_state_t *h = XXH3_createState();
	int fd = write_file(fx, 10000);
	struct stream_job j = {
		.fd = fd, .start = 0, .end = 10000, .chunk = 1000,
		.threads = 2, .consume = consume, .ctx = s, .hash = h,
	};

	if (!h || XXH3_128bits_reset(h) != XXH_OK)
		exit(2);
	/* The file is shorter than the caller thinks: chunk 10 is past it. */
	j.end = 10500;
	expect_stop(&j, -EIO, 1, 10000);
	j.end = 10000;

	/* The consumer fails at chunks 3 and 5: chunk 3's is reported. */
	for (unsigned t = 1; t <= 2; t++) {
		s->fail_at[0] = 5000;
		s->fail_at[1] = 3000;
		j.threads = t;
		expect_stop(&j, -EBADMSG, 0, 3000);
	}
	s->fail_at[0] = s->fail_at[1] = ~(uint64_t)0;

	/* A chunk of no memory (ASan and TSan would report, not return,
	 * NULL). */
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
	j.chunk = SIZE_MAX / 2;
	expect_stop(&j, -ENOMEM, 0, 0);
	j.chunk = 1000;
#endif

	/* The file is truncated while it is read, by the first consumer. */
	s->truncate_fd = fd;
	j.threads = 2;
	{
		struct stream_fail f;
		int rc = stream_read(&j, &f);

		CHECK_INT(rc, -EIO);
		CHECK_INT(f.ended, 1);
		CHECK(f.off > 0 && f.off < 10000);
	}
	s->truncate_fd = -1;
	close(fd);

	/* pread fails: a directory. */
	fd = open(fx->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK(fd >= 0);
	j.fd = fd;
	j.start = 0;
	j.end = 100;
	expect_stop(&j, -EISDIR, 0, 0);
	close(fd);

	/* Nothing to read is no failure. */
	j.start = j.end = 100;
	expect_stop(&j, 0, 0, 100);
	free(s);
	XXH3_freeState(h);
}

int main(void)
{
	static struct fx fx;

	if (tmp_dir(fx.dir, sizeof(fx.dir), "memofs-test-stream") != 0) {
		perror("mkdtemp");
		return 2;
	}
	srand(5);
	for (size_t k = 0; k < sizeof(fx.bytes); k++)
		fx.bytes[k] = (unsigned char)rand();
	test_digest_sizes(&fx);
	test_failures(&fx);
	rm_tree(fx.dir);
	return check_report("stream");
}
