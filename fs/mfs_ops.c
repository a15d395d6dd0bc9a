/* mfs_ops.c -- the FUSE low-level operations of memofs.
 *
 * Handlers decode the request, ask compute/ and reply exactly once.  They
 * never wait for a computation: a request that needs an uncomputed result
 * (a getattr with a file handle, or a read) becomes a struct mfs_wait and
 * is answered later, from the worker that finishes the result, by
 * mfs_on_done() (or at once, from this thread, when memo_submit() computed
 * a cheap result here: see compute/engine/memo.h).  Kernel caching is what makes warm reads free:
 *   - open and opendir answer ENOSYS, so the kernel stops sending them
 *     (zero-message opens) and keeps file pages between opens;
 *   - a computed result has a long attribute timeout and its true size; an
 *     uncomputed one reports a placeholder size of one page with a zero
 *     timeout, so stat and ls never compute, while read() first sends a
 *     getattr with a file handle, which is what starts the computation;
 *   - the placeholder is not 0 because the kernel's splice path (sendfile,
 *     splice, copy_file_range, and mmap) trusts the size it holds and sends
 *     nothing for a file of size 0 (measured: shutil.copyfile wrote 0
 *     bytes); with one page it sends a READ for page 0 (readahead), which
 *     computes.  A longer result is then stored past page 0, which extends
 *     the size, and the READ answered.  A shorter one needs the kernel to
 *     trim the size to a short answer, which it skips when attributes of
 *     the file were set after it sent the READ (fuse_read_update_size()):
 *     that READ is answered EIO, the kernel asks again at once (read_folio
 *     after a failed readahead) and the new READ, sent after the result
 *     exists, is trimmed.  Meanwhile plain stats and lookups of the file
 *     wait for the result instead of sending the placeholder again
 *     (mfs_attrs_must_wait()).  Measured with 20 sendfile copies racing 10
 *     stat loops per mount: 202 of 300 copies ended in zeros without both,
 *     7 of 300 with the retry alone, 0 of 1200 with both;
 *   - fstat() sends the same getattr as stat() (no file handle), so a
 *     getattr from a process that has the file open computes too (checked
 *     in /proc/PID/fd): programs that fstat then read exactly st_size
 *     bytes, or mmap that many, get the true size; -o stat=compute makes
 *     every getattr compute;
 *   - the last page of a finished result is pushed into the page cache
 *     with fuse_lowlevel_notify_store() before any waiter is answered
 *     (unless a waiting READ holds it locked: storing into it would wait
 *     for that READ's answer): that fixes the file size in the kernel
 *     even when a racing getattr reply would be dropped as stale, so
 *     concurrent cold readers never see an empty file.  Nothing more is
 *     pushed: the kernel dropped it (mfs_push_first() says what was
 *     measured), and the first reader's READs fill the page cache.
 * Lookups that must digest a large file (a file argument of a directory
 * DATA that is new, edited, or edited in the last 2 s) run on fs->digests
 * and reply from there, so the FUSE threads stay free for cached results.
 * Locking: fs->lock protects the node table and the wait list; it is never
 * held across a FUSE reply, a notify, a store call or memo_submit().
 */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "util/clock.h"
#include "functions/resolve.h"
#include "util/log.h"
#include "mfs.h"
#include "mfs_ctl.h"
#include "mfs_xattr.h"

#define MFS_TIMEOUT 86400.0		/* for anything that cannot change */
#define MFS_PUSH_CHUNK (1u << 20)
#define MFS_PAGE 4096u
/* The size of a result not computed yet: one page (see the top). */
#define MFS_PLACEHOLDER_SIZE MFS_PAGE

/* GETATTR: with a file handle (before a read()); STAT: without one (an
 * fstat from a process that has the file open, or -o stat=compute); ATTR
 * and LOOKUP: a plain stat or lookup that waits for a computation others
 * started because a READ waits for it too (see mfs_attrs_must_wait()). */
enum mfs_wait_kind {
	MFS_WAIT_GETATTR, MFS_WAIT_STAT, MFS_WAIT_ATTR, MFS_WAIT_LOOKUP,
	MFS_WAIT_READ
};

/* How long a failure that an fstat started answers the same thread's
 * next requests for that result (see mfs_failure()). */
#define MFS_FAIL_KEEP_NS (10 * 1000000000LL)

struct mfs_wait {
	struct mfs *fs;
	struct mfs_node *node;		/* held (mfs_node_hold) */
	fuse_req_t req;
	int tid;			/* the thread that asked */
	enum mfs_wait_kind kind;
	size_t size;			/* read: how much, from where */
	off_t off;
	int armed;			/* interrupt callback registered */
	int interrupted;		/* interrupted before it was armed */
	int answered;			/* req has been replied to */
	struct mfs_wait *prev, *next;	/* in fs->waits while unanswered */
};

static struct mfs *mfs_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

/* ---- attributes --------------------------------------------------------- */

static void mfs_fill_attr(const struct mfs *fs, const struct mfs_node *n,
			  struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = n->number;
	st->st_uid = fs->uid;
	st->st_gid = fs->gid;
	st->st_blksize = 4096;
	/* The mount's time, not 0: archivers reject 1970 (gzip exits 2). */
	st->st_atim = st->st_mtim = st->st_ctim = fs->mounted;
	if (n->kind == MFS_RESULT) {
		st->st_mode = S_IFREG | fs->file_mode;
		st->st_nlink = 1;
		st->st_size = n->size >= 0 ? n->size : MFS_PLACEHOLDER_SIZE;
		st->st_blocks = (st->st_size + 511) / 512;
		if (n->size >= 0 && n->created_ns) {	/* computed then */
			st->st_mtim.tv_sec = (time_t)(n->created_ns /
						      1000000000u);
			st->st_mtim.tv_nsec = (long)(n->created_ns %
						     1000000000u);
			st->st_ctim = st->st_mtim;
		}
	} else {
		st->st_mode = S_IFDIR | fs->dir_mode;
		st->st_nlink = 2;
	}
}

/* Seconds the kernel may keep n's attributes: long once n is final. */
static double mfs_attr_timeout(const struct mfs_node *n)
{
	return (n->kind != MFS_RESULT || n->size >= 0) ? MFS_TIMEOUT : 0.0;
}

/* The bytes node shows of res: its view (the text, or the .npy).  0, or
 * -ENOMEM (a text view that could not be made), or -EIO (a .npy view of
 * a bytes result: memo serves only results of the declared type, and
 * only typed functions have .npy names, so never expected). */
static int mfs_view(const struct mfs_node *node, memo_result *res,
		    const char **data, size_t *len)
{
	const void *d;
	int rc = memo_result_view(res, node->view == MFS_VIEW_NPY
					       ? MEMO_VIEW_NPY : MEMO_VIEW_TEXT,
				  &d, len);

	*data = d;
	return rc == -ENOENT ? -EIO : rc;
}

/* The size of node's view of res, made already (0 if it could not be). */
static size_t mfs_view_len(const struct mfs_node *node, memo_result *res)
{
	const char *data;
	size_t len;

	return mfs_view(node, res, &data, &len) ? 0 : len;
}

/* A byte range of a result that a waiting READ holds (its pages are
 * locked in the kernel until it is answered). */
struct mfs_range {
	fuse_req_t req;
	size_t off, size;
};

/* Where the next push from off may go: returns the end of the range to
 * push, or moves *off past the held pages it is in and returns 0. */
