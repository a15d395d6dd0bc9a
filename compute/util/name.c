/* name.c -- path components and function names (see name.h). */
#include <string.h>

#include "util/name.h"

int util_name_component(const char *s, size_t n)
{
	if (n == 0 || n > UTIL_NAME_MAX)
		return 0;
	if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '/' || c < 0x20 || c == 0x7f)
			return 0;
	}
	return 1;
}

int util_path_within(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	if (n == 1 && dir[0] == '/')
		return path[0] == '/';
	return strncmp(path, dir, n) == 0 && (path[n] == '/' || !path[n]);
}

int util_name_function(const char *s, size_t n)
{
	if (!util_name_component(s, n))
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!(('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') ||
		      ('0' <= c && c <= '9') || c == '_' || c == '.' ||
		      c == '-'))
			return 0;
	}
	return 1;
}
