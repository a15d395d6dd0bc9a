/* argdir.c -- a directory given as DATA (see argdir.h).
 *
 * Files are always reached relative to the directory's descriptor, one
 * component at a time, without following symbolic links, opened without
 * blocking and fstat()ed through the open descriptor, so an argument can
 * neither leave the directory nor block on a FIFO, and what is digested
 * is what was checked.  A command gets the descriptor memofs digested
 * (argdir_open_arg()), never the name again.
 *
 * The digest cache is a fixed array of hash chains, protected by d->lock.
 * The lock is never held while a file is read: two threads may digest the
 * same file at once, and the later one's entry wins (both are right).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "functions/argdir.h"
#include "functions/reg.h"
#include "util/clock.h"
#include "util/file.h"
#include "util/mem.h"

#define ARGDIR_BUCKETS 1024
#define ARGDIR_DIGEST_TRIES 3
#define ARGDIR_HARDLINKS_SYSCTL "/proc/sys/fs/protected_hardlinks"	/* a file that keeps changing while read */

struct argdir_entry {
	char *name;
	struct util_file_ident id;
	char hex[ARGDIR_HEX_LEN + 1];
	struct argdir_entry *next;		/* hash chain */
};

struct argdir_listing {
	char **names;			/* argdir_list()'s one allocation */
	size_t n;
	unsigned refs;			/* protected by the argdir's lock */
};

struct argdir {
	char *path;			/* absolute */
	int fd;				/* the directory, O_RDONLY */
	int hardlinks_protected;	/* fs.protected_hardlinks was 1 */
	pthread_mutex_t lock;
	struct argdir_entry *buckets[ARGDIR_BUCKETS];	/* protected by lock */
	struct argdir_listing *last;	/* protected by lock, or NULL */
};

/* Does the kernel refuse a hard link to a file its maker may not read
 * (the sysctl fs.protected_hardlinks, 1 by default on Debian)? */
static int argdir_hardlinks_protected(void)
{
	char c = 0;
	int fd = open(ARGDIR_HARDLINKS_SYSCTL, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	if (read(fd, &c, 1) != 1)
		c = 0;
	close(fd);
	return c == '1';
}

int argdir_open(const char *path, argdir **out, char *err, size_t errlen)
{
	char abs[PATH_MAX];
	argdir *d;
	int rc;

	if (!realpath(path, abs)) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		return rc;
	}
	d = calloc(1, sizeof(*d));
	if (!d || !(d->path = strdup(abs))) {
		free(d);
		snprintf(err, errlen, "%s: %s", path, strerror(ENOMEM));
		return -ENOMEM;
	}
	d->fd = open(abs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d->fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		free(d->path);
		free(d);
		return rc;
	}
	d->hardlinks_protected = argdir_hardlinks_protected();
	pthread_mutex_init(&d->lock, NULL);
	*out = d;
	return 0;
}

void argdir_free(argdir *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < ARGDIR_BUCKETS; i++) {
		struct argdir_entry *e = d->buckets[i], *next;

		for (; e; e = next) {
			next = e->next;
			free(e->name);
			free(e);
		}
	}
	if (d->last)
		argdir_listing_release(d, d->last);
	pthread_mutex_destroy(&d->lock);
	close(d->fd);
	free(d->path);
	free(d);
}

const char *argdir_path(const argdir *d)
{
	return d->path;
}

int argdir_stat(const argdir *d, struct stat *out)
{
	return fstat(d->fd, out) == 0 ? 0 : -errno;
}

/* ---- identities and digests --------------------------------------------- */

/* XXH3-128 of what fd holds, read from the start, as hex. */
static int argdir_hash_fd(int fd, char hex[ARGDIR_HEX_LEN + 1])
{
	XXH3_state_t *st = XXH3_createState();
	XXH128_canonical_t c;
	int rc;

	if (!st)
		return -ENOMEM;
	XXH3_128bits_reset(st);
	rc = util_file_hash(fd, st, UTIL_HASH_128);
	if (rc == 0) {
		XXH128_canonicalFromHash(&c, XXH3_128bits_digest(st));
		for (int i = 0; i < 16; i++)
			snprintf(hex + 2 * i, 3, "%02x", c.digest[i]);
	}
	XXH3_freeState(st);
	return rc;
}

