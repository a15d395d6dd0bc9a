/* cmd.c -- running one program to completion (see cmd.h).
 *
 * A run is a struct cmd_run on the stack of the thread in cmd_run(): the
 * program's pid, the read ends of its stdout and stderr pipes and a pidfd.
 * The thread waits in poll() on the three, hands stdout to the sink,
 * keeps a ring of the last CMD_TAIL_MAX bytes of stderr, and watches the
 * deadline.  The program's exit (the pidfd turns readable) ends the run,
 * not EOF on the pipes, which background children may hold open.  Without
 * pidfds (Linux before 5.3) it polls waitid(WNOWAIT) every CMD_POLL_MS.
 *
 * The process group is the program's pid.  The leader is reaped only
 * after its group has been killed and the run has left the cmd_set, so no
 * kill(-pgid) ever reaches a group id the kernel has handed out again:
 * while the leader is an unreaped zombie its pid cannot be reused.
 *
 * Threads: cmd_run() from any number of worker threads at once;
 * cmd_set_cancel() from any thread.  Each run is touched only by its own
 * thread, except for next and cancelled, which belong to the set's lock.
 * No lock is held across a system call other than kill().  The daemon must
 * not reap children it did not spawn itself (waitpid(-1), SIGCHLD set to
 * SIG_IGN), or a run could lose its program.
 *
 * Orphans: a run is on the set's list, with its start time, from before
 * its spawn until its leader is reaped.  A sweep (cmd_sweep_locked(), one
 * at a time under s->sweep, after a run's leader is reaped and at
 * cmd_set_free()) lists the process's children from
 * /proc/self/task/TID/children and kills and reaps each one that no run may
 * own: not a listed leader, not in the process's own process group,
 * started (per /proc/PID/stat) no earlier than the set's first run, and
 * before every run still going (a run started before it may own it).
 * Lock order: s->sweep, then s->lock.
 */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "functions/cmd.h"
#include "util/units.h"
#include "util/clock.h"

#define CMD_READ_MAX 16384	/* bytes read from a pipe at once */
#define CMD_POLL_MS 5		/* waitid() interval without a pidfd */
#define CMD_TIMEOUT_MAX 1e9	/* seconds; longer limits are no limit */
#define CMD_SWEEP_BATCH 64	/* orphans killed at once */

enum { CMD_OUT, CMD_ERR, CMD_PID, CMD_NFD };	/* indexes of cmd_run.fd */
#define CMD_LINE_MAX 64	/* longer stderr lines are no progress lines */

/* Why a run failed, for the message. */
enum cmd_why {
	CMD_EXIT,	/* non-zero exit status or a signal */
	CMD_SPAWN,	/* posix_spawn() or its set-up failed */
	CMD_WAIT,	/* poll(), read() or waitpid() failed */
	CMD_TIMEOUT,
	CMD_TOOBIG,
	CMD_SINK,
	CMD_CANCEL,
};

struct cmd_tail {
	unsigned char buf[CMD_TAIL_MAX];
	size_t len;		/* bytes ever added; buf holds the last ones */
};

struct cmd_run {
	cmd_set *s;
	const struct cmd_spec *spec;
	cmd_sink_fn sink;
	void *sinkarg;
	int64_t deadline;	/* CLOCK_MONOTONIC ns, or -1: none */
	int64_t start;		/* clock ticks since boot, before spawning */
	pid_t pid;		/* also the pgid; 0 until spawned; protected
				 * by s->lock while on s->runs */
	int fd[CMD_NFD];	/* read ends and pidfd; -1 once closed */
	size_t nout;		/* stdout bytes given to the sink */
	enum cmd_why why;	/* set with every failure */
	struct cmd_tail tail;	/* of stderr */
	char line[CMD_LINE_MAX];	/* stderr's current line, for progress */
	size_t nline;		/* its length; CMD_LINE_MAX: too long */
	int cancelled;		/* protected by s->lock */
	int ended;		/* protected by s->lock: killed, being reaped */
	struct cmd_run *next;	/* in s->runs, protected by s->lock */
};

