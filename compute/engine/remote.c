/* remote.c -- the remote tier on Redis, through hiredis (see remote.h).
 *
 * Redis keys, for the 16-byte content key K (32 hex digits) under the
 * prefix P:
 *   P:v:K   the record (store_rec_encode()), a string
 *   P:l:K   the lease: a string, this lease's token, with an expiry
 *   P:n:K   the channel remote_finish() publishes on
 *
 * Connections: commands run on blocking hiredis connections with
 * SO_RCVTIMEO/SO_SNDTIMEO of remote_timeout, taken from a small pool of
 * idle ones (at most REMOTE_IDLE_MAX); one that failed is closed.  A
 * waiter subscribes on a connection of its own (a subscribed connection
 * runs no other command) and sleeps in poll(2) on it and on the cancel
 * pipe: no polling of Redis.
 *
 * Down: the first failed call logs one warning and marks the tier down;
 * while down, calls fail at once for REMOTE_RETRY_MS, then one connection
 * is tried; its success logs one line and ends the outage.  The idle
 * connections are closed when the tier goes down (after a restart of
 * Redis every one of them is dead).
 *
 * Lock: rm->lock protects the fields marked so; it is a leaf, never held
 * across a Redis call, a log line or an allocation of a reply.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "engine/remote.h"
#include "engine/store.h"
#include "util/clock.h"
#include "util/log.h"

#define REMOTE_IDLE_MAX 16
/* "P:v:" + 32 hex digits + NUL */
#define REMOTE_NAME_MAX (REMOTE_PREFIX_MAX + 3 + 2 * KEY_LEN + 1)
#define REMOTE_WHERE_MAX (REMOTE_HOST_MAX + REMOTE_PATH_MAX + 32)
#define REMOTE_TOKEN_MAX 17	/* 16 hex digits + NUL */
/* A parked waiter looks again this long after the lease's expiry. */
#define REMOTE_EXPIRY_SLACK_MS 50

/* Renews a lease if it is still ours: KEYS[1] the lease, ARGV[1] the
 * token, ARGV[2] the expiry in ms.  1 if renewed, 0 if lost. */
static const char remote_lua_renew[] =
	"if redis.call('get',KEYS[1])==ARGV[1] then "
	"return redis.call('pexpire',KEYS[1],ARGV[2]) else return 0 end";
/* Deletes a lease if it is still ours.  1 if deleted, 0 if not ours. */
static const char remote_lua_release[] =
	"if redis.call('get',KEYS[1])==ARGV[1] then "
	"return redis.call('del',KEYS[1]) else return 0 end";

/* The value of a result too large for Redis (remote_max_value): whoever
 * finds it computes the result locally at once, instead of waiting for
 * a lease after the other (it is no record: store_rec_verify() would
 * refuse it). */
static const char remote_local_mark[] = "memofs: computed locally\n";

/* A parked waiter (remote_watch). */
struct remote_watch {
	uint8_t key[KEY_LEN];
	remote_wake_fn wake;
	void *arg;
	int64_t deadline;		/* util_now_ns(): look again then */
	struct remote_watch *next;
};

/* Which watches remote_fire() wakes. */
enum remote_fire_what { REMOTE_FIRE_KEY, REMOTE_FIRE_DUE, REMOTE_FIRE_ALL };

struct remote {
	struct remote_cfg cfg;		/* strings point to the copies below */
	char prefix[REMOTE_PREFIX_MAX + 1];
	char *password;			/* or NULL; wiped at close */
	unsigned char *key;		/* or NULL; wiped at close */
	EVP_MAC *hmac;			/* with key: OpenSSL's HMAC */
	char where[REMOTE_WHERE_MAX];	/* the URL, for log lines */
	struct timeval timeout;
	uint64_t token_base;		/* random: tokens differ by machine */
	int cancel_fd[2];		/* readable once remote_cancel() ran */
	int wake_fd[2];			/* pokes the listener (non-blocking) */
	pthread_t renewer;
	pthread_t listener;
	pthread_mutex_t lock;
	pthread_cond_t tick;		/* CLOCK_MONOTONIC: wakes the renewer */
	redisContext *idle[REMOTE_IDLE_MAX];	/* protected by lock */
	unsigned nidle;			/* protected by lock */
	int down;			/* protected by lock */
	int probing;			/* protected by lock: a thread tries
					 * to connect while down */
	uint64_t down_since;		/* protected by lock: util_now_ns() */
	int cancelled;			/* protected by lock */
	int closing;			/* protected by lock: renewer ends */
	uint64_t ntokens;		/* protected by lock */
	struct remote_claim *leases;	/* protected by lock: held, renewed */
	struct remote_watch *watches;	/* protected by lock: parked */
	int listening;			/* protected by lock: PSUBSCRIBE up */
	struct remote_stats stats;	/* protected by lock */
};

/* ---- names -------------------------------------------------------------- */

static void remote_name(const remote *rm, char kind, const uint8_t key[KEY_LEN],
			char name[REMOTE_NAME_MAX])
{
	char hex[2 * KEY_LEN + 1];

	key_hex(key, hex);
	snprintf(name, REMOTE_NAME_MAX, "%s:%c:%s", rm->prefix, kind, hex);
}

static void remote_token_text(uint64_t token, char text[REMOTE_TOKEN_MAX])
{
	snprintf(text, REMOTE_TOKEN_MAX, "%016" PRIx64, token);
}

static void remote_count(remote *rm, uint64_t *counter)
{
	pthread_mutex_lock(&rm->lock);
	(*counter)++;
	pthread_mutex_unlock(&rm->lock);
}

/* ---- connections -------------------------------------------------------- */

/* Marks the tier down for why (logged once per outage) and closes the
 * idle connections. */
