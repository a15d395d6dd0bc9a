/* argdir.h -- a directory given as DATA: its regular files are arguments.
 *
 * Functions declared with "args = files" take the regular files directly
 * in one directory.  Subdirectories, symbolic links (even to regular
 * files: an argument never leads out of the directory), devices, FIFOs
 * and sockets are not arguments, nor are files with more than one hard
 * link unless the kernel refuses links to files their maker cannot read
 * (fs.protected_hardlinks = 1, read once by argdir_open()), nor are names that are not valid file
 * names for memofs (control characters; see reg.h).  The directory is
 * live: files added, edited or removed while mounted are seen at the next
 * lookup.
 *
 * An argument's canonical form, the one cache keys use, is NAME "/" HEX
 * where HEX is the XXH3-128 of the file's bytes in 32 lower-case hex
 * digits ('/' cannot occur in a name, so the form is unambiguous).  An
 * edited file therefore gets fresh results while the other files keep
 * theirs.  Digests are remembered per name together with the file's
 * identity (device, inode, size, mtime, ctime) and computed again only
 * when that changes, or when the file changed too recently for its
 * timestamps to be trusted (within ARGDIR_RACY_NS of the digest).
 *
 * Every function may be called from any thread.
 */
#ifndef MEMOFS_ARGDIR_H
#define MEMOFS_ARGDIR_H

#include <stddef.h>
#include <sys/stat.h>

#define ARGDIR_HEX_LEN 32			/* digest in hex digits */
#define ARGDIR_RACY_NS 2000000000LL	/* timestamps younger than this */
#define ARGDIR_ERR_MAX 512

typedef struct argdir argdir;

/* Opens the directory at path.  Returns 0 and *out (caller frees with
 * argdir_free()), or a negative errno and a one-line message in err naming
 * the path (-ENOTDIR, -ENOENT, -EACCES, -ENOMEM). */
int argdir_open(const char *path, argdir **out, char *err, size_t errlen);
void argdir_free(argdir *d);			/* argdir_free(NULL) is a no-op */

/* The directory's absolute path, without a trailing '/'. */
const char *argdir_path(const argdir *d);

/* fstat() of the directory (its mtime changes when files come or go).
 * Returns 0 or a negative errno. */
int argdir_stat(const argdir *d, struct stat *out);

/* The argument names, sorted by strcmp.  Returns 0, *names (one
 * allocation holding the array and the strings: caller frees with free())
 * and *n; or a negative errno (-ENOMEM, or the error of reading the
 * directory). */
int argdir_list(argdir *d, char ***names, size_t *n);

/* A listing that a directory reader can page through in pieces: one
 * argdir_list() shared by reference, so that reading a directory of n
 * names in k pieces costs one listing, not k.  fresh: list the directory
 * again (a reader starting at offset 0); otherwise the last listing made,
 * or a new one if there is none.  Returns 0 and *out (caller releases it
 * with argdir_listing_release()), or argdir_list()'s error. */
typedef struct argdir_listing argdir_listing;
int argdir_listing_get(argdir *d, int fresh, argdir_listing **out);
size_t argdir_listing_count(const argdir_listing *l);
/* The i-th name, sorted by strcmp; NULL when i >= the count. */
const char *argdir_listing_name(const argdir_listing *l, size_t i);
void argdir_listing_release(argdir *d, argdir_listing *l);

/* Checks that name is an argument and writes its canonical form NAME/HEX
 * into canon.  Returns 0, -ENOENT when name is not an argument (also for
 * any name with a '/'), -ENAMETOOLONG when canon is too small, or the
 * error of reading the file (-EIO, -EACCES, ...). */
int argdir_resolve(argdir *d, const char *name, char *canon, size_t canonlen);

/* Like argdir_resolve(), but reads no file larger than ARGDIR_QUICK_MAX
 * bytes: when such a file's digest is not cached (or not settled), returns
 * -EWOULDBLOCK, and argdir_resolve() is for a thread that may take the
 * time.  For threads that must stay responsive. */
#define ARGDIR_QUICK_MAX (1 << 20)
int argdir_resolve_quick(argdir *d, const char *name, char *canon,
			 size_t canonlen);

/* Opens the argument of the canonical form canon for a command: splits
 * off its name (copied into name, namelen bytes), opens the file once,
 * without following a symbolic link, and checks that what the descriptor
 * holds is a regular file with that digest.  Returns 0 and *fd (read
 * only, close-on-exec, O_NONBLOCK; the caller closes it; -1 on failure),
 * -ESTALE when the content has changed since canon was made, -ENOENT when
 * the name is gone or is not a regular file (a symbolic link, a FIFO...),
 * or the error of reading it.  Whatever happens to the name later, the descriptor stays
 * on the file that was checked. */
int argdir_open_arg(argdir *d, const char *canon, char *name, size_t namelen,
		    int *fd);

/* After a command has run: does the descriptor fd (from argdir_open_arg()
 * for name) still hold the content canon names?  Returns 0, -ESTALE, or
 * the error of reading it.  The file is read again unless its identity
 * is unchanged and settled (see above). */
int argdir_check_fd(argdir *d, const char *name, int fd, const char *canon);

/* Splits a canonical form canon into its name (copied into name, namelen
 * bytes) and checks that the file still has that digest.  Returns 0,
 * -ESTALE when its content has changed since canon was made, -ENOENT when
 * it is gone (or canon is not a canonical form), or the error of reading
 * it. */
int argdir_check(argdir *d, const char *canon, char *name, size_t namelen);

#endif
