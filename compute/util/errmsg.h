/* errmsg.h -- one-line error messages that name the file they are about.
 *
 * Loaders (the dataset, command files, plugins, options) report a refusal
 * as one line "<path>: <what>" in a caller's buffer.  This is the one place
 * that builds such a line, so every loader cuts an overlong path the same
 * way: the path loses its beginning ("...tail/of/the/path: what"), never
 * the message its end.  No state: safe from any thread.
 */
#ifndef MEMOFS_UTIL_ERRMSG_H
#define MEMOFS_UTIL_ERRMSG_H

#include <stdarg.h>
#include <stddef.h>

#define UTIL_ERRMSG_WHAT_MAX 1024	/* longest <what> kept whole */

/* Writes "<path>: <what>" into err (errlen bytes, NUL included; nothing
 * when errlen is 0), <what> formatted from fmt, and returns rc, for
 * "return util_path_error(err, errlen, path, -EINVAL, ...);".  When the
 * line does not fit, the path is cut from its start and marked "..." as
 * long as at least 16 of its bytes still fit; otherwise the line is cut at
 * its end, as snprintf() does. */
int util_path_error(char *err, size_t errlen, const char *path, int rc,
		    const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
int util_path_verror(char *err, size_t errlen, const char *path, int rc,
		     const char *fmt, va_list ap)
	__attribute__((format(printf, 5, 0)));

#endif