struct cmd_set {
	pthread_mutex_t lock;
	pthread_mutex_t sweep;	/* one orphan sweep at a time; taken before
				 * lock, never held by cmd_set_cancel() */
	int cancelled;		/* protected by lock */
	int64_t epoch;		/* protected by lock: the first run's start,
				 * -1 before; older orphans are not ours */
	struct cmd_run *runs;	/* protected by lock: from before the spawn
				 * until the leader is reaped */
};

/* ---- orphans ------------------------------------------------------------ */

/* Clock ticks since boot, the unit of a process's start time in
 * /proc/PID/stat, rounded down. */
static int64_t cmd_ticks_now(void)
{
	struct timespec ts;
	long hz = sysconf(_SC_CLK_TCK);

	clock_gettime(CLOCK_BOOTTIME, &ts);
	if (hz <= 0)
		hz = 100;
	return (int64_t)ts.tv_sec * hz + (int64_t)ts.tv_nsec * hz / 1000000000;
}

/* Reads the process group and the start time (clock ticks since boot)
 * of process pid.  Returns 0 or -1. */
static int cmd_proc_stat(pid_t pid, pid_t *pgrp, int64_t *start)
{
	char path[64], buf[1024], *p;
	long long ticks;
	int group;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	p = strrchr(buf, ')');	/* the name may hold anything */
	if (!p || sscanf(p, ") %*c %*d %d", &group) != 1)
		return -1;
	/* After the name: fields 3 (state) to 21, then 22 (starttime). */
	for (int field = 3; p && field <= 22; field++)
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p + 1, "%lld", &ticks) != 1)
		return -1;
	*pgrp = group;
	*start = ticks;
	return 0;
}

/* Must the daemon's child pid (in group pgrp, started at start) be left
 * alone?  It is a run's own leader, or may descend from a run that is
 * still going (or being spawned), or is not a command's at all: older than
 * every run, or in the daemon's own process group (the daemon's other
 * children: fusermount3, a plugin's system()).  Caller holds s->lock. */
static int cmd_covered(const cmd_set *s, pid_t pid, pid_t pgrp,
		       int64_t start)
{
	if (s->epoch < 0 || start < s->epoch || pgrp == getpgrp())
		return 1;
	for (const struct cmd_run *r = s->runs; r; r = r->next)
		if (r->pid == pid || (!r->ended && r->start <= start))
			return 1;
	return 0;
}

/* Adds to pids (up to max) the daemon's children that no run may still
 * own.  Returns how many it found (possibly more than max). */
static size_t cmd_orphans(cmd_set *s, pid_t *pids, size_t max)
{
	char path[64];
	struct dirent *e;
	size_t n = 0;
	DIR *tasks = opendir("/proc/self/task");

	if (!tasks)
		return 0;
	while ((e = readdir(tasks)) != NULL) {
		long long pid;
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%.20s/children",
			 e->d_name);
		f = fopen(path, "re");
		if (!f)
			continue;
		while (fscanf(f, "%lld", &pid) == 1) {
			int64_t start;
			pid_t pgrp;
			int covered = 1;

			if (cmd_proc_stat((pid_t)pid, &pgrp, &start) == 0) {
				pthread_mutex_lock(&s->lock);
				covered = cmd_covered(s, (pid_t)pid, pgrp,
						      start);
				pthread_mutex_unlock(&s->lock);
			}
			if (!covered && n++ < max)
				pids[n - 1] = (pid_t)pid;
		}
		fclose(f);
	}
	closedir(tasks);
	return n;
}

/* Kills and reaps every child of the daemon that no running command may
 * own: descendants of ended runs that left their process group (setsid,
 * double forks) and were handed to the daemon, the subreaper, when their
 * parent died.  Reaping one hands its own children to the daemon, so this
 * repeats until none is left.  A pid seen here cannot be reused before
 * it is reaped: only this function and each run (its own leader, which
 * stays on the list until reaped) reap children, and sweeps take turns.
 * Caller holds s->sweep. */
