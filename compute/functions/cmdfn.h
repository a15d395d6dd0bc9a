/* cmdfn.h -- command functions: a functions file's declarations made into
 * registered functions whose compute runs the command.
 *
 * cmdfn_load() parses a functions file (cmdfile.h), checks each function
 * against the mounted DATA, resolves its program, and registers it through
 * reg_add() like any plugin function, so it goes through the same pool,
 * single flight, memo layer and store.  Its computation builds argv from
 * the template and runs it with cmd_run() (cmd.h); stdout is the result.
 *
 * What a command gets:
 *   - argv: the template with each placeholder replaced by one element;
 *   - the program: found at load time, once: an element with a '/' is a
 *     path (relative ones from the functions file's directory), a bare
 *     name is looked up in CMDFN_PATH;
 *   - working directory: the functions file's directory;
 *   - for a file argument, the file memofs opened (once, never following
 *     a symbolic link) and digested, as descriptor 3 (CMD_FILE_FD); {file}
 *     is CMDFN_FILE_PATH, which opens that same file again whatever
 *     happens to its name meanwhile.  After the run the descriptor is
 *     checked again: a file that changed meanwhile fails the read and
 *     nothing is cached;
 *   - stdin /dev/null; environment exactly PATH=CMDFN_PATH, HOME (memofs's
 *     own, or "/"), TMPDIR (memofs's own, or "/tmp"), LC_ALL=C.UTF-8;
 *   - a time limit: the function's "timeout", else -o timeout, else none.
 * A command that exits non-zero, is killed, times out or writes more than
 * CMDFN_OUTPUT_MAX bytes fails the read with EIO (logged with its stderr
 * tail) and nothing is cached.
 *
 * Cache keys: the version is the declared one plus "+" and an XXH3-64 over
 * the template, the argument kind and list, the program's bytes, and the
 * bytes of every other literal element that names a regular file from the
 * working directory (a script), so editing the command, the program or
 * its script gives fresh results.  The digest is the one of the files as
 * they are when the key is made (reg_add_versioned()): each key stat()s
 * them, and they are read again when the identity (device, inode, size,
 * mtime, ctime) of one changed, or changed less than ARGDIR_RACY_NS
 * before the last digest.  So a script edited while mounted gives new
 * keys at once, and a computation during which it changed is not cached
 * (memo.h).  A file argument's key carries its
 * content digest (argdir.h).  A table DATA file that changed since the mount
 * makes commands using {data} fail (its results are keyed by the mounted
 * content) until memofs is remounted.
 *
 * Loading happens at start-up, from one thread; computations run on any
 * worker; cmdfn_cancel() may be called from any thread.
 */
#ifndef MEMOFS_CMDFN_H
#define MEMOFS_CMDFN_H

#include <stddef.h>

#include "functions/argdir.h"
#include "data/ds.h"
#include "functions/reg.h"

#define CMDFN_PATH "/usr/local/bin:/usr/bin:/bin"
#define CMDFN_FILE_PATH "/dev/fd/3"	/* what {file} becomes */
#define CMDFN_OUTPUT_MAX ((size_t)1 << 30)
#define CMDFN_ERR_MAX 1024

typedef struct cmdfn cmdfn;

/* What the commands may refer to: DATA, as mounted. */
struct cmdfn_data {
	const char *path;	/* DATA as given, or NULL (the demo) */
	const ds *table;	/* the table, or NULL when DATA is a argdir */
	argdir *files;		/* the directory DATA, or NULL */
	double timeout;		/* -o timeout, 0: none */
};

/* Returns 0 and *out (caller frees with cmdfn_free()) or -ENOMEM.  data
 * is copied; what it points to is borrowed and must outlive *out. */
int cmdfn_new(const struct cmdfn_data *data, cmdfn **out);

/* Registers the functions of the functions file at path into r.  Returns
 * 0, or a negative errno and a one-line message in err (CMDFN_ERR_MAX
 * bytes are enough) naming the file and line, e.g.
 *   "f.ini: line 4: [lines]: 'args = files' needs a directory as DATA"
 *   "f.ini: line 6: program 'wcc' not found in /usr/local/bin:..."
 *   "f.ini: line 1: function 'mean' is already registered"
 * Functions registered before an error stay registered (the caller gives
 * up the whole registry). */
int cmdfn_load(cmdfn *c, reg *r, const char *path, char *err,
	       size_t errlen);

/* Kills every running command; later computations fail at once.  For the
 * end of a mount, before the workers are joined: cmdfn_load() registers
 * it with the registry (reg_on_cancel()), so memo_cancel() calls it. */
void cmdfn_cancel(cmdfn *c);

/* The registry must no longer use c's functions.  NULL is a no-op. */
void cmdfn_free(cmdfn *c);

#endif
