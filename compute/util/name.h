/* name.h -- what a name in the tree may be, in one place.
 *
 * A function name or an argument name becomes one path component under
 * the mount, so every provider (the registry, the functions file parser,
 * directory arguments) checks it with the same rules.  Pure: any thread.
 */
#ifndef MEMOFS_UTIL_NAME_H
#define MEMOFS_UTIL_NAME_H

#include <stddef.h>

#define UTIL_NAME_MAX 255	/* longest name, in bytes */

/* 1 when the n bytes at s are a path component: 1..UTIL_NAME_MAX bytes,
 * no '/', no NUL or other control character, not "." or "..". */
int util_name_component(const char *s, size_t n);

/* 1 when they are a function name (memofs.h): a path component of
 * [A-Za-z0-9_.-] only. */
int util_name_function(const char *s, size_t n);

/* 1 when the canonical absolute path is dir itself or below it ("/a/b"
 * is within "/a" and "/", not within "/a/b/c" nor "/ab"); both without
 * a trailing '/' (but "/" itself). */
int util_path_within(const char *path, const char *dir);

#endif