static void remote_down(remote *rm, const char *why)
{
	redisContext *idle[REMOTE_IDLE_MAX];
	unsigned n;
	int was_down;

	pthread_mutex_lock(&rm->lock);
	was_down = rm->down;
	rm->down = 1;
	rm->down_since = (uint64_t)util_now_ns();
	rm->stats.errors++;
	n = rm->nidle;
	memcpy(idle, rm->idle, n * sizeof(*idle));
	rm->nidle = 0;
	pthread_mutex_unlock(&rm->lock);
	for (unsigned i = 0; i < n; i++)
		redisFree(idle[i]);
	if (!was_down)
		log_warn("remote: %s: %s; computing and serving locally, "
			 "trying again every %d ms", rm->where, why,
			 REMOTE_RETRY_MS);
}

static void remote_up(remote *rm)
{
	int was_down;

	pthread_mutex_lock(&rm->lock);
	was_down = rm->down;
	rm->down = 0;
	pthread_mutex_unlock(&rm->lock);
	if (was_down)
		log_warn("remote: %s answers again", rm->where);
}

/* Runs one command on c; a reply that is an error is freed and counts as
 * a failure, but for WRONGTYPE (a key of ours that someone made a list or
 * a hash: the caller treats it as a damaged value).  Returns the reply,
 * or NULL with why filled. */
static redisReply *remote_call(const remote *rm, redisContext *c, int argc,
			       const char **argv, const size_t *lens,
			       char *why, size_t whylen)
{
	redisReply *r = redisCommandArgv(c, argc, argv, lens);

	if (!r && c->err == REDIS_ERR_IO && errno == EAGAIN) {
		snprintf(why, whylen, "%s: no answer within %u ms "
			 "(remote_timeout)", argv[0], rm->cfg.timeout_ms);
		return NULL;
	}
	if (!r) {
		snprintf(why, whylen, "%s", c->err ? c->errstr : "no reply");
		return NULL;
	}
	if (r->type == REDIS_REPLY_ERROR &&
	    strncmp(r->str, "WRONGTYPE", 9) != 0) {
		snprintf(why, whylen, "%s: %.*s", argv[0], (int)r->len,
			 r->str);
		freeReplyObject(r);
		return NULL;
	}
	return r;
}

/* Authenticates and selects the database on a new connection. */
static int remote_setup(remote *rm, redisContext *c, char *why,
			size_t whylen)
{
	char db[16];
	const char *argv[2];
	size_t lens[2];
	redisReply *r;

	if (redisSetTimeout(c, rm->timeout) != REDIS_OK) {
		snprintf(why, whylen, "cannot set the timeout");
		return -EIO;
	}
	if (rm->password) {
		argv[0] = "AUTH";
		argv[1] = rm->password;
		lens[0] = 4;
		lens[1] = strlen(rm->password);
		r = remote_call(rm, c, 2, argv, lens, why, whylen);
		if (!r)
			return -EACCES;
		freeReplyObject(r);
	}
	if (rm->cfg.url.db) {
		snprintf(db, sizeof(db), "%d", rm->cfg.url.db);
		argv[0] = "SELECT";
		argv[1] = db;
		lens[0] = 6;
		lens[1] = strlen(db);
		r = remote_call(rm, c, 2, argv, lens, why, whylen);
		if (!r)
			return -EIO;
		freeReplyObject(r);
	}
	return 0;
}

/* A new connection, set up, or NULL (the tier is then down). */
static redisContext *remote_connect(remote *rm)
{
	const struct remote_url *u = &rm->cfg.url;
	redisContext *c;
	char why[256];

	c = u->is_unix ? redisConnectUnixWithTimeout(u->path, rm->timeout)
		       : redisConnectWithTimeout(u->host, u->port, rm->timeout);
	if (!c) {
		remote_down(rm, "cannot connect: out of memory");
		return NULL;
	}
	if (c->err) {
		snprintf(why, sizeof(why), "cannot connect: %s", c->errstr);
		redisFree(c);
		remote_down(rm, why);
		return NULL;
	}
	if (remote_setup(rm, c, why, sizeof(why)) != 0) {
		redisFree(c);
		remote_down(rm, why);
		return NULL;
	}
	remote_up(rm);
	return c;
}

/* An idle connection or a new one; NULL while the tier is down (and
 * REMOTE_RETRY_MS has not passed, or another thread is trying: one
 * attempt at a time may wait remote_timeout for a host that drops
 * packets), or when none can be made.  (After
 * remote_cancel() too: what finishes during a stop is still published
 * and its lease released.) */
static redisContext *remote_conn_get(remote *rm)
{
	redisContext *c = NULL;
	uint64_t now = (uint64_t)util_now_ns();
	int wait, probe = 0;

	pthread_mutex_lock(&rm->lock);
	wait = rm->down && (rm->probing ||
			    now - rm->down_since <
				    (uint64_t)REMOTE_RETRY_MS * 1000000u);
	if (!wait && rm->nidle)
		c = rm->idle[--rm->nidle];
	else if (!wait && rm->down)
		probe = rm->probing = 1;
	pthread_mutex_unlock(&rm->lock);
	if (wait || c)
		return c;
	c = remote_connect(rm);
	if (probe) {
		pthread_mutex_lock(&rm->lock);
		rm->probing = 0;
		pthread_mutex_unlock(&rm->lock);
	}
	return c;
}

/* Gives c back to the pool, or closes it when the pool is full. */
static void remote_conn_put(remote *rm, redisContext *c)
{
	pthread_mutex_lock(&rm->lock);
	if (rm->nidle < REMOTE_IDLE_MAX) {
		rm->idle[rm->nidle++] = c;
		c = NULL;
	}
	pthread_mutex_unlock(&rm->lock);
	redisFree(c);
}

/* One command on a pooled connection.  The reply (caller frees with
 * freeReplyObject()), or NULL: the tier is down (logged). */
static redisReply *remote_cmd(remote *rm, int argc, const char **argv,
			      const size_t *lens)
{
	redisContext *c = remote_conn_get(rm);
	redisReply *r;
	char why[256];

	if (!c)
		return NULL;
	r = remote_call(rm, c, argc, argv, lens, why, sizeof(why));
	if (!r) {
		/* An error reply leaves c usable, but the tier is not. */
		if (c->err)
			redisFree(c);
		else
			remote_conn_put(rm, c);
		remote_down(rm, why);
		return NULL;
	}
	remote_conn_put(rm, c);
	return r;
}

