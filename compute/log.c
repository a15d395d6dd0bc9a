/* log.c -- memofs logging (see log.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

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
	static const char *const names[] = { "error", "warn", "info", "debug" };
	return names[level];
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	char line[1024];
	int saved_errno = errno;
	int n, m;
	va_list ap;

	if (!log_enabled(level))
		return;
	va_start(ap, fmt);
	if (log_cfg.use_syslog) {
		vsnprintf(line, sizeof(line), fmt, ap);
		syslog(log_syslog_priority(level), "%s", line);
		va_end(ap);
		errno = saved_errno;
		return;
	}
	n = snprintf(line, sizeof(line), "memofs: %s: ", log_level_name(level));
	m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		m = 0;
	if ((size_t)(n + m) > sizeof(line) - 2)
		m = (int)sizeof(line) - 2 - n;
	line[n + m] = '\n';
	if (write(STDERR_FILENO, line, (size_t)(n + m + 1)) < 0) {
		/* Nowhere left to report a failing stderr. */
	}
	errno = saved_errno;
}
