/* mfs_ctl.c -- MOUNTPOINT/.memofs (see mfs_ctl.h): stats, jobs, clear.
 *
 * The nodes live here, not in the node table: the directory and its
 * files are struct mfs_node's of kind MFS_ROOT (which FORGET ignores and
 * nothing frees), told apart by address (mfs_ctl_owns()).
 *
 * Locking: ctl->lock protects the snapshots; fs->lock is taken only to
 * walk the node table (mfs_ctl_invalidate()), never with ctl->lock.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "functions/resolve.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/mem.h"
#include "mfs_ctl.h"

#define MFS_CTL_TIMEOUT 86400.0	/* the names never change */
#define MFS_CTL_INO_BASE (UINT64_C(1) << 32)	/* above every result's */
/* A thread that read a snapshot from its start keeps it for its next
 * read() calls: until it has read the end, and for the one getattr the
 * kernel sends at its next read() (which finds the end of file), at most
 * this long.  Without it, a cat whose second read() came after a new
 * jobs line appeared got the end of the new content after the start of
 * the old (measured: two lines glued at byte 33). */
#define MFS_CTL_HOLD_NS (5 * 1000000000LL)

enum mfs_ctl_file { MFS_CTL_STATS, MFS_CTL_STATS_JSON, MFS_CTL_JOBS,
		    MFS_CTL_CLEAR, MFS_CTL_NFILES };

static const char *const mfs_ctl_names[MFS_CTL_NFILES] = {
	"stats", "stats.json", "jobs", "clear"
};

/* A growing text. */
struct mfs_text {
	char *buf;
	size_t len, cap;
	int nomem;
};

struct mfs_ctl {
	struct mfs_ctl_config cfg;	/* strings copied */
	struct mfs_node dir;
	struct mfs_node files[MFS_CTL_NFILES];
	pthread_mutex_t lock;
	struct mfs_text snap[MFS_CTL_NFILES];	/* protected by lock: the
						 * content the last getattr
						 * made, which reads serve */
	struct timespec made[MFS_CTL_NFILES];	/* protected by lock */
	int64_t made_ns[MFS_CTL_NFILES];	/* the same, CLOCK_MONOTONIC */
	int reader[MFS_CTL_NFILES];	/* protected by lock: the thread that
					 * last read the snapshot from 0 */
	int read_end[MFS_CTL_NFILES];	/* protected by lock: it has read
					 * the end of it */
};

/* The counters `memofs stats` shows, in order: add a line to show a new
 * one (struct memo_fn_stats). */
static const struct {
	const char *name;	/* its JSON key and table heading */
	size_t off;
} mfs_counters[] = {
	{ "reads", offsetof(struct memo_fn_stats, reads) },
	{ "store_hits", offsetof(struct memo_fn_stats, store_hits) },
	{ "memory_hits", offsetof(struct memo_fn_stats, mem_hits) },
	{ "computed", offsetof(struct memo_fn_stats, computed) },
	{ "failed", offsetof(struct memo_fn_stats, failed) },
	{ "joined", offsetof(struct memo_fn_stats, joined) },
	{ "evicted", offsetof(struct memo_fn_stats, evicted) },
	{ "cleared", offsetof(struct memo_fn_stats, cleared) },
	{ "remote_hits", offsetof(struct memo_fn_stats, remote_hits) },
	{ "remote_misses", offsetof(struct memo_fn_stats, remote_misses) },
	{ "remote_leases", offsetof(struct memo_fn_stats, remote_leases) },
	{ "remote_waited", offsetof(struct memo_fn_stats, remote_waited) },
};
#define MFS_NCOUNTERS (sizeof(mfs_counters) / sizeof(mfs_counters[0]))

/* ---- text --------------------------------------------------------------- */