/* remote_cmd() with the arguments as NUL-terminated strings, but for
 * the last: val (vlen bytes) when val is not NULL. */
static redisReply *remote_cmdv(remote *rm, int argc, const char **argv,
			       const void *val, size_t vlen)
{
	const char *av[8];
	size_t lens[8];

	assert(argc <= 8);
	for (int i = 0; i < argc - (val != NULL); i++) {
		av[i] = argv[i];
		lens[i] = strlen(argv[i]);
	}
	if (val) {
		av[argc - 1] = val;
		lens[argc - 1] = vlen;
	}
	return remote_cmd(rm, argc, av, lens);
}

/* ---- values ------------------------------------------------------------- */

/* HMAC-SHA256(rm->key, name || rec[0..len)) into mac.  0 or -EIO. */
static int remote_mac(const remote *rm, const char *name, const void *rec,
		      size_t len, unsigned char mac[REMOTE_MAC_LEN])
{
	char digest[] = "SHA256";
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest,
						 0),
		OSSL_PARAM_construct_end(),
	};
	EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(rm->hmac);
	size_t n = 0;
	int ok;

	ok = ctx && EVP_MAC_init(ctx, rm->key, rm->cfg.key_len, params) &&
	     EVP_MAC_update(ctx, (const unsigned char *)name, strlen(name)) &&
	     EVP_MAC_update(ctx, rec, len) &&
	     EVP_MAC_final(ctx, mac, &n, REMOTE_MAC_LEN) &&
	     n == REMOTE_MAC_LEN;
	EVP_MAC_CTX_free(ctx);
	return ok ? 0 : -EIO;
}

/* The record in a value of len bytes: len itself without a key; with
 * one, len less the MAC, which must be right for name (else -EBADMSG,
 * why filled). */
static int remote_unseal(const remote *rm, const char *name,
			 const void *val, size_t len, size_t *reclen,
			 char *why, size_t whylen)
{
	unsigned char mac[REMOTE_MAC_LEN];

	*reclen = len;
	if (!rm->key)
		return 0;
	if (len < REMOTE_MAC_LEN) {
		snprintf(why, whylen, "no MAC (remote_key_file)");
		return -EBADMSG;
	}
	*reclen = len - REMOTE_MAC_LEN;
	if (remote_mac(rm, name, val, *reclen, mac) != 0 ||
	    CRYPTO_memcmp(mac, (const char *)val + *reclen,
			  REMOTE_MAC_LEN) != 0) {
		snprintf(why, whylen, "MAC mismatch (forged, moved, or "
			 "another remote_key_file)");
		return -EBADMSG;
	}
	return 0;
}

/* Is a record created at created_ns older than -o max_age?  Another
 * machine's record keeps its creation time: served, it would be expired
 * at once in the local cache (which then asked Redis again, and failed
 * the read).  A record from the future (made on a machine whose clock
 * is ahead) is new, as memo_expired() takes it: served. */
static int remote_too_old(const remote *rm, uint64_t created_ns)
{
	struct timespec t;
	uint64_t now;

	clock_gettime(CLOCK_REALTIME, &t);
	now = (uint64_t)util_ts_ns(t);

	return rm->cfg.max_age_ns && now > created_ns &&
	       now - created_ns > rm->cfg.max_age_ns;
}

/* GET of key's record: 0 and a verified copy in *rec; -ENOENT when there
 * is none, or one older than max_age (computed and published again);
 * -EFBIG for remote_local_mark; -EBADMSG for a damaged one (logged,
 * counted); -EIO when the tier is down; -ENOMEM. */
static int remote_get(remote *rm, const uint8_t key[KEY_LEN], void **rec,
		      size_t *reclen)
{
	char name[REMOTE_NAME_MAX], why[96];
	const char *argv[2] = { "GET", name };
	store_rec view;
	redisReply *r;
	int rc = -ENOENT;

	size_t len = 0;

	remote_name(rm, 'v', key, name);
	r = remote_cmdv(rm, 2, argv, NULL, 0);
	if (!r)
		return -EIO;
	if (r->type == REDIS_REPLY_STRING &&
	    r->len == sizeof(remote_local_mark) - 1 &&
	    memcmp(r->str, remote_local_mark, r->len) == 0) {
		rc = -EFBIG;
	} else if (r->type == REDIS_REPLY_STRING &&
	    remote_unseal(rm, name, r->str, r->len, &len, why,
			  sizeof(why)) == 0 &&
	    store_rec_verify(r->str, len, &view, why, sizeof(why)) == 0) {
		if (remote_too_old(rm, view.created_ns)) {
			log_debug("remote: %s is older than max_age: "
				  "recomputed", name);
			freeReplyObject(r);
			return -ENOENT;
		}
		*rec = malloc(len ? len : 1);
		rc = *rec ? 0 : -ENOMEM;
		if (*rec) {
			memcpy(*rec, r->str, len);
			*reclen = len;
		}
	} else if (r->type != REDIS_REPLY_NIL) {
		if (r->type != REDIS_REPLY_STRING)
			snprintf(why, sizeof(why), "not a string");
		remote_count(rm, &rm->stats.damaged);
		log_warn("remote: damaged record %s: %s; not served, "
			 "recomputed", name, why);
		rc = -EBADMSG;
	}
	freeReplyObject(r);
	return rc;
}

/* ---- leases ------------------------------------------------------------- */

/* The state of the lease named name: 1 when held (by another machine,
 * for memofs: an expiry of at most REMOTE_LEASE_MS, then in *ttl_ms if
 * ttl_ms is not NULL), 0 when there is
 * none, -EINVAL when the key is no lease of memofs (no expiry, a longer
 * one, another type: logged; the result is then computed here, so that
 * such a key cannot stall the cluster), -EIO when the tier is down. */
