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
 */
#include <assert.h>
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
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"

#define CMD_READ_MAX 16384	/* bytes read from a pipe at once */
#define CMD_POLL_MS 5		/* waitid() interval without a pidfd */
#define CMD_TIMEOUT_MAX 1e9	/* seconds; longer limits are no limit */

enum { CMD_OUT, CMD_ERR, CMD_PID, CMD_NFD };	/* indexes of cmd_run.fd */

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
	pid_t pid;		/* also the pgid; 0 until spawned */
	int fd[CMD_NFD];	/* read ends and pidfd; -1 once closed */
	size_t nout;		/* stdout bytes given to the sink */
	enum cmd_why why;	/* set with every failure */
	struct cmd_tail tail;	/* of stderr */
	int cancelled;		/* protected by s->lock */
	struct cmd_run *next;	/* in s->runs, protected by s->lock */
};

struct cmd_set {
	pthread_mutex_t lock;
	int cancelled;		/* protected by lock */
	struct cmd_run *runs;	/* protected by lock; leaders all unreaped */
};

/* ---- the set of runs ---------------------------------------------------- */

int cmd_set_new(cmd_set **out)
{
	cmd_set *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	pthread_mutex_init(&s->lock, NULL);
	*out = s;
	return 0;
}

void cmd_set_free(cmd_set *s)
{
	if (!s)
		return;
	assert(!s->runs);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

void cmd_set_cancel(cmd_set *s)
{
	pthread_mutex_lock(&s->lock);
	s->cancelled = 1;
	for (struct cmd_run *r = s->runs; r; r = r->next) {
		r->cancelled = 1;
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

/* Puts a freshly spawned run on the list, unless the set is cancelled:
 * then returns -ECANCELED and the caller kills the program. */
static int cmd_register(struct cmd_run *r)
{
	cmd_set *s = r->s;
	int rc = 0;

	pthread_mutex_lock(&s->lock);
	if (s->cancelled) {
		r->cancelled = 1;
		rc = -ECANCELED;
	} else {
		r->next = s->runs;
		s->runs = r;
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

/* Takes r off the list (if it is on it) before its leader is reaped.
 * Returns non-zero if cmd_set_cancel() killed it. */
static int cmd_unregister(struct cmd_run *r)
{
	cmd_set *s = r->s;
	struct cmd_run **p;
	int cancelled;

	pthread_mutex_lock(&s->lock);
	for (p = &s->runs; *p; p = &(*p)->next) {
		if (*p == r) {
			*p = r->next;
			break;
		}
	}
	cancelled = r->cancelled;
	pthread_mutex_unlock(&s->lock);
	return cancelled;
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
static int cmd_spawn_with(struct cmd_run *r, int out, int err, int file)
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
	rc = -posix_spawn(&r->pid, spec->path, &fa, &attr, spec->argv,
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

static int cmd_spawn(struct cmd_run *r)
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
	rc = cmd_spawn_with(r, out[1], err[1], file);
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

/* Spawns the program and puts it on the set's list.  Returns 0, -ECANCELED
 * (spawned, to be killed at once), or another negative errno (nothing
 * spawned). */
static int cmd_start(struct cmd_run *r)
{
	int rc;

	if (r->spec->path[0] != '/') {
		r->why = CMD_SPAWN;
		return -EINVAL;
	}
	rc = cmd_spawn(r);
	if (rc) {
		r->pid = 0;
		r->why = CMD_SPAWN;
		return rc;
	}
	r->fd[CMD_PID] = cmd_pidfd_open(r->pid);
	rc = cmd_register(r);
	if (rc)
		r->why = CMD_CANCEL;
	return rc;
}

/* ---- waiting ------------------------------------------------------------ */

static int64_t cmd_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t cmd_deadline(double timeout)
{
	if (!(timeout > 0) || timeout > CMD_TIMEOUT_MAX)
		return -1;	/* also for NaN */
	return cmd_now_ns() + (int64_t)(timeout * 1e9);
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
		int64_t left = r->deadline - cmd_now_ns();

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
	if (r->deadline >= 0 && cmd_now_ns() >= r->deadline) {
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

/* Kills what is left of the process group, takes the run off the set's
 * list, and only then reaps the leader: in that order no kill(-pgid) can
 * reach a reused pid.  Returns 0 or a negative errno; sets *cancelled. */
static int cmd_reap(struct cmd_run *r, int *status, int *cancelled)
{
	pid_t got;

	kill(-r->pid, SIGKILL);
	*cancelled = cmd_unregister(r);
	do
		got = waitpid(r->pid, status, 0);
	while (got < 0 && errno == EINTR);
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