static size_t mfs_push_end(const struct mfs_range *held, size_t nheld,
			   size_t *off, size_t len)
{
	size_t end = len - *off < MFS_PUSH_CHUNK ? len : *off + MFS_PUSH_CHUNK;

	for (size_t i = 0; i < nheld; i++) {
		size_t a = held[i].off & ~(size_t)(MFS_PAGE - 1);
		size_t b = held[i].off + held[i].size;

		b = (b + MFS_PAGE - 1) & ~(size_t)(MFS_PAGE - 1);
		if (*off >= a && *off < b) {
			*off = b;
			return 0;
		}
		if (a > *off && a < end)
			end = a;
	}
	return end;
}

/* Pushes data[off, end) into the kernel's page cache for node, except
 * the pages of held, in chunks of MFS_PUSH_CHUNK; stops at the first
 * notify_store error (logged; the kernel then reads what is missing). */
static void mfs_push_range(struct mfs *fs, struct mfs_node *node,
			  const char *data, size_t off, size_t end,
			  const struct mfs_range *held, size_t nheld)
{
	fuse_ino_t ino = mfs_node_ino(node);

	while (off < end) {
		size_t stop = mfs_push_end(held, nheld, &off, end);
		size_t n = stop - off;
		struct fuse_bufvec bv = FUSE_BUFVEC_INIT(n);
		int rc;

		if (stop == 0)
			continue;
		bv.buf[0].mem = (void *)(data + off);
		rc = fuse_lowlevel_notify_store(fs->se, ino, (off_t)off, &bv, 0);
		if (rc) {
			log_debug("notify_store %s/%s: %s",
				  reg_fn_name(node->fn), node->name,
				  strerror(-rc));
			return;
		}
		off += n;
	}
}

/* What is pushed: only what fixes the size (see the top of this file),
 * the last page, which extends the kernel's size to the result's.  Pages
 * pushed more did not stay, measured on this kernel (6.18,
 * auto_inval_data) with `memofs -d`: a cold `cat` of a 196 KB column
 * pushed whole before the answer still sent one READ of 196608 bytes
 * (Python's read() two); after a cold `head -c 10` of a 5.9 MB text view
 * whose other 6 MB were pushed right after the answer, the next `cat`
 * sent a GETATTR and 23 READs for the whole file.  A store extends the
 * size and invalidates the kernel's cached size and mtime, and makes the
 * answer to a getattr in flight stale (dropped); the next getattr reply
 * brings the result's creation time in place of the placeholder's mount
 * time, and a changed mtime makes the kernel drop every page of the file
 * (fuse_change_attributes() -> invalidate_inode_pages2()).  So the pages
 * come from the first reader's READs, and the pushes only cost the
 * worker time before the answer (40-126 ms for a 98 MB text view of 5e6
 * values).  A view shorter than the placeholder (and not sized in
 * advance) is not pushed at all: a store never shrinks the size, and
 * the reader's READ came anyway (a partial page is kept only when it ends
 * the file).  Returns where the push begins (len: nothing). */
static size_t mfs_push_first(const struct mfs_node *node, size_t len)
{
	if (len == 0 || (len < MFS_PLACEHOLDER_SIZE && !node->size_exact))
		return len;
	return (len - 1) & ~(size_t)(MFS_PAGE - 1);
}

/* Pushes what fixes the size of node's view of res in the kernel
 * (mfs_push_first()), except the pages of held. */
static void mfs_push(struct mfs *fs, struct mfs_node *node,
		     memo_result *res, const struct mfs_range *held,
		     size_t nheld)
{
	const char *data;
	size_t len;

	if (mfs_view(node, res, &data, &len) == 0)
		mfs_push_range(fs, node, data, mfs_push_first(node, len), len,
			       held, nheld);
}

/* Records that node's result is res, pushing its last page into the
 * kernel first if nobody has (except the pages of held).  Called without
 * fs->lock, with node's view of res made (mfs_view() succeeded). */
static void mfs_settle(struct mfs *fs, struct mfs_node *node,
		       memo_result *res, const struct mfs_range *held,
		       size_t nheld)
{
	int pushed;

	/* The size first: from now on no reply carries the placeholder,
	 * which, applied after the push, would shrink the file again. */
	pthread_mutex_lock(&fs->lock);
	node->size = (int64_t)mfs_view_len(node, res);
	node->created_ns = memo_result_created_ns(res);
	pushed = node->pushed;
	pthread_mutex_unlock(&fs->lock);
	if (!pushed)
		mfs_push(fs, node, res, held, nheld);
	pthread_mutex_lock(&fs->lock);
	node->pushed = 1;
	pthread_mutex_unlock(&fs->lock);
}

/* node's result if it is computed and node's view of it is cheap to
 * have: 0 and *r, or -ENOENT (not computed, or the text of a long typed
 * result not made yet: that is made on a worker, like a computation, not
 * on a FUSE thread, so a stat or ls of the text of a long column that
 * others computed stays cheap), or memo's error.  A typed result's .npy
 * needs nothing made. */
static int mfs_lookup_view(struct mfs *fs, const struct mfs_node *node,
			   memo_result **r)
{
	int rc = memo_lookup(fs->m, node->fn, node->arg, r);

	if (rc == 0 && !memo_result_view_cheap(*r, node->view == MFS_VIEW_NPY
						       ? MEMO_VIEW_NPY
						       : MEMO_VIEW_TEXT)) {
		memo_result_unref(*r);
		rc = -ENOENT;
	}
	return rc;
}

/* Has node's result been computed (and node's view of it made)?  Fills
 * node->size if so.  Returns 0 (computed, *res set when res is not
 * NULL), -ENOENT, -EIO, or -ENOMEM. */
static int mfs_probe(struct mfs *fs, struct mfs_node *node,
		     memo_result **res)
{
	memo_result *r;
	const char *data;
	size_t len;
	int rc = mfs_lookup_view(fs, node, &r);

	if (rc)
		return rc;
	rc = mfs_view(node, r, &data, &len);
	if (rc) {
		memo_result_unref(r);
		return rc;
	}
	pthread_mutex_lock(&fs->lock);
	node->size = (int64_t)len;
	node->created_ns = memo_result_created_ns(r);
	pthread_mutex_unlock(&fs->lock);
	if (res)
		*res = r;
	else
		memo_result_unref(r);
	return 0;
}

/* A node whose size was known before computing (a .npy view of a column
 * or a scalar) shows its result's creation time as mtime once computed,
 * like every result: looked up here (memory, or one RocksDB get) while
 * it is not known, so a stat or lookup after the computation, by any
 * view, sees it (test_attack_13_16.py::
 * test_npy_view_mtime_is_its_creation_time).  Not computed yet: nothing
 * changes, and nothing is computed. */
static void mfs_note_created(struct mfs *fs, struct mfs_node *n)
{
	int64_t created;

	if (n->kind != MFS_RESULT || !n->size_exact)
		return;
	pthread_mutex_lock(&fs->lock);
	created = (int64_t)n->created_ns;
	pthread_mutex_unlock(&fs->lock);
	if (!created)
		(void)mfs_probe(fs, n, NULL);	/* -ENOENT: not computed */
}

/* ---- deferred replies --------------------------------------------------- */

/* Answers a READ from node's view of res (made already: mfs_view()). */
static void mfs_reply_read(fuse_req_t req, const struct mfs_node *node,
			   memo_result *res, size_t size, off_t off)
{
	const char *data;
	size_t len;

	if (mfs_view(node, res, &data, &len))
		fuse_reply_err(req, EIO);
	else if ((size_t)off >= len)
		fuse_reply_buf(req, NULL, 0);
	else
		fuse_reply_buf(req, data + off,
			       len - (size_t)off < size ? len - (size_t)off
							: size);
}