static int remote_lease_state(remote *rm, const char *name, int *ttl_ms)
{
	const char *argv[2] = { "PTTL", name };
	redisReply *r = remote_cmdv(rm, 2, argv, NULL, 0);
	long long ttl;

	if (!r)
		return -EIO;
	ttl = r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
	freeReplyObject(r);
	if (ttl == -2)
		return 0;
	if (ttl >= 0 && ttl <= REMOTE_LEASE_MS) {
		if (ttl_ms)
			*ttl_ms = (int)ttl;
		return 1;
	}
	log_warn("remote: %s is no lease of memofs (%s); computing locally",
		 name, ttl == -1 ? "no expiry" : "expiry too far");
	return -EINVAL;
}

/* Does another machine hold key's lease now?  1 (and its expiry in
 * *ttl_ms, if not NULL) or 0 (0 too when the tier is down, or for a
 * foreign key). */
static int remote_busy(remote *rm, const uint8_t key[KEY_LEN], int *ttl_ms)
{
	char name[REMOTE_NAME_MAX];

	remote_name(rm, 'l', key, name);
	return remote_lease_state(rm, name, ttl_ms) == 1;
}

/* Takes key's lease (SET NX PX) into cl.  0 when taken, -EBUSY when
 * another holds it (*ttl_ms: its expiry, or REMOTE_LEASE_MS when it was
 * released meanwhile), -EIO when the tier is down, -ENOENT when the
 * lease key is foreign (compute here).  With readonly, takes nothing:
 * -EBUSY when another holds it, else -ENOENT. */
static int remote_lease_take(remote *rm, struct remote_claim *cl,
			     int *ttl_ms)
{
	char name[REMOTE_NAME_MAX], token[REMOTE_TOKEN_MAX], ms[16];
	const char *set[6] = { "SET", name, token, "NX", "PX", ms };
	redisReply *r;
	int rc;

	remote_name(rm, 'l', cl->key, name);
	if (!rm->cfg.readonly) {
		pthread_mutex_lock(&rm->lock);
		cl->token = rm->token_base + ++rm->ntokens;
		pthread_mutex_unlock(&rm->lock);
		remote_token_text(cl->token, token);
		snprintf(ms, sizeof(ms), "%d", REMOTE_LEASE_MS);
		r = remote_cmdv(rm, 6, set, NULL, 0);
		if (!r)
			return -EIO;
		rc = r->type == REDIS_REPLY_STATUS;
		freeReplyObject(r);
		if (rc) {
			pthread_mutex_lock(&rm->lock);
			cl->next = rm->leases;
			rm->leases = cl;
			pthread_cond_signal(&rm->tick);
			pthread_mutex_unlock(&rm->lock);
			return 0;
		}
	}
	*ttl_ms = REMOTE_LEASE_MS;
	rc = remote_lease_state(rm, name, ttl_ms);
	if (rc == -EIO)
		return rc;
	if (rc == 1 || (rc == 0 && !rm->cfg.readonly))
		return -EBUSY;	/* (0: released meanwhile: look again) */
	return -ENOENT;
}

static void remote_lease_unlink(remote *rm, struct remote_claim *cl)
{
	pthread_mutex_lock(&rm->lock);
	for (struct remote_claim **pp = &rm->leases; *pp; pp = &(*pp)->next) {
		if (*pp == cl) {
			*pp = cl->next;
			break;
		}
	}
	pthread_mutex_unlock(&rm->lock);
}

/* Runs script on the lease named name with token (and ms, or NULL).
 * 1 when it was still ours, 0 when not, -EIO when the tier is down. */
static int remote_lease_script(remote *rm, const char *script,
			       const char *name, const char *token,
			       const char *ms)
{
	const char *argv[6] = { "EVAL", script, "1", name, token, ms };
	redisReply *r = remote_cmdv(rm, ms ? 6 : 5, argv, NULL, 0);
	int rc;

	if (!r)
		return -EIO;
	rc = r->type == REDIS_REPLY_INTEGER && r->integer == 1;
	freeReplyObject(r);
	return rc;
}

/* The held leases, copied under the lock: n names and tokens. */
struct remote_held {
	char name[REMOTE_NAME_MAX];
	char token[REMOTE_TOKEN_MAX];
};

static struct remote_held *remote_held_copy(remote *rm, size_t *n)
{
	struct remote_held *h;
	size_t count = 0, i = 0;

	for (struct remote_claim *cl = rm->leases; cl; cl = cl->next)
		count++;
	*n = 0;
	if (!count)
		return NULL;
	h = calloc(count, sizeof(*h));
	if (!h)
		return NULL;	/* renewed at the next tick */
	for (struct remote_claim *cl = rm->leases; cl; cl = cl->next, i++) {
		remote_name(rm, 'l', cl->key, h[i].name);
		remote_token_text(cl->token, h[i].token);
	}
	*n = count;
	return h;
}

/* Is the lease of token (text) still held here (not finished since)? */
static int remote_lease_held(remote *rm, const char *token)
{
	char text[REMOTE_TOKEN_MAX];
	int held = 0;

	pthread_mutex_lock(&rm->lock);
	for (struct remote_claim *cl = rm->leases; cl && !held; cl = cl->next) {
		remote_token_text(cl->token, text);
		held = strcmp(text, token) == 0;
	}
	pthread_mutex_unlock(&rm->lock);
	return held;
}

/* The renewer: every third of REMOTE_LEASE_MS, extends every held lease
 * that is still this machine's. */
