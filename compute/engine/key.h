/* key.h -- cache keys: which stored result answers which question.
 *
 * A key is the XXH3-128 of (function name, function version, argument 1,
 * ..., argument n, dataset digest), each field length-prefixed so that no
 * two different tuples hash the same input.  Pure functions, safe from
 * any thread.
 */
#ifndef MEMOFS_KEY_H
#define MEMOFS_KEY_H

#include <stddef.h>
#include <stdint.h>

#define KEY_LEN 16

/* Writes the key of (fn, version, arg, digest) into out, canonical
 * (big-endian) byte order.  digest is DS_DIGEST_LEN bytes. */
void key_make(uint8_t out[KEY_LEN], const char *fn, const char *version,
	      const char *arg, const uint8_t *digest, size_t digest_len);

/* The key of (fn, version, args[0..nargs-1], digest): args[i] is lens[i]
 * bytes (not NUL-terminated).  With one argument, key_make()'s key. */
void key_make_args(uint8_t out[KEY_LEN], const char *fn,
		   const char *version, const char *const *args,
		   const size_t *lens, size_t nargs, const uint8_t *digest,
		   size_t digest_len);

/* Writes 32 lower-case hex digits and a NUL into hex. */
void key_hex(const uint8_t key[KEY_LEN], char hex[2 * KEY_LEN + 1]);

#endif
