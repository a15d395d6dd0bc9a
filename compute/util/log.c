/* log.c -- memofs logging (see log.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"

/* The process's one logging configuration.  Atomic because a daemon
 * switches to syslog (log_init again) while its workers may log. */
static struct {
	_Atomic int use_syslog;
	_Atomic int max_level;
} log_cfg = { 0, LOG_LVL_INFO };

void log_init(int use_syslog, enum log_level max_level)
{
	if (use_syslog)
		openlog("memofs", LOG_PID, LOG_DAEMON);
	log_cfg.max_level = (int)max_level;
	log_cfg.use_syslog = use_syslog;
}

int log_enabled(enum log_level level)
{
	return (int)level <= log_cfg.max_level;
}

static int log_syslog_priority(enum log_level level)
{
	switch (level) {
	case LOG_LVL_ERROR:
		return LOG_ERR;
	case LOG_LVL_WARN:
		return LOG_WARNING;
	case LOG_LVL_INFO:
		return LOG_INFO;
	default:
		return LOG_DEBUG;
	}
}

static const char *log_level_name(enum log_level level)
{
	static const char *const names[] = { "error", "warning", "info",
					       "debug" };
	return names[level];
}

/* Marks a line cut at LOG_LINE_MAX: its last bytes before the newline
 * become "...".  len is the text's length without the newline. */
static size_t log_cut(char *line, size_t len)
{
	const size_t room = LOG_LINE_MAX - 1;	/* for the newline */

	if (len <= room)
		return len;
	memcpy(line + room - 3, "...", 3);
	return room;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	char line[LOG_LINE_MAX + 1];	/* vsnprintf's NUL */
	int saved_errno = errno;
	int n, m;
	size_t len;
	va_list ap;

	if (!log_enabled(level))
		return;
	va_start(ap, fmt);
	if (log_cfg.use_syslog) {
		m = vsnprintf(line, LOG_LINE_MAX, fmt, ap);
		len = log_cut(line, m < 0 ? 0 : (size_t)m);
		line[len] = '\0';
		syslog(log_syslog_priority(level), "%s", line);
		va_end(ap);
		errno = saved_errno;
		return;
	}
	n = snprintf(line, sizeof(line), "memofs: %s: ", log_level_name(level));
	m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	len = log_cut(line, (size_t)n + (m < 0 ? 0 : (size_t)m));
	line[len] = '\n';
	if (write(STDERR_FILENO, line, len + 1) < 0) {
		/* Nowhere left to report a failing stderr. */
	}
	errno = saved_errno;
}
