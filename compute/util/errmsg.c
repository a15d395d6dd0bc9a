/* errmsg.c -- "<path>: <what>" error lines (see errmsg.h). */
#include <stdio.h>
#include <string.h>

#include "util/errmsg.h"

#define ERRMSG_PATH_MIN 16	/* path bytes worth keeping after "..." */

int util_path_verror(char *err, size_t errlen, const char *path, int rc,
		     const char *fmt, va_list ap)
{
	char what[UTIL_ERRMSG_WHAT_MAX];
	size_t plen = strlen(path), wlen, keep;

	if (errlen == 0)
		return rc;
	vsnprintf(what, sizeof(what), fmt, ap);
	wlen = strlen(what);
	/* "path: what" and its NUL fit, or too little room to cut well. */
	if (plen + 2 + wlen < errlen ||
	    errlen < 3 + ERRMSG_PATH_MIN + 2 + wlen + 1) {
		snprintf(err, errlen, "%s: %s", path, what);
		return rc;
	}
	keep = errlen - 1 - wlen - 2 - 3;
	snprintf(err, errlen, "...%s: %s", path + plen - keep, what);
	return rc;
}

int util_path_error(char *err, size_t errlen, const char *path, int rc,
		    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	rc = util_path_verror(err, errlen, path, rc, fmt, ap);
	va_end(ap);
	return rc;
}