static void mfs_text_add(struct mfs_text *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void mfs_text_add(struct mfs_text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || t->nomem ||
	    util_grow(&t->buf, &t->cap, t->len + (size_t)n + 1, 1, 256) != 0) {
		t->nomem = 1;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(t->buf + t->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	t->len += (size_t)n;
}

/* Appends s as a JSON string. */
static void mfs_text_json(struct mfs_text *t, const char *s)
{
	mfs_text_add(t, "\"");
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			mfs_text_add(t, "\\%c", c);
		else if (c < 0x20)
			mfs_text_add(t, "\\u%04x", c);
		else
			mfs_text_add(t, "%c", c);
	}
	mfs_text_add(t, "\"");
}

/* ---- stats -------------------------------------------------------------- */

static uint64_t mfs_counter(const struct memo_fn_stats *s, size_t i)
{
	return *(const uint64_t *)((const char *)s + mfs_counters[i].off);
}

static void mfs_stats_sum(struct memo_fn_stats *total,
			  const struct memo_fn_stats *s)
{
	for (size_t i = 0; i < MFS_NCOUNTERS; i++)
		*(uint64_t *)((char *)total + mfs_counters[i].off) +=
			mfs_counter(s, i);
}

/* What the stats files show, gathered once. */
struct mfs_stats {
	size_t nfn;
	struct memo_fn_stats *fn;	/* nfn */
	struct memo_usage *use;		/* nfn + 1: the last, other fns */
	struct memo_fn_stats total;
	struct memo_usage use_total;
	uint64_t disk;
};

static int mfs_stats_get(struct mfs *fs, struct mfs_stats *s)
{
	memset(s, 0, sizeof(*s));
	s->nfn = memo_fn_count(fs->m);
	s->fn = calloc(s->nfn + 1, sizeof(*s->fn));
	s->use = calloc(s->nfn + 1, sizeof(*s->use));
	if (!s->fn || !s->use)
		return -ENOMEM;
	for (size_t i = 0; i < s->nfn; i++) {
		memo_get_fn_stats(fs->m, i, &s->fn[i]);
		mfs_stats_sum(&s->total, &s->fn[i]);
	}
	if (memo_usage(fs->m, s->use) != 0)
		memset(s->use, 0, (s->nfn + 1) * sizeof(*s->use));
	for (size_t i = 0; i <= s->nfn; i++) {
		s->use_total.entries += s->use[i].entries;
		s->use_total.bytes += s->use[i].bytes;
	}
	if (memo_disk_bytes(fs->m, &s->disk) != 0)
		s->disk = 0;
	return 0;
}

static void mfs_stats_release(struct mfs_stats *s)
{
	free(s->fn);
	free(s->use);
}

static void mfs_stats_row(struct mfs_text *t, const char *name,
			  const struct memo_fn_stats *c,
			  const struct memo_usage *u)
{
	mfs_text_add(t, "%-14s", name);
	for (size_t i = 0; i < MFS_NCOUNTERS; i++)
		mfs_text_add(t, " %11" PRIu64, mfs_counter(c, i));
	mfs_text_add(t, " %11" PRIu64 " %13" PRIu64 "\n", u->entries,
		     u->bytes);
}

static void mfs_render_stats(struct mfs *fs, const struct mfs_stats *sp,
			     struct mfs_text *t)
{
	const struct mfs_ctl_config *cfg = &fs->ctl->cfg;
	const struct mfs_stats s = *sp;

	mfs_text_add(t, "mount    %s\ncache    %s\n", cfg->mountpoint,
		     cfg->cache_dir);
	mfs_text_add(t, "on disk  %" PRIu64 " bytes (max_size %" PRIu64
		     ", max_age %" PRIu64 " s; 0: no limit)\n\n", s.disk,
		     cfg->max_size, cfg->max_age_ns / 1000000000u);
	mfs_text_add(t, "%-14s", "function");
	for (size_t i = 0; i < MFS_NCOUNTERS; i++)
		mfs_text_add(t, " %11s", mfs_counters[i].name);
	mfs_text_add(t, " %11s %13s\n", "entries", "bytes");
	for (size_t i = 0; i < s.nfn; i++)
		mfs_stats_row(t, reg_fn_name(reg_at(fs->r, i)), &s.fn[i],
			      &s.use[i]);
	if (s.use[s.nfn].entries) {
		struct memo_fn_stats none = { 0 };

		mfs_stats_row(t, "(other)", &none, &s.use[s.nfn]);
	}
	mfs_stats_row(t, "total", &s.total, &s.use_total);
}

static void mfs_json_counters(struct mfs_text *t,
			      const struct memo_fn_stats *c,
			      const struct memo_usage *u)
{
	mfs_text_add(t, "{");
	for (size_t i = 0; i < MFS_NCOUNTERS; i++)
		mfs_text_add(t, "\"%s\": %" PRIu64 ", ", mfs_counters[i].name,
			     mfs_counter(c, i));
	mfs_text_add(t, "\"entries\": %" PRIu64 ", \"bytes\": %" PRIu64 "}",
		     u->entries, u->bytes);
}

static void mfs_render_stats_json(struct mfs *fs, const struct mfs_stats *sp,
				  struct mfs_text *t)
{
	const struct mfs_ctl_config *cfg = &fs->ctl->cfg;
	const struct mfs_stats s = *sp;

	mfs_text_add(t, "{\"mount\": ");
	mfs_text_json(t, cfg->mountpoint);
	mfs_text_add(t, ", \"cache\": ");
	mfs_text_json(t, cfg->cache_dir);
	mfs_text_add(t, ", \"disk_bytes\": %" PRIu64 ", \"max_size\": %"
		     PRIu64 ", \"max_age_seconds\": %" PRIu64
		     ",\n \"functions\": {", s.disk, cfg->max_size,
		     cfg->max_age_ns / 1000000000u);
	for (size_t i = 0; i < s.nfn; i++) {
		mfs_text_add(t, "%s\n  ", i ? "," : "");
		mfs_text_json(t, reg_fn_name(reg_at(fs->r, i)));
		mfs_text_add(t, ": ");
		mfs_json_counters(t, &s.fn[i], &s.use[i]);
	}
	mfs_text_add(t, "},\n \"other\": {\"entries\": %" PRIu64
		     ", \"bytes\": %" PRIu64 "},\n \"total\": ",
		     s.use[s.nfn].entries, s.use[s.nfn].bytes);
	mfs_json_counters(t, &s.total, &s.use_total);
	mfs_text_add(t, "}\n");
}

/* ---- jobs --------------------------------------------------------------- */

/* One line per computation: FUNCTION, ARGUMENT, STATE (queued or
 * computing), elapsed seconds, waiting requests, progress ("42%" or
 * "-"), separated by tabs (arguments may hold blanks). */
static void mfs_render_jobs(struct mfs *fs, struct mfs_text *t)
{
	struct memo_job *jobs;
	size_t n;

	if (memo_jobs(fs->m, &jobs, &n) != 0) {
		t->nomem = 1;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const struct memo_job *j = &jobs[i];

		mfs_text_add(t, "%s\t%s\t%s\t%.1f\t%u\t", j->fn, j->arg,
			     j->running ? "computing" : "queued", j->seconds,
			     j->waiters);
		if (j->progress >= 0)
			mfs_text_add(t, "%.0f%%\n", 100.0 * j->progress);
		else
			mfs_text_add(t, "-\n");
	}
	free(jobs);
}

static void mfs_render_clear(struct mfs_text *t)
{
	mfs_text_add(t, "memofs clear MOUNTPOINT [FUNCTION[/ARGUMENT]] "
		     "clears results through an ioctl on this file;\n"
		     "only the mounting user and root may.\n");
}

/* Makes file i's content afresh into the snapshot.  0 or -ENOMEM. */
static int mfs_ctl_render(struct mfs *fs, enum mfs_ctl_file i)
{
	struct mfs_text t = { 0 };
	struct mfs_ctl *ctl = fs->ctl;
	struct mfs_stats s = { 0 };

	if ((i == MFS_CTL_STATS || i == MFS_CTL_STATS_JSON) &&
	    mfs_stats_get(fs, &s) != 0)
		t.nomem = 1;
	switch (i) {
	case MFS_CTL_STATS:
		if (!t.nomem)
			mfs_render_stats(fs, &s, &t);
		break;
	case MFS_CTL_STATS_JSON:
		if (!t.nomem)
			mfs_render_stats_json(fs, &s, &t);
		break;
	case MFS_CTL_JOBS:
		mfs_render_jobs(fs, &t);
		break;
	case MFS_CTL_CLEAR:
	case MFS_CTL_NFILES:
		mfs_render_clear(&t);
		break;
	}
	mfs_stats_release(&s);
	if (t.nomem) {
		free(t.buf);
		return -ENOMEM;
	}
	pthread_mutex_lock(&ctl->lock);
	free(ctl->snap[i].buf);
	ctl->snap[i] = t;
	clock_gettime(CLOCK_REALTIME, &ctl->made[i]);
	ctl->made_ns[i] = util_now_ns();
	ctl->reader[i] = 0;
	ctl->read_end[i] = 0;
	pthread_mutex_unlock(&ctl->lock);
	return 0;
}

/* Is file i's snapshot being read by the thread tid (see
 * MFS_CTL_HOLD_NS)? */
static int mfs_ctl_held(struct mfs_ctl *ctl, enum mfs_ctl_file i, int tid)
{
	int held;

	pthread_mutex_lock(&ctl->lock);
	held = ctl->reader[i] == tid && tid > 0 &&
	       util_now_ns() - ctl->made_ns[i] < MFS_CTL_HOLD_NS;
	if (held && ctl->read_end[i])
		ctl->reader[i] = 0;	/* its last getattr: the next renders */
	pthread_mutex_unlock(&ctl->lock);
	return held;
}

/* ---- nodes -------------------------------------------------------------- */

int mfs_ctl_owns(const struct mfs *fs, fuse_ino_t ino)
{
	const struct mfs_ctl *ctl = fs->ctl;
	uintptr_t p = (uintptr_t)ino;

	return ctl && p >= (uintptr_t)&ctl->dir &&
	       p < (uintptr_t)(ctl->files + MFS_CTL_NFILES);
}

/* Which file ino is, or -1 for the directory. */
static int mfs_ctl_index(const struct mfs *fs, fuse_ino_t ino)
{
	for (int i = 0; i < MFS_CTL_NFILES; i++)
		if ((uintptr_t)ino == (uintptr_t)&fs->ctl->files[i])
			return i;
	return -1;
}

int mfs_ctl_is_dir(const struct mfs *fs, fuse_ino_t ino)
{
	return mfs_ctl_index(fs, ino) < 0;
}

static fuse_ino_t mfs_ctl_ino(const struct mfs_node *n)
{
	return (fuse_ino_t)(uintptr_t)n;
}

/* The attributes of node i (-1: the directory).  Files get their
 * content made afresh first (their size); 0 or -ENOMEM. */
static int mfs_ctl_attr(struct mfs *fs, int i, int tid, struct stat *st)
{
	struct mfs_ctl *ctl = fs->ctl;
	int rc = 0;

	memset(st, 0, sizeof(*st));
	st->st_uid = fs->uid;
	st->st_gid = fs->gid;
	st->st_blksize = 4096;
	st->st_atim = st->st_mtim = st->st_ctim = fs->mounted;
	if (i < 0) {
		st->st_ino = MFS_CTL_INO_BASE;
		st->st_mode = S_IFDIR | fs->dir_mode;
		st->st_nlink = 2;
		return 0;
	}
	if (!mfs_ctl_held(ctl, (enum mfs_ctl_file)i, tid))
		rc = mfs_ctl_render(fs, (enum mfs_ctl_file)i);
	st->st_ino = MFS_CTL_INO_BASE + 1 + (unsigned)i;
	st->st_mode = S_IFREG | fs->file_mode;
	st->st_nlink = 1;
	pthread_mutex_lock(&ctl->lock);
	st->st_size = (off_t)ctl->snap[i].len;
	st->st_mtim = st->st_ctim = ctl->made[i];
	pthread_mutex_unlock(&ctl->lock);
	st->st_blocks = (st->st_size + 511) / 512;
	return rc;
}

static void mfs_ctl_entry(fuse_req_t req, struct mfs *fs, int i,
			  const struct mfs_node *n)
{
	struct fuse_entry_param e;
	int rc;

	memset(&e, 0, sizeof(e));
	e.ino = mfs_ctl_ino(n);
	e.entry_timeout = MFS_CTL_TIMEOUT;
	e.attr_timeout = i < 0 ? MFS_CTL_TIMEOUT : 0.0;
	rc = mfs_ctl_attr(fs, i, (int)fuse_req_ctx(req)->pid, &e.attr);
	if (rc)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_entry(req, &e);
}

void mfs_ctl_lookup_root(fuse_req_t req, struct mfs *fs)
{
	mfs_ctl_entry(req, fs, -1, &fs->ctl->dir);
}

void mfs_ctl_lookup(fuse_req_t req, struct mfs *fs, fuse_ino_t parent,
		    const char *name)
{
	if (mfs_ctl_index(fs, parent) >= 0) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	for (int i = 0; i < MFS_CTL_NFILES; i++) {
		if (strcmp(name, mfs_ctl_names[i]) == 0) {
			mfs_ctl_entry(req, fs, i, &fs->ctl->files[i]);
			return;
		}
	}
	fuse_reply_err(req, ENOENT);
}

void mfs_ctl_getattr(fuse_req_t req, struct mfs *fs, fuse_ino_t ino)
{
	struct stat st;
	int i = mfs_ctl_index(fs, ino);
	int rc = mfs_ctl_attr(fs, i, (int)fuse_req_ctx(req)->pid, &st);

	if (rc)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_attr(req, &st, i < 0 ? MFS_CTL_TIMEOUT : 0.0);
}

void mfs_ctl_read(fuse_req_t req, struct mfs *fs, fuse_ino_t ino,
		  size_t size, off_t off)
{
	struct mfs_ctl *ctl = fs->ctl;
	int i = mfs_ctl_index(fs, ino);
	const struct mfs_text *t;
	char *copy = NULL;
	size_t n = 0;

	if (i < 0 || off < 0) {
		fuse_reply_err(req, i < 0 ? EISDIR : EINVAL);
		return;
	}
	pthread_mutex_lock(&ctl->lock);
	t = &ctl->snap[i];
	if (off == 0) {
		ctl->reader[i] = (int)fuse_req_ctx(req)->pid;
		ctl->read_end[i] = 0;
	}
	if ((size_t)off <= t->len) {
		n = t->len - (size_t)off < size ? t->len - (size_t)off : size;
		if ((size_t)off + n == t->len)
			ctl->read_end[i] = 1;
	}
	if (n) {
		copy = malloc(n);
		if (copy)
			memcpy(copy, t->buf + off, n);
	}
	pthread_mutex_unlock(&ctl->lock);
	if (n && !copy)
		fuse_reply_err(req, ENOMEM);
	else
		fuse_reply_buf(req, copy, n);
	free(copy);
}

void mfs_ctl_readdir(fuse_req_t req, struct mfs *fs, fuse_ino_t ino,
		     size_t size, off_t off)
{
	char *buf = malloc(size);
	size_t pos = 0;

	if (mfs_ctl_index(fs, ino) >= 0 || !buf) {
		fuse_reply_err(req, buf ? ENOTDIR : ENOMEM);
		free(buf);
		return;
	}
	for (size_t i = (size_t)off; i < MFS_CTL_NFILES + 2; i++) {
		struct stat st = { .st_mode = i < 2 ? S_IFDIR : S_IFREG };
		const char *name = i == 0 ? "." : i == 1 ? ".."
				 : mfs_ctl_names[i - 2];
		size_t need;

		st.st_ino = i == 0 ? MFS_CTL_INO_BASE
			  : i == 1 ? FUSE_ROOT_ID : MFS_CTL_INO_BASE + i - 1;
		need = fuse_add_direntry(req, buf + pos, size - pos, name, &st,
					 (off_t)i + 1);
		if (need > size - pos)
			break;
		pos += need;
	}
	fuse_reply_buf(req, buf, pos);
	free(buf);
}

/* ---- clearing ----------------------------------------------------------- */

struct mfs_inval {
	const char *fn, *arg;	/* NULL: any */
	fuse_ino_t *inos;
	size_t n, cap;
};

/* mfs_node_each()'s callback: collects the matching results, which show
 * the placeholder from now on.  Caller holds fs->lock. */
static void mfs_inval_node(void *arg, struct mfs_node *n)
{
	struct mfs_inval *iv = arg;

	if ((iv->fn && strcmp(reg_fn_name(n->fn), iv->fn) != 0) ||
	    (iv->arg && strcmp(n->arg, iv->arg) != 0))
		return;
	n->size = -1;
	n->pushed = 0;
	n->fail_err = 0;
	if (util_grow(&iv->inos, &iv->cap, iv->n + 1, sizeof(*iv->inos),
		      64) == 0)
		iv->inos[iv->n++] = mfs_node_ino(n);
}

/* fuse_lowlevel_notify_inval_inode(ino, 0, 0) drops every cached page
 * of ino and its attributes (the kernel's fuse_reverse_inval_inode():
 * invalidate_inode_pages2_range() over the whole file, then
 * fuse_invalidate_attr()), so the next read() sends a getattr, sees the
 * placeholder and reads from memofs again. */
void mfs_ctl_invalidate(struct mfs *fs, const char *fn, const char *arg)
{
	struct mfs_inval iv = { .fn = fn, .arg = arg };

	pthread_mutex_lock(&fs->lock);
	mfs_node_each(fs->nodes, mfs_inval_node, &iv);
	pthread_mutex_unlock(&fs->lock);
	for (size_t i = 0; i < iv.n; i++) {
		int rc = fuse_lowlevel_notify_inval_inode(fs->se, iv.inos[i],
							  0, 0);

		if (rc && rc != -ENOENT)
			log_debug("notify_inval_inode: %s", strerror(-rc));
	}
	free(iv.inos);
}

/* Splits what ("", "FN" or "FN/ARG", ARG a path of names for a function
 * of several arguments: "quantile/0.9/price") into the function and
 * canonical argument to clear (NULL: all).  0, -ENOENT or -EINVAL. */
static int mfs_clear_target(struct mfs *fs, char *what, const reg_fn **fn,
			    char canon[REG_ARG_MAX + 1], int *one)
{
	char *slash = strchr(what, '/');

	*fn = NULL;
	*one = 0;
	if (!*what)
		return 0;
	if (slash)
		*slash = '\0';
	*fn = reg_find(fs->r, what);
	if (!*fn)
		return -ENOENT;
	if (!slash)
		return 0;
	*one = 1;
	if (!slash[1])
		return -EINVAL;
	return resolve_path(fs->r, *fn, slash + 1, canon, REG_ARG_MAX + 1)
		       ? -ENOENT : 0;
}

/* May the sender of req clear?  The mounting user and root. */
static int mfs_may_clear(fuse_req_t req)
{
	uid_t uid = fuse_req_ctx(req)->uid;

	return uid == 0 || uid == getuid();
}

void mfs_ctl_ioctl(fuse_req_t req, struct mfs *fs, fuse_ino_t ino,
		   unsigned int cmd, const void *in, size_t in_size)
{
	struct mfs_ctl_clear c;
	char canon[REG_ARG_MAX + 1];
	const reg_fn *fn;
	size_t cleared = 0;
	int one, rc;

	if (mfs_ctl_index(fs, ino) != MFS_CTL_CLEAR || cmd != MFS_IOC_CLEAR ||
	    in_size != sizeof(c)) {
		fuse_reply_err(req, ENOTTY);
		return;
	}
	if (!mfs_may_clear(req)) {
		fuse_reply_err(req, EPERM);
		return;
	}
	memcpy(&c, in, sizeof(c));
	if (!memchr(c.what, '\0', sizeof(c.what))) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	rc = mfs_clear_target(fs, c.what, &fn, canon, &one);
	if (rc == 0)
		rc = memo_clear(fs->m, fn ? reg_fn_name(fn) : NULL,
				one ? canon : NULL, NULL, NULL, &cleared);
	if (rc == 0 || rc == -ENOSPC || rc == -EIO)
		mfs_ctl_invalidate(fs, fn ? reg_fn_name(fn) : NULL,
				   one ? canon : NULL);
	if (rc) {
		fuse_reply_err(req, rc == -ENOSPC ? EIO : -rc);
		return;
	}
	log_info("cleared %zu stored results (%s%s%s) for uid %u", cleared,
		 fn ? reg_fn_name(fn) : "everything", one ? "/" : "",
		 one ? canon : "", (unsigned)fuse_req_ctx(req)->uid);
	fuse_reply_ioctl(req, cleared > INT32_MAX ? INT32_MAX : (int)cleared,
			 NULL, 0);
}

/* ---- life --------------------------------------------------------------- */

int mfs_ctl_new(struct mfs *fs, const struct mfs_ctl_config *cfg)
{
	struct mfs_ctl *ctl = calloc(1, sizeof(*ctl));

	if (!ctl)
		return -ENOMEM;
	ctl->cfg = *cfg;
	ctl->cfg.mountpoint = strdup(cfg->mountpoint);
	ctl->cfg.cache_dir = strdup(cfg->cache_dir);
	if (!ctl->cfg.mountpoint || !ctl->cfg.cache_dir) {
		free((char *)ctl->cfg.mountpoint);
		free((char *)ctl->cfg.cache_dir);
		free(ctl);
		return -ENOMEM;
	}
	ctl->dir.kind = MFS_ROOT;
	for (int i = 0; i < MFS_CTL_NFILES; i++)
		ctl->files[i].kind = MFS_ROOT;
	pthread_mutex_init(&ctl->lock, NULL);
	fs->ctl = ctl;
	return 0;
}

void mfs_ctl_free(struct mfs *fs)
{
	struct mfs_ctl *ctl = fs->ctl;

	if (!ctl)
		return;
	for (int i = 0; i < MFS_CTL_NFILES; i++)
		free(ctl->snap[i].buf);
	pthread_mutex_destroy(&ctl->lock);
	free((char *)ctl->cfg.mountpoint);
	free((char *)ctl->cfg.cache_dir);
	free(ctl);
	fs->ctl = NULL;
}
