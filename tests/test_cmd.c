/* test_cmd.c -- unit test of running programs (cmd.h).
 *
 * The programs are /bin/sh -c SCRIPT and a few coreutils.  Time limits are
 * generous (a 0.5 s timeout must return within 5 s) so that a loaded
 * two-core machine passes; the whole test takes a few seconds.  Whether a
 * process group is gone is read from /proc (no member left that is not a
 * zombie): init may take a while to reap the orphans a killed group
 * leaves, and kill(-pgid, 0) succeeds until it has.  The last check waits
 * for that too, for every group the test saw.  The waitid() fallback for
 * kernels without pidfds is tested in a forked child whose seccomp filter
 * makes pidfd_open() fail with ENOSYS.  Spawn errors are not tested under
 * valgrind, which cannot hand them back (see under_valgrind()).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "functions/cmd.h"

#define SLACK 5.0	/* seconds a prompt return may take on a slow host */
#define NTHREADS 8

static char *const default_env[] = { (char *)"PATH=/usr/bin:/bin", NULL };

/* Every process group a test saw, for the final check; main thread only. */
static pid_t seen_pgids[64];
static int nseen_pgids;

/* ---- helpers ------------------------------------------------------------ */

/* Collects stdout; from call number fail_at on, returns fail instead. */
struct out {
	char *data;
	size_t len, cap;
	size_t calls;
	size_t fail_at;		/* 0: never fail */
	int fail;
	atomic_int started;	/* set by the first call */
};

static int out_sink(void *arg, const void *buf, size_t len)
{
	struct out *o = arg;
	char *p;

	o->calls++;
	atomic_store(&o->started, 1);
	if (o->fail_at && o->calls >= o->fail_at)
		return o->fail;
	if (o->len + len + 1 > o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 4096;

		while (cap < o->len + len + 1)
			cap *= 2;
		p = realloc(o->data, cap);
		if (!p)
			return -ENOMEM;
		o->data = p;
		o->cap = cap;
	}
	memcpy(o->data + o->len, buf, len);
	o->len += len;
	o->data[o->len] = '\0';
	return 0;
}

static void out_reset(struct out *o)
{
	free(o->data);
	memset(o, 0, sizeof(*o));
}

/* o->data as a string, "" when nothing came. */
static const char *out_str(const struct out *o)
{
	return o->data ? o->data : "";
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static struct cmd_spec spec_of(const char *path, char *const *argv)
{
	return (struct cmd_spec){ .path = path, .argv = argv,
				  .envp = default_env, .timeout = 20,
				  .max_output = SIZE_MAX, .file_fd = -1 };
}

/* Runs /bin/sh -c script with the given arguments ($1...). */
static int run_sh(cmd_set *s, const char *script, double timeout,
		  struct out *o, char *err, char *const *args)
{
	char *argv[16] = { (char *)"sh", (char *)"-c", (char *)script,
			   (char *)"sh" };
	struct cmd_spec spec = spec_of("/bin/sh", argv);

	for (int i = 0; args && args[i] && i < 11; i++)
		argv[4 + i] = args[i];
	spec.timeout = timeout;
	return cmd_run(s, &spec, out_sink, o, err, CMD_ERR_MAX);
}

/* Number of processes in group pgid that are not zombies. */
static int group_live(pid_t pgid)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	char path[300], buf[512], *p, state;
	int n = 0, fd, len, pgrp;

	while (d && (e = readdir(d)) != NULL) {
		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		len = (int)read(fd, buf, sizeof(buf) - 1);
		close(fd);
		buf[len > 0 ? len : 0] = '\0';
		p = strrchr(buf, ')');
		if (p && sscanf(p, ") %c %*d %d", &state, &pgrp) == 2 &&
		    pgrp == pgid && state != 'Z' && state != 'X')
			n++;
	}
	if (d)
		closedir(d);
	return n;
}

/* Waits up to SLACK seconds for group pgid to have no live member. */
static int group_gone(pid_t pgid)
{
	double until = now() + SLACK;

	if (nseen_pgids < (int)(sizeof(seen_pgids) / sizeof(seen_pgids[0])))
		seen_pgids[nseen_pgids++] = pgid;
	while (group_live(pgid) > 0) {
		if (now() > until)
			return 0;
		sleep_ms(10);
	}
	return 1;
}

/* Writes len bytes of a pattern with NULs and every byte value. */
static int write_pattern(const char *path, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (!f)
		return -errno;
	for (size_t i = 0; i < len; i++)
		putc((int)((i * 7 + (i >> 10)) & 0xff), f);
	return fclose(f) ? -errno : 0;
}