static void *remote_renew_main(void *arg)
{
	remote *rm = arg;
	char ms[16];
	struct timespec until;
	struct remote_held *h;
	size_t n;

	snprintf(ms, sizeof(ms), "%d", REMOTE_LEASE_MS);
	pthread_mutex_lock(&rm->lock);
	while (!rm->closing) {
		uint64_t t = (uint64_t)util_now_ns() +
			     (uint64_t)REMOTE_LEASE_MS / 3 * 1000000u;

		until.tv_sec = (time_t)(t / 1000000000u);
		until.tv_nsec = (long)(t % 1000000000u);
		while (!rm->closing &&
		       pthread_cond_timedwait(&rm->tick, &rm->lock, &until) !=
			       ETIMEDOUT)
			;
		if (rm->closing)
			break;
		h = remote_held_copy(rm, &n);
		pthread_mutex_unlock(&rm->lock);
		for (size_t i = 0; i < n; i++)
			if (remote_lease_script(rm, remote_lua_renew,
						h[i].name, h[i].token,
						ms) == 0 &&
			    remote_lease_held(rm, h[i].token))
				log_warn("remote: lease %s lost (expired or "
					 "Redis restarted); another machine "
					 "may compute it too", h[i].name);
		free(h);
		pthread_mutex_lock(&rm->lock);
	}
	pthread_mutex_unlock(&rm->lock);
	return NULL;
}

/* Just after cl's lease was taken: the holder before may have stored the
 * value and released the lease between this machine's GET and its SET
 * NX.  Looks again (not after a damaged value, logged once: that
 * window is left open, at worst a second computation): 0 and the record
 * in *rec (the lease is then released), else -ENOENT, the lease kept and
 * counted. */
static int remote_recheck(remote *rm, struct remote_claim *cl, int damaged,
			  void **rec, size_t *reclen)
{
	char name[REMOTE_NAME_MAX], token[REMOTE_TOKEN_MAX];

	if (damaged || remote_get(rm, cl->key, rec, reclen) != 0) {
		remote_count(rm, &rm->stats.leases);
		return -ENOENT;
	}
	remote_lease_unlink(rm, cl);
	remote_name(rm, 'l', cl->key, name);
	remote_token_text(cl->token, token);
	remote_lease_script(rm, remote_lua_release, name, token, NULL);
	return 0;
}

/* ---- waiting ------------------------------------------------------------ */

/* A new connection on which cmd (SUBSCRIBE or PSUBSCRIBE) of channel
 * succeeded, or NULL (the tier is then down). */
static redisContext *remote_subscribed(remote *rm, const char *cmd,
				       const char *channel)
{
	const char *argv[2] = { cmd, channel };
	size_t lens[2] = { strlen(cmd), strlen(channel) };
	redisContext *c = remote_conn_get(rm);
	redisReply *r;
	char why[256];

	if (!c)
		return NULL;
	r = remote_call(rm, c, 2, argv, lens, why, sizeof(why));
	if (!r) {
		redisFree(c);
		remote_down(rm, why);
		return NULL;
	}
	freeReplyObject(r);
	return c;
}

/* A new connection subscribed to key's channel, or NULL (tier down). */
static redisContext *remote_subscribe(remote *rm, const uint8_t key[KEY_LEN])
{
	char name[REMOTE_NAME_MAX];

	remote_name(rm, 'n', key, name);
	return remote_subscribed(rm, "SUBSCRIBE", name);
}

/* Sleeps until a message on sub, ms milliseconds or remote_cancel().
 * 0, -ETIMEDOUT, -ESHUTDOWN, or -EIO (the tier is then down). */
static int remote_wait(remote *rm, redisContext *sub, int ms)
{
	int64_t until = util_now_ns() + (int64_t)ms * 1000000;

	for (;;) {
		struct pollfd p[2] = { { .fd = sub->fd, .events = POLLIN },
				       { .fd = rm->cancel_fd[0],
					 .events = POLLIN } };
		void *reply = NULL;
		int64_t left = until - util_now_ns();
		int n;

		if (redisGetReplyFromReader(sub, &reply) != REDIS_OK)
			break;
		if (reply) {
			freeReplyObject(reply);
			return 0;
		}
		if (left <= 0)
			return -ETIMEDOUT;
		n = poll(p, 2, (int)(left / 1000000) + 1);
		if (n < 0 && errno != EINTR)
			break;
		if (n > 0 && p[1].revents)
			return -ESHUTDOWN;
		if (n > 0 && p[0].revents && redisBufferRead(sub) != REDIS_OK)
			break;
	}
	remote_down(rm, sub->err ? sub->errstr : "subscription failed");
	return -EIO;
}

/* ---- parked waiters: the listener -------------------------------------- */

/* Takes the watches that what selects off rm->watches (those of key, those
 * due by now, or all) and wakes them, without the lock. */
static void remote_fire(remote *rm, enum remote_fire_what what,
			const uint8_t *key, int64_t now)
{
	struct remote_watch *fired = NULL, **pp, *w;

	pthread_mutex_lock(&rm->lock);
	pp = &rm->watches;
	while ((w = *pp) != NULL) {
		if (what == REMOTE_FIRE_ALL ||
		    (what == REMOTE_FIRE_KEY &&
		     memcmp(w->key, key, KEY_LEN) == 0) ||
		    (what == REMOTE_FIRE_DUE && w->deadline <= now)) {
			*pp = w->next;
			w->next = fired;
			fired = w;
		} else {
			pp = &w->next;
		}
	}
	pthread_mutex_unlock(&rm->lock);
	while (fired) {
		w = fired;
		fired = w->next;
		w->wake(w->arg);
		free(w);
	}
}

static void remote_poke(remote *rm)
{
	/* A full pipe has been poked already: nothing to do. */
	if (write(rm->wake_fd[1], "x", 1) < 0 && errno != EAGAIN)
		log_warn("remote: cannot wake the listener: %s",
			 strerror(errno));
}

/* A new connection subscribed to every PREFIX:n:* channel, or NULL. */
static redisContext *remote_psubscribe(remote *rm)
{
	char pattern[REMOTE_PREFIX_MAX + 8];

	snprintf(pattern, sizeof(pattern), "%s:n:*", rm->prefix);
	return remote_subscribed(rm, "PSUBSCRIBE", pattern);
}

