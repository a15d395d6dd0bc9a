/* mfs_opts.c -- the memofs command line (see mfs_opts.h). */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mfs_opts.h"
#include "data/quote.h"
#include "engine/remote.h"
#include "util/mem.h"
#include "util/units.h"

#define MFS_MAX_WORKERS 1024
#define MFS_MAX_DELAY 86400.0
#define MFS_MAX_ID 4294967294L	/* (uid_t)-1 means "no change": not an id */
#define MFS_FSNAME_MAX 255
#define MFS_SUBTYPE_MAX 64
#define MFS_MAX_REMOTE_TIMEOUT 600000	/* ms: ten minutes */
#define MFS_MAX_ROWS 1000000000L	/* header=N, skiprows=N */
/* What every size option accepts (mfs_parse_size(), units.h). */
#define MFS_SIZE_UNITS "K, M, G or T: powers of 1024, either case, " \
	"optionally followed by B or iB"

/* Mount flags libfuse applies itself (the kernel's MS_NOSUID...): passed
 * on, in order, so that the last of a pair wins as in mount(8). */
static const char *const mfs_kernel_flags[] = {
	"suid", "nosuid", "dev", "nodev", "exec", "noexec", NULL
};

/* Accepted because fstab lines and mount(8) carry them, and meaning
 * nothing more for memofs: the mount is read-only whatever rw says (so
 * atime and sync flags have nothing to act on), and memofs sets
 * default_permissions itself, exactly when allow_other lets other users
 * in (mfs_fuse_optlist()). */
static const char *const mfs_no_op_flags[] = {
	"ro", "rw", "default_permissions", "atime", "noatime", "relatime",
	"norelatime", "strictatime", "nostrictatime", "diratime",
	"nodiratime", "lazytime", "nolazytime", "sync", "async", "dirsync",
	NULL
};

void mfs_opts_usage(const char *progname)
{
	printf("usage: %s [-o opt[,opt...]] [-f] [-d] [DATA] MOUNTPOINT\n"
	       "       %s --functions [-o plugin=PATH...] [-o functions=FILE...]"
	       " [DATA]\n"
	       "       %s stats MOUNTPOINT [--json]\n"
	       "       %s clear MOUNTPOINT [FUNCTION[/ARGUMENT]]\n"
	       "\n"
	       "Mounts a filesystem whose files are memoized computations on\n"
	       "DATA (a CSV or .npy file; without DATA, the demo dataset\n"
	       "numpy.random.RandomState(42).randn(10000, 4); or a directory\n"
	       "whose files are the arguments of command functions).\n"
	       "Reading MOUNTPOINT/FUNCTION/ARGUMENT computes once, then\n"
	       "serves the stored result.  Unmount with fusermount3 -u.\n"
	       "\n"
	       "options:\n"
	       "  -f                 stay in the foreground, log to stderr\n"
	       "  -d                 debug: -f plus debug log and FUSE trace\n"
	       "  -h, --help         print this help\n"
	       "  -V, --version      print the version\n"
	       "  --functions        list the functions (with -o plugin=...,"
	       " -o functions=...)\n"
	       "                     and exit\n"
	       "  -o workers=N       computations run in parallel (default:"
	       " CPUs)\n"
	       "  -o delay=SECONDS   make 'column' take this long (demos)\n"
	       "  -o cache=DIR       keep results in DIR across mounts\n"
	       "                     (default: a temporary cache removed at\n"
	       "                     unmount)\n"
	       "  -o quiet           do not log each computation\n"
	       "  -o plugin=PATH     load a C plugin (repeatable)\n"
	       "  -o functions=FILE  register the command functions of FILE\n"
	       "                     (repeatable; see README)\n"
	       "  -o timeout=SECONDS kill a command running longer (default:"
	       " none)\n"
	       "  -o allow_other     let other users read the mount (needs\n"
	       "                     user_allow_other in /etc/fuse.conf for\n"
	       "                     non-root; every user then sees results)\n"
	       "  -o uid=N,gid=N     owner and group the files show (default:"
	       " yours)\n"
	       "  -o umask=M         files and directories show mode 0777 & ~M"
	       "\n"
	       "                     (octal; default: 0444 files, 0555"
	       " directories)\n"
	       "  -o fsname=NAME     the source /proc/mounts shows (default:"
	       " memofs)\n"
	       "  -o subtype=NAME    the type /proc/mounts shows is fuse.NAME"
	       "\n"
	       "  -o auto_unmount    unmount when memofs dies, even by kill -9"
	       "\n"
	       "  -o nosuid,nodev,noexec (and suid, dev, exec) applied to the"
	       " mount;\n"
	       "  -o ro,rw,default_permissions, atime and sync flags: accepted,"
	       " no effect\n"
	       "                     (memofs is read-only)\n"
	       "  -o sep=SEP         the CSV separator: comma, semicolon, tab,"
	       " pipe,\n"
	       "                     whitespace (blank runs) or one byte"
	       " (default:\n"
	       "                     sniffed from the first lines)\n"
	       "  -o header=N|none   the CSV header is the row after N rows;"
	       " none: no\n"
	       "                     header (default: the first row, when not"
	       " numbers)\n"
	       "  -o skiprows=N      skip the first N lines of a CSV file\n"
	       "  -o comment=C       ignore the rest of a CSV line from the"
	       " byte C\n"
	       "  -o max_size=SIZE   remove least recently used results beyond"
	       " SIZE\n"
	       "                     (default 5G; 0: no limit)\n"
	       "  -o max_age=TIME    remove results older than TIME (90m, 7d;"
	       "\n"
	       "                     default: no limit)\n"
	       "  -o log=FILE        log to FILE (or syslog, stderr)\n"
	       "  -o stat=compute    stat of a result not computed yet computes\n"
	       "                     it (for tar, rsync...; default stat=cheap:\n"
	       "                     only reading, or fstat of an open file)\n"
	       "  -o remote=URL      share results through Redis:\n"
	       "                     redis://HOST[:PORT][/DB] or unix:/PATH\n"
	       "  -o remote_prefix=NAME  key prefix in Redis (default memofs)\n"
	       "  -o remote_readonly use others' results, publish none\n"
	       "  -o remote_timeout=MS  per Redis call (default 1000)\n"
	       "  -o remote_max_value=SIZE  larger results stay local\n"
	       "                     (1 to 512M; default 64M)\n"
	       "  -o remote_password_file=PATH  Redis password (mode 0600)\n"
	       "  -o remote_key_file=PATH  shared secret that signs values\n"
	       "                     (mode 0600, the same on every machine)\n"
	       "\n"
	       "SIZE is bytes, or a number with K, M, G or T (powers of 1024,"
	       " either\n"
	       "case, B or iB may follow): 64M = 64m = 64MB = 64MiB.\n",
	       progname, progname, progname, progname);
}