static int check_pattern(const struct out *o, size_t len)
{
	if (o->len != len)
		return 0;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)o->data[i] != ((i * 7 + (i >> 10)) & 0xff))
			return 0;
	return 1;
}

/* ---- output ------------------------------------------------------------- */

static void test_stdout(cmd_set *s)
{
	struct out o = { 0 };
	char err[CMD_ERR_MAX];

	CHECK_INT(run_sh(s, "printf 'a\\000b\\377c'", 20, &o, err, NULL), 0);
	CHECK_INT(o.len, 5);
	CHECK(o.data && memcmp(o.data, "a\0b\377c", 5) == 0);
	CHECK_STR(err, "");
	out_reset(&o);

	CHECK_INT(run_sh(s, "echo hidden >&2", 20, &o, err, NULL), 0);
	CHECK_INT(o.len, 0);
	CHECK_INT(o.calls, 0);
	CHECK_STR(err, "");
	out_reset(&o);
}

static void test_big_output(cmd_set *s)
{
	const size_t len = 10u << 20;
	char path[] = "/tmp/test_cmd.XXXXXX";
	char *argv[] = { (char *)"cat", path, NULL };
	struct cmd_spec spec = spec_of("/bin/cat", argv);
	struct out o = { 0 };
	char err[CMD_ERR_MAX];
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	if (fd < 0)
		return;
	close(fd);
	CHECK_INT(write_pattern(path, len), 0);
	CHECK_INT(cmd_run(s, &spec, out_sink, &o, err, sizeof(err)), 0);
	CHECK(check_pattern(&o, len));
	CHECK(o.calls > 1);
	out_reset(&o);

	spec.max_output = len;		/* exactly the limit is fine */
	CHECK_INT(cmd_run(s, &spec, out_sink, &o, err, sizeof(err)), 0);
	CHECK(check_pattern(&o, len));
	out_reset(&o);

	spec.max_output = len - 1;
	CHECK_INT(cmd_run(s, &spec, out_sink, &o, err, sizeof(err)), -EFBIG);
	CHECK_STR(err, "output larger than 10485759 bytes (killed)");
	out_reset(&o);
	unlink(path);
}

/* What the leader wrote just before exiting is all read, even though a
 * background child keeps the pipe open. */
static void test_output_before_exit(cmd_set *s)
{
	struct out o = { 0 };
	char err[CMD_ERR_MAX];

	CHECK_INT(run_sh(s, "sleep 30 & head -c 300000 /dev/zero", 20, &o,
			 err, NULL), 0);
	CHECK_INT(o.len, 300000);
	out_reset(&o);
}

/* ---- failures and their messages ---------------------------------------- */

static void test_exit_status(cmd_set *s)
{
	struct out o = { 0 };
	char err[CMD_ERR_MAX], small[10];
	char *argv[] = { (char *)"sh", (char *)"-c", (char *)"exit 3", NULL };
	struct cmd_spec spec = spec_of("/bin/sh", argv);

	CHECK_INT(run_sh(s, "echo partial; exit 3", 20, &o, err, NULL), -EIO);
	CHECK_STR(err, "exit status 3");
	CHECK_STR(out_str(&o), "partial\n");
	out_reset(&o);

	CHECK_INT(cmd_run(s, &spec, out_sink, &o, small, sizeof(small)),
		  -EIO);
	CHECK_STR(small, "exit stat");
	memset(small, 'x', sizeof(small));
	CHECK_INT(cmd_run(s, &spec, out_sink, &o, small, 0), -EIO);
	CHECK_INT(small[0], 'x');
	CHECK_INT(cmd_run(s, &spec, out_sink, &o, NULL, 0), -EIO);
	out_reset(&o);
}

