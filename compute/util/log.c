/* log.c -- memofs logging (see log.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"

/* The process's one logging configuration.  Atomic because a daemon
 * switches to syslog (log_init again) while its workers may log. */
static struct {
	_Atomic int use_syslog;
	_Atomic int max_level;
	_Atomic int fd;		/* where lines go without syslog */
	_Atomic int stamp;	/* prefix a time and pid (a log file) */
} log_cfg = { 0, LOG_LVL_INFO, STDERR_FILENO, 0 };

void log_init(int use_syslog, enum log_level max_level)
{
	if (use_syslog)
		openlog("memofs", LOG_PID, LOG_DAEMON);
	log_cfg.max_level = (int)max_level;
	log_cfg.use_syslog = use_syslog;
}

int log_init_file(const char *path, enum log_level max_level)
{
	/* O_NONBLOCK: opening a FIFO for writing would block until a reader
	 * comes (forever, for one another user planted at the predictable
	 * fallback path); without a reader it fails with ENXIO, with one it
	 * is refused below as not a regular file.  No effect on a regular
	 * file, whose flag is cleared anyway. */
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
			    O_NOFOLLOW | O_NONBLOCK | O_NOCTTY, 0600);

	struct stat sb;

	if (fd < 0)
		return errno == ENXIO ? -EPERM : -errno;
	if (fstat(fd, &sb) != 0 || sb.st_uid != geteuid() ||
	    !S_ISREG(sb.st_mode) ||
	    fcntl(fd, F_SETFL, O_APPEND) != 0) {
		close(fd);
		return -EPERM;	/* another user's file: never append to it */
	}
	log_cfg.max_level = (int)max_level;
	log_cfg.stamp = 1;
	log_cfg.fd = fd;	/* kept open until the process ends */
	log_cfg.use_syslog = 0;
	return 0;
}

int log_syslog_available(void)
{
	struct stat sb;

	return stat("/dev/log", &sb) == 0 && S_ISSOCK(sb.st_mode);
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

/* "memofs: LEVEL: ", after an ISO 8601 UTC time and the pid in a log
 * file.  Returns its length. */
static int log_prefix(char *line, size_t size, enum log_level level)
{
	struct timespec ts;
	struct tm tm;
	char when[32] = "";

	if (log_cfg.stamp) {
		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ ", &tm);
		return snprintf(line, size, "%s%s[%d]: %s: ", when, "memofs",
				(int)getpid(), log_level_name(level));
	}
	return snprintf(line, size, "memofs: %s: ", log_level_name(level));
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
	n = log_prefix(line, sizeof(line), level);
	m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	len = log_cut(line, (size_t)n + (m < 0 ? 0 : (size_t)m));
	line[len] = '\n';
	if (write(log_cfg.fd, line, len + 1) < 0) {
		/* Nowhere left to report a failing stderr. */
	}
	errno = saved_errno;
}
