/* remote_url.c -- the remote tier's URL (see remote_url.h). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/remote_url.h"

/* A decimal number of at most 5 digits, no sign or blank, from
 * s[0..len), at most max.  0 or -EINVAL. */
static int remote_url_number(const char *s, size_t len, long max, int *out)
{
	long n = 0;

	if (len == 0 || len > 5)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -EINVAL;
		n = n * 10 + (s[i] - '0');
	}
	if (n > max)
		return -EINVAL;
	*out = (int)n;
	return 0;
}

static int remote_url_fail(char *why, size_t whylen, int rc, const char *msg)
{
	snprintf(why, whylen, "%s", msg);
	return rc;
}

static int remote_url_unix(const char *path, struct remote_url *out,
			   char *why, size_t whylen)
{
	size_t n = strlen(path);

	if (path[0] != '/')
		return remote_url_fail(why, whylen, -EINVAL,
				       "unix: needs an absolute socket path");
	if (n > REMOTE_PATH_MAX)
		return remote_url_fail(why, whylen, -EINVAL,
				       "socket path longer than 107 bytes");
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)path[i] < 0x20 || path[i] == 0x7f)
			return remote_url_fail(why, whylen, -EINVAL,
					       "control byte in the socket "
					       "path");
	out->is_unix = 1;
	memcpy(out->path, path, n + 1);
	return 0;
}

/* HOST: [IPv6] (hex digits, ':' and '.'), or letters, digits, '.' and
 * '-'.  Sets *end past it. */
static int remote_url_host(const char *s, struct remote_url *out,
			   const char **end)
{
	const char *p = s;
	size_t n;

	if (*p == '[') {
		for (p++; isxdigit((unsigned char)*p) || *p == ':' || *p == '.';
		     p++)
			;
		if (*p != ']' || p == s + 1)
			return -EINVAL;
		n = (size_t)(p - s - 1);
		s++;
		p++;
	} else {
		for (; isalnum((unsigned char)*p) || *p == '.' || *p == '-';
		     p++)
			;
		n = (size_t)(p - s);
	}
	if (n == 0 || n > REMOTE_HOST_MAX)
		return -EINVAL;
	memcpy(out->host, s, n);
	out->host[n] = '\0';
	*end = p;
	return 0;
}

static int remote_url_tcp(const char *s, struct remote_url *out, char *why,
			  size_t whylen)
{
	const char *p, *slash;

	if (strpbrk(s, "@"))
		return remote_url_fail(why, whylen, -EINVAL,
				       "no user or password in the URL: use "
				       "remote_password_file");
	if (remote_url_host(s, out, &p) != 0)
		return remote_url_fail(why, whylen, -EINVAL,
				       "expected a host name or address");
	out->port = REMOTE_DEFAULT_PORT;
	slash = strchr(p, '/');
	if (*p == ':' &&
	    remote_url_number(p + 1, (size_t)((slash ? slash : p + strlen(p)) -
					      p - 1),
			      65535, &out->port) != 0)
		return remote_url_fail(why, whylen, -EINVAL,
				       "expected a port from 1 to 65535");
	if (*p == ':' && out->port == 0)
		return remote_url_fail(why, whylen, -EINVAL,
				       "expected a port from 1 to 65535");
	if (*p != ':' && *p != '/' && *p != '\0')
		return remote_url_fail(why, whylen, -EINVAL,
				       "expected :PORT or /DB after the host");
	if (slash &&
	    remote_url_number(slash + 1, strlen(slash + 1), REMOTE_DB_MAX,
			      &out->db) != 0)
		return remote_url_fail(why, whylen, -EINVAL,
				       "expected a database number from 0 "
				       "to 9999 after /");
	return 0;
}

int remote_url_parse(const char *text, struct remote_url *out, char *why,
		     size_t whylen)
{
	memset(out, 0, sizeof(*out));
	if (strncmp(text, "unix:", 5) == 0)
		return remote_url_unix(text + 5, out, why, whylen);
	if (strncmp(text, "rediss://", 9) == 0)
		return remote_url_fail(why, whylen, -ENOTSUP,
				       "TLS is not supported: Debian 12's "
				       "hiredis 0.14.1 has none");
	if (strncmp(text, "redis://", 8) == 0)
		return remote_url_tcp(text + 8, out, why, whylen);
	return remote_url_fail(why, whylen, -EINVAL,
			       "expected redis://HOST[:PORT][/DB] or "
			       "unix:/PATH");
}

int remote_prefix_check(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > REMOTE_PREFIX_MAX)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && !strchr("._-", name[i]))
			return -EINVAL;
	return 0;
}