/* The key of a channel name "PREFIX:n:HEX", or -EINVAL. */
static int remote_channel_key(const remote *rm, const char *name, size_t len,
			      uint8_t key[KEY_LEN])
{
	size_t plen = strlen(rm->prefix);

	if (len != plen + 3 + 2 * KEY_LEN || memcmp(name, rm->prefix, plen) ||
	    memcmp(name + plen, ":n:", 3))
		return -EINVAL;
	name += plen + 3;
	for (int i = 0; i < KEY_LEN; i++) {
		unsigned v = 0;

		for (int j = 0; j < 2; j++) {
			char c = name[2 * i + j];

			v <<= 4;
			if (c >= '0' && c <= '9')
				v |= (unsigned)(c - '0');
			else if (c >= 'a' && c <= 'f')
				v |= (unsigned)(c - 'a' + 10);
			else
				return -EINVAL;
		}
		key[i] = (uint8_t)v;
	}
	return 0;
}

/* Wakes the watches of the channel a pmessage reply names. */
static void remote_on_message(remote *rm, const redisReply *r)
{
	const redisReply *ch;
	uint8_t key[KEY_LEN];

	if (r->type != REDIS_REPLY_ARRAY || r->elements != 4)
		return;
	ch = r->element[2];
	if (ch->type == REDIS_REPLY_STRING &&
	    remote_channel_key(rm, ch->str, ch->len, key) == 0)
		remote_fire(rm, REMOTE_FIRE_KEY, key, 0);
}

/* Reads what sub has.  0, or -EIO when the subscription is lost. */
static int remote_listen_read(remote *rm, redisContext *sub)
{
	void *reply = NULL;

	if (redisBufferRead(sub) != REDIS_OK)
		return -EIO;
	while (redisGetReplyFromReader(sub, &reply) == REDIS_OK && reply) {
		remote_on_message(rm, reply);
		freeReplyObject(reply);
		reply = NULL;
	}
	return sub->err ? -EIO : 0;
}

/* Makes or drops the subscription; every watch then looks again, since a
 * message may have passed unseen. */
static redisContext *remote_listen_set(remote *rm, redisContext *sub,
				       int up)
{
	if (sub && !up) {
		remote_down(rm, sub->err ? sub->errstr : "subscription lost");
		redisFree(sub);
		sub = NULL;
	} else if (!sub && up) {
		sub = remote_psubscribe(rm);
	}
	pthread_mutex_lock(&rm->lock);
	rm->listening = sub != NULL;
	pthread_mutex_unlock(&rm->lock);
	remote_fire(rm, REMOTE_FIRE_ALL, NULL, 0);
	return sub;
}

/* The listener: one subscription for every parked waiter; sleeps in
 * poll(2) until a message, a poke, or the next watch's deadline. */
static void *remote_listen_main(void *arg)
{
	remote *rm = arg;
	redisContext *sub = NULL;
	char drain[64];

	for (;;) {
		struct pollfd p[2] = { { .fd = rm->wake_fd[0],
					 .events = POLLIN },
				       { .fd = sub ? sub->fd : -1,
					 .events = POLLIN } };
		int64_t next = INT64_MAX, now;
		int closing, have, n;

		pthread_mutex_lock(&rm->lock);
		closing = rm->closing;
		have = rm->watches != NULL;
		for (struct remote_watch *w = rm->watches; w; w = w->next)
			if (w->deadline < next)
				next = w->deadline;
		pthread_mutex_unlock(&rm->lock);
		if (closing)
			break;
		if (have && !sub) {
			sub = remote_listen_set(rm, sub, 1);
			continue;
		}
		now = util_now_ns();
		n = poll(p, 2, !have ? -1 : next <= now ? 0
				       : (int)((next - now) / 1000000) + 1);
		if (n > 0 && p[0].revents)
			while (read(rm->wake_fd[0], drain, sizeof(drain)) > 0)
				;
		if (n > 0 && sub && p[1].revents &&
		    remote_listen_read(rm, sub) != 0)
			sub = remote_listen_set(rm, sub, 0);
		remote_fire(rm, REMOTE_FIRE_DUE, NULL, util_now_ns());
	}
	redisFree(sub);
	return NULL;
}

/* Moves w's deadline to when, if w is still waiting (else it has been
 * woken and freed: w is not touched). */
static void remote_watch_due(remote *rm, struct remote_watch *w, int64_t when)
{
	pthread_mutex_lock(&rm->lock);
	for (struct remote_watch *v = rm->watches; v; v = v->next) {
		if (v == w) {
			w->deadline = when;
			break;
		}
	}
	pthread_mutex_unlock(&rm->lock);
	remote_poke(rm);	/* the listener's sleep may end earlier now */
}

int remote_watch(remote *rm, const uint8_t key[KEY_LEN], remote_wake_fn wake,
		 void *arg)
{
	struct remote_watch *w = malloc(sizeof(*w)), **pp;
	int listening, found = 0, ttl = 0;

	if (!w)
		return -EAGAIN;	/* the caller waits the blocking way */
	memcpy(w->key, key, KEY_LEN);
	w->wake = wake;
	w->arg = arg;
	w->deadline = util_now_ns() + (int64_t)REMOTE_LEASE_MS * 1000000;
	pthread_mutex_lock(&rm->lock);
	if (rm->cancelled || rm->closing) {
		pthread_mutex_unlock(&rm->lock);
		free(w);
		return -ESHUTDOWN;
	}
	w->next = rm->watches;
	rm->watches = w;
	listening = rm->listening;
	pthread_mutex_unlock(&rm->lock);
	remote_poke(rm);
	/* Subscribed before this look: the holder's message cannot pass
	 * unseen.  (Not subscribed yet: the listener wakes every watch once
	 * it is.) */
	if (!listening) {
		remote_count(rm, &rm->stats.waited);
		return 0;
	}
	if (remote_busy(rm, key, &ttl)) {
		/* Look again just after the lease would expire: at once if
		 * its holder died, else it has renewed it meanwhile. */
		remote_watch_due(rm, w, util_now_ns() +
			((int64_t)ttl + REMOTE_EXPIRY_SLACK_MS) * 1000000);
		remote_count(rm, &rm->stats.waited);
		return 0;
	}
	pthread_mutex_lock(&rm->lock);
	for (pp = &rm->watches; *pp; pp = &(*pp)->next) {
		if (*pp == w) {
			*pp = w->next;
			found = 1;
			break;
		}
	}
	pthread_mutex_unlock(&rm->lock);
	if (!found)
		return 0;	/* woken already */
	free(w);
	return -EAGAIN;
}