static void test_stderr_tail(cmd_set *s)
{
	struct out o = { 0 };
	char err[CMD_ERR_MAX], want[CMD_ERR_MAX], small[40];
	char *argv[] = { (char *)"sh", (char *)"-c",
			 (char *)"echo one >&2; exit 1", NULL };
	struct cmd_spec spec = spec_of("/bin/sh", argv);
	size_t n;

	CHECK_INT(run_sh(s, "echo one >&2; echo two >&2; exit 1", 20, &o,
			 err, NULL), -EIO);
	CHECK_STR(err, "exit status 1; stderr: one | two");

	CHECK_INT(run_sh(s, "printf 'a\\tb\\rc\\001d\\177e\\n\\n' >&2; exit 2",
			 20, &o, err, NULL), -EIO);
	CHECK_STR(err, "exit status 2; stderr: a b?c?d?e | ");

	CHECK_INT(run_sh(s, "echo >&2; exit 4", 20, &o, err, NULL), -EIO);
	CHECK_STR(err, "exit status 4");

	/* Only the last CMD_TAIL_MAX bytes are kept. */
	CHECK_INT(run_sh(s, "head -c 5000 /dev/zero | tr '\\0' x >&2; "
			 "printf END >&2; exit 1", 20, &o, err, NULL), -EIO);
	n = (size_t)snprintf(want, sizeof(want), "exit status 1; stderr: ");
	memset(want + n, 'x', CMD_TAIL_MAX - 3);
	strcpy(want + n + CMD_TAIL_MAX - 3, "END");
	CHECK_STR(err, want);

	/* Newlines take three characters: the newest ones are kept. */
	CHECK_INT(run_sh(s, "head -c 2000 /dev/zero | tr '\\0' '\\n' >&2; "
			 "printf Z >&2; exit 1", 20, &o, err, NULL), -EIO);
	n = strlen(err);
	CHECK(n < sizeof(err) && n > 2000);
	CHECK(n >= 3 && strcmp(err + n - 3, "| Z") == 0);

	/* A cut never leaves half a UTF-8 sequence ("\xc3\xa9" is e-acute). */
	CHECK_INT(run_sh(s, "head -c 3000 /dev/zero | tr '\\0' a | "
			 "sed 's/a/\\xc3\\xa9/g' >&2; echo >&2; exit 1", 20,
			 &o, err, NULL), -EIO);
	n = strlen("exit status 1; stderr: ");
	CHECK((unsigned char)err[n] == 0xc3);
	CHECK_INT(strlen(err) - n, CMD_TAIL_MAX - 2);
	CHECK_INT(run_sh(s, "head -c 2000 /dev/zero | tr '\\0' '\\200' >&2; "
			 "exit 1", 20, &o, err, NULL), -EIO);
	CHECK_INT(strlen(err) - n, CMD_TAIL_MAX - 3);	/* not more skipped */

	CHECK_INT(cmd_run(s, &spec, out_sink, &o, small, sizeof(small)),
		  -EIO);
	CHECK_STR(small, "exit status 1; stderr: one");
	CHECK_INT(cmd_run(s, &spec, out_sink, &o, small, 26), -EIO);
	CHECK_STR(small, "exit status 1; stderr: ne");
	CHECK_INT(cmd_run(s, &spec, out_sink, &o, small, 24), -EIO);
	CHECK_STR(small, "exit status 1");
	out_reset(&o);
}

static void test_signal(cmd_set *s)
{
	struct out o = { 0 };
	char err[CMD_ERR_MAX];

	CHECK_INT(run_sh(s, "kill -SEGV $$", 20, &o, err, NULL), -EIO);
	CHECK_STR(err, "killed by signal 11 (Segmentation fault)");
	CHECK_INT(run_sh(s, "echo bye >&2; kill -TERM $$", 20, &o, err, NULL),
		  -EIO);
	CHECK_STR(err, "killed by signal 15 (Terminated); stderr: bye");
	out_reset(&o);
}

static void test_timeout(cmd_set *s)
{
	struct out o = { 0 };
	char err[CMD_ERR_MAX];
	double t0 = now(), dt;
	pid_t pgid;

	CHECK_INT(run_sh(s, "echo $$; echo waiting >&2; sleep 30 & sleep 30",
			 0.5, &o, err, NULL), -ETIMEDOUT);
	dt = now() - t0;
	CHECK(dt >= 0.45 && dt < 0.5 + SLACK);
	CHECK_STR(err, "timed out after 0.5 s (killed); stderr: waiting");
	pgid = (pid_t)atoi(out_str(&o));
	CHECK(pgid > 1);
	if (pgid > 1)
		CHECK(group_gone(pgid));
	out_reset(&o);

	t0 = now();
	CHECK_INT(run_sh(s, "exec sleep 30", 0.25, &o, err, NULL), -ETIMEDOUT);
	CHECK(now() - t0 < 0.25 + SLACK);
	CHECK_STR(err, "timed out after 0.25 s (killed)");
	CHECK_INT(run_sh(s, "exit 0", 0, &o, err, NULL), 0);	/* no limit */
	out_reset(&o);
}

/* A program that exits leaving a child that holds stdout open. */
static void test_background_child(cmd_set *s)
{
	struct out o = { 0 };
	char err[CMD_ERR_MAX];
	double t0 = now();
	pid_t pgid;

	CHECK_INT(run_sh(s, "echo $$; sleep 30 &", 20, &o, err, NULL), 0);
	CHECK(now() - t0 < SLACK);
	pgid = (pid_t)atoi(out_str(&o));
	CHECK(pgid > 1);
	if (pgid > 1)
		CHECK(group_gone(pgid));
	out_reset(&o);

	t0 = now();
	CHECK_INT(run_sh(s, "echo $$; sleep 30 & exit 5", 20, &o, err, NULL),
		  -EIO);
	CHECK(now() - t0 < SLACK);
	CHECK_STR(err, "exit status 5");
	pgid = (pid_t)atoi(out_str(&o));
	if (pgid > 1)
		CHECK(group_gone(pgid));
	out_reset(&o);
}

