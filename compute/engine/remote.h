/* remote.h -- the remote tier: results shared by many machines through
 * Redis, each computed once per cluster.
 *
 * memo asks the remote tier after a local miss (memo.c).  For a key:
 *   - a value under PREFIX:v:KEYHEX is a record in the local store's own
 *     format (store_rec_encode()); it is verified (store_rec_verify())
 *     before it is returned, and a damaged one is a miss (logged);
 *   - otherwise the machine takes the key's lease, PREFIX:l:KEYHEX (SET NX
 *     PX: atomic set-if-absent with an expiry), and computes; a thread of
 *     the tier renews every lease held (REMOTE_LEASE_MS, renewed every
 *     third of it) until remote_finish() stores the record, publishes on
 *     PREFIX:n:KEYHEX and releases the lease;
 *   - a machine that finds the lease taken subscribes to PREFIX:n:KEYHEX
 *     and sleeps until that message, the lease's expiry time (its holder
 *     may be dead: one waiter then takes the lease over) or
 *     remote_cancel(); then looks again.
 * A record larger than max_value is not stored: a short mark takes its
 * place, and whoever finds it computes the result locally at once.
 * With readonly, nothing is ever written to Redis: no value, no lease, no
 * message; a lease another machine holds is still waited for.
 *
 * With a key (remote_key_file, the same secret on every machine), a value
 * is the record followed by HMAC-SHA256(key, Redis key name || record):
 * a value without a valid MAC for its own name (forged, or a genuine one
 * copied from another key) is damaged, never served.  Without one, the
 * XXH3 checksum catches damage only: anyone who can write to Redis can
 * write a record that passes.
 *
 * Failures never fail a read: Redis unreachable, slow (remote_timeout),
 * refusing (AUTH, a full memory) or restarted makes remote_fetch()
 * answer REMOTE_LOCAL (compute here) and the tier "down": one warning
 * line, then no connection attempt for REMOTE_RETRY_MS, then one line when
 * it answers again.
 *
 * A caller that must not block a thread (memo's pool jobs) fetches
 * without waiting and parks with remote_watch() instead: one listener
 * thread, subscribed to every PREFIX:n:* channel (PSUBSCRIBE), wakes it.
 *
 * Threads: every function may be called from any thread at once;
 * remote_close() after every other call has returned.  Lock order:
 * remote->lock is a leaf, never held across a Redis call.
 */
#ifndef MEMOFS_REMOTE_H
#define MEMOFS_REMOTE_H

#include <stddef.h>
#include <stdint.h>

#include "engine/key.h"
#include "engine/remote_url.h"

#define REMOTE_LEASE_MS 3000	/* a lease's expiry, renewed every third */
#define REMOTE_RETRY_MS 1000	/* after a failure, no attempt for this long */
#define REMOTE_TIMEOUT_MS 1000	/* default remote_timeout */
#define REMOTE_MAX_VALUE (64u << 20)	/* default remote_max_value */
#define REMOTE_VALUE_LIMIT (512u << 20)	/* Redis's largest string */
#define REMOTE_PASSWORD_MAX 512
#define REMOTE_KEY_MIN 16	/* remote_key_file: bytes of secret */
#define REMOTE_KEY_MAX 512
#define REMOTE_MAC_LEN 32	/* HMAC-SHA256 after a keyed value */

typedef struct remote remote;

struct remote_cfg {
	struct remote_url url;
	const char *prefix;	/* key prefix, remote_prefix_check()ed */
	int readonly;		/* write nothing to Redis */
	unsigned timeout_ms;	/* connect and each command; > 0 */
	size_t max_value;	/* larger records are not published */
	uint64_t max_age_ns;	/* -o max_age: a record created longer ago
				 * (CLOCK_REALTIME) counts as absent, so
				 * it is computed and published again; 0:
				 * no limit */
	const char *password;	/* AUTH, or NULL */
	const void *key;	/* the shared secret of remote_key_file, or
				 * NULL: values carry no MAC */
	size_t key_len;		/* REMOTE_KEY_MIN..REMOTE_KEY_MAX */
};