static int mfs_fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int mfs_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Seconds as decimal text: digits, a point, an exponent ("2", "0.5",
 * "1e-3"), no sign, blank or hexadecimal ("0x10" is not 16 s). */
static int mfs_parse_seconds(const char *v, double *out)
{
	char *end;
	double d;

	if (!(isdigit((unsigned char)*v) || *v == '.') || strpbrk(v, "xXpP"))
		return -EINVAL;
	errno = 0;
	d = strtod(v, &end);
	if (errno || end == v || *end || !isfinite(d) || d < 0 ||
	    d > MFS_MAX_DELAY)
		return -EINVAL;
	*out = d;
	return 0;
}

/* A whole number without sign or blanks, in base (10 or 8), at most max. */
static int mfs_parse_uint(const char *v, int base, long max, long *out)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, base);
	if (errno || !isdigit((unsigned char)*v) || *end || n > max)
		return -EINVAL;
	*out = n;
	return 0;
}

static int mfs_parse_workers(const char *v, unsigned *out)
{
	long n;

	if (mfs_parse_uint(v, 10, MFS_MAX_WORKERS, &n) || n < 1)
		return -EINVAL;
	*out = (unsigned)n;
	return 0;
}

/* fsname: 1 to 255 bytes, no control character.  subtype: 1 to 64 of
 * [A-Za-z0-9._+-] (it becomes part of a filesystem type name). */
static int mfs_check_name(const char *v, int subtype)
{
	size_t n = strlen(v);

	if (n == 0 || n > (subtype ? MFS_SUBTYPE_MAX : MFS_FSNAME_MAX))
		return -EINVAL;
	for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return -EINVAL;
		if (subtype && !isalnum(*p) && !strchr("._+-", *p))
			return -EINVAL;
	}
	return 0;
}

static int mfs_in(const char *const *list, const char *opt)
{
	for (; *list; list++)
		if (strcmp(*list, opt) == 0)
			return 1;
	return 0;
}