/* Is process pid gone (reaped, not a zombie)? */
static int pid_gone(pid_t pid)
{
	return pid > 1 && kill(pid, 0) < 0 && errno == ESRCH;
}

/* Reads the pids a script printed, one a line, into pids[n]. */
static int read_pids(const struct out *o, pid_t *pids, int n)
{
	const char *p = out_str(o);
	int got = 0;

	while (got < n && *p) {
		pids[got++] = (pid_t)strtol(p, (char **)&p, 10);
		p += strspn(p, "\n");
	}
	return got;
}

/* Escapees: whatever a command does to leave its process group (setsid,
 * a double fork, both, ignoring SIGTERM), nothing it started is left once
 * cmd_run() returns: on exit, on a failure, on a timeout. */
static void test_escapees(cmd_set *s)
{
	static const char *const scripts[] = {
		"setsid sleep 300 & echo $!; sleep 0.1",
		"(sleep 300 & echo $!); sleep 0.1",
		"(setsid sh -c 'trap \"\" TERM HUP; echo $$; exec sleep 300' &);"
		" sleep 0.2; exit 3",
		"setsid sh -c 'echo $$; (sleep 300 &); sleep 300' & sleep 300",
	};
	struct out o = { 0 };
	char err[CMD_ERR_MAX];
	pid_t pid;

	for (size_t i = 0; i < sizeof(scripts) / sizeof(*scripts); i++) {
		double t0 = now();
		int rc = run_sh(s, scripts[i], 1, &o, err, NULL);

		CHECK_INT(rc, i < 2 ? 0 : i == 2 ? -EIO : -ETIMEDOUT);
		CHECK(now() - t0 < 1 + SLACK);
		CHECK_INT(read_pids(&o, &pid, 1), 1);
		CHECK(pid_gone(pid));
		out_reset(&o);
	}
}

struct sweep_job {
	cmd_set *s;
	int rc;
	struct out o;
	char err[CMD_ERR_MAX];
};

static void *sweep_job_run(void *arg)
{
	struct sweep_job *j = arg;

	j->rc = run_sh(j->s, "sleep 0.8; echo done", 20, &j->o, j->err, NULL);
	return NULL;
}

/* An escapee of a run that ended while another one, started before it,
 * still runs may be that one's: it is killed at the latest when that one
 * ends.  The daemon's own children (its process group) are never touched. */
static void test_escapee_attribution(void)
{
	struct sweep_job j = { 0 };
	struct out o = { 0 };
	char err[CMD_ERR_MAX];
	cmd_set *s = NULL;
	pthread_t t;
	pid_t own, pid;

	CHECK_INT(cmd_set_new(&s), 0);
	j.s = s;
	CHECK_INT(pthread_create(&t, NULL, sweep_job_run, &j), 0);
	sleep_ms(100);
	own = fork();
	if (own == 0) {
		pause();
		_exit(0);
	}
	CHECK_INT(run_sh(s, "setsid sleep 300 & echo $!", 20, &o, err, NULL),
		  0);
	CHECK_INT(read_pids(&o, &pid, 1), 1);
	pthread_join(t, NULL);
	CHECK_INT(j.rc, 0);
	CHECK_STR(out_str(&j.o), "done\n");
	CHECK(pid_gone(pid));
	cmd_set_free(s);	/* a last sweep */
	CHECK_INT(kill(own, 0), 0);
	CHECK_INT(waitpid(own, NULL, WNOHANG), 0);
	kill(own, SIGKILL);
	CHECK_INT(waitpid(own, NULL, 0), own);
	out_reset(&o);
	out_reset(&j.o);
}