/* ---- the tier ----------------------------------------------------------- */

int remote_fetch(remote *rm, const uint8_t key[KEY_LEN], int wait,
		 struct remote_claim *cl, void **rec, size_t *reclen)
{
	redisContext *sub = NULL;
	int rc, missed = 0, damaged, ttl = REMOTE_LEASE_MS;

	memset(cl, 0, sizeof(*cl));
	memcpy(cl->key, key, KEY_LEN);
	cl->outcome = REMOTE_LOCAL;
	*rec = NULL;
	*reclen = 0;
	for (;;) {
		pthread_mutex_lock(&rm->lock);
		rc = rm->cancelled;
		pthread_mutex_unlock(&rm->lock);
		if (rc)
			break;
		rc = remote_get(rm, key, rec, reclen);
		if (rc == 0) {
			cl->outcome = REMOTE_HIT;
			break;
		}
		missed |= rc != -EIO;
		if (rc != -ENOENT && rc != -EBADMSG)
			break;	/* -EFBIG too: compute it here, now */
		damaged = rc == -EBADMSG;
		rc = remote_lease_take(rm, cl, &ttl);
		if (rc == 0 && remote_recheck(rm, cl, damaged, rec, reclen) == 0) {
			cl->outcome = REMOTE_HIT;
			break;
		}
		if (rc == 0)
			cl->outcome = REMOTE_LEASED;
		if (rc == -EBUSY && !wait)
			cl->outcome = REMOTE_BUSY;
		if (rc != -EBUSY || !wait)
			break;
		if (!sub) {	/* subscribe, then look again: no message lost */
			sub = remote_subscribe(rm, key);
			if (!sub)
				break;
			remote_count(rm, &rm->stats.waited);
			continue;
		}
		/* Until the lease expires: a live holder renews it first. */
		rc = remote_wait(rm, sub, ttl + REMOTE_EXPIRY_SLACK_MS);
		if (rc != 0 && rc != -ETIMEDOUT)
			break;
	}
	redisFree(sub);
	cl->missed = missed && cl->outcome != REMOTE_HIT;
	pthread_mutex_lock(&rm->lock);
	if (cl->outcome == REMOTE_HIT)
		rm->stats.hits++;
	else if (missed && cl->outcome != REMOTE_BUSY)
		rm->stats.misses++;	/* (a parked fetch comes back) */
	rc = rm->cancelled && cl->outcome == REMOTE_LOCAL ? -ESHUTDOWN : 0;
	pthread_mutex_unlock(&rm->lock);
	return rc;
}

/* Appends the MAC of name and the record *rec (reclen bytes, malloc'd)
 * to it.  0, -ENOMEM or -EIO. */
static int remote_seal(const remote *rm, const char *name, void **rec,
		       size_t *reclen)
{
	unsigned char *p = realloc(*rec, *reclen + REMOTE_MAC_LEN);

	if (!p)
		return -ENOMEM;
	*rec = p;
	if (remote_mac(rm, name, p, *reclen, p + *reclen) != 0)
		return -EIO;
	*reclen += REMOTE_MAC_LEN;
	return 0;
}

/* Stores the record of data under cl's key; one larger than max_value
 * is replaced with remote_local_mark. */
static void remote_publish(remote *rm, const struct remote_claim *cl,
			   const void *data, size_t len, uint64_t compute_ns,
			   uint32_t tag)
{
	char name[REMOTE_NAME_MAX];
	const char *argv[3] = { "SET", name, NULL };
	void *rec = NULL;
	size_t reclen = 0;
	redisReply *r;
	int rc = store_rec_encode(data, len, compute_ns, tag, &rec, &reclen);

	remote_name(rm, 'v', cl->key, name);
	if (rc == 0 && rm->key)
		rc = remote_seal(rm, name, &rec, &reclen);
	if (rc == 0 && reclen > rm->cfg.max_value) {
		log_info("remote: %s: %zu bytes, above remote_max_value: kept "
			 "local", name, reclen);
		free(rec);
		rec = strdup(remote_local_mark);
		reclen = strlen(remote_local_mark);
		rc = rec ? 0 : -ENOMEM;
	}
	if (rc)
		log_warn("remote: %s: not shared: %s", name, strerror(-rc));
	else if ((r = remote_cmdv(rm, 3, argv, rec, reclen)) != NULL)
		freeReplyObject(r);
	free(rec);
}

void remote_finish(remote *rm, struct remote_claim *cl, const void *data,
		   size_t len, uint64_t compute_ns, uint32_t tag)
{
	char name[REMOTE_NAME_MAX], token[REMOTE_TOKEN_MAX];
	const char *pub[3] = { "PUBLISH", name, "done" };
	redisReply *r;

	if (cl->outcome != REMOTE_LEASED)
		return;
	remote_lease_unlink(rm, cl);
	/* Value, release, message: in this order, so that a waiter that
	 * subscribed too late for the message finds the lease gone when it
	 * looks again (remote_watch, remote_fetch). */
	if (data)
		remote_publish(rm, cl, data, len, compute_ns, tag);
	remote_name(rm, 'l', cl->key, name);
	remote_token_text(cl->token, token);
	remote_lease_script(rm, remote_lua_release, name, token, NULL);
	remote_name(rm, 'n', cl->key, name);
	r = remote_cmdv(rm, 3, pub, NULL, 0);
	freeReplyObject(r);
	cl->outcome = REMOTE_LOCAL;
}

void remote_cancel(remote *rm)
{
	int first;

	pthread_mutex_lock(&rm->lock);
	first = !rm->cancelled;
	rm->cancelled = 1;
	pthread_mutex_unlock(&rm->lock);
	/* The pipe stays readable: every waiter, now and later, sees it. */
	if (first && write(rm->cancel_fd[1], "x", 1) != 1)
		log_warn("remote: cannot wake the waiters: %s",
			 strerror(errno));
	remote_fire(rm, REMOTE_FIRE_ALL, NULL, 0);
}