/* Appends flag to the comma-separated *list. */
static int mfs_add_flag(char **list, const char *flag)
{
	size_t len = *list ? strlen(*list) : 0;
	char *p = realloc(*list, len + strlen(flag) + 2);

	if (!p)
		return -ENOMEM;
	if (len)
		p[len++] = ',';
	strcpy(p + len, flag);
	*list = p;
	return 0;
}

static int mfs_set_string(char **slot, const char *v)
{
	char *s = strdup(v);

	if (!s)
		return -ENOMEM;
	free(*slot);
	*slot = s;
	return 0;
}

/* Appends a copy of s to the array *v of *n strings. */
static int mfs_add_string(char ***v, size_t *n, const char *s)
{
	char *copy = strdup(s);

	if (!copy || util_append(v, n, &copy, sizeof(copy)) != 0) {
		free(copy);
		return -ENOMEM;
	}
	return 0;
}

/* "plugin=" and "functions=": a non-empty path, repeatable. */
static int mfs_parse_path(struct mfs_opts *o, const char *opt, const char *v,
			  char *err, size_t errlen)
{
	int plugin = strcmp(opt, "plugin") == 0;

	if (!*v)
		return mfs_fail(err, errlen, "%s=: expected %s", opt,
				plugin ? "a .so file" : "a functions file");
	if (plugin)
		return mfs_add_string(&o->plugins, &o->nplugins, v);
	return mfs_add_string(&o->functions, &o->nfunctions, v);
}

/* The size option opt=v, from lo to hi bytes, through units_parse_size(),
 * the one parser of every size option (64M = 64m = 64MB = 64MiB): 0 and
 * *out, or -EINVAL with one line in err that names opt, v (quoted: fstab
 * text may hold anything), what it takes (range, e.g. "from 1 to 512M")
 * and the units. */
static int mfs_parse_size(const char *opt, const char *v, uint64_t lo,
			  uint64_t hi, const char *range, uint64_t *out,
			  char *err, size_t errlen)
{
	char show[QUOTE_BUF];
	uint64_t n;

	if (units_parse_size(v, &n) == 0 && n >= lo && n <= hi) {
		*out = n;
		return 0;
	}
	quote_bytes(show, v, strlen(v));
	return mfs_fail(err, errlen, "%s=%s: expected a size %s (%s)", opt,
			show, range, MFS_SIZE_UNITS);
}

/* The remote tier's options (engine/remote.h).  Returns 1 when opt is
 * none of them, else 0, -EINVAL (err filled) or -ENOMEM. */
static int mfs_parse_remote_opt(struct mfs_opts *o, const char *opt,
				const char *v, char *err, size_t errlen)
{
	char show[QUOTE_BUF] = "", why[128];
	uint64_t size;
	long n;
	int rc;

	if (v)
		quote_bytes(show, v, strlen(v));
	if (strncmp(opt, "remote_", 7) == 0)
		o->remote_extra = 1;
	if (v && strcmp(opt, "remote") == 0) {
		rc = remote_url_parse(v, &o->remote_url, why, sizeof(why));
		if (rc)
			return mfs_fail(err, errlen, "remote=%s: %s", show,
					why);
		o->remote = 1;
	} else if (v && strcmp(opt, "remote_prefix") == 0) {
		if (remote_prefix_check(v))
			return mfs_fail(err, errlen, "remote_prefix=%s: "
					"expected 1 to 64 letters, digits or "
					"._-", show);
		return mfs_set_string(&o->remote_prefix, v);
	} else if (!v && strcmp(opt, "remote_readonly") == 0) {
		o->remote_readonly = 1;
	} else if (v && strcmp(opt, "remote_timeout") == 0) {
		if (mfs_parse_uint(v, 10, MFS_MAX_REMOTE_TIMEOUT, &n) ||
		    n < 1)
			return mfs_fail(err, errlen, "remote_timeout=%s: "
					"expected milliseconds from 1 to "
					"600000", show);
		o->remote_timeout_ms = (unsigned)n;
	} else if (v && strcmp(opt, "remote_max_value") == 0) {
		if (mfs_parse_size(opt, v, 1, REMOTE_VALUE_LIMIT,
				   "from 1 to 512M such as 64M", &size, err,
				   errlen))
			return -EINVAL;
		o->remote_max_value = (size_t)size;
	} else if (v && (strcmp(opt, "remote_password_file") == 0 ||
			 strcmp(opt, "remote_key_file") == 0)) {
		if (!*v)
			return mfs_fail(err, errlen, "%s=: expected a file",
					opt);
		return mfs_set_string(opt[7] == 'p' ? &o->remote_password_file
						    : &o->remote_key_file, v);
	} else {
		return 1;
	}
	return 0;
}