static void test_max_output(cmd_set *s)
{
	char *argv[] = { (char *)"sh", (char *)"-c", (char *)"printf abcde",
			 NULL };
	char *yes[] = { (char *)"yes", NULL };
	struct cmd_spec spec = spec_of("/bin/sh", argv);
	struct out o = { 0 };
	char err[CMD_ERR_MAX];
	double t0;

	spec.max_output = 5;
	CHECK_INT(cmd_run(s, &spec, out_sink, &o, err, sizeof(err)), 0);
	CHECK_STR(out_str(&o), "abcde");
	out_reset(&o);
	spec.max_output = 4;
	CHECK_INT(cmd_run(s, &spec, out_sink, &o, err, sizeof(err)), -EFBIG);
	CHECK_STR(err, "output larger than 4 bytes (killed)");
	out_reset(&o);
	spec.max_output = 0;
	CHECK_INT(cmd_run(s, &spec, out_sink, &o, err, sizeof(err)), -EFBIG);
	CHECK_INT(o.calls, 0);
	out_reset(&o);

	/* An endless writer is stopped. */
	spec = spec_of("/usr/bin/yes", yes);
	spec.max_output = 1 << 20;
	t0 = now();
	CHECK_INT(cmd_run(s, &spec, out_sink, &o, err, sizeof(err)), -EFBIG);
	CHECK(now() - t0 < SLACK);
	CHECK(o.len <= 1 << 20);
	CHECK_STR(err, "output larger than 1048576 bytes (killed)");
	out_reset(&o);
}

static void test_sink_error(cmd_set *s)
{
	char *yes[] = { (char *)"yes", NULL };
	struct cmd_spec spec = spec_of("/usr/bin/yes", yes);
	struct out o = { .fail_at = 3, .fail = -ENOSPC };
	char err[CMD_ERR_MAX];
	double t0 = now();

	CHECK_INT(cmd_run(s, &spec, out_sink, &o, err, sizeof(err)), -ENOSPC);
	CHECK(now() - t0 < SLACK);
	CHECK_INT(o.calls, 3);
	CHECK_STR(err, "output refused: No space left on device");
	out_reset(&o);

	/* The sink's own EFBIG is the sink's message, not the limit's. */
	o.fail_at = 1;
	o.fail = -EFBIG;
	CHECK_INT(run_sh(s, "echo $$; sleep 30", 20, &o, err, NULL), -EFBIG);
	CHECK_STR(err, "output refused: File too large");
	out_reset(&o);
}

