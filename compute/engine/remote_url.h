/* remote_url.h -- where the remote tier's Redis is: its URL, parsed.
 *
 *   redis://HOST[:PORT][/DB]    TCP; HOST a name, an IPv4 address or an
 *                               [IPv6] address; PORT 1..65535 (default
 *                               6379); DB 0..9999 (default 0)
 *   unix:/PATH                  a Unix socket (absolute path), DB 0
 *
 * Strict: nothing else is accepted (no user or password in the URL:
 * they would show in ps and /proc/mounts; no query; no "rediss://":
 * Debian 12's hiredis 0.14.1 has no TLS).  Pure functions, no I/O, safe
 * from any thread; fuzzed by tests/fuzz/fuzz_remote_url.c.
 */
#ifndef MEMOFS_REMOTE_URL_H
#define MEMOFS_REMOTE_URL_H

#include <stddef.h>

#define REMOTE_HOST_MAX 253	/* a DNS name's longest text */
#define REMOTE_PATH_MAX 107	/* sun_path's 108 bytes, NUL included */
#define REMOTE_DB_MAX 9999
#define REMOTE_DEFAULT_PORT 6379
#define REMOTE_PREFIX_MAX 64

struct remote_url {
	int is_unix;			/* unix:/PATH */
	char host[REMOTE_HOST_MAX + 1];	/* TCP: name or address, no [] */
	int port;			/* TCP: 1..65535 */
	int db;				/* 0..REMOTE_DB_MAX */
	char path[REMOTE_PATH_MAX + 1];	/* unix: the socket */
};

/* Parses the NUL-terminated text into *out.  Returns 0; -ENOTSUP for
 * "rediss://" (TLS); -EINVAL for anything else that is not a URL of the
 * shapes above.  Either failure writes a one-line reason into why (whylen
 * bytes) that does not repeat text (the caller quotes it). */
int remote_url_parse(const char *text, struct remote_url *out, char *why,
		     size_t whylen);

/* Is name a valid key prefix: 1 to REMOTE_PREFIX_MAX letters, digits or
 * ._-?  (Redis keys may hold any byte; these keep them readable in
 * redis-cli and keep ':' for memofs's own separators.)  0 or -EINVAL. */
int remote_prefix_check(const char *name);

#endif
