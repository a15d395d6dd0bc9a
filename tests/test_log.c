/* test_log.c -- unit tests for log.c: level names, whole long lines, cuts.
 *
 * Captures stderr in a pipe and checks each line written: the prefix
 * "memofs: LEVEL: ", one newline, a message up to LOG_LINE_MAX kept whole
 * (command stderr tails are that long), a longer one cut to exactly
 * LOG_LINE_MAX bytes ending in "...\n", disabled levels silent, errno kept.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "util/log.h"

static int pipe_fd[2];
static int saved_stderr;

static void capture_start(void)
{
	CHECK(pipe2(pipe_fd, O_NONBLOCK) == 0);
	fcntl(pipe_fd[1], F_SETPIPE_SZ, 1 << 20);
	saved_stderr = dup(STDERR_FILENO);
	CHECK(dup2(pipe_fd[1], STDERR_FILENO) == STDERR_FILENO);
}

/* Returns what was written since capture_start() (caller frees). */
static char *capture_end(size_t *len)
{
	size_t cap = 1 << 20;
	char *buf = malloc(cap + 1);
	ssize_t n;

	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	close(pipe_fd[1]);
	n = read(pipe_fd[0], buf, cap);
	close(pipe_fd[0]);
	*len = n > 0 ? (size_t)n : 0;
	buf[*len] = '\0';
	return buf;
}

static void test_levels(void)
{
	size_t len;
	char *out;

	log_init(0, LOG_LVL_INFO);
	capture_start();
	log_error("e %d", 1);
	log_warn("w %s", "two");
	log_info("i");
	log_debug("not shown");
	out = capture_end(&len);
	CHECK_STR(out, "memofs: error: e 1\nmemofs: warning: w two\n"
		       "memofs: info: i\n");
	free(out);
}

static void test_long_lines(void)
{
	static const char prefix[] = "memofs: warning: ";
	size_t fits = LOG_LINE_MAX - 1 - (sizeof(prefix) - 1), len;
	char *msg = malloc(3 * LOG_LINE_MAX), *out;

	/* The longest message that fits: whole, one newline. */
	memset(msg, 'a', fits);
	msg[fits - 1] = 'Z';
	msg[fits] = '\0';
	log_init(0, LOG_LVL_INFO);
	capture_start();
	log_warn("%s", msg);
	out = capture_end(&len);
	CHECK_INT(len, LOG_LINE_MAX);
	CHECK(strncmp(out, prefix, sizeof(prefix) - 1) == 0);
	CHECK(out[len - 2] == 'Z' && out[len - 1] == '\n');
	CHECK(memchr(out, '\n', len) == out + len - 1);
	free(out);

	/* One byte more, and far more: cut to LOG_LINE_MAX, "...\n". */
	for (size_t extra = 1; extra < 2 * LOG_LINE_MAX; extra *= 7) {
		memset(msg, 'b', fits + extra);
		msg[fits + extra] = '\0';
		capture_start();
		log_warn("%s", msg);
		out = capture_end(&len);
		CHECK_INT(len, LOG_LINE_MAX);
		CHECK(memcmp(out + len - 4, "...\n", 4) == 0);
		CHECK(memchr(out, '\n', len) == out + len - 1);
		free(out);
	}
	free(msg);
}

static void test_errno_kept(void)
{
	size_t len;
	char *out;

	capture_start();
	errno = EDOM;
	log_error("x");
	CHECK_INT(errno, EDOM);
	log_init(0, LOG_LVL_ERROR);
	errno = ERANGE;
	log_info("silent");
	CHECK_INT(errno, ERANGE);
	out = capture_end(&len);
	CHECK_STR(out, "memofs: error: x\n");
	free(out);
}

int main(void)
{
	test_levels();
	test_long_lines();
	test_errno_kept();
	return check_report("test_log");
}