static void test_spawn_errors(cmd_set *s)
{
	char dir[] = "/tmp/test_cmd.XXXXXX", file[64];
	char *argv[] = { (char *)"x", NULL };
	struct cmd_spec spec = spec_of("/nonexistent/prog", argv);
	struct out o = { 0 };
	char err[CMD_ERR_MAX], want[256];
	int fd;

	CHECK_INT(cmd_run(s, &spec, out_sink, &o, err, sizeof(err)), -ENOENT);
	CHECK_STR(err, "cannot run /nonexistent/prog: "
		       "No such file or directory");

	CHECK(mkdtemp(dir) != NULL);
	snprintf(file, sizeof(file), "%s/prog", dir);
	fd = open(file, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	CHECK(fd >= 0);
	if (fd >= 0) {
		CHECK_INT(write(fd, "\1\2\3\4garbage", 11), 11);
		close(fd);
	}
	spec.path = file;
	CHECK_INT(cmd_run(s, &spec, out_sink, &o, err, sizeof(err)), -EACCES);
	snprintf(want, sizeof(want), "cannot run %s: Permission denied", file);
	CHECK_STR(err, want);

	chmod(file, 0755);
	CHECK_INT(cmd_run(s, &spec, out_sink, &o, err, sizeof(err)), -ENOEXEC);
	snprintf(want, sizeof(want), "cannot run %s: Exec format error", file);
	CHECK_STR(err, want);

	spec.path = "bin/true";
	CHECK_INT(cmd_run(s, &spec, out_sink, &o, err, sizeof(err)), -EINVAL);
	CHECK_STR(err, "cannot run bin/true: Invalid argument");

	spec.path = "/bin/pwd";
	spec.cwd = "/nonexistent";
	CHECK_INT(cmd_run(s, &spec, out_sink, &o, err, sizeof(err)), -ENOENT);
	CHECK_STR(err, "cannot run /bin/pwd: No such file or directory");
	CHECK_INT(o.calls, 0);
	unlink(file);
	rmdir(dir);
}

/* Valgrind runs posix_spawn()'s CLONE_VFORK child as a fork, so glibc
 * cannot hand the exec error back: the child exits 127 instead. */
static int under_valgrind(void)
{
	const char *preload = getenv("LD_PRELOAD");

	return preload && strstr(preload, "vgpreload");
}

/* ---- what the program gets ---------------------------------------------- */

static void test_stdin(cmd_set *s)
{
	char *cat[] = { (char *)"cat", NULL };
	char *rl[] = { (char *)"readlink", (char *)"/proc/self/fd/0", NULL };
	struct cmd_spec spec = spec_of("/bin/cat", cat);
	struct out o = { 0 };
	char err[CMD_ERR_MAX];
	double t0 = now();

	spec.timeout = 10;
	CHECK_INT(cmd_run(s, &spec, out_sink, &o, err, sizeof(err)), 0);
	CHECK(now() - t0 < SLACK);
	CHECK_INT(o.len, 0);
	spec = spec_of("/bin/readlink", rl);
	CHECK_INT(cmd_run(s, &spec, out_sink, &o, err, sizeof(err)), 0);
	CHECK_STR(out_str(&o), "/dev/null\n");
	out_reset(&o);
}

static void test_env(cmd_set *s)
{
	char *argv[] = { (char *)"env", NULL };
	char *envp[] = { (char *)"A=1", (char *)"B=two words", NULL };
	char *none[] = { NULL };
	struct cmd_spec spec = spec_of("/usr/bin/env", argv);
	struct out o = { 0 };
	char err[CMD_ERR_MAX];

	setenv("TEST_CMD_LEAK", "1", 1);
	spec.envp = envp;
	CHECK_INT(cmd_run(s, &spec, out_sink, &o, err, sizeof(err)), 0);
	CHECK_STR(out_str(&o), "A=1\nB=two words\n");
	out_reset(&o);
	spec.envp = none;
	CHECK_INT(cmd_run(s, &spec, out_sink, &o, err, sizeof(err)), 0);
	CHECK_STR(out_str(&o), "");
	out_reset(&o);
}

static void on_hup(int sig)
{
	(void)sig;
}

/* The daemon ignores SIGPIPE and has handlers; a worker may block some. */
static void test_signal_state(cmd_set *s)
{
	char *argv[] = { (char *)"grep", (char *)"-E",
			 (char *)"^Sig(Blk|Ign)", (char *)"/proc/self/status",
			 NULL };
	struct cmd_spec spec = spec_of("/bin/grep", argv);
	struct sigaction sa = { .sa_handler = on_hup }, old_hup;
	sigset_t block, old_mask;
	struct out o = { 0 };
	char err[CMD_ERR_MAX];

	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	pthread_sigmask(SIG_BLOCK, &block, &old_mask);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	sigaction(SIGHUP, &sa, &old_hup);
	CHECK_INT(cmd_run(s, &spec, out_sink, &o, err, sizeof(err)), 0);
	CHECK_STR(out_str(&o), "SigBlk:\t0000000000000000\n"
			       "SigIgn:\t0000000000000000\n");
	sigaction(SIGHUP, &old_hup, NULL);
	signal(SIGQUIT, SIG_DFL);
	pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
	out_reset(&o);		/* SIGPIPE stays ignored, as in the daemon */
}

static void test_no_leaked_fds(cmd_set *s)
{
	char *argv[] = { (char *)"ls", (char *)"/proc/self/fd", NULL };
	struct cmd_spec spec = spec_of("/bin/ls", argv);
	struct out o = { 0 };
	char err[CMD_ERR_MAX];
	int fd = open("/dev/null", O_RDONLY);	/* no O_CLOEXEC on purpose */
	int high = dup2(fd, 100);

	CHECK(fd > 2);
	CHECK_INT(high, 100);
	CHECK_INT(cmd_run(s, &spec, out_sink, &o, err, sizeof(err)), 0);
	CHECK_STR(out_str(&o), "0\n1\n2\n3\n");	/* 3: ls's own */
	out_reset(&o);
	close(fd);
	close(high);
}

/* spec.file_fd is the program's descriptor 3: the very file opened, even
 * once its name is a symbolic link to another one, and nothing else leaks
 * with it, whatever descriptor number the caller had it under. */
static void test_file_fd(cmd_set *s)
{
	char *argv[] = { (char *)"sh", (char *)"-c",
			 (char *)"cat /dev/fd/3; cat <&3; ls /proc/self/fd",
			 NULL };
	struct cmd_spec spec = spec_of("/bin/sh", argv);
	char dir[] = "/tmp/test_cmd_XXXXXX", path[64], other[64];
	struct out o = { 0 };
	char err[CMD_ERR_MAX];
	int fd, at3;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/a", dir);
	snprintf(other, sizeof(other), "%s/secret", dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	CHECK(fd >= 0);
	at3 = fcntl(fd, F_DUPFD_CLOEXEC, 10);	/* not 3: that comes next */
	close(fd);
	fd = at3;
	CHECK_INT(write(fd, "mine\n", 5), 5);
	CHECK_INT(open(other, O_WRONLY | O_CREAT | O_CLOEXEC, 0600) > 0, 1);
	CHECK_INT(unlink(path), 0);
	CHECK_INT(symlink(other, path), 0);
	spec.file_fd = fd;
	/* cat <&3 reads from the shared offset: at the end, nothing. */
	CHECK_INT(cmd_run(s, &spec, out_sink, &o, err, sizeof(err)), 0);
	CHECK_STR(out_str(&o), "mine\n0\n1\n2\n3\n4\n");	/* 4: ls's */
	out_reset(&o);
	lseek(fd, 0, SEEK_SET);
	at3 = dup2(fd, 3);	/* the caller's own descriptor 3 */
	CHECK_INT(at3, 3);
	spec.file_fd = 3;
	CHECK_INT(cmd_run(s, &spec, out_sink, &o, err, sizeof(err)), 0);
	CHECK_STR(out_str(&o), "mine\nmine\n0\n1\n2\n3\n4\n");
	out_reset(&o);
	spec.file_fd = -1;	/* none: descriptor 3 is not passed */
	CHECK_INT(cmd_run(s, &spec, out_sink, &o, err, sizeof(err)), 0);
	CHECK_STR(out_str(&o), "0\n1\n2\n3\n");
	out_reset(&o);
	close(at3);
	close(fd);
	unlink(path);
	unlink(other);
	rmdir(dir);
}

static void test_cwd(cmd_set *s)
{
	char *argv[] = { (char *)"pwd", NULL };
	struct cmd_spec spec = spec_of("/bin/pwd", argv);
	struct out o = { 0 };
	char err[CMD_ERR_MAX], here[PATH_MAX], want[PATH_MAX + 2];

	spec.cwd = "/usr/bin";
	CHECK_INT(cmd_run(s, &spec, out_sink, &o, err, sizeof(err)), 0);
	CHECK_STR(out_str(&o), "/usr/bin\n");
	out_reset(&o);

	spec.cwd = NULL;
	CHECK(getcwd(here, sizeof(here)) != NULL);
	snprintf(want, sizeof(want), "%s\n", here);
	CHECK_INT(cmd_run(s, &spec, out_sink, &o, err, sizeof(err)), 0);
	CHECK_STR(out_str(&o), want);
	out_reset(&o);
}

static void test_argv(cmd_set *s)
{
	char touch[80], flag[64];
	char *args[] = { (char *)"two words", (char *)"line\nnext",
			 (char *)"'q\"\\", touch, (char *)"-n", (char *)"",
			 (char *)"*", (char *)"$HOME", NULL };
	struct out o = { 0 };
	char err[CMD_ERR_MAX], want[256];
	size_t n = 0;

	snprintf(flag, sizeof(flag), "/tmp/test_cmd.%d.x", (int)getpid());
	snprintf(touch, sizeof(touch), "$(touch %s)", flag);

	for (int i = 0; args[i]; i++) {
		strcpy(want + n, args[i]);
		n += strlen(args[i]) + 1;
	}
	CHECK_INT(run_sh(s, "printf '%s\\0' \"$@\"", 20, &o, err, args), 0);
	CHECK_INT(o.len, n);
	CHECK(o.len == n && memcmp(o.data, want, n) == 0);
	CHECK(access(flag, F_OK) < 0);
	out_reset(&o);
}

/* ---- threads ------------------------------------------------------------ */

struct job {
	cmd_set *s;
	const char *script;
	char *args[3];
	char arg[16];
	double timeout;
	int rc;
	struct out o;
	char err[CMD_ERR_MAX];
	pthread_t thread;
};

static void *job_run(void *arg)
{
	struct job *j = arg;

	j->rc = run_sh(j->s, j->script, j->timeout, &j->o, j->err, j->args);
	return NULL;
}

static void test_threads(cmd_set *s)
{
	struct job jobs[NTHREADS];
	char want[64];

	for (int i = 0; i < NTHREADS; i++) {
		struct job *j = &jobs[i];

		*j = (struct job){ .s = s, .timeout = 20,
				   .script = "printf out$1; sleep 0.2; "
					     "echo err$1 >&2; exit $2" };
		snprintf(j->arg, sizeof(j->arg), "%d", i);
		j->args[0] = j->arg;
		j->args[1] = (char *)(i % 2 ? "0" : "3");
		CHECK_INT(pthread_create(&j->thread, NULL, job_run, j), 0);
	}
	for (int i = 0; i < NTHREADS; i++) {
		struct job *j = &jobs[i];

		pthread_join(j->thread, NULL);
		snprintf(want, sizeof(want), "out%d", i);
		CHECK_STR(out_str(&j->o), want);
		CHECK_INT(j->rc, i % 2 ? 0 : -EIO);
		snprintf(want, sizeof(want), "exit status 3; stderr: err%d", i);
		CHECK_STR(j->err, i % 2 ? "" : want);
		out_reset(&j->o);
	}
}

/* Runs that are sleeping, with children of their own, are all cancelled
 * once they have started; later runs fail at once. */
static void test_cancel(void)
{
	struct job jobs[3];
	cmd_set *s = NULL;
	struct out o = { 0 };
	char err[CMD_ERR_MAX];
	char flag[64], *args[] = { flag, NULL };
	double t0, until;
	int started;

	CHECK_INT(cmd_set_new(&s), 0);
	for (int i = 0; i < 3; i++) {
		jobs[i] = (struct job){ .s = s, .timeout = 20,
					.script = "echo $$; sleep 30 & "
						  "exec sleep 30" };
		CHECK_INT(pthread_create(&jobs[i].thread, NULL, job_run,
					 &jobs[i]), 0);
	}
	until = now() + SLACK;
	do {
		sleep_ms(5);
		started = 0;
		for (int i = 0; i < 3; i++)
			started += atomic_load(&jobs[i].o.started);
	} while (started < 3 && now() < until);
	CHECK_INT(started, 3);
	t0 = now();
	cmd_set_cancel(s);
	for (int i = 0; i < 3; i++) {
		pthread_join(jobs[i].thread, NULL);
		CHECK_INT(jobs[i].rc, -ECANCELED);
		pid_t pgid = (pid_t)atoi(out_str(&jobs[i].o));

		CHECK_STR(jobs[i].err, "cancelled (unmounting)");
		CHECK(pgid > 1 && group_gone(pgid));
		out_reset(&jobs[i].o);
	}
	CHECK(now() - t0 < SLACK);

	snprintf(flag, sizeof(flag), "/tmp/test_cmd.%d.ran", (int)getpid());
	CHECK_INT(run_sh(s, "touch \"$1\"", 20, &o, err, args), -ECANCELED);
	CHECK_STR(err, "cancelled (unmounting)");
	CHECK(access(flag, F_OK) < 0);
	CHECK_INT(o.calls, 0);
	cmd_set_cancel(s);		/* twice is fine */
	cmd_set_free(s);
}

/* ---- without pidfds ----------------------------------------------------- */

/* Makes pidfd_open() fail with ENOSYS in this process and its children.
 * The filter does not check the architecture: it is only a test. */
static int block_pidfd_open(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_pidfd_open, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]),
				   .filter = f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
		return -errno;
	if (syscall(SYS_pidfd_open, getpid(), 0) >= 0 || errno != ENOSYS)
		return -EPERM;
	return 0;
}