void remote_get_stats(remote *rm, struct remote_stats *out)
{
	pthread_mutex_lock(&rm->lock);
	*out = rm->stats;
	pthread_mutex_unlock(&rm->lock);
}

static void remote_where(remote *rm)
{
	const struct remote_url *u = &rm->cfg.url;

	if (u->is_unix)
		snprintf(rm->where, sizeof(rm->where), "unix:%s", u->path);
	else
		snprintf(rm->where, sizeof(rm->where),
			 strchr(u->host, ':') ? "redis://[%s]:%d/%d"
					      : "redis://%s:%d/%d",
			 u->host, u->port, u->db);
}

/* The first call: reaches Redis, or logs why not (remote_down). */
static void remote_ping(remote *rm)
{
	const char *argv[1] = { "PING" };
	redisReply *r = remote_cmdv(rm, 1, argv, NULL, 0);

	if (r)
		log_info("remote: %s: reachable, prefix %s%s", rm->where,
			 rm->prefix, rm->cfg.readonly ? ", read-only" : "");
	freeReplyObject(r);
}

/* Wipes and frees the password and the key. */
static void remote_free_secrets(remote *rm)
{
	if (rm->password) {
		explicit_bzero(rm->password, strlen(rm->password));
		free(rm->password);
	}
	if (rm->key) {
		explicit_bzero(rm->key, rm->cfg.key_len);
		free(rm->key);
	}
	EVP_MAC_free(rm->hmac);
}

int remote_open(const struct remote_cfg *cfg, remote **out)
{
	remote *rm = calloc(1, sizeof(*rm));
	pthread_condattr_t ca;
	int rc;

	if (!rm)
		return -ENOMEM;
	assert(cfg->timeout_ms > 0 && cfg->prefix &&
	       remote_prefix_check(cfg->prefix) == 0);
	rm->cfg = *cfg;
	snprintf(rm->prefix, sizeof(rm->prefix), "%s", cfg->prefix);
	rm->cfg.prefix = rm->prefix;
	rm->password = cfg->password ? strdup(cfg->password) : NULL;
	rm->cfg.password = rm->password;
	if (cfg->key) {
		rm->key = malloc(cfg->key_len);
		rm->hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
		if (rm->key)
			memcpy(rm->key, cfg->key, cfg->key_len);
	}
	rm->cfg.key = rm->key;
	if ((cfg->password && !rm->password) ||
	    (cfg->key && (!rm->key || !rm->hmac))) {
		rc = cfg->key && rm->key && !rm->hmac ? -ENOSYS : -ENOMEM;
		goto out_free;
	}
	remote_where(rm);
	rm->timeout.tv_sec = cfg->timeout_ms / 1000;
	rm->timeout.tv_usec = (suseconds_t)(cfg->timeout_ms % 1000) * 1000;
	if (getrandom(&rm->token_base, sizeof(rm->token_base), 0) !=
	    sizeof(rm->token_base))
		rm->token_base = (uint64_t)util_now_ns() ^
				 ((uint64_t)getpid() << 32);
	rm->cancel_fd[0] = rm->cancel_fd[1] = -1;
	rm->wake_fd[0] = rm->wake_fd[1] = -1;
	if (pipe2(rm->cancel_fd, O_CLOEXEC) != 0 ||
	    pipe2(rm->wake_fd, O_CLOEXEC | O_NONBLOCK) != 0) {
		rc = -errno;
		goto out_close_pipes;
	}
	pthread_mutex_init(&rm->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&rm->tick, &ca);
	pthread_condattr_destroy(&ca);
	rc = -pthread_create(&rm->renewer, NULL, remote_renew_main, rm);
	if (rc)
		goto out_destroy;
	rc = -pthread_create(&rm->listener, NULL, remote_listen_main, rm);
	if (rc)
		goto out_stop_renewer;
	remote_ping(rm);
	*out = rm;
	return 0;

out_stop_renewer:
	pthread_mutex_lock(&rm->lock);
	rm->closing = 1;
	pthread_cond_signal(&rm->tick);
	pthread_mutex_unlock(&rm->lock);
	pthread_join(rm->renewer, NULL);
out_destroy:
	pthread_cond_destroy(&rm->tick);
	pthread_mutex_destroy(&rm->lock);
out_close_pipes:
	for (int i = 0; i < 2; i++) {
		if (rm->cancel_fd[i] >= 0)
			close(rm->cancel_fd[i]);
		if (rm->wake_fd[i] >= 0)
			close(rm->wake_fd[i]);
	}
out_free:
	remote_free_secrets(rm);
	free(rm);
	return rc;
}

void remote_close(remote *rm)
{
	struct remote_stats st;

	if (!rm)
		return;
	remote_get_stats(rm, &st);
	log_info("remote: %s: %" PRIu64 " hits, %" PRIu64 " misses, %" PRIu64
		 " leases taken, %" PRIu64 " waits, %" PRIu64 " damaged, %"
		 PRIu64 " errors", rm->where, st.hits, st.misses, st.leases,
		 st.waited, st.damaged, st.errors);
	pthread_mutex_lock(&rm->lock);
	rm->closing = 1;
	pthread_cond_signal(&rm->tick);
	pthread_mutex_unlock(&rm->lock);
	remote_poke(rm);
	pthread_join(rm->renewer, NULL);
	pthread_join(rm->listener, NULL);
	remote_fire(rm, REMOTE_FIRE_ALL, NULL, 0);	/* none, normally */
	for (unsigned i = 0; i < rm->nidle; i++)
		redisFree(rm->idle[i]);
	for (int i = 0; i < 2; i++) {
		close(rm->cancel_fd[i]);
		close(rm->wake_fd[i]);
	}
	remote_free_secrets(rm);
	pthread_cond_destroy(&rm->tick);
	pthread_mutex_destroy(&rm->lock);
	free(rm);
}
