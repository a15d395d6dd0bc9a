/* file.c -- file identities and digests (see file.h). */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/file.h"
#include "util/mem.h"

#define UTIL_FILE_CHUNK (1u << 18)	/* bytes hashed at a time */
int util_file_read_fd(int fd, size_t hint, size_t max, char **out,
		      size_t *len)
{
	size_t cap, used = 0;
	char *b, *nb;
	ssize_t n;

	assert(max <= SIZE_MAX / 4);
	cap = (hint < max ? hint : max) + 2;	/* +1 to see EOF, +1 for NUL */
	b = util_big_alloc(cap);
	if (!b)
		return -ENOMEM;
	while (used <= max) {
		size_t want;

		if (cap - used < 2) {
			nb = realloc(b, cap * 2);
			if (!nb) {
				free(b);
				return -ENOMEM;
			}
			b = nb;
			cap *= 2;
		}
		want = cap - used - 1;
		if (want > max + 1 - used)
			want = max + 1 - used;
		n = read(fd, b + used, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int rc = -errno;

			free(b);
			return rc;
		}
		if (n == 0)
			break;
		used += (size_t)n;
	}
	b[used] = '\0';
	*out = b;
	*len = used;
	return 0;
}

void util_file_ident_of(const struct stat *st, struct util_file_ident *id)
{
	id->dev = st->st_dev;
	id->ino = st->st_ino;
	id->size = st->st_size;
	id->mtime = st->st_mtim;
	id->ctime = st->st_ctim;
}

int util_file_ident_eq(const struct util_file_ident *a,
		       const struct util_file_ident *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       util_ts_ns(a->mtime) == util_ts_ns(b->mtime) &&
	       util_ts_ns(a->ctime) == util_ts_ns(b->ctime);
}

int util_file_ident_settled(const struct util_file_ident *id, int64_t when_ns,
			    int64_t racy_ns)
{
	int64_t m = util_ts_ns(id->mtime), c = util_ts_ns(id->ctime);

	return when_ns - (m > c ? m : c) >= racy_ns;
}

int util_file_hash(int fd, XXH3_state_t *st, enum util_hash_bits bits)
{
	char *buf = malloc(UTIL_FILE_CHUNK);
	off_t off = 0;
	ssize_t n;
	int rc = 0;

	if (!buf)
		return -ENOMEM;
	while ((n = pread(fd, buf, UTIL_FILE_CHUNK, off)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			break;
		}
		if (bits == UTIL_HASH_128)
			XXH3_128bits_update(st, buf, (size_t)n);
		else
			XXH3_64bits_update(st, buf, (size_t)n);
		off += n;
	}
	free(buf);
	return rc;
}

int util_file_hash64_hex(const char *path, char hex[17])
{
	XXH3_state_t *st = XXH3_createState();
	int fd, rc;

	if (!st)
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		goto out_free_state;
	}
	XXH3_64bits_reset(st);
	rc = util_file_hash(fd, st, UTIL_HASH_64);
	if (rc == 0)
		snprintf(hex, 17, "%016llx",
			 (unsigned long long)XXH3_64bits_digest(st));
	close(fd);
out_free_state:
	XXH3_freeState(st);
	return rc;
}