/* The errno a reader sees for a failed wait: a result that memofs
 * stopped before finishing (-ESHUTDOWN: unmount or a stop signal) fails
 * like any access to a mount whose daemon has gone, with ENOTCONN. */
static int mfs_wait_errno(int err)
{
	return err == -ESHUTDOWN ? ENOTCONN : -err;
}

static void mfs_reply_entry(fuse_req_t req, const struct mfs_node *n);

/* Answers w with err (an interrupt, no memory): a LOOKUP that fails gives
 * the kernel no reference, so the one mfs_node_lookup() added goes. */
static void mfs_answer_err(struct mfs *fs, struct mfs_wait *w, int err)
{
	if (w->kind == MFS_WAIT_LOOKUP) {
		pthread_mutex_lock(&fs->lock);
		mfs_node_forget(fs->nodes, w->node, 1);
		pthread_mutex_unlock(&fs->lock);
	}
	fuse_reply_err(w->req, err);
}

static void mfs_answer(struct mfs_wait *w, int err, memo_result *res)
{
	struct stat st;

	if (w->kind == MFS_WAIT_LOOKUP) {
		mfs_reply_entry(w->req, w->node);  /* placeholder on failure */
	} else if (err && w->kind == MFS_WAIT_ATTR) {
		mfs_fill_attr(w->fs, w->node, &st);
		fuse_reply_attr(w->req, &st, 0.0);
	} else if (err) {
		fuse_reply_err(w->req, mfs_wait_errno(err));
	} else if (w->kind == MFS_WAIT_READ) {
		mfs_reply_read(w->req, w->node, res, w->size, w->off);
	} else {
		mfs_fill_attr(w->fs, w->node, &st);
		st.st_size = (off_t)mfs_view_len(w->node, res);
		st.st_blocks = (st.st_size + 511) / 512;
		fuse_reply_attr(w->req, &st, MFS_TIMEOUT);
	}
}

/* Caller holds fs->lock.  Takes w off the wait list; returns 1 if the
 * caller is now the one to answer w->req. */
static int mfs_wait_claim(struct mfs *fs, struct mfs_wait *w)
{
	if (w->answered)
		return 0;
	w->answered = 1;
	if (w->kind == MFS_WAIT_READ)
		w->node->reads--;
	if (w->prev)
		w->prev->next = w->next;
	else
		fs->waits = w->next;
	if (w->next)
		w->next->prev = w->prev;
	w->prev = w->next = NULL;
	return 1;
}

/* Claims every unanswered READ waiting for node, into *held (caller
 * frees).  Returns how many, or 0 with *held NULL when there are none or
 * no memory (the READs are then answered by their own callbacks, and
 * nothing may be pushed: see mfs_on_done()).  Caller holds fs->lock. */
static size_t mfs_claim_reads(struct mfs *fs, struct mfs_node *node,
			      struct mfs_range **held, int *nomem)
{
	struct mfs_wait *w, *next;
	size_t n = 0;

	*held = NULL;
	for (w = fs->waits; w; w = w->next)
		n += w->node == node && w->kind == MFS_WAIT_READ;
	if (n == 0)
		return 0;
	*held = malloc(n * sizeof(**held));
	if (!*held) {
		*nomem = 1;
		return 0;
	}
	n = 0;
	for (w = fs->waits; w; w = next) {
		next = w->next;
		if (w->node != node || w->kind != MFS_WAIT_READ ||
		    !mfs_wait_claim(fs, w))
			continue;
		/* A copy: w is freed by its own callback, maybe meanwhile. */
		(*held)[n++] = (struct mfs_range){ .req = w->req,
						   .off = (size_t)w->off,
						   .size = w->size };
	}
	return n;
}

/* The result is ready: pushes its last page (past the pages waiting READs
 * hold, so that the file size is right before they are answered: see
 * mfs_push_first()), answers those READs (EIO, to be asked again, when
 * the result is shorter than the placeholder: see the top of this file),
 * and pushes nothing more. */
static void mfs_settle_and_read(struct mfs *fs, struct mfs_node *node,
				memo_result *res)
{
	struct mfs_range *held;
	int nomem = 0;
	size_t n;

	pthread_mutex_lock(&fs->lock);
	n = mfs_claim_reads(fs, node, &held, &nomem);
	pthread_mutex_unlock(&fs->lock);
	if (nomem) {
		/* Unknown held pages: a push could wait for a READ that this
		 * thread is to answer.  Record the size only. */
		pthread_mutex_lock(&fs->lock);
		node->size = (int64_t)mfs_view_len(node, res);
		pthread_mutex_unlock(&fs->lock);
		return;
	}
	mfs_settle(fs, node, res, held, n);
	/* A size known in advance was never a placeholder: nothing to
	 * trim, so no retry. */
	for (size_t i = 0; i < n; i++)
		if (!node->size_exact &&
		    mfs_view_len(node, res) < MFS_PLACEHOLDER_SIZE)
			fuse_reply_err(held[i].req, EIO);
		else
			mfs_reply_read(held[i].req, node, res, held[i].size,
				       (off_t)held[i].off);
	free(held);
}

/* A program that fstats then reads asks twice or more (Python's open()
 * and read() fstat twice, then read() sends a getattr with a handle):
 * when the computation its fstat started failed, its next requests for
 * the result get that error instead of running the failing computation
 * again, until one that reads (consume), for MFS_FAIL_KEEP_NS at most.
 * Other threads compute again.  Returns the error or 0. */
static int mfs_failure(struct mfs *fs, struct mfs_node *n, fuse_req_t req,
		       int consume)
{
	int err = 0;

	pthread_mutex_lock(&fs->lock);
	if (n->fail_err && util_now_ns() - n->fail_ns > MFS_FAIL_KEEP_NS)
		n->fail_err = 0;
	if (n->fail_err && n->fail_tid == (int)fuse_req_ctx(req)->pid) {
		err = n->fail_err;
		if (consume)
			n->fail_err = 0;
	}
	pthread_mutex_unlock(&fs->lock);
	return err;
}

/* memo's callback: the result w waits for is ready (or failed). */
static void mfs_on_done(void *arg, int err, memo_result *res)
{
	struct mfs_wait *w = arg;
	struct mfs *fs = w->fs;
	const char *data;
	size_t len;
	int mine;

	/* Made here, on the worker, once for every reader of this view. */
	if (!err)
		err = mfs_view(w->node, res, &data, &len);
	if (!err)
		mfs_settle_and_read(fs, w->node, res);
	pthread_mutex_lock(&fs->lock);
	if (err && w->kind == MFS_WAIT_STAT) {
		w->node->fail_err = err;
		w->node->fail_tid = w->tid;
		w->node->fail_ns = util_now_ns();
	} else if (!err) {
		w->node->fail_err = 0;
	}
	mine = mfs_wait_claim(fs, w);
	pthread_mutex_unlock(&fs->lock);
	if (mine)
		mfs_answer(w, err, res);
	pthread_mutex_lock(&fs->lock);
	mfs_node_release(fs->nodes, w->node);
	pthread_mutex_unlock(&fs->lock);
	free(w);
}

/* libfuse calls this when the reader gave up (Ctrl-C).  data is fs, not
 * the wait: the wait may already be answered and freed, so it is looked
 * up by request under the lock. */