/* Digests the regular file fd; *id is its identity, unchanged from before
 * the read to after it.  -EAGAIN when it kept changing. */
static int argdir_digest(int fd, struct util_file_ident *id,
		      char hex[ARGDIR_HEX_LEN + 1])
{
	struct util_file_ident after;
	struct stat st;

	for (int i = 0; i < ARGDIR_DIGEST_TRIES; i++) {
		int rc;

		if (fstat(fd, &st) != 0)
			return -errno;
		if (!S_ISREG(st.st_mode))
			return -ENOENT;
		util_file_ident_of(&st, id);
		rc = argdir_hash_fd(fd, hex);
		if (rc)
			return rc;
		if (fstat(fd, &st) != 0)
			return -errno;
		util_file_ident_of(&st, &after);
		if (util_file_ident_eq(id, &after))
			return 0;
	}
	return -EAGAIN;
}

/* ---- the digest cache ---------------------------------------------------- */

static size_t argdir_bucket(const char *name)
{
	return (size_t)(XXH3_64bits(name, strlen(name)) % ARGDIR_BUCKETS);
}

/* Caller holds d->lock. */
static struct argdir_entry *argdir_cache_find(argdir *d, const char *name)
{
	struct argdir_entry *e = d->buckets[argdir_bucket(name)];

	while (e && strcmp(e->name, name) != 0)
		e = e->next;
	return e;
}

/* Copies the cached digest of name into hex if it is for identity id. */
static int argdir_cache_get(argdir *d, const char *name,
			    const struct util_file_ident *id,
			    char hex[ARGDIR_HEX_LEN + 1])
{
	struct argdir_entry *e;
	int hit = 0;

	pthread_mutex_lock(&d->lock);
	e = argdir_cache_find(d, name);
	if (e && util_file_ident_eq(&e->id, id)) {
		memcpy(hex, e->hex, ARGDIR_HEX_LEN + 1);
		hit = 1;
	}
	pthread_mutex_unlock(&d->lock);
	return hit;
}

/* Remembers name's digest (best effort: without memory, it is not). */
static void argdir_cache_put(argdir *d, const char *name,
			     const struct util_file_ident *id,
			     const char hex[ARGDIR_HEX_LEN + 1])
{
	struct argdir_entry *e;

	pthread_mutex_lock(&d->lock);
	e = argdir_cache_find(d, name);
	if (!e && (e = calloc(1, sizeof(*e))) != NULL) {
		e->name = strdup(name);
		if (!e->name) {
			free(e);
			e = NULL;
		} else {
			size_t b = argdir_bucket(name);

			e->next = d->buckets[b];
			d->buckets[b] = e;
		}
	}
	if (e) {
		e->id = *id;
		memcpy(e->hex, hex, ARGDIR_HEX_LEN + 1);
	}
	pthread_mutex_unlock(&d->lock);
}

/* ---- arguments ----------------------------------------------------------- */

/* May the regular file st be an argument?  A file with several links may
 * be a link an attacker made to a file only memofs can read, unless the
 * kernel refuses such links (fs.protected_hardlinks = 1). */
static int argdir_admits(const argdir *d, const struct stat *st)
{
	return S_ISREG(st->st_mode) &&
	       (st->st_nlink <= 1 || d->hardlinks_protected);
}

/* The digest of the open file fd (the argument name), from the cache when
 * its identity is unchanged and settled.  -ENOENT when it is not a
 * regular file that may be an argument. */
static int argdir_fd_hex(argdir *d, const char *name, int fd,
			 char hex[ARGDIR_HEX_LEN + 1])
{
	struct util_file_ident id;
	struct timespec now;
	struct stat st;
	int rc;

	if (fstat(fd, &st) != 0)
		return -errno;
	if (!argdir_admits(d, &st))
		return -ENOENT;
	util_file_ident_of(&st, &id);
	if (argdir_cache_get(d, name, &id, hex))
		return 0;
	clock_gettime(CLOCK_REALTIME, &now);
	rc = argdir_digest(fd, &id, hex);
	if (rc == 0 && util_file_ident_settled(&id, util_ts_ns(now), ARGDIR_RACY_NS))
		argdir_cache_put(d, name, &id, hex);
	return rc;
}

/* Opens the argument name without following a symbolic link and without
 * blocking (a FIFO swapped in opens at once; fstat() then refuses it).
 * Returns the descriptor, or a negative errno (-ENOENT for anything that
 * is not an argument). */