/* A separator for -o sep=: a name, or one printable byte that cannot
 * start a number or a quoted field. */
static int mfs_parse_sep(const char *v, char *sep)
{
	static const struct {
		const char *name;
		char sep;
	} names[] = {
		{ "comma", ',' }, { "semicolon", ';' }, { "tab", '\t' },
		{ "\\t", '\t' }, { "pipe", '|' },
		{ "whitespace", DS_SEP_WHITESPACE },
		{ "space", DS_SEP_WHITESPACE },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(v, names[i].name) == 0) {
			*sep = names[i].sep;
			return 0;
		}
	if (strlen(v) != 1 || !isgraph((unsigned char)v[0]) ||
	    isalnum((unsigned char)v[0]) || strchr("\".+-'", v[0]))
		return -EINVAL;
	*sep = v[0];
	return 0;
}

/* The CSV options (see mfs_opts.h).  Returns 1 when opt is none of them,
 * else 0 or -EINVAL (err filled). */
static int mfs_parse_table_opt(struct ds_opts *t, const char *opt,
			       const char *v, char *err, size_t errlen)
{
	char show[QUOTE_BUF] = "";
	long n;

	if (!v)
		return 1;
	quote_bytes(show, v, strlen(v));
	if (strcmp(opt, "sep") == 0) {
		if (mfs_parse_sep(v, &t->sep))
			return mfs_fail(err, errlen, "sep=%s: expected comma, "
					"semicolon, tab, pipe, whitespace or "
					"one punctuation byte", show);
	} else if (strcmp(opt, "header") == 0) {
		if (strcmp(v, "none") == 0)
			t->header = DS_HEADER_NONE;
		else if (mfs_parse_uint(v, 10, MFS_MAX_ROWS, &n) == 0)
			t->header = n;
		else
			return mfs_fail(err, errlen, "header=%s: expected "
					"'none' or rows to skip from 0 to %ld",
					show, MFS_MAX_ROWS);
	} else if (strcmp(opt, "skiprows") == 0) {
		if (mfs_parse_uint(v, 10, MFS_MAX_ROWS, &n))
			return mfs_fail(err, errlen, "skiprows=%s: expected "
					"lines from 0 to %ld", show,
					MFS_MAX_ROWS);
		t->skiprows = (size_t)n;
	} else if (strcmp(opt, "comment") == 0) {
		if (strlen(v) != 1 || !isgraph((unsigned char)v[0]) ||
		    v[0] == '"')
			return mfs_fail(err, errlen, "comment=%s: expected one "
					"printable byte", show);
		t->comment = v[0];
	} else {
		return 1;
	}
	return 0;
}

/* The remote_* options need remote=URL. */
static int mfs_check_remote(const struct mfs_opts *o, char *err,
			    size_t errlen)
{
	if (o->remote)
		return 0;
	if (o->remote_extra)
		return mfs_fail(err, errlen, "%s", "remote_* options need "
				"-o remote=URL");
	return 0;
}

/* The options of libfuse filesystems (see mfs_opts.h).  Returns 1 when
 * opt is none of them, else 0 or -EINVAL (err filled, the value quoted:
 * fstab text may hold anything) or -ENOMEM. */