static void mfs_on_interrupt(fuse_req_t req, void *data)
{
	struct mfs *fs = data;
	struct mfs_wait *w;
	int mine = 0;

	pthread_mutex_lock(&fs->lock);
	for (w = fs->waits; w && w->req != req; w = w->next)
		;
	if (w && !w->armed)
		w->interrupted = 1;	/* answered by mfs_defer() */
	else if (w)
		mine = mfs_wait_claim(fs, w);
	/* Once claimed, w may be freed by its callback: use it only here. */
	if (mine && w->kind == MFS_WAIT_LOOKUP)
		mfs_node_forget(fs->nodes, w->node, 1);
	pthread_mutex_unlock(&fs->lock);
	if (mine)
		fuse_reply_err(req, EINTR);
}

/* Answers req once node's result is ready, computing it if needed. */
static void mfs_defer(struct mfs *fs, fuse_req_t req, struct mfs_node *node,
		      enum mfs_wait_kind kind, size_t size, off_t off)
{
	struct mfs_wait *w = calloc(1, sizeof(*w));
	int rc = 0, mine = 0;

	if (!w) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	*w = (struct mfs_wait){ .fs = fs, .node = node, .req = req,
				.tid = (int)fuse_req_ctx(req)->pid,
				.kind = kind, .size = size, .off = off };
	pthread_mutex_lock(&fs->lock);
	mfs_node_hold(node);
	node->reads += kind == MFS_WAIT_READ;
	w->next = fs->waits;
	if (fs->waits)
		fs->waits->prev = w;
	fs->waits = w;
	pthread_mutex_unlock(&fs->lock);

	fuse_req_interrupt_func(req, mfs_on_interrupt, fs);
	pthread_mutex_lock(&fs->lock);
	w->armed = 1;
	if (w->interrupted)
		rc = -EINTR;
	pthread_mutex_unlock(&fs->lock);
	if (rc == 0)
		rc = memo_submit(fs->m, node->fn, node->arg, mfs_on_done, w);
	if (rc == 0)
		return;		/* mfs_on_done() answers and frees w */

	pthread_mutex_lock(&fs->lock);
	mine = mfs_wait_claim(fs, w);
	pthread_mutex_unlock(&fs->lock);
	if (mine)
		mfs_answer_err(fs, w, mfs_wait_errno(rc));
	pthread_mutex_lock(&fs->lock);
	mfs_node_release(fs->nodes, node);
	pthread_mutex_unlock(&fs->lock);
	free(w);
}

/* Must a plain stat or lookup of the uncomputed node wait for its result?
 * Yes while a READ waits for it: a placeholder set in the kernel while
 * that READ (or the one the kernel sends again, see the top of this file)
 * is pending keeps the kernel from trimming the size to the result, and
 * the reader would get a page of zeros past it.  Waiting, they get the
 * true size. */
static int mfs_attrs_must_wait(struct mfs *fs, const struct mfs_node *n)
{
	int wait;

	pthread_mutex_lock(&fs->lock);
	wait = n->reads > 0 && n->size < 0;
	pthread_mutex_unlock(&fs->lock);
	return wait;
}

/* ---- lookups and attributes --------------------------------------------- */

/* Seconds the kernel may keep the name of n: a file argument of a
 * directory DATA may be edited at any time, and so may a command's script
 * (reg_fn_versioned()); the new content must be looked up again (it gets
 * a new node), so such a name is never cached. */
static double mfs_entry_timeout(const struct mfs *fs, const struct mfs_node *n)
{
	return (n->kind == MFS_RESULT || n->kind == MFS_ARGDIR) &&
	       (resolve_takes_files(fs->r, n->fn) || reg_fn_versioned(n->fn))
		       ? 0.0 : MFS_TIMEOUT;
}

/* Is n's function still at the version n was looked up with?  A read
 * through a node of an older version fails with ESTALE (read it again):
 * its page cache must only ever hold its own version's bytes. */
static int mfs_node_current(const struct mfs_node *n)
{
	char version[REG_VERSION_BUF];

	return !n->version ||
	       strcmp(n->version, reg_fn_version_now(n->fn, version)) == 0;
}

/* A directory whose entries are a DATA directory's files (a function's,
 * or an argument directory's whose next level takes files) shows that
 * directory's times, with no attribute caching: the kernel keeps listings
 * (zero-message opendir caches them) until it sees the mtime change, and
 * the DATA directory's mtime changes exactly when files come or go.
 * Returns the attribute timeout. */
static double mfs_files_dir_attr(const struct mfs *fs,
				 const struct mfs_node *n, struct stat *st)
{
	struct stat dst;

	if ((n->kind != MFS_FNDIR && n->kind != MFS_ARGDIR) ||
	    !resolve_level_files(fs->r, n->fn, n->depth))
		return MFS_TIMEOUT;
	if (resolve_level_stat(fs->r, n->fn, n->depth, &dst) == 0) {
		st->st_mtim = dst.st_mtim;
		st->st_ctim = dst.st_ctim;
	}
	return 0.0;
}

static void mfs_reply_entry(fuse_req_t req, const struct mfs_node *n)
{
	struct fuse_entry_param e;
	struct mfs *fs = mfs_of(req);

	memset(&e, 0, sizeof(e));
	e.ino = mfs_node_ino(n);
	e.entry_timeout = mfs_entry_timeout(fs, n);
	e.attr_timeout = mfs_attr_timeout(n);
	mfs_fill_attr(fs, n, &e.attr);
	if (n->kind == MFS_FNDIR || n->kind == MFS_ARGDIR)
		e.attr_timeout = mfs_files_dir_attr(fs, n, &e.attr);
	fuse_reply_entry(req, &e);
}

#define MFS_NPY_EXT ".npy"
#define MFS_NPY_EXT_LEN 4

/* The path of dir's name below the function ("0.9/price"): 0, or
 * -ENAMETOOLONG. */
static int mfs_path(const struct mfs_node *dir, const char *name,
		    char path[RESOLVE_PATH_MAX + 1])
{
	int n = dir->depth ? snprintf(path, RESOLVE_PATH_MAX + 1, "%s/%s",
				      dir->name, name)
			   : snprintf(path, RESOLVE_PATH_MAX + 1, "%s", name);

	return n < 0 || n > RESOLVE_PATH_MAX ? -ENAMETOOLONG : 0;
}

/* The canonical argument of dir's path and then name (its level:
 * dir->depth).  quick: read no large file (resolve_name()):
 * -EWOULDBLOCK when that would be needed. */
static int mfs_resolve_one(struct mfs *fs, const struct mfs_node *dir,
			   const char *name, int quick,
			   char canon[REG_ARG_MAX + 1])
{
	size_t used = 0;

	if (dir->depth) {
		used = (size_t)snprintf(canon, REG_ARG_MAX + 1, "%s/",
					dir->arg);
		if (used > REG_ARG_MAX)
			return -ENAMETOOLONG;
	}
	return resolve_name(fs->r, dir->fn, dir->depth, name, quick,
			    canon + used, REG_ARG_MAX + 1 - used);
}

/* The canonical argument of name in dir (mfs_resolve_one()), the path of
 * names it is (mfs_path()), and the view name shows: a name that is an
 * argument shows its text; at the last level of a typed function,
 * NAME.npy where NAME is an argument (and NAME.npy is not) shows its
 * .npy. */