/* What remote_fetch() found. */
enum remote_outcome {
	REMOTE_HIT,		/* a verified record: serve it */
	REMOTE_LEASED,		/* this machine holds the lease: compute, then
				 * remote_finish() */
	REMOTE_LOCAL,		/* compute here, publish nothing (Redis down,
				 * readonly, stopping); remote_finish() is a
				 * no-op */
	REMOTE_BUSY,		/* without wait: another machine holds the
				 * lease; park with remote_watch() */
};

/* A fetch in progress: filled by remote_fetch(), ended by
 * remote_finish().  Lives in the caller (on its stack). */
struct remote_claim {
	enum remote_outcome outcome;
	uint8_t key[KEY_LEN];
	uint64_t token;		/* REMOTE_LEASED: this lease's value */
	int missed;		/* Redis answered that it had no value */
	struct remote_claim *next;	/* in remote->leases, while held */
};

struct remote_stats {
	uint64_t hits;		/* verified records served from Redis */
	uint64_t misses;	/* lookups Redis could not answer */
	uint64_t leases;	/* leases taken (computations started) */
	uint64_t waited;	/* fetches that waited for another's lease */
	uint64_t damaged;	/* records that failed verification */
	uint64_t errors;	/* failed Redis calls (connection, timeout) */
};

/* Makes the tier for cfg (copied; cfg->password and cfg->key are copied
 * and wiped by remote_close()) and tries to reach Redis once, logging
 * one line when it cannot: an unreachable Redis is no error (the tier
 * retries later).  Returns 0 and *out (caller frees with remote_close()),
 * -ENOMEM, -ENOSYS when OpenSSL has no HMAC (cfg->key), or the errno of
 * pipe(2) or pthread_create(3). */
int remote_open(const struct remote_cfg *cfg, remote **out);

/* Logs the counters (one info line), stops the tier's threads and
 * frees; remote_close(NULL) is a no-op. */
void remote_close(remote *rm);

/* Wakes every waiting remote_fetch() (they answer REMOTE_LOCAL) and makes
 * later ones answer REMOTE_LOCAL at once.  Any thread, more than once. */
void remote_cancel(remote *rm);

/* Looks key up in Redis, taking its lease or (with wait) waiting for its
 * holder as above; fills *cl.  On REMOTE_HIT, *rec (malloc'd, caller
 * frees with free()) holds the whole verified record, *reclen bytes.
 * Blocks for at most remote_timeout per Redis call, and, with wait,
 * while another machine computes the result; without wait, that is
 * REMOTE_BUSY.  Returns 0, or -ESHUTDOWN after remote_cancel() (cl is
 * then REMOTE_LOCAL: nothing to compute). */
int remote_fetch(remote *rm, const uint8_t key[KEY_LEN], int wait,
		 struct remote_claim *cl, void **rec, size_t *reclen);

/* Called once per successful remote_watch(), from the tier's listener
 * thread or from remote_cancel()/remote_close(), without a tier lock. */
typedef void (*remote_wake_fn)(void *arg);

/* The asynchronous form of remote_fetch()'s wait, for a caller that has
 * better to do with its thread: calls wake(arg) once, when key's channel
 * has a message, its lease may have expired (REMOTE_LEASE_MS), the
 * subscription was (re)made or lost, or on remote_cancel(); the caller
 * then looks again (remote_fetch()).  Returns 0 (wake
 * will be called, maybe before this returns), -EAGAIN when the lease is
 * gone already (look again now), or -ESHUTDOWN after remote_cancel();
 * on failure wake is never called. */
int remote_watch(remote *rm, const uint8_t key[KEY_LEN], remote_wake_fn wake,
		 void *arg);

/* Ends cl.  For REMOTE_LEASED: with data (len bytes with the store's
 * tag; data NULL: the computation failed) stores its record under the
 * key (a mark when longer than max_value), then releases the lease (only
 * if still this machine's) and wakes the waiters.  Failures are logged,
 * never returned. */
void remote_finish(remote *rm, struct remote_claim *cl, const void *data,
		   size_t len, uint64_t compute_ns, uint32_t tag);

void remote_get_stats(remote *rm, struct remote_stats *out);

#endif
