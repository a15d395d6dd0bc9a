/* fuzz_remote_url.c -- libFuzzer target: remote_url_parse() and
 * remote_prefix_check() on arbitrary bytes (the -o remote=... and
 * remote_prefix=... values, which come from the command line or fstab).
 *
 * The input, cut at its first NUL, is one URL.  For each:
 *   - a refusal is -EINVAL or -ENOTSUP with a non-empty reason;
 *   - an accepted URL has exactly one of the two shapes, with every field
 *     in range (a NUL-terminated host of allowed characters, port 1 to
 *     65535, database 0 to 9999; or an absolute socket path without
 *     control bytes, at most 107 bytes);
 *   - printing the parsed fields back as a URL and parsing that gives the
 *     same fields (the parser is deterministic and loses nothing);
 *   - an accepted prefix is 1 to 64 bytes of [A-Za-z0-9._-].
 */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/remote_url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_fields(const struct remote_url *u)
{
	if (u->is_unix) {
		size_t n = strnlen(u->path, sizeof(u->path));

		if (n == 0 || n > REMOTE_PATH_MAX || u->path[0] != '/')
			abort();
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)u->path[i] < 0x20 ||
			    u->path[i] == 0x7f)
				abort();
		return;
	}
	size_t n = strnlen(u->host, sizeof(u->host));

	if (n == 0 || n > REMOTE_HOST_MAX || u->port < 1 ||
	    u->port > 65535 || u->db < 0 || u->db > REMOTE_DB_MAX)
		abort();
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)u->host[i]) &&
		    !isalnum((unsigned char)u->host[i]) &&
		    !strchr(".-:", u->host[i]))
			abort();
}

static void round_trip(const struct remote_url *u)
{
	char text[512], why[128];
	struct remote_url again;

	if (u->is_unix)
		snprintf(text, sizeof(text), "unix:%s", u->path);
	else
		snprintf(text, sizeof(text),
			 strchr(u->host, ':') ? "redis://[%s]:%d/%d"
					      : "redis://%s:%d/%d",
			 u->host, u->port, u->db);
	if (remote_url_parse(text, &again, why, sizeof(why)) != 0 ||
	    again.is_unix != u->is_unix || again.port != u->port ||
	    again.db != u->db || strcmp(again.host, u->host) != 0 ||
	    strcmp(again.path, u->path) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), why[128];
	struct remote_url u;
	int rc;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	why[0] = '\0';
	rc = remote_url_parse(text, &u, why, sizeof(why));
	if (rc == 0) {
		check_fields(&u);
		round_trip(&u);
	} else if ((rc != -EINVAL && rc != -ENOTSUP) || !why[0]) {
		abort();
	}
	if (remote_prefix_check(text) == 0) {
		size_t n = strlen(text);

		if (n == 0 || n > REMOTE_PREFIX_MAX)
			abort();
		for (size_t i = 0; i < n; i++)
			if (!isalnum((unsigned char)text[i]) &&
			    !strchr("._-", text[i]))
				abort();
	}
	free(text);
	return 0;
}