static int mfs_resolve(struct mfs *fs, const struct mfs_node *dir,
		       const char *name, int quick, char canon[REG_ARG_MAX + 1],
		       char path[RESOLVE_PATH_MAX + 1], enum mfs_view *view)
{
	char stem[REG_NAME_MAX + 1];
	size_t len = strlen(name);
	int rc = mfs_path(dir, name, path);

	*view = MFS_VIEW_TEXT;
	if (rc == 0)
		rc = mfs_resolve_one(fs, dir, name, quick, canon);
	if (rc != -ENOENT || reg_fn_dtype(dir->fn) == MEMOFS_BYTES ||
	    dir->depth + 1 != reg_fn_nargs(dir->fn) ||
	    len <= MFS_NPY_EXT_LEN || len - MFS_NPY_EXT_LEN >= sizeof(stem) ||
	    strcmp(name + len - MFS_NPY_EXT_LEN, MFS_NPY_EXT) != 0)
		return rc;
	memcpy(stem, name, len - MFS_NPY_EXT_LEN);
	stem[len - MFS_NPY_EXT_LEN] = '\0';
	rc = mfs_resolve_one(fs, dir, stem, quick, canon);
	if (rc == 0 && reg_fn_arg_dtype(fs->r, dir->fn, canon) == MEMOFS_BYTES)
		rc = -ENOENT;	/* column of a text column: no .npy */
	if (rc == 0)
		*view = MFS_VIEW_NPY;
	return rc;
}

/* The size of fn's view known before computing: the .npy of a declared
 * scalar or column; else -1. */
static int64_t mfs_size_in_advance(const struct mfs *fs, const reg_fn *fn,
				   enum mfs_view view)
{
	if (view != MFS_VIEW_NPY)
		return -1;
	switch (reg_fn_shape(fn)) {
	case MEMOFS_SHAPE_SCALAR:
		return (int64_t)memo_npy_size(1);
	case MEMOFS_SHAPE_COLUMN:
		return (int64_t)memo_npy_size(ds_nrows(fs->data));
	case MEMOFS_SHAPE_VECTOR:
		break;
	}
	return -1;
}

/* Answers the lookup of name in dir, resolved (rc) to canon and view, at
 * path (the names below the function). */
static void mfs_lookup_reply(fuse_req_t req, struct mfs *fs,
			     struct mfs_node *dir, const char *name, int rc,
			     const char *canon, const char *path,
			     enum mfs_view view)
{
	char vbuf[REG_VERSION_BUF];
	const char *version = NULL;
	struct mfs_node *n;

	if (rc) {
		if (rc != -ENOENT && rc != -ENAMETOOLONG)
			log_warn("%s/%s: %s", reg_fn_name(dir->fn), name,
				 strerror(-rc));
		fuse_reply_err(req, rc == -ENAMETOOLONG ? ENOENT : -rc);
		return;
	}
	if (reg_fn_versioned(dir->fn))
		version = reg_fn_version_now(dir->fn, vbuf);
	pthread_mutex_lock(&fs->lock);
	n = mfs_node_lookup(fs->nodes, dir->fn, path, canon, version, view,
			    mfs_size_in_advance(fs, dir->fn, view));
	pthread_mutex_unlock(&fs->lock);
	if (!n) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	if (n->kind == MFS_RESULT && n->size < 0 &&
	    mfs_probe(fs, n, NULL) == -ENOENT &&
	    mfs_attrs_must_wait(fs, n)) {
		mfs_defer(fs, req, n, MFS_WAIT_LOOKUP, 0, 0);
		return;
	}
	mfs_note_created(fs, n);
	mfs_reply_entry(req, n);
}

/* A lookup that must digest a large file, on fs->digests. */
struct mfs_lookup_job {
	struct mfs *fs;
	fuse_req_t req;
	struct mfs_node *dir;		/* held (mfs_node_hold()) */
	char name[];
};

static void mfs_lookup_job_run(void *arg)
{
	struct mfs_lookup_job *j = arg;
	char canon[REG_ARG_MAX + 1], path[RESOLVE_PATH_MAX + 1];
	enum mfs_view view = MFS_VIEW_TEXT;
	int rc = -ESHUTDOWN;

	if (!j->fs->stopping)
		rc = mfs_resolve(j->fs, j->dir, j->name, 0, canon, path, &view);
	mfs_lookup_reply(j->req, j->fs, j->dir, j->name, rc, canon, path,
			 view);
	if (j->dir->kind == MFS_ARGDIR) {
		pthread_mutex_lock(&j->fs->lock);
		mfs_node_release(j->fs->nodes, j->dir);
		pthread_mutex_unlock(&j->fs->lock);
	}
	free(j);
}

/* Hands the lookup to fs->digests.  Returns 0 (the job replies), or a
 * negative errno (the caller still has to). */
static int mfs_lookup_defer(fuse_req_t req, struct mfs *fs,
			    struct mfs_node *dir, const char *name)
{
	size_t len = strlen(name) + 1;
	struct mfs_lookup_job *j = malloc(sizeof(*j) + len);
	int rc;

	if (!j)
		return -ENOMEM;
	*j = (struct mfs_lookup_job){ .fs = fs, .req = req, .dir = dir };
	memcpy(j->name, name, len);
	if (dir->kind == MFS_ARGDIR) {	/* a function's directory lives on */
		pthread_mutex_lock(&fs->lock);
		mfs_node_hold(dir);
		pthread_mutex_unlock(&fs->lock);
	}
	rc = pool_submit(fs->digests, mfs_lookup_job_run, j);
	if (rc && dir->kind == MFS_ARGDIR) {
		pthread_mutex_lock(&fs->lock);
		mfs_node_release(fs->nodes, dir);
		pthread_mutex_unlock(&fs->lock);
	}
	if (rc)
		free(j);
	return rc;
}

/* A lookup in a function's directory or an argument directory: the
 * next level.  One that needs to read a large file (a file argument
 * whose digest is not known) goes to fs->digests, so that digests never
 * hold the threads that serve cached results. */
static void mfs_lookup_result(fuse_req_t req, struct mfs *fs,
			      struct mfs_node *dir, const char *name)
{
	char canon[REG_ARG_MAX + 1], path[RESOLVE_PATH_MAX + 1];
	enum mfs_view view;
	int rc = mfs_resolve(fs, dir, name, 1, canon, path, &view);

	if (rc == -EWOULDBLOCK) {
		if (mfs_lookup_defer(req, fs, dir, name) == 0)
			return;
		rc = mfs_resolve(fs, dir, name, 0, canon, path, &view);
	}
	mfs_lookup_reply(req, fs, dir, name, rc, canon, path, view);
}

static void mfs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct mfs *fs = mfs_of(req);
	struct mfs_node *dir = mfs_node_get(fs->nodes, parent);
	const reg_fn *fn;

	if (mfs_ctl_owns(fs, parent)) {
		mfs_ctl_lookup(req, fs, parent, name);
		return;
	}
	switch (dir->kind) {
	case MFS_ROOT:
		if (strcmp(name, MFS_CTL_DIR) == 0) {
			mfs_ctl_lookup_root(req, fs);
			return;
		}
		fn = reg_find(fs->r, name);
		if (!fn)
			fuse_reply_err(req, ENOENT);
		else
			mfs_reply_entry(req, mfs_node_fndir_of(fs->nodes, fn));
		return;
	case MFS_FNDIR:
	case MFS_ARGDIR:
		mfs_lookup_result(req, fs, dir, name);
		return;
	case MFS_RESULT:
		fuse_reply_err(req, ENOTDIR);
		return;
	}
}

static void mfs_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	struct mfs *fs = mfs_of(req);

	pthread_mutex_lock(&fs->lock);
	mfs_node_forget(fs->nodes, mfs_node_get(fs->nodes, ino), nlookup);
	pthread_mutex_unlock(&fs->lock);
	fuse_reply_none(req);
}

