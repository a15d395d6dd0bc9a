/* cmd.h -- running one program to completion: argv in, stdout out.
 *
 * cmd runs a program never through a shell: posix_spawn() of an absolute
 * path with the caller's argv and environment, stdin from /dev/null,
 * stdout and stderr into pipes, optionally one open file of the caller's
 * as descriptor 3 (CMD_FILE_FD), no other inherited descriptor, all signals
 * at their default action and none blocked, in a process group of its
 * own, in the caller's working directory choice.  It hands stdout to a
 * sink as it arrives, keeps the last CMD_TAIL_MAX bytes of stderr for the
 * error message, and enforces a time limit and an output limit by killing
 * the whole process group.  When the program exits, whatever it left
 * running in its process group is killed too.  Descendants that leave the
 * group (setsid, double forks) are handed to the process, which
 * cmd_set_new() makes a child subreaper, when their parent dies; each run
 * ends by killing and reaping those no running command may own (started
 * after every run still going), so nothing a run starts outlives the last
 * cmd_run() that was going when it started, nor cmd_set_free().  Hence a
 * process has at most one cmd_set at a time, and the set may kill (and
 * reap) any child of the process outside the process's own process group
 * started after its first run.
 *
 * A cmd_set tracks the runs in progress so that an unmount can stop them
 * all at once (cmd_set_cancel()).  cmd_run() may be called from many
 * threads at once; each call blocks its thread until the program is done.
 * cmd knows nothing of memofs functions, files or the cache.
 */
#ifndef MEMOFS_CMD_H
#define MEMOFS_CMD_H

#include <stddef.h>

#define CMD_TAIL_MAX 1024	/* bytes of stderr kept for the message */
#define CMD_ERR_MAX (CMD_TAIL_MAX * 3 + 256) /* room for cmd_run()'s err */
#define CMD_FILE_FD 3		/* where the program finds spec->file_fd */

typedef struct cmd_set cmd_set;

/* Returns 0 and *out (caller frees with cmd_set_free()) or -ENOMEM. */
int cmd_set_new(cmd_set **out);

/* No run may be in progress.  cmd_set_free(NULL) is a no-op. */
void cmd_set_free(cmd_set *s);

/* Kills (SIGKILL) the process group of every run in progress and makes
 * every later cmd_run() fail at once with -ECANCELED.  Any thread. */
void cmd_set_cancel(cmd_set *s);

struct cmd_spec {
	const char *path;	/* absolute path of the program */
	char *const *argv;	/* argv[0], ..., NULL */
	char *const *envp;	/* the whole environment, NULL-terminated */
	const char *cwd;	/* working directory, or NULL to inherit */
	double timeout;		/* seconds; <= 0: no limit */
	size_t max_output;	/* more stdout bytes than this: -EFBIG */
	int file_fd;		/* given to the program as descriptor
				 * CMD_FILE_FD (the same open file), or -1 */
	/* Called, from cmd_run()'s thread, for each line of stderr that is
	 * a progress line (units_parse_progress()), with the fraction done;
	 * NULL: none. */
	void (*progress)(void *arg, double fraction);
	void *progress_arg;
};

/* Receives stdout in order, in pieces of any size.  Returns 0, or a
 * negative errno to stop the run (the program is killed and cmd_run()
 * returns that errno). */
typedef int (*cmd_sink_fn)(void *arg, const void *buf, size_t len);

/* Runs spec and waits for it.  Returns 0 when the program exited with
 * status 0.  Otherwise returns a negative errno and writes a one-line
 * message into err (errlen bytes; CMD_ERR_MAX is enough), ending with
 * "; stderr: TAIL" when the program wrote to stderr (the last bytes,
 * trailing newline dropped, newlines shown as " | ", other control bytes
 * as '?'):
 *   -EIO        "exit status 3[; stderr: ...]"
 *   -EIO        "killed by signal 11 (Segmentation fault)[; stderr: ...]"
 *   -ETIMEDOUT  "timed out after 2.5 s (killed)[; stderr: ...]"
 *   -EFBIG      "output larger than N bytes (killed)"
 *   -ECANCELED  "cancelled (unmounting)"
 *   -ENOENT, -EACCES, ...  "cannot run PATH: strerror" (spawn failed)
 *   the sink's errno         "output refused: strerror"
 * The stdout already given to the sink is the caller's to discard. */
int cmd_run(cmd_set *s, const struct cmd_spec *spec, cmd_sink_fn sink,
	    void *sinkarg, char *err, size_t errlen);

#endif
