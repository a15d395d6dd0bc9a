/* file.h -- small file chores shared by the readers and the function
 * providers: reading a whole file, a file's identity (has it changed?) and
 * the XXH3 of its bytes.
 *
 * Safe from any thread (no state of its own).
 */
#ifndef MEMOFS_UTIL_FILE_H
#define MEMOFS_UTIL_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>
#include <xxhash.h>

/* Reads fd from its offset to its end into *out (caller frees),
 * NUL-terminated; *len excludes the NUL.  hint is the expected size (the
 * first buffer, from util_big_alloc(), holds hint bytes and sees the
 * end).  At most max + 1 bytes
 * are read: *len > max says the file holds more than max, for the caller
 * to refuse.  max is at most SIZE_MAX / 4.  0, -ENOMEM, or the read's
 * -errno (EINTR is retried). */
int util_file_read_fd(int fd, size_t hint, size_t max, char **out,
		      size_t *len);

/* What identifies one version of a file's content: when any field
 * differs, the content may have changed; when none does, it has not,
 * unless a write fell in the same timestamp tick (callers that keep a
 * digest also check the change is old enough: argdir.c, cmdfn.c). */
struct util_file_ident {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	struct timespec ctime;
};

void util_file_ident_of(const struct stat *st, struct util_file_ident *id);
int util_file_ident_eq(const struct util_file_ident *a,
		       const struct util_file_ident *b);

/* May a digest of the file taken at when_ns (CLOCK_REALTIME, like file
 * times) be trusted for this identity later?  Not when the file changed
 * within racy_ns before: a write in the same timestamp tick would leave
 * the identity unchanged. */
int util_file_ident_settled(const struct util_file_ident *id, int64_t when_ns,
			    int64_t racy_ns);

/* Which XXH3 update util_file_hash() feeds the state with. */
enum util_hash_bits {
	UTIL_HASH_64,		/* XXH3_64bits_update */
	UTIL_HASH_128,		/* XXH3_128bits_update */
};

/* Feeds every byte fd holds, from offset 0 to its end (pread: the file
 * offset is left alone), into st, already reset by the caller for the
 * same width.  0, -ENOMEM, or the read's -errno (EINTR is retried). */
int util_file_hash(int fd, XXH3_state_t *st, enum util_hash_bits bits);

/* The XXH3-64 of the file at path as 16 lower-case hex digits.  0 or
 * -errno (open, read, -ENOMEM). */
int util_file_hash64_hex(const char *path, char hex[17]);

#endif