static void mfs_forget_multi(fuse_req_t req, size_t count,
			     struct fuse_forget_data *forgets)
{
	struct mfs *fs = mfs_of(req);

	pthread_mutex_lock(&fs->lock);
	for (size_t i = 0; i < count; i++)
		mfs_node_forget(fs->nodes,
				mfs_node_get(fs->nodes, forgets[i].ino),
				forgets[i].nlookup);
	pthread_mutex_unlock(&fs->lock);
	fuse_reply_none(req);
}

/* Is /proc/PID/fdinfo/FD (dir is /proc/PID/fdinfo) a reader of inode
 * ino: that inode, opened for reading?  An O_PATH descriptor is not: it
 * needs no read permission (only search of the directories), and reads
 * nothing, so its fstat() is a stat and computes nothing.  Without this,
 * open(O_PATH) and fstat() computed a result, even for a user whom
 * -o umask forbids reading it (test_attack_access.py::
 * test_o_path_fstat_computes_nothing).  fdinfo gives "flags:" in octal
 * before "ino:" (the kernel's seq_show() in fs/proc/fd.c). */
static int mfs_fdinfo_is(int dir, const char *fd, uint32_t ino)
{
	char line[128];
	unsigned long long v;
	unsigned int flags;
	int hit = 0, o_path = 0, fdi = openat(dir, fd, O_RDONLY | O_CLOEXEC);
	FILE *f = fdi >= 0 ? fdopen(fdi, "r") : NULL;

	if (!f) {
		if (fdi >= 0)
			close(fdi);
		return 0;
	}
	while (!hit && !o_path && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "flags: %o", &flags) == 1)
			o_path = (flags & O_PATH) != 0;
		hit = sscanf(line, "ino: %llu", &v) == 1 && v == ino;
	}
	fclose(f);
	return hit && !o_path;
}

/* Has the process that sent req (its thread id) node open?  Its fds whose
 * target path ends in /FUNCTION/NAME are checked by inode number in
 * fdinfo; nothing here sends a request to memofs.  A process whose /proc
 * memofs may not read (another user's, unless memofs runs as root), or
 * one in another pid namespace (pid 0), counts as not having it open.
 * Every getattr without a handle of a result not computed yet pays for
 * this scan (with allow_other, the one the kernel sends to check
 * permissions during open() included: default_permissions, attributes
 * that expire at once), so it makes few system calls: fdinfo is opened
 * only for a matching link, and "." and ".." are not read (measured: 37
 * us p50 per getattr before, on a 4-fd reader of the 2-CPU VM under
 * load; see README, Performance). */
static int mfs_opened_by(fuse_req_t req, const struct mfs_node *node)
{
	pid_t pid = fuse_req_ctx(req)->pid;
	char path[64], link[PATH_MAX];
	char tail[REG_NAME_MAX + RESOLVE_PATH_MAX + 3];
	const char *fn = reg_fn_name(node->fn);
	size_t tlen;
	int hit = 0, fdinfo = -1;
	struct dirent *e;
	DIR *d;

	if (pid <= 0 || pid == getpid())
		return 0;
	tlen = (size_t)snprintf(tail, sizeof(tail), "/%s/%s", fn, node->name);
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (!d)
		return 0;
	while (!hit && (e = readdir(d))) {
		ssize_t len;

		if (e->d_name[0] == '.')
			continue;
		len = readlinkat(dirfd(d), e->d_name, link, sizeof(link));
		if (len < (ssize_t)tlen || (size_t)len >= sizeof(link) ||
		    memcmp(link + len - tlen, tail, tlen) != 0)
			continue;
		if (fdinfo < 0) {
			snprintf(path, sizeof(path), "/proc/%d/fdinfo",
				 (int)pid);
			fdinfo = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (fdinfo < 0)
				break;
		}
		hit = mfs_fdinfo_is(fdinfo, e->d_name, node->number);
	}
	if (fdinfo >= 0)
		close(fdinfo);
	closedir(d);
	return hit;
}

/* A result's attributes.  A getattr with a file handle (the one the
 * kernel sends before a read()) computes; one without (stat, ls, and
 * fstat too: the kernel sends no handle for it) computes only when the
 * sender has the file open, or with -o stat=compute. */
static void mfs_getattr_result(fuse_req_t req, struct mfs *fs,
			       struct mfs_node *n, int computes)
{
	enum mfs_wait_kind kind = MFS_WAIT_GETATTR;
	memo_result *res = NULL;
	struct stat st;
	int rc = 0;

	if (computes && !n->pushed && !mfs_node_current(n)) {
		/* The computation this thread's fstat started may have
		 * failed because the version moved: that failure first. */
		fuse_reply_err(req, mfs_failure(fs, n, req, 1) ? EIO : ESTALE);
		return;
	}
	if (n->size < 0 || (computes && !n->pushed))
		rc = mfs_probe(fs, n, computes ? &res : NULL);
	else
		mfs_note_created(fs, n);
	if (rc == -ENOENT && !computes) {
		kind = MFS_WAIT_STAT;
		computes = fs->stat_compute || mfs_opened_by(req, n);
	}
	if (rc == -ENOENT && !computes && mfs_attrs_must_wait(fs, n)) {
		mfs_defer(fs, req, n, MFS_WAIT_ATTR, 0, 0);
		return;
	}
	if (rc == -ENOENT && computes &&
	    mfs_failure(fs, n, req, kind == MFS_WAIT_GETATTR))
		rc = -EIO;
	if (rc == -ENOENT && computes) {
		mfs_defer(fs, req, n, kind, 0, 0);
		return;
	}
	if (rc && rc != -ENOENT) {
		fuse_reply_err(req, -rc);
		return;
	}
	if (res) {
		mfs_settle(fs, n, res, NULL, 0);
		memo_result_unref(res);
	}
	mfs_fill_attr(fs, n, &st);
	fuse_reply_attr(req, &st, mfs_attr_timeout(n));
}

static void mfs_getattr(fuse_req_t req, fuse_ino_t ino,
			struct fuse_file_info *fi)
{
	struct mfs *fs = mfs_of(req);
	struct mfs_node *n = mfs_node_get(fs->nodes, ino);
	struct stat st;

	if (mfs_ctl_owns(fs, ino)) {
		mfs_ctl_getattr(req, fs, ino);
		return;
	}
	if (n->kind == MFS_RESULT) {
		mfs_getattr_result(req, fs, n, fi != NULL);
		return;
	}
	mfs_fill_attr(fs, n, &st);
	fuse_reply_attr(req, &st, mfs_files_dir_attr(fs, n, &st));
}

/* ---- reading ------------------------------------------------------------ */

