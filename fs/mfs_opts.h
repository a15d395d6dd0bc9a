/* mfs_opts.h -- the memofs command line.
 *
 *   memofs [-o opt[,opt...]] [-f] [-d] [DATA] MOUNTPOINT
 *   memofs --help | --version
 *   memofs --functions [-o plugin=PATH...] [-o functions=FILE...] [DATA]
 *
 * Parsed once in main() before anything else; the result is read-only
 * afterwards.  Unknown options and bad values are errors with a one-line
 * message, never silently ignored.
 */
#ifndef MEMOFS_MFS_OPTS_H
#define MEMOFS_MFS_OPTS_H

#include <stddef.h>
#include <stdint.h>

#include "engine/remote_url.h"
#include "data/ds.h"

#define MFS_ERR_MAX 512
#define MFS_MAX_SIZE_DEFAULT (5ull << 30)	/* -o max_size: 5 GiB */

struct mfs_opts {
	char *data;		/* DATA, or NULL for the demo dataset */
	char *mountpoint;
	int foreground;		/* -f */
	int debug;		/* -d: foreground, debug log, FUSE trace */
	int show_help;		/* -h, --help */
	int show_version;	/* -V, --version */
	int list_functions;	/* --functions: print the registry, exit */
	unsigned workers;	/* -o workers=N (default: online CPUs) */
	double delay;		/* -o delay=SECONDS for "column" */
	char *cache_dir;	/* -o cache=DIR, or NULL: a temporary one */
	int quiet;		/* -o quiet: no per-computation log lines */
	int allow_other;	/* -o allow_other */
	int stat_compute;	/* -o stat=compute (default stat=cheap) */
	char **plugins;		/* -o plugin=PATH, repeatable, in order */
	size_t nplugins;
	char **functions;	/* -o functions=FILE, repeatable, in order */
	size_t nfunctions;
	double timeout;		/* -o timeout=SECONDS for commands, 0: none */
	struct ds_opts table;	/* -o sep=, header=, skiprows=, comment= */
	uint64_t max_size;	/* -o max_size=SIZE in bytes, 0: no limit */
	uint64_t max_age_ns;	/* -o max_age=DURATION, 0: no limit */
	char *log;		/* -o log=FILE|syslog|stderr, or NULL */
	/* The options of libfuse filesystems (sshfs...) that fstab lines use,
	 * with libfuse's meaning: */
	long uid;		/* -o uid=N: owner shown, or -1: the mounter */
	long gid;		/* -o gid=N: group shown, or -1: the mounter's */
	int umask;		/* -o umask=M (octal): mode 0777 & ~M, or -1 */
	char *fsname;		/* -o fsname=NAME: /proc/mounts source */
	char *subtype;		/* -o subtype=NAME: type fuse.NAME */
	int auto_unmount;	/* -o auto_unmount: unmount if memofs dies */
	char *kernel_flags;	/* nosuid, noexec... in order, comma-separated,
				 * for libfuse to apply; or NULL */
	/* The remote tier (engine/remote.h): */
	int remote;		/* -o remote=URL given */
	struct remote_url remote_url;	/* its URL, parsed */
	char *remote_prefix;	/* -o remote_prefix=NAME, or NULL: "memofs" */
	int remote_readonly;	/* -o remote_readonly */
	unsigned remote_timeout_ms;	/* -o remote_timeout=MS (default
					 * REMOTE_TIMEOUT_MS) */
	size_t remote_max_value;	/* -o remote_max_value=SIZE (default
					 * REMOTE_MAX_VALUE) */
	char *remote_password_file;	/* -o remote_password_file=PATH */
	char *remote_key_file;	/* -o remote_key_file=PATH */
	int remote_extra;	/* remote_* options seen (they need remote) */
};

/* Parses argv into o (zeroed first; defaults filled in).  Returns 0, or
 * -EINVAL with a message in err (errlen bytes).  Free with
 * mfs_opts_free() either way. */
int mfs_opts_parse(int argc, char **argv, struct mfs_opts *o, char *err,
		   size_t errlen);
void mfs_opts_free(struct mfs_opts *o);

/* The --help text. */
void mfs_opts_usage(const char *progname);

#endif