static int mfs_parse_mount_opt(struct mfs_opts *o, const char *opt,
			       const char *v, char *err, size_t errlen)
{
	char show[QUOTE_BUF] = "";

	if (v)
		quote_bytes(show, v, strlen(v));
	if (!v && mfs_in(mfs_kernel_flags, opt))
		return mfs_add_flag(&o->kernel_flags, opt);
	if (!v && mfs_in(mfs_no_op_flags, opt))
		return 0;
	if (!v && strcmp(opt, "auto_unmount") == 0) {
		o->auto_unmount = 1;
		return 0;
	}
	if (v && (strcmp(opt, "uid") == 0 || strcmp(opt, "gid") == 0)) {
		if (mfs_parse_uint(v, 10, MFS_MAX_ID,
				   opt[0] == 'u' ? &o->uid : &o->gid))
			return mfs_fail(err, errlen, "%s=%s: expected a numeric "
					"%s id from 0 to %ld", opt, show,
					opt[0] == 'u' ? "user" : "group",
					MFS_MAX_ID);
		return 0;
	}
	if (v && strcmp(opt, "umask") == 0) {
		long mask;

		if (mfs_parse_uint(v, 8, 0777, &mask))
			return mfs_fail(err, errlen, "umask=%s: expected an "
					"octal mask from 0 to 0777", show);
		o->umask = (int)mask;
		return 0;
	}
	if (v && (strcmp(opt, "fsname") == 0 || strcmp(opt, "subtype") == 0)) {
		int sub = opt[0] == 's';

		if (mfs_check_name(v, sub))
			return mfs_fail(err, errlen, sub ?
					"subtype=%s: expected 1 to 64 letters, "
					"digits or ._+-" :
					"fsname=%s: expected 1 to 255 bytes, "
					"no control characters", show);
		return mfs_set_string(sub ? &o->subtype : &o->fsname, v);
	}
	return 1;
}

/* One "name" or "name=value" from a -o list. */
static int mfs_parse_one(struct mfs_opts *o, char *opt, char *err,
			 size_t errlen)
{
	char *v = strchr(opt, '='), show[QUOTE_BUF] = "";
	int rc;

	if (v) {
		*v++ = '\0';
		quote_bytes(show, v, strlen(v));	/* one line, short */
	}
	if (strcmp(opt, "quiet") == 0 && !v)
		o->quiet = 1;
	else if (strcmp(opt, "allow_other") == 0 && !v)
		o->allow_other = 1;
	else if (strcmp(opt, "workers") == 0 && v) {
		if (mfs_parse_workers(v, &o->workers))
			return mfs_fail(err, errlen,
					"workers=%s: expected a whole number "
					"from 1 to 1024", show);
	} else if (strcmp(opt, "delay") == 0 && v) {
		if (mfs_parse_seconds(v, &o->delay))
			return mfs_fail(err, errlen,
					"delay=%s: expected seconds from 0 "
					"to 86400", show);
	} else if (strcmp(opt, "cache") == 0 && v) {
		if (!*v)
			return mfs_fail(err, errlen, "%s",
					"cache=: expected a directory");
		if (mfs_set_string(&o->cache_dir, v))
			return -ENOMEM;
	} else if (strcmp(opt, "stat") == 0 && v) {
		if (strcmp(v, "compute") != 0 && strcmp(v, "cheap") != 0)
			return mfs_fail(err, errlen, "stat=%s: expected "
					"'cheap' or 'compute'", show);
		o->stat_compute = strcmp(v, "compute") == 0;
	} else if (strcmp(opt, "timeout") == 0 && v) {
		if (mfs_parse_seconds(v, &o->timeout) || o->timeout == 0)
			return mfs_fail(err, errlen,
					"timeout=%s: expected seconds above 0 "
					"and at most 86400", show);
	} else if (strcmp(opt, "max_size") == 0 && v) {
		if (mfs_parse_size(opt, v, 0, UINT64_MAX,
				   "such as 500M or 5G, 0 for no limit",
				   &o->max_size, err, errlen))
			return -EINVAL;
	} else if (strcmp(opt, "max_age") == 0 && v) {
		if (units_parse_duration(v, &o->max_age_ns))
			return mfs_fail(err, errlen, "max_age=%s: expected a "
					"duration such as 90m or 7d (0: no "
					"limit)", show);
	} else if (strcmp(opt, "log") == 0 && v) {
		if (!*v)
			return mfs_fail(err, errlen, "%s", "log=: expected a "
					"file, 'syslog' or 'stderr'");
		if (mfs_set_string(&o->log, v))
			return -ENOMEM;
	} else if ((strcmp(opt, "plugin") == 0 ||
		    strcmp(opt, "functions") == 0) && v) {
		return mfs_parse_path(o, opt, v, err, errlen);
	} else if ((rc = mfs_parse_table_opt(&o->table, opt, v, err,
					     errlen)) != 1) {
		return rc;
	} else if ((rc = mfs_parse_mount_opt(o, opt, v, err, errlen)) != 1) {
		return rc;
	} else if ((rc = mfs_parse_remote_opt(o, opt, v, err, errlen)) != 1) {
		return rc;
	} else {
		if (v)
			v[-1] = '=';
		return mfs_fail(err, errlen,
				"unknown option '-o %s' (see --help)", opt);
	}
	return 0;
}