static void cmd_sweep_locked(cmd_set *s)
{
	pid_t pids[CMD_SWEEP_BATCH];
	size_t n;

	while ((n = cmd_orphans(s, pids, CMD_SWEEP_BATCH)) > 0) {
		if (n > CMD_SWEEP_BATCH)
			n = CMD_SWEEP_BATCH;
		for (size_t i = 0; i < n; i++)
			kill(pids[i], SIGKILL);
		for (size_t i = 0; i < n; i++)
			while (waitpid(pids[i], NULL, 0) < 0 && errno == EINTR)
				;
	}
}

static void cmd_sweep(cmd_set *s)
{
	pthread_mutex_lock(&s->sweep);
	cmd_sweep_locked(s);
	pthread_mutex_unlock(&s->sweep);
}

/* ---- the set of runs ---------------------------------------------------- */

int cmd_set_new(cmd_set **out)
{
	cmd_set *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->sweep, NULL);
	s->epoch = -1;
	/* Orphaned descendants of every run become the daemon's children,
	 * not init's, so cmd_sweep() can find and kill them.  Without it
	 * (it cannot fail on Linux >= 3.4) only process groups are killed. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	*out = s;
	return 0;
}

void cmd_set_free(cmd_set *s)
{
	if (!s)
		return;
	assert(!s->runs);
	cmd_sweep(s);
	pthread_mutex_destroy(&s->sweep);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

void cmd_set_cancel(cmd_set *s)
{
	pthread_mutex_lock(&s->lock);
	s->cancelled = 1;
	for (struct cmd_run *r = s->runs; r; r = r->next) {
		r->cancelled = 1;
		if (r->pid > 0 && !r->ended)
			kill(-r->pid, SIGKILL);
	}
	pthread_mutex_unlock(&s->lock);
}

static int cmd_set_cancelled(cmd_set *s)
{
	int cancelled;

	pthread_mutex_lock(&s->lock);
	cancelled = s->cancelled;
	pthread_mutex_unlock(&s->lock);
	return cancelled;
}

/* Puts a run about to be spawned on the list, with its start time,
 * unless the set is cancelled: then returns -ECANCELED. */