static void test_without_pidfd(void)
{
	cmd_set *s = NULL;
	pid_t pid;
	int status = -1;

	fflush(NULL);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		check_count = check_failures = 0;
		if (block_pidfd_open() < 0) {
			printf("cmd (no pidfd): cannot block pidfd_open: "
			       "skipped\n");
			exit(0);
		}
		CHECK_INT(cmd_set_new(&s), 0);
		test_stdout(s);
		test_output_before_exit(s);
		test_exit_status(s);
		test_signal(s);
		test_timeout(s);
		test_background_child(s);
		test_sink_error(s);
		cmd_set_free(s);
		test_cancel();
		exit(check_report("cmd (no pidfd)"));
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	CHECK_INT(status, 0);
}

/* ---- main --------------------------------------------------------------- */

/* Every group seen is really gone once init has reaped the orphans. */
static void check_groups_gone(void)
{
	double until = now() + 2 * SLACK;
	int left;

	do {
		left = 0;
		for (int i = 0; i < nseen_pgids; i++)
			if (kill(-seen_pgids[i], 0) == 0 || errno != ESRCH)
				left++;
		if (left)
			sleep_ms(20);
	} while (left && now() < until);
	CHECK_INT(left, 0);
}

int main(void)
{
	cmd_set *s = NULL;

	CHECK_INT(cmd_set_new(&s), 0);
	test_stdout(s);
	test_big_output(s);
	test_output_before_exit(s);
	test_exit_status(s);
	test_stderr_tail(s);
	test_signal(s);
	test_timeout(s);
	test_background_child(s);
	test_escapees(s);
	test_max_output(s);
	test_sink_error(s);
	if (under_valgrind())
		printf("cmd: spawn errors not tested under valgrind\n");
	else
		test_spawn_errors(s);
	test_stdin(s);
	test_env(s);
	test_signal_state(s);
	test_no_leaked_fds(s);
	test_file_fd(s);
	test_cwd(s);
	test_argv(s);
	test_threads(s);
	cmd_set_free(s);
	cmd_set_free(NULL);
	test_cancel();
	test_escapee_attribution();
	test_without_pidfd();
	check_groups_gone();
	CHECK(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD);
	return check_report("cmd");
}