static int mfs_parse_list(struct mfs_opts *o, const char *list, char *err,
			  size_t errlen)
{
	char *copy = strdup(list), *save = NULL, *opt;
	int rc = 0;

	if (!copy)
		return -ENOMEM;
	for (opt = strtok_r(copy, ",", &save); opt && rc == 0;
	     opt = strtok_r(NULL, ",", &save))
		rc = mfs_parse_one(o, opt, err, errlen);
	free(copy);
	return rc;
}

static int mfs_positional(struct mfs_opts *o, char **pos, int npos,
			  char *err, size_t errlen)
{
	if (o->show_help || o->show_version)
		return 0;
	if (o->list_functions) {
		if (npos > 1)
			return mfs_fail(err, errlen, "%s", "--functions takes "
					"at most DATA (see --help)");
		if (npos == 1 && mfs_set_string(&o->data, pos[0]))
			return -ENOMEM;
		return 0;
	}
	if (npos < 1)
		return mfs_fail(err, errlen, "%s",
				"missing MOUNTPOINT (see --help)");
	if (npos > 2)
		return mfs_fail(err, errlen,
				"too many arguments, starting at '%s' "
				"(see --help)", pos[2]);
	if (npos == 2 && mfs_set_string(&o->data, pos[0]))
		return -ENOMEM;
	if (mfs_set_string(&o->mountpoint, pos[npos - 1]))
		return -ENOMEM;
	return 0;
}

static void mfs_defaults(struct mfs_opts *o)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	memset(o, 0, sizeof(*o));
	o->workers = n > 0 ? (unsigned)n : 1;
	o->uid = o->gid = -1;
	o->umask = -1;
	o->remote_timeout_ms = REMOTE_TIMEOUT_MS;
	o->remote_max_value = REMOTE_MAX_VALUE;
	o->table = (struct ds_opts)DS_OPTS_INIT;
	o->max_size = MFS_MAX_SIZE_DEFAULT;
}

int mfs_opts_parse(int argc, char **argv, struct mfs_opts *o, char *err,
		   size_t errlen)
{
	char **pos = calloc((size_t)argc + 1, sizeof(*pos));
	int npos = 0, rc = 0, only_pos = 0;

	mfs_defaults(o);
	err[0] = '\0';
	if (!pos)
		rc = -ENOMEM;
	for (int i = 1; i < argc && rc == 0; i++) {
		const char *a = argv[i];

		if (only_pos || a[0] != '-' || a[1] == '\0')
			pos[npos++] = argv[i];
		else if (strcmp(a, "--") == 0)
			only_pos = 1;
		else if (strcmp(a, "-f") == 0)
			o->foreground = 1;
		else if (strcmp(a, "-d") == 0)
			o->foreground = o->debug = 1;
		else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)
			o->show_help = 1;
		else if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0)
			o->show_version = 1;
		else if (strcmp(a, "--functions") == 0)
			o->list_functions = 1;
		else if (strcmp(a, "-o") == 0 && i + 1 < argc)
			rc = mfs_parse_list(o, argv[++i], err, errlen);
		else if (strncmp(a, "-o", 2) == 0 && a[2])
			rc = mfs_parse_list(o, a + 2, err, errlen);
		else if (strcmp(a, "-o") == 0)
			rc = mfs_fail(err, errlen, "%s",
				      "-o needs an option list");
		else
			rc = mfs_fail(err, errlen,
				      "unknown option '%s' (see --help)", a);
	}
	if (rc == 0)
		rc = mfs_check_remote(o, err, errlen);
	if (rc == 0)
		rc = mfs_positional(o, pos, npos, err, errlen);
	free(pos);
	/* Every failure has its line: the allocation failures above return
	 * -ENOMEM without one. */
	if (rc && !err[0])
		snprintf(err, errlen, "%s", strerror(-rc));
	return rc;
}

void mfs_opts_free(struct mfs_opts *o)
{
	free(o->data);
	free(o->mountpoint);
	free(o->cache_dir);
	free(o->log);
	util_strv_free(o->plugins, o->nplugins);
	util_strv_free(o->functions, o->nfunctions);
	free(o->fsname);
	free(o->subtype);
	free(o->kernel_flags);
	free(o->remote_prefix);
	free(o->remote_password_file);
	free(o->remote_key_file);
	memset(o, 0, sizeof(*o));
}
