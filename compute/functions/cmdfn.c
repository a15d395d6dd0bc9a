/* cmdfn.c -- command functions (see cmdfn.h).
 *
 * A struct cmdfn owns the parsed functions files, one struct cmdfn_fn per
 * registered function (the registry's udata), the environment handed to
 * every command and the cmd_set of the running ones.  All of it is
 * written while loading and read-only while computations run, except the
 * cmd_set, which locks itself.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "functions/cmd.h"
#include "functions/cmdfile.h"
#include "functions/cmdfn.h"
#include "data/numtext.h"
#include "util/clock.h"
#include "util/errmsg.h"
#include "util/file.h"
#include "util/mem.h"

#define CMDFN_NENV 4
#define CMDFN_COL_BUF 24	/* a column number in decimal */
#define CMDFN_RACY_NS ARGDIR_RACY_NS	/* see cmdfn_hex_fresh() */

/* What identifies one version of a file the function's version covers
 * (or that it is missing: err). */
struct cmdfn_ident {
	int err;
	struct util_file_ident id;	/* when err is 0 */
};

struct cmdfn_fn {
	cmdfn *c;
	const struct cmdfile_fn *decl;	/* owned by one of c->files */
	char *program;			/* absolute */
	char *cwd;			/* the functions file's directory */
	double timeout;			/* seconds, 0: none */
	int uses_data;			/* the template has {data} */
	char **watch;			/* the program, then every literal
					 * element as a path, NULL-ended */
	size_t nwatch;
	pthread_mutex_t lock;		/* protects the four below */
	struct cmdfn_ident *seen;	/* of watch, when hex was made */
	struct cmdfn_ident *now;	/* of watch, scratch */
	long long hex_ns;		/* CLOCK_REALTIME of that, 0: never */
	char hex[17];			/* the version digest */
};

struct cmdfn {
	struct cmdfn_data data;
	char *data_abs;			/* absolute DATA, or NULL */
	char *env[CMDFN_NENV + 1];	/* NULL-terminated */
	cmd_set *cmds;
	struct cmdfile **files;
	size_t nfiles;
	struct cmdfn_fn **fns;
	size_t nfns;
	const reg *hooked;		/* the registry cmdfn_cancel() is on */
};

/* ---- life cycle ---------------------------------------------------------- */

static char *cmdfn_env_var(const char *name, const char *fallback)
{
	const char *v = getenv(name);
	size_t n;
	char *s;

	if (!v || !*v)
		v = fallback;
	n = strlen(name) + strlen(v) + 2;
	s = malloc(n);
	if (s)
		snprintf(s, n, "%s=%s", name, v);
	return s;
}

static int cmdfn_make_env(cmdfn *c)
{
	c->env[0] = strdup("PATH=" CMDFN_PATH);
	c->env[1] = cmdfn_env_var("HOME", "/");
	c->env[2] = cmdfn_env_var("TMPDIR", "/tmp");
	c->env[3] = strdup("LC_ALL=C.UTF-8");
	for (int i = 0; i < CMDFN_NENV; i++)
		if (!c->env[i])
			return -ENOMEM;
	return 0;
}

/* The absolute path of DATA for {data}: the directory's, or the file's. */
static int cmdfn_data_abs(cmdfn *c)
{
	char abs[PATH_MAX];

	if (c->data.files)
		c->data_abs = strdup(argdir_path(c->data.files));
	else if (c->data.path && realpath(c->data.path, abs))
		c->data_abs = strdup(abs);
	else
		return 0;	/* the demo, or DATA gone: {data} refused */
	return c->data_abs ? 0 : -ENOMEM;
}