static int argdir_open_name(argdir *d, const char *name)
{
	int fd;

	if (!reg_valid_component(name))
		return -ENOENT;
	fd = openat(d->fd, name,
		    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return errno == ELOOP || errno == ENXIO || errno == ENOTDIR ||
		       errno == ENAMETOOLONG ? -ENOENT : -errno;
	return fd;
}

/* The digest of the argument name.  The name is stat()ed first, so that
 * a cached digest costs no open and nothing but a regular file is ever
 * opened unless it is swapped in between (it is then refused).  With
 * quick, a file larger than ARGDIR_QUICK_MAX whose digest is not cached
 * is not read: -EWOULDBLOCK. */
static int argdir_file_hex(argdir *d, const char *name, int quick,
			   char hex[ARGDIR_HEX_LEN + 1])
{
	struct util_file_ident id;
	struct stat st;
	int fd, rc;

	if (!reg_valid_component(name))
		return -ENOENT;
	if (fstatat(d->fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return errno == ENOTDIR || errno == ELOOP ||
		       errno == ENAMETOOLONG ? -ENOENT : -errno;
	if (!argdir_admits(d, &st))
		return -ENOENT;
	util_file_ident_of(&st, &id);
	if (argdir_cache_get(d, name, &id, hex))
		return 0;
	if (quick && st.st_size > ARGDIR_QUICK_MAX)
		return -EWOULDBLOCK;
	fd = argdir_open_name(d, name);
	if (fd < 0)
		return fd;
	rc = argdir_fd_hex(d, name, fd, hex);
	close(fd);
	return rc;
}

static int argdir_canon(argdir *d, const char *name, int quick, char *canon,
			size_t canonlen)
{
	char hex[ARGDIR_HEX_LEN + 1];
	int rc = argdir_file_hex(d, name, quick, hex), n;

	if (rc)
		return rc;
	n = snprintf(canon, canonlen, "%s/%s", name, hex);
	return (n < 0 || (size_t)n >= canonlen) ? -ENAMETOOLONG : 0;
}

int argdir_resolve(argdir *d, const char *name, char *canon, size_t canonlen)
{
	return argdir_canon(d, name, 0, canon, canonlen);
}

int argdir_resolve_quick(argdir *d, const char *name, char *canon,
			 size_t canonlen)
{
	return argdir_canon(d, name, 1, canon, canonlen);
}

/* Splits canon into name (namelen bytes) and a pointer to its digest. */
static int argdir_split(const char *canon, char *name, size_t namelen,
			const char **hex)
{
	const char *slash = strrchr(canon, '/');
	size_t len;

	if (!slash || strlen(slash + 1) != ARGDIR_HEX_LEN)
		return -ENOENT;
	len = (size_t)(slash - canon);
	if (len + 1 > namelen)
		return -ENOENT;
	memcpy(name, canon, len);
	name[len] = '\0';
	*hex = slash + 1;
	return 0;
}

int argdir_check(argdir *d, const char *canon, char *name, size_t namelen)
{
	char hex[ARGDIR_HEX_LEN + 1];
	const char *want;
	int rc = argdir_split(canon, name, namelen, &want);

	if (rc == 0)
		rc = argdir_file_hex(d, name, 0, hex);
	if (rc)
		return rc;
	return strcmp(hex, want) == 0 ? 0 : -ESTALE;
}

int argdir_open_arg(argdir *d, const char *canon, char *name, size_t namelen,
		    int *fd)
{
	const char *want;
	int rc = argdir_split(canon, name, namelen, &want);

	*fd = -1;
	if (rc)
		return rc;
	*fd = argdir_open_name(d, name);
	if (*fd < 0) {
		rc = *fd;
		*fd = -1;
		return rc;
	}
	rc = argdir_check_fd(d, name, *fd, canon);
	if (rc) {
		close(*fd);
		*fd = -1;
	}
	return rc;
}

int argdir_check_fd(argdir *d, const char *name, int fd, const char *canon)
{
	char hex[ARGDIR_HEX_LEN + 1];
	const char *slash = strrchr(canon, '/');
	int rc;

	if (!slash)
		return -ENOENT;
	rc = argdir_fd_hex(d, name, fd, hex);
	if (rc)
		return rc;
	return strcmp(hex, slash + 1) == 0 ? 0 : -ESTALE;
}

/* ---- listing ------------------------------------------------------------- */

struct argdir_names {
	char **v;
	size_t n, cap;
	size_t bytes;		/* string bytes, NULs included */
};

static int argdir_names_add(struct argdir_names *l, const char *name)
{
	if (util_grow(&l->v, &l->cap, l->n + 1, sizeof(*l->v), 64) != 0)
		return -ENOMEM;
	l->v[l->n] = strdup(name);
	if (!l->v[l->n])
		return -ENOMEM;
	l->bytes += strlen(name) + 1;
	l->n++;
	return 0;
}

static void argdir_names_clear(struct argdir_names *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

/* Is the entry e of the directory a regular file (not a link)? */
static int argdir_is_regular(int dfd, const struct dirent *e)
{
	struct stat st;

	if (e->d_type != DT_UNKNOWN)
		return e->d_type == DT_REG;
	return fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	       S_ISREG(st.st_mode);
}

static int argdir_read_names(argdir *d, struct argdir_names *l)
{
	int fd = openat(d->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *e;
	DIR *list;
	int rc = 0;

	if (fd < 0)
		return -errno;
	list = fdopendir(fd);
	if (!list) {
		rc = -errno;
		close(fd);
		return rc;
	}
	errno = 0;
	while (rc == 0 && (e = readdir(list)) != NULL) {
		if (reg_valid_component(e->d_name) &&
		    argdir_is_regular(dirfd(list), e))
			rc = argdir_names_add(l, e->d_name);
		errno = 0;
	}
	if (rc == 0 && errno)
		rc = -errno;
	closedir(list);
	return rc;
}

static int argdir_cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Packs l into one allocation: the array, then the strings. */
static char **argdir_names_pack(const struct argdir_names *l)
{
	char **out = malloc((l->n + 1) * sizeof(*out) + l->bytes);
	char *p;

	if (!out)
		return NULL;
	p = (char *)(out + l->n + 1);
	for (size_t i = 0; i < l->n; i++) {
		size_t len = strlen(l->v[i]) + 1;

		memcpy(p, l->v[i], len);
		out[i] = p;
		p += len;
	}
	out[l->n] = NULL;
	return out;
}

int argdir_list(argdir *d, char ***names, size_t *n)
{
	struct argdir_names l = { 0 };
	int rc = argdir_read_names(d, &l);

	if (rc == 0) {
		qsort(l.v, l.n, sizeof(*l.v), argdir_cmp_names);
		*names = argdir_names_pack(&l);
		if (*names)
			*n = l.n;
		else
			rc = -ENOMEM;
	}
	argdir_names_clear(&l);
	return rc;
}

/* ---- listings ------------------------------------------------------------ */

static int argdir_listing_new(argdir *d, argdir_listing **out)
{
	argdir_listing *l = calloc(1, sizeof(*l));
	int rc;

	if (!l)
		return -ENOMEM;
	rc = argdir_list(d, &l->names, &l->n);
	if (rc) {
		free(l);
		return rc;
	}
	l->refs = 1;
	*out = l;
	return 0;
}

int argdir_listing_get(argdir *d, int fresh, argdir_listing **out)
{
	argdir_listing *l = NULL, *old;
	int rc;

	if (!fresh) {
		pthread_mutex_lock(&d->lock);
		l = d->last;
		if (l)
			l->refs++;
		pthread_mutex_unlock(&d->lock);
		if (l) {
			*out = l;
			return 0;
		}
	}
	rc = argdir_listing_new(d, &l);
	if (rc)
		return rc;
	pthread_mutex_lock(&d->lock);
	old = d->last;
	d->last = l;
	l->refs++;		/* the caller's */
	pthread_mutex_unlock(&d->lock);
	if (old)
		argdir_listing_release(d, old);
	*out = l;
	return 0;
}

size_t argdir_listing_count(const argdir_listing *l)
{
	return l->n;
}

const char *argdir_listing_name(const argdir_listing *l, size_t i)
{
	return i < l->n ? l->names[i] : NULL;
}

void argdir_listing_release(argdir *d, argdir_listing *l)
{
	unsigned refs;

	pthread_mutex_lock(&d->lock);
	refs = --l->refs;
	pthread_mutex_unlock(&d->lock);
	if (refs == 0) {
		free(l->names);
		free(l);
	}
}