static int cmd_register(struct cmd_run *r)
{
	cmd_set *s = r->s;
	int rc = 0;

	r->start = cmd_ticks_now();
	pthread_mutex_lock(&s->lock);
	if (s->cancelled) {
		r->cancelled = 1;
		rc = -ECANCELED;
	} else {
		if (s->epoch < 0)
			s->epoch = r->start;
		r->next = s->runs;
		s->runs = r;
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

/* Publishes the pid of a spawned run.  Returns -ECANCELED if the set was
 * cancelled meanwhile (the caller kills the program), else 0. */
static int cmd_publish(struct cmd_run *r, pid_t pid)
{
	cmd_set *s = r->s;
	int rc;

	pthread_mutex_lock(&s->lock);
	r->pid = pid;
	rc = r->cancelled ? -ECANCELED : 0;
	pthread_mutex_unlock(&s->lock);
	return rc;
}

/* The run's group has been killed: cmd_set_cancel() must not kill it
 * again (its leader is about to be reaped).  Returns non-zero if
 * cmd_set_cancel() killed it. */
static int cmd_end(struct cmd_run *r)
{
	cmd_set *s = r->s;
	int cancelled;

	pthread_mutex_lock(&s->lock);
	r->ended = 1;
	cancelled = r->cancelled;
	pthread_mutex_unlock(&s->lock);
	return cancelled;
}

/* Takes r off the list (if it is on it).  Caller holds s->sweep when r
 * was spawned, so that no sweep takes r's leader for an orphan. */
static void cmd_unregister(struct cmd_run *r)
{
	cmd_set *s = r->s;
	struct cmd_run **p;

	pthread_mutex_lock(&s->lock);
	for (p = &s->runs; *p; p = &(*p)->next) {
		if (*p == r) {
			*p = r->next;
			break;
		}
	}
	pthread_mutex_unlock(&s->lock);
}

/* ---- stderr tail -------------------------------------------------------- */

static void cmd_tail_add(struct cmd_tail *t, const unsigned char *buf,
			 size_t len)
{
	if (len > CMD_TAIL_MAX) {
		t->len += len - CMD_TAIL_MAX;
		buf += len - CMD_TAIL_MAX;
		len = CMD_TAIL_MAX;
	}
	for (size_t i = 0; i < len; i++)
		t->buf[t->len++ % CMD_TAIL_MAX] = buf[i];
}

/* The i-th byte ever added; i must still be in the ring. */
static unsigned char cmd_tail_at(const struct cmd_tail *t, size_t i)
{
	assert(i < t->len && t->len - i <= CMD_TAIL_MAX);
	return t->buf[i % CMD_TAIL_MAX];
}

/* The end of the text to show: one trailing newline dropped. */
static size_t cmd_tail_end(const struct cmd_tail *t)
{
	if (t->len && cmd_tail_at(t, t->len - 1) == '\n')
		return t->len - 1;
	return t->len;
}

static size_t cmd_tail_start(const struct cmd_tail *t)
{
	return t->len > CMD_TAIL_MAX ? t->len - CMD_TAIL_MAX : 0;
}

/* Where to start so that the shown text fits in room characters: the
 * newest bytes win, and a cut skips the (at most three) continuation
 * bytes of a UTF-8 sequence it falls into. */
static size_t cmd_tail_fit(const struct cmd_tail *t, size_t end, size_t room)
{
	size_t i, width = 0;

	for (i = end; i > cmd_tail_start(t); i--) {
		size_t w = cmd_tail_at(t, i - 1) == '\n' ? 3 : 1;

		if (width + w > room)
			break;
		width += w;
	}
	for (int k = 0; k < 3 && i > 0 && i < end; k++, i++)
		if ((cmd_tail_at(t, i) & 0xc0) != 0x80)
			break;
	return i;
}

/* Writes the tail into buf (size > 0) as the message shows it: newlines
 * as " | ", tabs as spaces, other control bytes as '?'. */
static void cmd_tail_show(const struct cmd_tail *t, char *buf, size_t size)
{
	size_t end = cmd_tail_end(t), o = 0;

	for (size_t i = cmd_tail_fit(t, end, size - 1); i < end; i++) {
		unsigned char c = cmd_tail_at(t, i);

		if (c == '\n') {
			memcpy(buf + o, " | ", 3);
			o += 3;
			continue;
		}
		if (c == '\t')
			c = ' ';
		else if (c < 0x20 || c == 0x7f)
			c = '?';
		buf[o++] = (char)c;
	}
	buf[o] = '\0';
}

/* ---- spawning ----------------------------------------------------------- */

static void cmd_close(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Makes a pipe for one output stream: both ends close-on-exec, the read
 * end non-blocking, the write end above CMD_FILE_FD so that the child's
 * dup2()s onto 0 to 3 cannot clobber it (should the daemon run with those
 * closed, or a pipe get descriptor 3).  Returns 0 or a negative errno. */
static int cmd_pipe(int p[2])
{
	int fd;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	if (p[1] <= CMD_FILE_FD) {
		fd = fcntl(p[1], F_DUPFD_CLOEXEC, CMD_FILE_FD + 1);
		close(p[1]);
		p[1] = fd;
	}
	if (p[1] < 0 || fcntl(p[0], F_SETFL, O_NONBLOCK) < 0) {
		fd = -errno;
		cmd_close(&p[0]);
		cmd_close(&p[1]);
		return fd;
	}
	return 0;
}

/* stdin from /dev/null, stdout and stderr into the pipes, file (if not
 * -1) as CMD_FILE_FD, the working directory, and nothing else open.  out,
 * err and file are above CMD_FILE_FD.  Returns 0 or a negative errno. */
static int cmd_actions_init(posix_spawn_file_actions_t *fa, int out, int err,
			    int file, const char *cwd)
{
	int rc = posix_spawn_file_actions_init(fa);

	if (rc)
		return -rc;
	rc = posix_spawn_file_actions_addopen(fa, STDIN_FILENO, "/dev/null",
					      O_RDONLY, 0);
	if (!rc)
		rc = posix_spawn_file_actions_adddup2(fa, out, STDOUT_FILENO);
	if (!rc)
		rc = posix_spawn_file_actions_adddup2(fa, err, STDERR_FILENO);
	if (!rc && file >= 0)
		rc = posix_spawn_file_actions_adddup2(fa, file, CMD_FILE_FD);
	if (!rc && cwd)
		rc = posix_spawn_file_actions_addchdir_np(fa, cwd);
	if (!rc)
		rc = posix_spawn_file_actions_addclosefrom_np(
			fa, file >= 0 ? CMD_FILE_FD + 1 : CMD_FILE_FD);
	if (rc)
		posix_spawn_file_actions_destroy(fa);
	return -rc;
}

/* A process group of its own, every signal at its default, none blocked.
 * The default set is filled by hand: sigfillset() leaves out glibc's two
 * internal signals (32 and 33), and glibc's posix_spawn() then leaves them
 * ignored in the child, where they would stay ignored across exec.
 * Returns 0 or a negative errno. */
static int cmd_attr_init(posix_spawnattr_t *attr)
{
	sigset_t none, all;
	int rc = posix_spawnattr_init(attr);

	if (rc)
		return -rc;
	sigemptyset(&none);
	memset(&all, 0xff, sizeof(all));
	rc = posix_spawnattr_setflags(attr, POSIX_SPAWN_SETPGROUP |
					    POSIX_SPAWN_SETSIGMASK |
					    POSIX_SPAWN_SETSIGDEF);
	if (!rc)
		rc = posix_spawnattr_setpgroup(attr, 0);
	if (!rc)
		rc = posix_spawnattr_setsigmask(attr, &none);
	if (!rc)
		rc = posix_spawnattr_setsigdefault(attr, &all);
	if (rc)
		posix_spawnattr_destroy(attr);
	return -rc;
}

/* glibc runs the child with CLONE_VFORK and returns only once it has
 * exec'ed, so an exec failure (ENOENT, EACCES, ENOEXEC, or a chdir()
 * failure) is posix_spawn()'s return value, and the child has its process
 * group by then. */
static int cmd_spawn_with(struct cmd_run *r, int out, int err, int file,
			  pid_t *pid)
{
	const struct cmd_spec *spec = r->spec;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	int rc;

	rc = cmd_actions_init(&fa, out, err, file, spec->cwd);
	if (rc)
		return rc;
	rc = cmd_attr_init(&attr);
	if (rc)
		goto out_destroy_actions;
	rc = -posix_spawn(pid, spec->path, &fa, &attr, spec->argv,
			  spec->envp);
	posix_spawnattr_destroy(&attr);
out_destroy_actions:
	posix_spawn_file_actions_destroy(&fa);
	return rc;
}

/* A copy of spec->file_fd above CMD_FILE_FD (close-on-exec: the child
 * gets it through dup2()), -1 when there is none, or a negative errno. */
static int cmd_file_copy(const struct cmd_spec *spec, int *copy)
{
	*copy = -1;
	if (spec->file_fd < 0)
		return 0;
	*copy = fcntl(spec->file_fd, F_DUPFD_CLOEXEC, CMD_FILE_FD + 1);
	return *copy < 0 ? -errno : 0;
}

static int cmd_spawn(struct cmd_run *r, pid_t *pid)
{
	int out[2], err[2], file, rc;

	rc = cmd_file_copy(r->spec, &file);
	if (rc)
		return rc;
	rc = cmd_pipe(out);
	if (rc)
		goto out_close_file;
	rc = cmd_pipe(err);
	if (rc)
		goto out_close_out;
	rc = cmd_spawn_with(r, out[1], err[1], file, pid);
	if (rc)
		goto out_close_err;
	close(out[1]);
	close(err[1]);
	cmd_close(&file);
	r->fd[CMD_OUT] = out[0];
	r->fd[CMD_ERR] = err[0];
	return 0;

out_close_err:
	close(err[0]);
	close(err[1]);
out_close_out:
	close(out[0]);
	close(out[1]);
out_close_file:
	cmd_close(&file);
	return rc;
}

/* -1 when the kernel has no pidfds (or no descriptor is left): the run
 * then polls waitid() instead. */
static int cmd_pidfd_open(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

/* Puts the run on the set's list and spawns the program.  Returns 0,
 * -ECANCELED (r->pid set when spawned: it is to be killed at once), or
 * another negative errno (nothing spawned, r is off the list). */
static int cmd_start(struct cmd_run *r)
{
	pid_t pid = 0;
	int rc;

	if (r->spec->path[0] != '/') {
		r->why = CMD_SPAWN;
		return -EINVAL;
	}
	rc = cmd_register(r);
	if (rc) {
		r->why = CMD_CANCEL;
		return rc;
	}
	rc = cmd_spawn(r, &pid);
	if (rc) {
		cmd_unregister(r);
		r->why = CMD_SPAWN;
		return rc;
	}
	r->fd[CMD_PID] = cmd_pidfd_open(pid);
	rc = cmd_publish(r, pid);
	if (rc)
		r->why = CMD_CANCEL;
	return rc;
}

/* ---- waiting ------------------------------------------------------------ */

static int64_t cmd_deadline(double timeout)
{
	if (!(timeout > 0) || timeout > CMD_TIMEOUT_MAX)
		return -1;	/* also for NaN */
	return util_now_ns() + (int64_t)(timeout * 1e9);
}

/* Hands len stdout bytes to the sink.  Returns 0 or a negative errno. */
static int cmd_output(struct cmd_run *r, const void *buf, size_t len)
{
	int rc;

	if (len > r->spec->max_output - r->nout) {
		r->why = CMD_TOOBIG;
		return -EFBIG;
	}
	r->nout += len;
	rc = r->sink(r->sinkarg, buf, len);
	assert(rc <= 0);
	if (rc)
		r->why = CMD_SINK;
	return rc;
}

/* Looks for progress lines in the stderr bytes buf (see cmd_spec): keeps
 * the current line (up to CMD_LINE_MAX bytes) across reads and reports
 * each complete one that parses. */
static void cmd_progress_scan(struct cmd_run *r, const unsigned char *buf,
			      size_t len)
{
	double fraction;

	if (!r->spec->progress)
		return;
	for (size_t i = 0; i < len; i++) {
		if (buf[i] != '\n') {
			if (r->nline < CMD_LINE_MAX - 1)
				r->line[r->nline++] = (char)buf[i];
			else
				r->nline = CMD_LINE_MAX;	/* too long */
			continue;
		}
		if (r->nline < CMD_LINE_MAX) {
			r->line[r->nline] = '\0';
			if (units_parse_progress(r->line, &fraction) == 0)
				r->spec->progress(r->spec->progress_arg,
						  fraction);
		}
		r->nline = 0;
	}
}

/* Reads once from fd[i] (CMD_OUT or CMD_ERR).  Returns the bytes read, 0
 * when the pipe is empty or at EOF (the pipe is then closed), or a
 * negative errno (r->why says whose: the sink may return any). */
static ssize_t cmd_read(struct cmd_run *r, int i)
{
	unsigned char buf[CMD_READ_MAX];
	ssize_t n;
	int rc;

	do
		n = read(r->fd[i], buf, sizeof(buf));
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		if (errno == EAGAIN)
			return 0;
		r->why = CMD_WAIT;
		return -errno;
	}
	if (n == 0) {
		cmd_close(&r->fd[i]);
		return 0;
	}
	if (i == CMD_ERR) {
		cmd_tail_add(&r->tail, buf, (size_t)n);
		cmd_progress_scan(r, buf, (size_t)n);
		return n;
	}
	rc = cmd_output(r, buf, (size_t)n);
	return rc ? rc : n;
}

/* Reads what fd[i] holds now, without waiting for more: what a program
 * wrote before it exited is all there, and its background children could
 * keep the pipe open, and busy, forever.  Returns 0 or a negative errno. */
static int cmd_drain(struct cmd_run *r, int i)
{
	int left = 0;
	ssize_t n = 0;

	if (r->fd[i] < 0 || ioctl(r->fd[i], FIONREAD, &left) < 0)
		return 0;
	while (left > 0 && (n = cmd_read(r, i)) > 0)
		left -= (int)n;
	return n < 0 ? (int)n : 0;
}

static int cmd_poll_ms(const struct cmd_run *r)
{
	int ms = -1;

	if (r->deadline >= 0) {
		int64_t left = r->deadline - util_now_ns();

		if (left <= 0)
			ms = 0;
		else if (left / 1000000 >= INT_MAX)
			ms = INT_MAX;
		else
			ms = (int)(left / 1000000) + 1;
	}
	if (r->fd[CMD_PID] < 0 && (ms < 0 || ms > CMD_POLL_MS))
		ms = CMD_POLL_MS;
	return ms;
}

/* Has the program exited?  Only looks: the leader stays unreaped. */
static int cmd_exited(const struct cmd_run *r, const struct pollfd *pfd)
{
	siginfo_t si;

	if (r->fd[CMD_PID] >= 0)
		return pfd[CMD_PID].revents != 0;
	si.si_pid = 0;
	if (waitid(P_PID, (id_t)r->pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0)
		return errno != EINTR;	/* waitpid() will say what it is */
	return si.si_pid != 0;
}

/* Waits once and handles what poll() found.  Returns 1 once the program
 * has exited, 0 to go on, or a negative errno. */
static int cmd_step(struct cmd_run *r)
{
	struct pollfd pfd[CMD_NFD];
	ssize_t n;

	for (int i = 0; i < CMD_NFD; i++)
		pfd[i] = (struct pollfd){ .fd = r->fd[i], .events = POLLIN };
	if (poll(pfd, CMD_NFD, cmd_poll_ms(r)) < 0) {
		if (errno == EINTR)
			return 0;
		r->why = CMD_WAIT;
		return -errno;
	}
	for (int i = CMD_OUT; i <= CMD_ERR; i++) {
		if (!pfd[i].revents)
			continue;
		n = cmd_read(r, i);
		if (n < 0)
			return (int)n;
	}
	if (cmd_exited(r, pfd))
		return 1;
	if (r->deadline >= 0 && util_now_ns() >= r->deadline) {
		r->why = CMD_TIMEOUT;
		return -ETIMEDOUT;
	}
	return 0;
}

/* Runs until the program exits (0) or must be killed (negative errno). */
static int cmd_wait(struct cmd_run *r)
{
	int rc;

	while ((rc = cmd_step(r)) == 0)
		;
	return rc < 0 ? rc : 0;
}

/* Kills what is left of the process group, marks the run ended so that
 * cmd_set_cancel() no longer kills it, and only then reaps the leader: in
 * that order no kill(-pgid) can reach a reused pid.  Then takes the run
 * off the list and kills the descendants that left the group (cmd_sweep).
 * Returns 0 or a negative errno; sets *cancelled. */
static int cmd_reap(struct cmd_run *r, int *status, int *cancelled)
{
	cmd_set *s = r->s;
	pid_t got;

	kill(-r->pid, SIGKILL);
	*cancelled = cmd_end(r);
	do
		got = waitpid(r->pid, status, 0);
	while (got < 0 && errno == EINTR);
	pthread_mutex_lock(&s->sweep);
	cmd_unregister(r);
	cmd_sweep_locked(s);
	pthread_mutex_unlock(&s->sweep);
	return got < 0 ? -errno : 0;
}

/* Ends a spawned run, whatever rc (0 or how cmd_wait() failed) says: reads
 * what the pipes hold, kills and reaps.  Returns the run's result. */
static int cmd_finish(struct cmd_run *r, int rc, int *status)
{
	int cancelled, reap_rc;

	cmd_drain(r, CMD_ERR);
	if (rc == 0)
		rc = cmd_drain(r, CMD_OUT);
	reap_rc = cmd_reap(r, status, &cancelled);
	for (int i = 0; i < CMD_NFD; i++)
		cmd_close(&r->fd[i]);
	if (rc == 0 && reap_rc) {
		r->why = CMD_WAIT;
		rc = reap_rc;
	}
	if (rc == 0 && *status != 0) {
		r->why = CMD_EXIT;
		rc = -EIO;
	}
	if (rc && cancelled) {
		r->why = CMD_CANCEL;
		rc = -ECANCELED;
	}
	return rc;
}

/* ---- the message -------------------------------------------------------- */

/* Appends "; stderr: TAIL" at err + n if stderr had text and there is
 * room for some of it. */
static void cmd_message_tail(const struct cmd_tail *t, char *err,
			     size_t errlen, size_t n)
{
	static const char sep[] = "; stderr: ";

	if (cmd_tail_end(t) == 0 || n + sizeof(sep) + 1 > errlen)
		return;
	memcpy(err + n, sep, sizeof(sep) - 1);
	n += sizeof(sep) - 1;
	cmd_tail_show(t, err + n, errlen - n);
}

/* How the program ended, from its wait status; returns snprintf()'s. */
static int cmd_message_status(char *err, size_t errlen, int status)
{
	if (WIFSIGNALED(status))
		return snprintf(err, errlen, "killed by signal %d (%s)",
				WTERMSIG(status), strsignal(WTERMSIG(status)));
	return snprintf(err, errlen, "exit status %d", WEXITSTATUS(status));
}

static void cmd_message(const struct cmd_run *r, int rc, int status,
			char *err, size_t errlen)
{
	const struct cmd_spec *spec = r->spec;
	int n;

	switch (r->why) {
	case CMD_SPAWN:
		snprintf(err, errlen, "cannot run %s: %s", spec->path,
			 strerror(-rc));
		return;
	case CMD_WAIT:
		snprintf(err, errlen, "waiting for %s: %s", spec->path,
			 strerror(-rc));
		return;
	case CMD_TOOBIG:
		snprintf(err, errlen, "output larger than %zu bytes (killed)",
			 spec->max_output);
		return;
	case CMD_SINK:
		snprintf(err, errlen, "output refused: %s", strerror(-rc));
		return;
	case CMD_CANCEL:
		snprintf(err, errlen, "cancelled (unmounting)");
		return;
	case CMD_TIMEOUT:
		n = snprintf(err, errlen, "timed out after %g s (killed)",
			     spec->timeout);
		break;
	case CMD_EXIT:
	default:
		n = cmd_message_status(err, errlen, status);
		break;
	}
	if (n > 0 && (size_t)n < errlen)
		cmd_message_tail(&r->tail, err, errlen, (size_t)n);
}

/* ---- running ------------------------------------------------------------ */

int cmd_run(cmd_set *s, const struct cmd_spec *spec, cmd_sink_fn sink,
	    void *sinkarg, char *err, size_t errlen)
{
	struct cmd_run r = {
		.s = s, .spec = spec, .sink = sink, .sinkarg = sinkarg,
		.deadline = cmd_deadline(spec->timeout),
		.fd = { -1, -1, -1 },
	};
	int rc, status = 0;

	if (err && errlen)
		err[0] = '\0';
	if (cmd_set_cancelled(s)) {
		r.why = CMD_CANCEL;
		rc = -ECANCELED;
	} else {
		rc = cmd_start(&r);
		if (r.pid > 0) {
			if (rc == 0)
				rc = cmd_wait(&r);
			rc = cmd_finish(&r, rc, &status);
		}
	}
	if (rc && err && errlen)
		cmd_message(&r, rc, status, err, errlen);
	return rc;
}