int cmdfn_new(const struct cmdfn_data *data, cmdfn **out)
{
	cmdfn *c = calloc(1, sizeof(*c));
	int rc;

	if (!c)
		return -ENOMEM;
	c->data = *data;
	rc = cmdfn_make_env(c);
	if (rc == 0)
		rc = cmdfn_data_abs(c);
	if (rc == 0)
		rc = cmd_set_new(&c->cmds);
	if (rc) {
		cmdfn_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

void cmdfn_cancel(cmdfn *c)
{
	if (c)
		cmd_set_cancel(c->cmds);
}

static void cmdfn_fn_free(struct cmdfn_fn *f)
{
	util_strv_free(f->watch, f->nwatch);
	free(f->seen);
	free(f->now);
	pthread_mutex_destroy(&f->lock);
	free(f->program);
	free(f->cwd);
	free(f);
}

void cmdfn_free(cmdfn *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nfns; i++)
		cmdfn_fn_free(c->fns[i]);
	free(c->fns);
	for (size_t i = 0; i < c->nfiles; i++)
		cmdfile_free(c->files[i]);
	free(c->files);
	for (int i = 0; i < CMDFN_NENV; i++)
		free(c->env[i]);
	cmd_set_free(c->cmds);
	free(c->data_abs);
	free(c);
}

/* ---- computing ----------------------------------------------------------- */

/* Has the table DATA file changed since it was loaded? */
static int cmdfn_data_changed(const cmdfn *c)
{
	struct util_file_ident a, b;
	struct stat then, now;

	if (!c->data.table || ds_file_stat(c->data.table, &then) != 0)
		return 0;
	if (stat(c->data_abs, &now) != 0)
		return 1;
	util_file_ident_of(&then, &a);
	util_file_ident_of(&now, &b);
	return !util_file_ident_eq(&a, &b);
}

/* For a file argument NAME/HEX: opens the file once and checks it still
 * has that content; writes its name and sets *fd, the descriptor the
 * command gets. */
static int cmdfn_input(memofs_ctx *ctx, const struct cmdfn_fn *f,
		       const char *arg, char *name, int *fd)
{
	argdir *d = f->c->data.files;
	int rc = argdir_open_arg(d, arg, name, REG_NAME_MAX + 1, fd);

	if (rc == -ESTALE)
		return memofs_error(ctx, "%s/%s changed after it was looked "
				    "up: read it again", argdir_path(d), name);
	if (rc)
		return memofs_error(ctx, "%s/%s: %s", argdir_path(d), name,
				    strerror(-rc));
	return 0;
}

/* cmd's progress callback: memofs_progress() of the computation. */
static void cmdfn_progress(void *arg, double fraction)
{
	memofs_progress(arg, fraction);
}

/* The text of element i of f's template for argument arg (canonical:
 * reg_arg_resolve()); {col} is written into colbuf. */
static const char *cmdfn_element(const struct cmdfn_fn *f, size_t i,
				 const char *arg, const char *name,
				 char colbuf[CMDFN_COL_BUF])
{
	const struct cmdfile_fn *decl = f->decl;
	size_t col = 0;
	int rc;

	switch (decl->ph[i]) {
	case CMDFILE_ARG:
		return decl->args == ARGS_FILES ? name : arg;
	case CMDFILE_FILE:
		return CMDFN_FILE_PATH;
	case CMDFILE_DATA:
		return f->c->data_abs;
	case CMDFILE_COL:	/* N, parsed like any column argument */
		rc = reg_parse_column(arg, SIZE_MAX, &col);
		assert(rc == 0);	/* a canonical column argument */
		(void)rc;
		snprintf(colbuf, CMDFN_COL_BUF, "%zu", col);
		return colbuf;
	case CMDFILE_LITERAL:
		break;
	}
	return decl->argv[i];
}

/* Where a command's standard output goes: the result (bytes), or, for a
 * function whose output is numbers (cmdfile.h's output key), a buffer
 * parsed once the command has ended. */
struct cmdfn_out {
	memofs_ctx *ctx;
	enum memofs_dtype dtype;
	char *buf;			/* typed: the output so far */
	size_t len, cap;
};

static int cmdfn_sink(void *arg, const void *buf, size_t len)
{
	struct cmdfn_out *o = arg;

	if (o->dtype == MEMOFS_BYTES)
		return memofs_write(o->ctx, buf, len);
	if (len > SIZE_MAX - o->len ||
	    util_grow(&o->buf, &o->cap, o->len + len, 1, 4096))
		return -ENOMEM;
	memcpy(o->buf + o->len, buf, len);
	o->len += len;
	return 0;
}

/* The numbers a typed command printed, written as its result. */
static int cmdfn_write_numbers(const struct cmdfn_out *o)
{
	const char *what = o->dtype == MEMOFS_INT64 ? "int64" : "float64";
	size_t n = 0, line = 0;
	double *f = NULL;
	int64_t *q = NULL;
	int rc;

	if (o->dtype == MEMOFS_INT64)
		rc = numtext_i64(o->buf ? o->buf : "", o->len, &q, &n, &line);
	else
		rc = numtext_f64(o->buf ? o->buf : "", o->len, &f, &n, &line);
	if (rc == -EINVAL)
		return memofs_error(o->ctx, "output line %zu is not one %s "
				    "number (output = %s: one number a line, "
				    "each line ending in a newline)", line,
				    what, what);
	if (rc)
		return memofs_error(o->ctx, "%s", strerror(-rc));
	if (o->dtype == MEMOFS_INT64)
		rc = memofs_write_i64(o->ctx, q, n);
	else
		rc = memofs_write_f64(o->ctx, f, n);
	free(f);
	free(q);
	return rc;
}

static int cmdfn_run(memofs_ctx *ctx, const struct cmdfn_fn *f,
		     const char *arg, const char *name, int fd)
{
	size_t argc = f->decl->argc;
	char **argv = calloc(argc + 1, sizeof(*argv));
	char err[CMD_ERR_MAX], colbuf[CMDFN_COL_BUF];
	struct cmd_spec spec = {
		.path = f->program, .argv = argv, .envp = f->c->env,
		.cwd = f->cwd, .timeout = f->timeout,
		.max_output = CMDFN_OUTPUT_MAX, .file_fd = fd,
		.progress = cmdfn_progress, .progress_arg = ctx,
	};
	struct cmdfn_out out = { .ctx = ctx, .dtype = f->decl->output };
	int rc;

	if (!argv)
		return memofs_error(ctx, "%s", strerror(ENOMEM));
	for (size_t i = 0; i < argc; i++)
		argv[i] = (char *)cmdfn_element(f, i, arg, name, colbuf);
	rc = cmd_run(f->c->cmds, &spec, cmdfn_sink, &out, err, sizeof(err));
	free(argv);
	if (rc == 0 && out.dtype != MEMOFS_BYTES)
		rc = cmdfn_write_numbers(&out);
	else if (rc)
		rc = memofs_error(ctx, "%s", err);
	free(out.buf);
	return rc;
}

/* Runs f for arg with the file argument open as fd (-1: none), then
 * checks that nothing it used changed meanwhile. */
static int cmdfn_run_checked(memofs_ctx *ctx, const struct cmdfn_fn *f,
			     const char *arg, const char *name, int fd)
{
	argdir *d = f->c->data.files;
	int rc;

	if (f->uses_data && cmdfn_data_changed(f->c))
		return memofs_error(ctx, "%s changed since it was mounted: "
				    "remount to use it", f->c->data_abs);
	rc = cmdfn_run(ctx, f, arg, name, fd);
	if (rc)
		return rc;
	if (fd >= 0 && argdir_check_fd(d, name, fd, arg))
		return memofs_error(ctx, "%s/%s changed while the command ran",
				    argdir_path(d), name);
	if (f->uses_data && cmdfn_data_changed(f->c))
		return memofs_error(ctx, "%s changed while the command ran",
				    f->c->data_abs);
	return 0;
}

static int cmdfn_compute(memofs_ctx *ctx, const char *arg, void *udata)
{
	const struct cmdfn_fn *f = udata;
	char name[REG_NAME_MAX + 1] = "";
	int fd = -1, rc;

	if (f->decl->args == ARGS_FILES &&
	    (rc = cmdfn_input(ctx, f, arg, name, &fd)) != 0)
		return rc;
	rc = cmdfn_run_checked(ctx, f, arg, name, fd);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* ---- loading ------------------------------------------------------------- */

static int cmdfn_fail(char *err, size_t errlen, int rc, const char *path,
		      unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

static int cmdfn_fail(char *err, size_t errlen, int rc, const char *path,
		      unsigned line, const char *fmt, ...)
{
	char what[UTIL_ERRMSG_WHAT_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return util_path_error(err, errlen, path, rc, "line %u: %s", line,
			       what);
}

static int cmdfn_executable(const char *path)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EACCES;
	return access(path, X_OK) == 0 ? 0 : -errno;
}

/* Finds the program of a template: a path, or a name in CMDFN_PATH. */
static int cmdfn_find_program(const char *cwd, const char *prog,
			      char out[PATH_MAX])
{
	const char *p = CMDFN_PATH;

	if (strchr(prog, '/')) {
		int n = prog[0] == '/'
				? snprintf(out, PATH_MAX, "%s", prog)
				: snprintf(out, PATH_MAX, "%s/%s", cwd, prog);

		if (n < 0 || n >= PATH_MAX)
			return -ENAMETOOLONG;
		return cmdfn_executable(out);
	}
	while (*p) {
		size_t len = strcspn(p, ":");
		int n = snprintf(out, PATH_MAX, "%.*s/%s", (int)len, p, prog);

		if (n > 0 && n < PATH_MAX && cmdfn_executable(out) == 0)
			return 0;
		p += len + (p[len] == ':');
	}
	return -ENOENT;
}

static int cmdfn_program(const struct cmdfn_fn *f, const char *path,
			 char out[PATH_MAX], char *err, size_t errlen)
{
	const struct cmdfile_fn *decl = f->decl;
	int rc = cmdfn_find_program(f->cwd, decl->argv[0], out);

	if (rc == -ENOENT && !strchr(decl->argv[0], '/'))
		return cmdfn_fail(err, errlen, rc, path, decl->command_line,
				  "program '%s' not found in %s",
				  decl->argv[0], CMDFN_PATH);
	if (rc)
		return cmdfn_fail(err, errlen, rc, path, decl->command_line,
				  "program %s: %s", out,
				  rc == -EACCES ? "not an executable file"
						: strerror(-rc));
	return 0;
}

/* Is decl usable with the mounted DATA? */
static int cmdfn_check_data(const cmdfn *c, const struct cmdfile_fn *decl,
			    const char *path, char *err, size_t errlen)
{
	if (decl->args == ARGS_FILES && !c->data.files)
		return cmdfn_fail(err, errlen, -EINVAL, path, decl->line,
				  "[%s]: 'args = files' needs a directory as "
				  "DATA", decl->name);
	if (decl->args == ARGS_COLUMNS && c->data.files)
		return cmdfn_fail(err, errlen, -EINVAL, path, decl->line,
				  "[%s]: 'args = columns' needs a table as "
				  "DATA, not a directory", decl->name);
	for (size_t i = 0; i < decl->argc; i++) {
		if (decl->ph[i] != CMDFILE_DATA)
			continue;
		if (!c->data_abs)
			return cmdfn_fail(err, errlen, -EINVAL, path,
					  decl->command_line,
					  "[%s]: {data} needs a DATA file (the "
					  "demo dataset has none)", decl->name);
		/* Its keys could not follow the directory's contents. */
		if (c->data.files && decl->args != ARGS_FILES)
			return cmdfn_fail(err, errlen, -EINVAL, path,
					  decl->command_line,
					  "[%s]: {data} is a directory: use it "
					  "with 'args = files' only", decl->name);
	}
	return 0;
}

static void cmdfn_hash_str(XXH3_state_t *st, const char *s)
{
	uint64_t n = strlen(s);

	XXH3_64bits_update(st, &n, sizeof(n));
	XXH3_64bits_update(st, s, n);
}

/* Adds the bytes of the file at path, if it is a regular file. */
static int cmdfn_hash_file(XXH3_state_t *st, const char *path)
{
	struct stat sb;
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC), rc;

	if (fd < 0)
		return 0;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return 0;
	}
	cmdfn_hash_str(st, path);
	rc = util_file_hash(fd, st, UTIL_HASH_64);
	close(fd);
	return rc == -ENOMEM ? rc : rc < 0 ? -EIO : 0;
}

/* The digest that joins f's declared version: see cmdfn.h. */
static int cmdfn_version_hex(const struct cmdfn_fn *f, char hex[17])
{
	const struct cmdfile_fn *decl = f->decl;
	XXH3_state_t *st = XXH3_createState();
	int rc = 0;

	if (!st)
		return -ENOMEM;
	XXH3_64bits_reset(st);
	cmdfn_hash_str(st, "memofs command 1");
	XXH3_64bits_update(st, &decl->args, sizeof(decl->args));
	for (size_t i = 0; i < decl->nlist; i++)
		cmdfn_hash_str(st, decl->list[i]);
	for (size_t i = 0; i < decl->argc; i++) {
		XXH3_64bits_update(st, &decl->ph[i], sizeof(decl->ph[i]));
		cmdfn_hash_str(st, decl->argv[i]);
	}
	for (size_t i = 0; rc == 0 && i < f->nwatch; i++)
		rc = cmdfn_hash_file(st, f->watch[i]);
	snprintf(hex, 17, "%016llx",
		 (unsigned long long)XXH3_64bits_digest(st));
	XXH3_freeState(st);
	return rc;
}

/* The paths whose bytes the version covers: the program, then every
 * non-empty literal element after it, from the working directory. */
static int cmdfn_watch_init(struct cmdfn_fn *f)
{
	const struct cmdfile_fn *decl = f->decl;
	char path[PATH_MAX];

	f->watch = calloc(decl->argc + 1, sizeof(*f->watch));
	f->seen = calloc(decl->argc + 1, sizeof(*f->seen));
	f->now = calloc(decl->argc + 1, sizeof(*f->now));
	if (!f->watch || !f->seen || !f->now)
		return -ENOMEM;
	f->watch[f->nwatch++] = strdup(f->program);
	for (size_t i = 1; i < decl->argc; i++) {
		const char *a = decl->argv[i];

		if (decl->ph[i] != CMDFILE_LITERAL || !*a)
			continue;
		if (a[0] == '/')
			snprintf(path, sizeof(path), "%s", a);
		else
			snprintf(path, sizeof(path), "%s/%s", f->cwd, a);
		f->watch[f->nwatch++] = strdup(path);
	}
	for (size_t i = 0; i < f->nwatch; i++)
		if (!f->watch[i])
			return -ENOMEM;
	return 0;
}

/* ---- the version now ------------------------------------------------------ */

static void cmdfn_ident_of(const char *path, struct cmdfn_ident *id)
{
	struct stat st;

	memset(id, 0, sizeof(*id));
	if (stat(path, &st) != 0) {
		id->err = errno;
		return;
	}
	util_file_ident_of(&st, &id->id);
}

static int cmdfn_ident_eq(const struct cmdfn_ident *a,
			  const struct cmdfn_ident *b)
{
	return a->err == b->err && util_file_ident_eq(&a->id, &b->id);
}

/* May f->hex still be trusted, the watched files now being ids?  Only if
 * nothing changed since, and nothing had changed within CMDFN_RACY_NS
 * before it was made (an edit in the same timestamp tick would not show).
 * Caller holds f->lock. */
static int cmdfn_hex_fresh(const struct cmdfn_fn *f,
			   const struct cmdfn_ident *ids)
{
	if (!f->hex_ns)
		return 0;
	for (size_t i = 0; i < f->nwatch; i++) {
		if (!cmdfn_ident_eq(&ids[i], &f->seen[i]))
			return 0;
		if (ids[i].err == 0 &&
		    !util_file_ident_settled(&ids[i].id, f->hex_ns,
					     CMDFN_RACY_NS))
			return 0;
	}
	return 1;
}

/* reg_version_fn of a command function: the version digest as the files
 * are now, digested again only when one of them changed (or recently). */
static int cmdfn_version_now(void *udata, char *suffix)
{
	struct cmdfn_fn *f = udata;
	struct timespec now;
	int rc = 0;

	pthread_mutex_lock(&f->lock);
	for (size_t i = 0; i < f->nwatch; i++)
		cmdfn_ident_of(f->watch[i], &f->now[i]);
	if (!cmdfn_hex_fresh(f, f->now)) {
		clock_gettime(CLOCK_REALTIME, &now);
		rc = cmdfn_version_hex(f, f->hex);
		f->hex_ns = rc ? 0 : util_ts_ns(now);
		memcpy(f->seen, f->now, f->nwatch * sizeof(*f->now));
	}
	if (rc == 0)
		memcpy(suffix, f->hex, sizeof(f->hex));
	pthread_mutex_unlock(&f->lock);
	return rc;
}

/* The absolute directory of the functions file at path. */
static char *cmdfn_dir_of(const char *path)
{
	char *copy = strdup(path), abs[PATH_MAX], *out = NULL;

	if (copy && realpath(dirname(copy), abs))
		out = strdup(abs);
	free(copy);
	return out;
}

static int cmdfn_push(cmdfn *c, struct cmdfn_fn *f)
{
	return util_append(&c->fns, &c->nfns, &f, sizeof(f));
}

/* Makes f's registry definition and registers it. */
static int cmdfn_register(reg *r, const struct cmdfn_fn *f, const char *path,
			  char *err, size_t errlen)
{
	const struct cmdfile_fn *decl = f->decl;
	const char **list = calloc(decl->nlist + 1, sizeof(*list));
	struct memofs_function def = {
		.name = decl->name, .version = decl->version,
		.description = decl->description, .arg_list = list,
		.compute = cmdfn_compute, .udata = (void *)f,
		.dtype = decl->output, .shape = MEMOFS_SHAPE_VECTOR,
	};
	int rc;

	if (!list)
		return cmdfn_fail(err, errlen, -ENOMEM, path, decl->line,
				  "%s", strerror(ENOMEM));
	for (size_t i = 0; i < decl->nlist; i++)
		list[i] = decl->list[i];
	def.args = (enum memofs_args)decl->args;	/* same values: args.h */
	rc = reg_add_versioned(r, &def, cmdfn_version_now);
	free(list);
	if (rc == -EEXIST)
		return cmdfn_fail(err, errlen, rc, path, decl->line,
				  "function '%s' is already registered",
				  decl->name);
	if (rc)
		return cmdfn_fail(err, errlen, rc, path, decl->line,
				  "[%s]: %s", decl->name, strerror(-rc));
	return 0;
}

static int cmdfn_load_one(cmdfn *c, reg *r, const struct cmdfile_fn *decl,
			  const char *cwd, const char *path, char *err,
			  size_t errlen)
{
	struct cmdfn_fn *f = calloc(1, sizeof(*f));
	char program[PATH_MAX], hex[17];
	int rc;

	if (!f || !(f->cwd = strdup(cwd)) || cmdfn_push(c, f)) {
		if (f)
			free(f->cwd);
		free(f);
		return cmdfn_fail(err, errlen, -ENOMEM, path, decl->line,
				  "%s", strerror(ENOMEM));
	}
	pthread_mutex_init(&f->lock, NULL);
	f->c = c;
	f->decl = decl;
	f->timeout = decl->timeout > 0 ? decl->timeout : c->data.timeout;
	for (size_t i = 0; i < decl->argc; i++)
		f->uses_data |= decl->ph[i] == CMDFILE_DATA;
	rc = cmdfn_check_data(c, decl, path, err, errlen);
	if (rc == 0)
		rc = cmdfn_program(f, path, program, err, errlen);
	if (rc)
		return rc;
	f->program = strdup(program);
	if (!f->program || cmdfn_watch_init(f))
		return cmdfn_fail(err, errlen, -ENOMEM, path, decl->line,
				  "%s", strerror(ENOMEM));
	rc = cmdfn_version_now(f, hex);
	if (rc)
		return cmdfn_fail(err, errlen, rc, path, decl->command_line,
				  "cannot read the program or a file it "
				  "names: %s", strerror(-rc));
	return cmdfn_register(r, f, path, err, errlen);
}

static int cmdfn_keep_file(cmdfn *c, struct cmdfile *cf)
{
	return util_append(&c->files, &c->nfiles, &cf, sizeof(cf));
}

static void cmdfn_cancel_hook(void *arg)
{
	cmdfn_cancel(arg);
}

int cmdfn_load(cmdfn *c, reg *r, const char *path, char *err,
	       size_t errlen)
{
	struct cmdfile *cf = NULL;
	char *cwd = NULL;
	int rc;

	if (c->hooked != r) {	/* memo_cancel() kills the commands */
		if (reg_on_cancel(r, cmdfn_cancel_hook, c)) {
			snprintf(err, errlen, "%s: %s", path, strerror(ENOMEM));
			return -ENOMEM;
		}
		c->hooked = r;
	}
	rc = cmdfile_parse(path, &cf, err, errlen);
	if (rc)
		return rc;
	if (cmdfn_keep_file(c, cf)) {
		cmdfile_free(cf);
		snprintf(err, errlen, "%s: %s", path, strerror(ENOMEM));
		return -ENOMEM;
	}
	cwd = cmdfn_dir_of(path);
	if (!cwd) {
		rc = errno ? -errno : -ENOMEM;
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		return rc;
	}
	for (size_t i = 0; rc == 0 && i < cf->n; i++)
		rc = cmdfn_load_one(c, r, &cf->fns[i], cwd, path, err, errlen);
	free(cwd);
	return rc;
}
