/* log.h -- memofs logging: one place that decides where messages go.
 *
 * Messages go to stderr (foreground), syslog (daemon) or a file
 * (-o log=FILE, or a daemon on a machine without syslog).  Every thread may
 * call log_msg() concurrently: each message is written with a single
 * write(2) or syslog(3) call, so lines never interleave.
 */
#ifndef MEMOFS_LOG_H
#define MEMOFS_LOG_H

/* Longest line written, newline included: room for a command's stderr
 * tail (cmd.h) and two paths.  A longer message is cut and ends in "...". */
#define LOG_LINE_MAX 8192

enum log_level {
	LOG_LVL_ERROR = 0,
	LOG_LVL_WARN = 1,
	LOG_LVL_INFO = 2,	/* computation start/end lines */
	LOG_LVL_DEBUG = 3,
};

/* Chooses the sink and the highest level that is printed.  use_syslog = 0
 * writes to stderr.  Called at start-up, and again by a daemon once its
 * stderr is gone (other threads may be logging meanwhile). */
void log_init(int use_syslog, enum log_level max_level);

/* Sends lines to the file path from now on (appended, created mode 0600,
 * never through a symbolic link), each prefixed by its UTC time and the
 * pid: "2026-11-29T19:30:00Z memofs[123]: info: ...".  Returns 0, the
 * negative errno of open(2), or -EPERM when path is not a regular file
 * of the caller's (a FIFO included: it is opened without blocking;
 * the sink is then unchanged). */
int log_init_file(const char *path, enum log_level max_level);

/* Does this machine have a syslog daemon listening (/dev/log)? */
int log_syslog_available(void);

/* Returns non-zero if messages of this level are printed. */
int log_enabled(enum log_level level);

/* Writes "memofs: LEVEL: message\n" to stderr (LEVEL is error, warning,
 * info or debug) or the message to syslog at the matching priority, when
 * level is enabled.  Keeps errno. */
void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

#endif