static void mfs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	struct mfs *fs = mfs_of(req);
	struct mfs_node *n = mfs_node_get(fs->nodes, ino);
	memo_result *res;
	int rc;

	if (mfs_ctl_owns(fs, ino)) {
		mfs_ctl_read(req, fs, ino, size, off);
		return;
	}
	if (n->kind != MFS_RESULT) {
		fuse_reply_err(req, EISDIR);
		return;
	}
	memo_note_read(fs->m, n->fn);
	if (off < 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	if (!mfs_node_current(n)) {
		fuse_reply_err(req, mfs_failure(fs, n, req, 1) ? EIO : ESTALE);
		return;
	}
	rc = mfs_lookup_view(fs, n, &res);
	if (rc == -ENOENT && mfs_failure(fs, n, req, 1))
		rc = -EIO;
	if (rc == -ENOENT) {
		mfs_defer(fs, req, n, MFS_WAIT_READ, size, off);
		return;
	}
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	/* Computed, but maybe not settled yet: the worker that finished it
	 * may still be on its way to mfs_settle_and_read(), or its view was
	 * made for another node (the .npy and the text share a result).  The
	 * kernel may then hold the placeholder size, which a reader that sent
	 * no getattr (sendfile, splice: they trust the size they have)
	 * would take for the end after this page: fix the size first.
	 * Without, a sendfile or splice copy opened before a twin name
	 * computed the result stopped at 4096 bytes (test_cold_requests.py::
	 * test_copy_of_a_name_whose_twin_was_computed), and a sendfile copy
	 * of a 13.7 MB text view racing its computation did so once in four
	 * loaded runs of test_views_large.py. */
	if (!n->pushed) {
		struct mfs_range self = { .req = req, .off = (size_t)off,
					  .size = size };

		mfs_settle(fs, n, res, &self, 1);
	}
	mfs_reply_read(req, n, res, size, off);
	memo_result_unref(res);
}

/* Adds one entry; returns 0 when the buffer is full. */
static int mfs_dirent(fuse_req_t req, char *buf, size_t size, size_t *pos,
		      const char *name, mode_t mode, fuse_ino_t ino, off_t next)
{
	struct stat st = { .st_ino = ino, .st_mode = mode };
	size_t need = fuse_add_direntry(req, buf + *pos, size - *pos, name,
					&st, next);

	if (need > size - *pos)
		return 0;
	*pos += need;
	return 1;
}

/* The inode number of the listed dir/name: the one stat shows
 * (readdir must not create nodes the kernel will never forget, so it asks
 * the number only). */
static uint32_t mfs_listed_number(struct mfs *fs, const struct mfs_node *dir,
				  const char *name)
{
	char path[RESOLVE_PATH_MAX + 1];
	uint32_t number;
	int n = dir->depth ? snprintf(path, sizeof(path), "%s/%s", dir->name,
				      name)
			   : snprintf(path, sizeof(path), "%s", name);

	if (n < 0 || (size_t)n >= sizeof(path))
		return 0;	/* cannot happen: depth < RESOLVE_ARGS_MAX */
	pthread_mutex_lock(&fs->lock);
	number = mfs_node_number(fs->nodes, dir->fn, path);
	pthread_mutex_unlock(&fs->lock);
	return number;
}

/* Does dir list each name twice, NAME and NAME.npy (the last level of a
 * typed function)? */
static int mfs_lists_npy(const struct mfs_node *dir)
{
	return reg_fn_dtype(dir->fn) != MEMOFS_BYTES &&
	       dir->depth + 1 == reg_fn_nargs(dir->fn);
}

/* The listed name at index i of dir, whose listing has each argument
 * NAME twice at the last level of a typed function, as NAME (even i) and
 * NAME.npy (odd i), into name; 0, or -ENOENT to skip it (NAME.npy too
 * long, or itself an argument, which the lookup gives the text of, or
 * NAME's result not typed: column of a text column). */
static int mfs_listing_name(struct mfs *fs, const struct mfs_node *dir,
			    const struct resolve_listing *l, size_t i,
			    char name[REG_NAME_MAX + 1])
{
	char canon[REG_ARG_MAX + 1];
	size_t len;
	int npy = mfs_lists_npy(dir);

	if (resolve_listing_name(l, npy ? i / 2 : i, name, REG_NAME_MAX + 1))
		return -ENOENT;
	if (!npy || i % 2 == 0)
		return 0;
	len = strlen(name);
	if (len + MFS_NPY_EXT_LEN > REG_NAME_MAX)
		return -ENOENT;
	if (mfs_resolve_one(fs, dir, name, 1, canon) == 0 &&
	    reg_fn_arg_dtype(fs->r, dir->fn, canon) == MEMOFS_BYTES)
		return -ENOENT;	/* a text column's: no .npy */
	memcpy(name + len, MFS_NPY_EXT, MFS_NPY_EXT_LEN + 1);
	if (mfs_resolve_one(fs, dir, name, 1, canon) == 0)
		return -ENOENT;
	return 0;
}

/* A function's or an argument directory: the names of its level,
 * through the resolver's listing, one way for every kind (offset = index
 * in the listing; the last level of a typed function lists each argument
 * NAME and NAME.npy, mfs_listing_name()); directories when more levels
 * follow.  A DATA
 * directory's files are listed afresh when read from offset 0 and the
 * later pieces come from that listing, so a listing costs one read of the
 * directory however many pieces the kernel asks for.  Files that come
 * and go meanwhile may be missed or seen twice, as on any directory that
 * changes while it is read. */
static void mfs_readdir_fn(fuse_req_t req, struct mfs *fs,
			   struct mfs_node *dir, size_t size, off_t off)
{
	char name[REG_NAME_MAX + 1];
	struct resolve_listing l;
	size_t pos = 0, count;
	char *buf = malloc(size);
	mode_t child = dir->depth + 1 < reg_fn_nargs(dir->fn) ? S_IFDIR
							      : S_IFREG;
	int rc = buf ? resolve_listing_get(fs->r, dir->fn, dir->depth,
					   off == 0, &l) : -ENOMEM;

	if (rc) {
		fuse_reply_err(req, -rc);
		free(buf);
		return;
	}
	count = resolve_listing_count(&l);
	if (mfs_lists_npy(dir))
		count *= 2;
	for (size_t i = (size_t)off; i < count + 2; i++) {
		const char *entry = i == 0 ? "." : i == 1 ? ".." : name;
		mode_t mode = i < 2 ? S_IFDIR : child;
		fuse_ino_t eino;

		if (i >= 2 && mfs_listing_name(fs, dir, &l, i - 2, name))
			continue;
		/* "..": the kernel answers it from its dentries and ignores
		 * the number; the root's is as good as any. */
		eino = i == 0 ? dir->number : i == 1 ? FUSE_ROOT_ID
			: mfs_listed_number(fs, dir, name);
		if (!mfs_dirent(req, buf, size, &pos, entry, mode, eino,
				(off_t)i + 1))
			break;
	}
	fuse_reply_buf(req, buf, pos);
	resolve_listing_release(&l);
	free(buf);
}

static void mfs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size,
			off_t off, struct fuse_file_info *fi)
{
	struct mfs *fs = mfs_of(req);
	struct mfs_node *dir = mfs_node_get(fs->nodes, ino);
	size_t pos = 0, count;
	char *buf;

	if (mfs_ctl_owns(fs, ino)) {
		mfs_ctl_readdir(req, fs, ino, size, off);
		return;
	}
	if (dir->kind == MFS_RESULT) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	if (dir->kind == MFS_FNDIR || dir->kind == MFS_ARGDIR) {
		mfs_readdir_fn(req, fs, dir, size, off);
		return;
	}
	buf = malloc(size);		/* the root: the functions */
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	count = reg_count(fs->r);
	for (size_t i = (size_t)off; i < count + 2; i++) {
		const char *entry;
		fuse_ino_t eino;

		if (i < 2) {
			entry = i == 0 ? "." : "..";
			eino = i == 0 ? dir->number : FUSE_ROOT_ID;
		} else {
			struct mfs_node *d = mfs_node_fndir(fs->nodes, i - 2);

			entry = reg_fn_name(d->fn);
			eino = d->number;
		}
		if (!mfs_dirent(req, buf, size, &pos, entry, S_IFDIR, eino,
				(off_t)i + 1))
			break;
	}
	fuse_reply_buf(req, buf, pos);
	free(buf);
}

