/* check.h -- tiny assertion macros for the C unit tests.
 *
 * CHECK(cond) prints the failing condition with its file and line and
 * counts a failure; the test's main returns check_report() so that meson
 * sees a non-zero exit when any check failed.  Header-only on purpose: each
 * test is one executable, and these are its only globals.
 */
#ifndef MEMOFS_CHECK_H
#define MEMOFS_CHECK_H

#include <stdio.h>
#include <string.h>

/* Atomic: callbacks on worker threads check too (test_memo, test_pool). */
static _Atomic int check_failures;
static _Atomic int check_count;

#define CHECK(cond)                                                        \
	do {                                                               \
		check_count++;                                             \
		if (!(cond)) {                                             \
			check_failures++;                                  \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n",       \
				__FILE__, __LINE__, #cond);                \
		}                                                          \
	} while (0)

#define CHECK_INT(a, b)                                                    \
	do {                                                               \
		long long check_a_ = (long long)(a);                       \
		long long check_b_ = (long long)(b);                       \
		check_count++;                                             \
		if (check_a_ != check_b_) {                                \
			check_failures++;                                  \
			fprintf(stderr, "%s:%d: %s == %lld, expected %lld\n", \
				__FILE__, __LINE__, #a, check_a_, check_b_); \
		}                                                          \
	} while (0)

/* A function, not inline text: compilers then cannot prove (wrongly, in
 * inlined code) that a "%s" argument is NULL. */
__attribute__((noinline, unused)) static void
check_str_failed(const char *file, int line, const char *expr, const char *a,
		 const char *b)
{
	check_failures++;
	fprintf(stderr, "%s:%d: %s == \"%s\", expected \"%s\"\n", file, line,
		expr, a ? a : "(null)", b);
}

#define CHECK_STR(a, b)                                                    \
	do {                                                               \
		const char *check_a_ = (a);                                \
		const char *check_b_ = (b);                                \
		check_count++;                                             \
		if (!check_a_ || strcmp(check_a_, check_b_) != 0)          \
			check_str_failed(__FILE__, __LINE__, #a, check_a_, \
					 check_b_);                        \
	} while (0)

static inline int check_report(const char *name)
{
	printf("%s: %d checks, %d failed\n", name, check_count,
	       check_failures);
	return check_failures ? 1 : 0;
}

#endif