/* ---- extended attributes (mfs_xattr.c) ---------------------------------- */

static void mfs_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			 size_t size)
{
	struct mfs *fs = mfs_of(req);

	if (mfs_ctl_owns(fs, ino))
		fuse_reply_err(req, ENODATA);
	else
		mfs_xattr_get(req, fs, mfs_node_get(fs->nodes, ino), name,
			      size);
}

static void mfs_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct mfs *fs = mfs_of(req);

	/* A control file has no attributes: an empty list, as a size to a
	 * probe (size 0) and as no bytes to a caller with a buffer. */
	if (mfs_ctl_owns(fs, ino) && size == 0)
		fuse_reply_xattr(req, 0);
	else if (mfs_ctl_owns(fs, ino))
		fuse_reply_buf(req, NULL, 0);
	else
		mfs_xattr_list(req, fs, mfs_node_get(fs->nodes, ino), size);
}

/* `memofs clear` (mfs_ctl.h); no other ioctl. */
static void mfs_ioctl(fuse_req_t req, fuse_ino_t ino, int cmd, void *arg,
		      struct fuse_file_info *fi, unsigned flags,
		      const void *in_buf, size_t in_bufsz, size_t out_bufsz)
{
	struct mfs *fs = mfs_of(req);

	if (mfs_ctl_owns(fs, ino))
		mfs_ctl_ioctl(req, fs, ino, (unsigned int)cmd, in_buf,
			      in_bufsz);
	else
		fuse_reply_err(req, ENOTTY);
}

/* ---- the rest ----------------------------------------------------------- */

static void mfs_init(void *userdata, struct fuse_conn_info *conn)
{
	struct mfs *fs = userdata;

	if (conn->capable & FUSE_CAP_AUTO_INVAL_DATA)
		conn->want |= FUSE_CAP_AUTO_INVAL_DATA;
	/* Without it the kernel serializes the lookups of one directory
	 * (fuse_lock_inode()), so a lookup that digests a large file on
	 * fs->digests holds back every other new name of that function's
	 * directory (measured: a cat of a small file waited 12 s behind a
	 * stat of a 20 GB sparse one).  libfuse 3.14.0 never passes this
	 * flag to the kernel whatever want says (the INIT reply's flags here
	 * are 0x40409029, bit 18 clear; fixed upstream by "Pass
	 * FUSE_PARALLEL_DIROPS to kernel (#861)"), so it takes effect from
	 * libfuse 3.15 on; README, "Invalidation", says what that means. */
	if (conn->capable & FUSE_CAP_PARALLEL_DIROPS)
		conn->want |= FUSE_CAP_PARALLEL_DIROPS;
	/* The kernel keeps min(the mount's readahead, this): see
	 * mfs_readahead_raise(), which raised the former. */
	if (fs->readahead_kb)
		conn->max_readahead = fs->readahead_kb * 1024;
	fs->no_open = (conn->capable & FUSE_CAP_NO_OPEN_SUPPORT) != 0;
	fs->no_opendir = (conn->capable & FUSE_CAP_NO_OPENDIR_SUPPORT) != 0;
	conn->want &= ~FUSE_CAP_EXPLICIT_INVAL_DATA;
}

static void mfs_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs sv;

	memset(&sv, 0, sizeof(sv));
	sv.f_bsize = 4096;
	sv.f_frsize = 4096;
	sv.f_namemax = REG_NAME_MAX;
	sv.f_flag = ST_RDONLY;
	fuse_reply_statfs(req, &sv);
}

/* ENOSYS tells a kernel that supports it to stop sending open for good,
 * and to keep a file's pages across opens (see the top of this file).
 * Older kernels get a plain open that keeps the cache. */
static void mfs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	if ((fi->flags & O_ACCMODE) != O_RDONLY) {
		fuse_reply_err(req, EROFS);
	} else if (mfs_of(req)->no_open) {
		fuse_reply_err(req, ENOSYS);
	} else {
		fi->keep_cache = 1;
		fuse_reply_open(req, fi);
	}
}

static void mfs_opendir(fuse_req_t req, fuse_ino_t ino,
			struct fuse_file_info *fi)
{
	if (mfs_of(req)->no_opendir)
		fuse_reply_err(req, ENOSYS);
	else
		fuse_reply_open(req, fi);
}

/* access(2) and chdir(2), which the kernel asks only without
 * default_permissions (no allow_other: the caller is the mounting user,
 * who may read everything, see mfs_fuse_optlist()).  The answer is
 * what the caller can then do: write never (EROFS, as the kernel says
 * for a read-only mount), read always, search a directory always,
 * execute a result only if its mode has an execute bit (-o umask), as
 * exec() itself checks. */
static void mfs_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
	struct mfs *fs = mfs_of(req);
	int dir, err = 0;

	if (mfs_ctl_owns(fs, ino))
		dir = mfs_ctl_is_dir(fs, ino);
	else
		dir = mfs_node_get(fs->nodes, ino)->kind != MFS_RESULT;
	if (mask & W_OK)
		err = EROFS;
	else if ((mask & X_OK) && !dir && !(fs->file_mode & 0111))
		err = EACCES;
	fuse_reply_err(req, err);
}

/* Every change to the tree: memofs is read-only. */
static void mfs_erofs(fuse_req_t req)
{
	fuse_reply_err(req, EROFS);
}

static void mfs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
			int to_set, struct fuse_file_info *fi)
{
	mfs_erofs(req);
}

static void mfs_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		      mode_t mode, dev_t rdev)
{
	mfs_erofs(req);
}

static void mfs_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		      mode_t mode)
{
	mfs_erofs(req);
}

static void mfs_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	mfs_erofs(req);
}

static void mfs_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
			const char *name)
{
	mfs_erofs(req);
}

static void mfs_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		       fuse_ino_t newparent, const char *newname,
		       unsigned int flags)
{
	mfs_erofs(req);
}

static void mfs_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		     const char *newname)
{
	mfs_erofs(req);
}

static void mfs_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
		      size_t size, off_t off, struct fuse_file_info *fi)
{
	mfs_erofs(req);
}

static void mfs_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			 const char *value, size_t size, int flags)
{
	mfs_erofs(req);
}

static void mfs_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	mfs_erofs(req);
}

static void mfs_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		       mode_t mode, struct fuse_file_info *fi)
{
	mfs_erofs(req);
}

const struct fuse_lowlevel_ops mfs_ops = {
	.init = mfs_init,
	.lookup = mfs_lookup,
	.forget = mfs_forget,
	.forget_multi = mfs_forget_multi,
	.getattr = mfs_getattr,
	.access = mfs_access,
	.open = mfs_open,
	.opendir = mfs_opendir,
	.read = mfs_read,
	.readdir = mfs_readdir,
	.getxattr = mfs_getxattr,
	.ioctl = mfs_ioctl,
	.listxattr = mfs_listxattr,
	.statfs = mfs_statfs,
	.setattr = mfs_setattr,
	.mknod = mfs_mknod,
	.mkdir = mfs_mkdir,
	.unlink = mfs_unlink,
	.rmdir = mfs_unlink,
	.symlink = mfs_symlink,
	.rename = mfs_rename,
	.link = mfs_link,
	.write = mfs_write,
	.setxattr = mfs_setxattr,
	.removexattr = mfs_removexattr,
	.create = mfs_create,
	/* release, releasedir, flush: not implemented on purpose; with
	 * zero-message opens the kernel does not send them. */
};
