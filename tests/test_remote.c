/* test_remote.c -- unit test of the remote tier (engine/remote.c,
 * engine/remote_url.c) and of the record functions it shares with the
 * store (store_rec_encode, store_rec_verify).
 *
 * The URL parser gets good URLs field by field and hostile ones that must
 * fail.  The tier runs against a real redis-server that this test starts
 * on a Unix socket in its own mkdtemp() directory (no TCP port, nothing
 * saved to disk) and kills by its pid; two remote objects on one server
 * stand for two machines.  An unreachable server (a socket path where
 * nothing listens) must degrade to REMOTE_LOCAL, at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "check.h"
#include "data/ds.h"
#include "engine/memo.h"
#include "engine/remote.h"
#include "engine/store.h"
#include "functions/reg.h"
#include "memofs.h"
#include "util/clock.h"

#define HDR 48		/* the record header, as store.c documents it */

static char tmp[256], sock[300];
static pid_t redis_pid = -1;

/* ---- URLs --------------------------------------------------------------- */

static void test_url_good(void)
{
	struct remote_url u;
	char why[128];

	CHECK_INT(remote_url_parse("redis://127.0.0.1:6380/3", &u, why,
				   sizeof(why)), 0);
	CHECK(!u.is_unix);
	CHECK_STR(u.host, "127.0.0.1");
	CHECK_INT(u.port, 6380);
	CHECK_INT(u.db, 3);
	CHECK_INT(remote_url_parse("redis://cache-1.example.org", &u, why,
				   sizeof(why)), 0);
	CHECK_STR(u.host, "cache-1.example.org");
	CHECK_INT(u.port, 6379);
	CHECK_INT(u.db, 0);
	CHECK_INT(remote_url_parse("redis://[::1]:7000", &u, why, sizeof(why)),
		  0);
	CHECK_STR(u.host, "::1");
	CHECK_INT(u.port, 7000);
	CHECK_INT(remote_url_parse("redis://h/9999", &u, why, sizeof(why)), 0);
	CHECK_INT(u.db, 9999);
	CHECK_INT(remote_url_parse("unix:/run/redis/redis.sock", &u, why,
				   sizeof(why)), 0);
	CHECK(u.is_unix);
	CHECK_STR(u.path, "/run/redis/redis.sock");
	CHECK_INT(remote_prefix_check("team-a.v2_x"), 0);
}

static void test_url_bad(void)
{
	static const char *const bad[] = {
		"", "redis:/", "redis://", "redis://:6379", "redis://h:",
		"redis://h:0", "redis://h:65536", "redis://h:99999999",
		"redis://h:-1", "redis://h:+1", "redis://h: 1", "redis://h/",
		"redis://h/10000", "redis://h/-1", "redis://h/1/2",
		"redis://h/1?x", "redis://u:pw@h", "redis://pw@h:1",
		"redis://h_x", "redis://h x", "redis://[::1", "redis://[]",
		"redis://[::1]x", "http://h", "REDIS://h", "unix:", "unix:rel",
		"unix:/a\nb", "redis://h:1/0x1", "redis://h:0x10",
		NULL
	};
	struct remote_url u;
	char why[128], longpath[200], longhost[300];

	for (int i = 0; bad[i]; i++) {
		why[0] = '\0';
		if (remote_url_parse(bad[i], &u, why, sizeof(why)) != -EINVAL)
			fprintf(stderr, "accepted: '%s'\n", bad[i]);
		CHECK(remote_url_parse(bad[i], &u, why, sizeof(why)) ==
		      -EINVAL);
		CHECK(why[0] != '\0');
	}
	CHECK_INT(remote_url_parse("rediss://h:6379", &u, why, sizeof(why)),
		  -ENOTSUP);
	CHECK(strstr(why, "TLS") != NULL);
	memset(longpath, 'a', sizeof(longpath));
	memcpy(longpath, "unix:/", 6);
	longpath[5 + 108] = '\0';
	CHECK_INT(remote_url_parse(longpath, &u, why, sizeof(why)), -EINVAL);
	memset(longhost, 'h', sizeof(longhost));
	memcpy(longhost, "redis://", 8);
	longhost[8 + 254] = '\0';
	CHECK_INT(remote_url_parse(longhost, &u, why, sizeof(why)), -EINVAL);
	CHECK_INT(remote_prefix_check(""), -EINVAL);
	CHECK_INT(remote_prefix_check("a:b"), -EINVAL);
	CHECK_INT(remote_prefix_check("a b"), -EINVAL);
	CHECK_INT(remote_prefix_check("a*"), -EINVAL);
	CHECK_INT(remote_prefix_check(
		"a12345678901234567890123456789012345678901234567890123456789"
		"01234"), -EINVAL);
}

/* ---- records ------------------------------------------------------------ */

static void test_records(void)
{
	static const char data[] = "0.25\n";
	store_rec view;
	char why[96];
	void *rec;
	uint8_t *p;
	size_t len;

	CHECK_INT(store_rec_encode(data, 5, 42, 0, &rec, &len), 0);
	CHECK_INT(len, HDR + 5);
	CHECK_INT(store_rec_verify(rec, len, &view, why, sizeof(why)), 0);
	CHECK_INT(view.len, 5);
	CHECK(memcmp(view.data, data, 5) == 0);
	CHECK_INT(view.compute_ns, 42);
	CHECK(view.raw == NULL);
	p = rec;
	p[HDR + 2] ^= 1;	/* a flipped bit in the data */
	CHECK_INT(store_rec_verify(rec, len, &view, why, sizeof(why)),
		  -EBADMSG);
	CHECK(strstr(why, "checksum") != NULL);
	p[HDR + 2] ^= 1;
	CHECK_INT(store_rec_verify(rec, len - 1, &view, why, sizeof(why)),
		  -EBADMSG);
	CHECK_INT(store_rec_verify(rec, 39, &view, why, sizeof(why)),
		  -EBADMSG);
	p[0] = 'X';
	CHECK_INT(store_rec_verify(rec, len, &view, why, sizeof(why)),
		  -EBADMSG);
	free(rec);
	CHECK_INT(store_rec_encode("", 0, 0, 0, &rec, &len), 0);
	CHECK_INT(store_rec_verify(rec, len, &view, why, sizeof(why)), 0);
	CHECK_INT(view.len, 0);
	free(rec);
	/* Adopted: the record owns the buffer (ASan sees it freed once). */
	CHECK_INT(store_rec_encode(data, 5, 7, 3, &rec, &len), 0);
	CHECK_INT(store_rec_adopt(rec, len - 1, &view, why, sizeof(why)),
		  -EBADMSG);
	CHECK(view.raw == NULL);
	CHECK_INT(store_rec_adopt(rec, len, &view, why, sizeof(why)), 0);
	CHECK(view.raw == rec && view.len == 5 && view.compute_ns == 7);
	CHECK_INT(view.tag, 3);
	CHECK(memcmp(view.data, data, 5) == 0);
	store_rec_free(&view);
	CHECK(view.raw == NULL);
	store_rec_free(&view);		/* a cleared record: a no-op */
}

/* ---- a real redis-server ------------------------------------------------ */

static void redis_start(void)
{
	const char *base = getenv("TMPDIR");

	snprintf(tmp, sizeof(tmp), "%s/test_remote.XXXXXX",
		 base ? base : "/tmp");
	if (!mkdtemp(tmp)) {
		perror("mkdtemp");
		exit(1);
	}
	snprintf(sock, sizeof(sock), "%s/redis.sock", tmp);
	redis_pid = fork();
	if (redis_pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		if (null >= 0)
			dup2(null, STDOUT_FILENO);
		execlp("redis-server", "redis-server", "--port", "0",
		       "--unixsocket", sock, "--unixsocketperm", "700",
		       "--dir", tmp, "--save", "", "--appendonly", "no",
		       "--loglevel", "warning", (char *)NULL);
		perror("redis-server");
		_exit(127);
	}
	/* Until it answers PING: the socket file appears at bind(), before
	 * listen(), and a connection in between is refused. */
	for (int i = 0; i < 500; i++) {	/* 5 s */
		redisContext *c = redisConnectUnix(sock);
		redisReply *r = c && !c->err ? redisCommand(c, "PING") : NULL;
		int up = r && r->type == REDIS_REPLY_STATUS;

		freeReplyObject(r);
		redisFree(c);
		if (up)
			return;
		usleep(10000);
	}
	fprintf(stderr, "redis-server did not start\n");
	exit(1);
}

static void redis_stop(void)
{
	char path[400];

	if (redis_pid > 0) {
		kill(redis_pid, SIGTERM);
		waitpid(redis_pid, NULL, 0);
	}
	snprintf(path, sizeof(path), "%s/redis.sock", tmp);
	unlink(path);
	rmdir(tmp);
}

/* A direct client, to look at and damage what the tier stored. */
static redisReply *redis_do(const char *fmt, const void *a, size_t alen)
{
	redisContext *c = redisConnectUnix(sock);
	redisReply *r;

	if (!c || c->err)
		return NULL;
	r = redisCommand(c, fmt, a, alen);
	redisFree(c);
	return r;
}

static remote *tier_keyed(const char *path, int readonly, const char *key)
{
	struct remote_cfg cfg = { .prefix = "t", .readonly = readonly,
				  .timeout_ms = 5000, .max_value = 1 << 20,
				  .key = key, .key_len = key ? strlen(key) : 0 };
	char why[128];
	char url[400];
	remote *rm = NULL;

	snprintf(url, sizeof(url), "unix:%s", path);
	CHECK_INT(remote_url_parse(url, &cfg.url, why, sizeof(why)), 0);
	CHECK_INT(remote_open(&cfg, &rm), 0);
	return rm;
}

static remote *tier(const char *path, int readonly)
{
	return tier_keyed(path, readonly, NULL);
}

/* A tier on the test's redis-server with cfg (its url filled here). */
static remote *tier_cfg(struct remote_cfg *cfg)
{
	char why[128], url[400];
	remote *rm = NULL;

	snprintf(url, sizeof(url), "unix:%s", sock);
	CHECK_INT(remote_url_parse(url, &cfg->url, why, sizeof(why)), 0);
	CHECK_INT(remote_open(cfg, &rm), 0);
	return rm;
}

/* Fetches key (every byte k) from rm, which must lease it, then
 * publishes data (n bytes) as its result. */
static void publish(remote *rm, uint8_t key[KEY_LEN], int k,
		    const char *data, size_t n)
{
	struct remote_claim cl;
	void *rec;
	size_t len;

	memset(key, k, KEY_LEN);
	CHECK_INT(remote_fetch(rm, key, 1, &cl, &rec, &len), 0);
	CHECK_INT(cl.outcome, REMOTE_LEASED);
	remote_finish(rm, &cl, data, n, 0, 0);
}

/* A record above max_value: a mark in its place, and whoever finds it
 * computes at once (REMOTE_LOCAL, no lease, no wait). */
static void test_too_large(void)
{
	struct remote_cfg cfg = { .prefix = "t", .timeout_ms = 5000,
				  .max_value = HDR + 4 };
	char big[8] = "1234567";
	struct remote_claim cl;
	struct remote_stats st;
	uint8_t key[KEY_LEN];
	remote *small = tier_cfg(&cfg);
	void *rec;
	size_t len;

	publish(small, key, 50, big, 7);	/* HDR + 7 bytes: too large */
	for (int wait = 0; wait < 2; wait++) {
		CHECK_INT(remote_fetch(small, key, wait, &cl, &rec, &len), 0);
		CHECK_INT(cl.outcome, REMOTE_LOCAL);
	}
	memset(key, 51, KEY_LEN);
	CHECK_INT(remote_fetch(small, key, 1, &cl, &rec, &len), 0);
	remote_finish(small, &cl, big, 4, 0, 0);	/* HDR + 4 bytes: shared */
	CHECK_INT(remote_fetch(small, key, 1, &cl, &rec, &len), 0);
	CHECK_INT(cl.outcome, REMOTE_HIT);
	free(rec);
	remote_get_stats(small, &st);
	CHECK_INT(st.damaged, 0);
	CHECK_INT(st.leases, 2);
	remote_close(small);
}

/* A record older than max_age counts as absent: whoever finds it takes
 * the lease and computes it again (it was served, then expired at once
 * in the local cache, which failed the read). */
static void test_max_age(void)
{
	struct remote_cfg cfg = { .prefix = "t", .timeout_ms = 5000,
				  .max_value = 1 << 20,
				  .max_age_ns = 20 * 1000000ull };
	struct remote_claim cl;
	uint8_t key[KEY_LEN];
	remote *rm = tier_cfg(&cfg);
	void *rec;
	size_t len;

	publish(rm, key, 52, "1234", 4);
	CHECK_INT(remote_fetch(rm, key, 1, &cl, &rec, &len), 0);
	CHECK_INT(cl.outcome, REMOTE_HIT);	/* fresh: served */
	free(rec);
	usleep(40 * 1000);
	CHECK_INT(remote_fetch(rm, key, 1, &cl, &rec, &len), 0);
	CHECK_INT(cl.outcome, REMOTE_LEASED);	/* too old: computed again */
	remote_finish(rm, &cl, "1234", 4, 0, 0);
	CHECK_INT(remote_fetch(rm, key, 1, &cl, &rec, &len), 0);
	CHECK_INT(cl.outcome, REMOTE_HIT);	/* the fresh one */
	free(rec);
	remote_close(rm);
}

struct fetcher {
	remote *rm;
	uint8_t key[KEY_LEN];
	struct remote_claim cl;
	void *rec;
	size_t len;
	int rc;
};

static void *fetch_main(void *arg)
{
	struct fetcher *f = arg;

	f->rc = remote_fetch(f->rm, f->key, 1, &f->cl, &f->rec, &f->len);
	return NULL;
}

/* Machine A leases and computes; machine B waits and gets A's bytes. */
static void test_lease_and_wait(void)
{
	remote *a = tier(sock, 0), *b = tier(sock, 0);
	struct fetcher fb = { .rm = b };
	struct remote_claim cl;
	struct remote_stats st;
	store_rec view;
	redisReply *r;
	pthread_t t;
	void *rec;
	size_t len;
	char why[96], hex[2 * KEY_LEN + 1];
	int64_t t0;

	memset(fb.key, 7, KEY_LEN);
	key_hex(fb.key, hex);
	CHECK_INT(remote_fetch(a, fb.key, 1, &cl, &rec, &len), 0);
	CHECK_INT(cl.outcome, REMOTE_LEASED);
	pthread_create(&t, NULL, fetch_main, &fb);
	usleep(300000);		/* b is waiting now */
	t0 = util_now_ns();
	remote_finish(a, &cl, "1.5\n", 4, 9, 0);
	pthread_join(t, NULL);
	CHECK(util_now_ns() - t0 < 2000000000);	/* woken, not timed out */
	CHECK_INT(fb.rc, 0);
	CHECK_INT(fb.cl.outcome, REMOTE_HIT);
	CHECK_INT(store_rec_verify(fb.rec, fb.len, &view, why, sizeof(why)),
		  0);
	CHECK(view.len == 4 && memcmp(view.data, "1.5\n", 4) == 0);
	free(fb.rec);
	remote_get_stats(b, &st);
	CHECK_INT(st.hits, 1);
	CHECK_INT(st.waited, 1);
	CHECK_INT(st.leases, 0);
	remote_get_stats(a, &st);
	CHECK_INT(st.leases, 1);
	CHECK_INT(st.misses, 1);
	/* The lease is gone once finished; the value stays. */
	r = redis_do("EXISTS t:l:%b", hex, 2 * KEY_LEN);
	CHECK(r && r->type == REDIS_REPLY_INTEGER && r->integer == 0);
	freeReplyObject(r);
	r = redis_do("EXISTS t:v:%b", hex, 2 * KEY_LEN);
	CHECK(r && r->type == REDIS_REPLY_INTEGER && r->integer == 1);
	freeReplyObject(r);
	remote_close(a);
	remote_close(b);
}

/* A damaged value is a miss (and counted), never a hit. */
static void test_damaged_value(void)
{
	remote *a = tier(sock, 0);
	struct remote_claim cl;
	struct remote_stats st;
	uint8_t key[KEY_LEN];
	char hex[2 * KEY_LEN + 1], name[64];
	void *rec, *good;
	size_t len, glen;
	redisReply *r;

	memset(key, 9, KEY_LEN);
	key_hex(key, hex);
	snprintf(name, sizeof(name), "SET t:v:%s %%b", hex);
	CHECK_INT(store_rec_encode("2\n", 2, 0, 0, &good, &glen), 0);
	((char *)good)[HDR] = '3';	/* the data, not its checksum */
	r = redis_do(name, good, glen);
	CHECK(r && r->type == REDIS_REPLY_STATUS);
	freeReplyObject(r);
	CHECK_INT(remote_fetch(a, key, 1, &cl, &rec, &len), 0);
	CHECK_INT(cl.outcome, REMOTE_LEASED);
	CHECK(rec == NULL);
	remote_finish(a, &cl, "2\n", 2, 0, 0);
	CHECK_INT(remote_fetch(a, key, 1, &cl, &rec, &len), 0);
	CHECK_INT(cl.outcome, REMOTE_HIT);	/* the overwrite is good */
	free(rec);
	remote_get_stats(a, &st);
	CHECK_INT(st.damaged, 1);
	free(good);
	remote_close(a);
}

/* A key of every byte k, and its hex as the tier's Redis names show it
 * (PREFIX:v:HEX, PREFIX:l:HEX ...). */
struct tkey {
	uint8_t key[KEY_LEN];
	char hex[2 * KEY_LEN + 1];
};

static void tkey_make(struct tkey *t, int k)
{
	memset(t->key, k, KEY_LEN);
	key_hex(t->key, t->hex);
}

/* Fetches key from rm (wait: whether it may wait for a lease's holder),
 * which must answer outcome, not REMOTE_HIT; the claim in *cl, for
 * remote_finish() when it is REMOTE_LEASED. */
static void fetch_expect(remote *rm, const uint8_t key[KEY_LEN], int wait,
			 enum remote_outcome outcome, struct remote_claim *cl)
{
	void *rec = NULL;
	size_t len = 0;

	CHECK_INT(remote_fetch(rm, key, wait, cl, &rec, &len), 0);
	CHECK_INT(cl->outcome, outcome);
	free(rec);
}

/* A lease key that memofs cannot have made (no expiry, or a longer one)
 * stalls nobody: the result is computed here, at once. */
static void test_foreign_lease(void)
{
	static const char *const cmds[] = { "SET t:l:%b x",
					    "SET t:l:%b x PX 3600000" };
	remote *a = tier(sock, 0);
	struct remote_claim cl;
	struct tkey k;
	redisReply *r;
	int64_t t0;

	for (int i = 0; i < 2; i++) {
		tkey_make(&k, 30 + i);
		r = redis_do(cmds[i], k.hex, 2 * KEY_LEN);
		CHECK(r && r->type == REDIS_REPLY_STATUS);
		freeReplyObject(r);
		t0 = util_now_ns();
		fetch_expect(a, k.key, 1, REMOTE_LOCAL, &cl);
		CHECK(util_now_ns() - t0 < 2000000000);	/* not 1 h */
		fetch_expect(a, k.key, 0, REMOTE_LOCAL, &cl);
	}
	remote_close(a);
}

/* rm refuses the value of key: it takes the lease to compute it (and
 * gives it back, as a failed computation would). */
static void expect_refused(remote *rm, const uint8_t key[KEY_LEN])
{
	struct remote_claim cl;

	fetch_expect(rm, key, 0, REMOTE_LEASED, &cl);
	remote_finish(rm, &cl, NULL, 0, 0, 0);
}

/* With a key, a value is the record and its HMAC: another key, no key, a
 * value moved to another name or a forged MAC are all damage; the right
 * key serves it. */
static void test_keyed_values(void)
{
	remote *k1 = tier_keyed(sock, 0, "0123456789abcdef-one");
	remote *k1b = tier_keyed(sock, 0, "0123456789abcdef-one");
	remote *k2 = tier_keyed(sock, 0, "0123456789abcdef-two");
	remote *plain = tier(sock, 0);
	struct remote_claim cl;
	struct remote_stats st;
	uint8_t key[KEY_LEN], moved[KEY_LEN];
	char hex[2 * KEY_LEN + 1], hex2[2 * KEY_LEN + 1], cmd[128];
	redisReply *val;
	store_rec view;
	char why[96];
	void *rec;
	size_t len;

	memset(key, 40, KEY_LEN);
	memset(moved, 41, KEY_LEN);
	key_hex(key, hex);
	key_hex(moved, hex2);
	CHECK_INT(remote_fetch(k1, key, 1, &cl, &rec, &len), 0);
	CHECK_INT(cl.outcome, REMOTE_LEASED);
	remote_finish(k1, &cl, "42\n", 3, 0, 0);
	val = redis_do("GET t:v:%b", hex, 2 * KEY_LEN);
	CHECK(val && val->type == REDIS_REPLY_STRING &&
	      val->len == HDR + 3 + REMOTE_MAC_LEN);
	/* The same key on another machine: served, the record alone. */
	CHECK_INT(remote_fetch(k1b, key, 0, &cl, &rec, &len), 0);
	CHECK_INT(cl.outcome, REMOTE_HIT);
	CHECK_INT(len, HDR + 3);
	CHECK_INT(store_rec_verify(rec, len, &view, why, sizeof(why)), 0);
	free(rec);
	/* Another key, or none: damage (and each then takes the lease). */
	expect_refused(k2, key);
	expect_refused(plain, key);
	/* The genuine value moved under another name: damage. */
	snprintf(cmd, sizeof(cmd), "SET t:v:%s %%b", hex2);
	freeReplyObject(redis_do(cmd, val->str, val->len));
	expect_refused(k1b, moved);
	/* A flipped MAC byte: damage. */
	val->str[val->len - 1] ^= 1;
	snprintf(cmd, sizeof(cmd), "SET t:v:%s %%b", hex);
	freeReplyObject(redis_do(cmd, val->str, val->len));
	expect_refused(k1b, key);
	freeReplyObject(val);
	remote_get_stats(k1b, &st);
	CHECK_INT(st.damaged, 2);
	CHECK_INT(st.hits, 1);
	remote_get_stats(k2, &st);
	CHECK_INT(st.damaged, 1);
	remote_get_stats(plain, &st);
	CHECK_INT(st.damaged, 1);
	remote_close(k1);
	remote_close(k1b);
	remote_close(k2);
	remote_close(plain);
}

/* readonly: no lease, no value. */
static void test_readonly(void)
{
	remote *ro = tier(sock, 1);
	struct remote_claim cl;
	struct tkey k;
	redisReply *r;

	tkey_make(&k, 11);
	fetch_expect(ro, k.key, 1, REMOTE_LOCAL, &cl);
	remote_finish(ro, &cl, "1\n", 2, 0, 0);
	r = redis_do("KEYS *%b", k.hex, 2 * KEY_LEN);
	CHECK(r && r->type == REDIS_REPLY_ARRAY && r->elements == 0);
	freeReplyObject(r);
	remote_close(ro);
}

/* Nothing listens: REMOTE_LOCAL at once, one error, and cancel ends
 * fetches with -ESHUTDOWN. */
static void test_unreachable(void)
{
	char dead[400];
	remote *rm;
	struct remote_claim cl;
	struct remote_stats st;
	uint8_t key[KEY_LEN] = { 1 };
	void *rec;
	size_t len;
	int64_t t0;

	snprintf(dead, sizeof(dead), "%s/nobody.sock", tmp);
	rm = tier(dead, 0);
	t0 = util_now_ns();
	for (int i = 0; i < 20; i++) {
		CHECK_INT(remote_fetch(rm, key, 1, &cl, &rec, &len), 0);
		CHECK_INT(cl.outcome, REMOTE_LOCAL);
		remote_finish(rm, &cl, "x", 1, 0, 0);
	}
	CHECK(util_now_ns() - t0 < 500000000);	/* no retry within 1 s */
	remote_get_stats(rm, &st);
	CHECK_INT(st.errors, 1);
	CHECK_INT(st.hits + st.misses + st.leases, 0);
	remote_cancel(rm);
	remote_cancel(rm);
	CHECK_INT(remote_fetch(rm, key, 1, &cl, &rec, &len), -ESHUTDOWN);
	remote_close(rm);
	remote_close(NULL);
}

/* A waiter is woken by remote_cancel(), not by the lease's expiry. */
static void test_cancel_wakes_waiter(void)
{
	remote *a = tier(sock, 0), *b = tier(sock, 0);
	struct fetcher fb = { .rm = b };
	struct remote_claim cl;
	pthread_t t;
	void *rec;
	size_t len;
	int64_t t0;

	memset(fb.key, 13, KEY_LEN);
	CHECK_INT(remote_fetch(a, fb.key, 1, &cl, &rec, &len), 0);
	CHECK_INT(cl.outcome, REMOTE_LEASED);
	pthread_create(&t, NULL, fetch_main, &fb);
	usleep(200000);
	t0 = util_now_ns();
	remote_cancel(b);
	pthread_join(t, NULL);
	CHECK(util_now_ns() - t0 < 2000000000);	/* not at the expiry */
	CHECK_INT(fb.rc, -ESHUTDOWN);
	remote_finish(a, &cl, NULL, 0, 0, 0);	/* failed: no value */
	remote_close(a);
	remote_close(b);
}

struct woken {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int n;
};

static void on_wake(void *arg)
{
	struct woken *w = arg;

	pthread_mutex_lock(&w->lock);
	w->n++;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

/* Waits up to ms for w->n to reach n; returns w->n. */
static int woken_wait(struct woken *w, int n, int ms)
{
	struct timespec until;
	int got;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&w->lock);
	while (w->n < n &&
	       pthread_cond_timedwait(&w->cond, &w->lock, &until) == 0)
		;
	got = w->n;
	pthread_mutex_unlock(&w->lock);
	return got;
}

/* Without wait, a taken lease is REMOTE_BUSY; remote_watch() wakes once
 * on the holder's message, not at the lease's expiry; a watch on a free
 * key is -EAGAIN; remote_cancel() wakes the watches left. */
static void test_busy_and_watch(void)
{
	remote *a = tier(sock, 0), *b = tier(sock, 0);
	struct woken w = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
			   0 };
	struct remote_claim cl, cb;
	uint8_t key[KEY_LEN], other[KEY_LEN];
	void *rec;
	size_t len;
	int64_t t0;

	memset(key, 21, KEY_LEN);
	memset(other, 22, KEY_LEN);
	CHECK_INT(remote_fetch(a, key, 0, &cl, &rec, &len), 0);
	CHECK_INT(cl.outcome, REMOTE_LEASED);
	CHECK_INT(remote_fetch(b, key, 0, &cb, &rec, &len), 0);
	CHECK_INT(cb.outcome, REMOTE_BUSY);
	/* The first watch makes the listener subscribe, which wakes it (a
	 * message may have passed before); once subscribed, a watch on a
	 * free key is refused. */
	CHECK_INT(remote_watch(b, key, on_wake, &w), 0);
	CHECK_INT(woken_wait(&w, 1, 5000), 1);
	pthread_mutex_lock(&w.lock);
	w.n = 0;
	pthread_mutex_unlock(&w.lock);
	CHECK_INT(remote_watch(b, other, on_wake, &w), -EAGAIN);
	CHECK_INT(remote_watch(b, key, on_wake, &w), 0);
	usleep(200000);
	CHECK_INT(woken_wait(&w, 1, 0), 0);	/* not before the message */
	t0 = util_now_ns();
	remote_finish(a, &cl, "7\n", 2, 0, 0);
	CHECK_INT(woken_wait(&w, 1, 2500), 1);	/* not at the expiry */
	CHECK(util_now_ns() - t0 < 2500000000);
	CHECK_INT(remote_fetch(b, key, 0, &cb, &rec, &len), 0);
	CHECK_INT(cb.outcome, REMOTE_HIT);
	free(rec);
	/* A watch left is woken by remote_cancel(), then refused. */
	memset(key, 23, KEY_LEN);
	CHECK_INT(remote_fetch(a, key, 0, &cl, &rec, &len), 0);
	CHECK_INT(cl.outcome, REMOTE_LEASED);
	CHECK_INT(remote_watch(b, key, on_wake, &w), 0);
	CHECK_INT(remote_fetch(b, other, 0, &cb, &rec, &len), 0);
	CHECK_INT(cb.outcome, REMOTE_LEASED);
	remote_cancel(b);
	CHECK_INT(woken_wait(&w, 2, 5000), 2);
	CHECK_INT(remote_watch(b, key, on_wake, &w), -ESHUTDOWN);
	remote_finish(a, &cl, NULL, 0, 0, 0);
	/* What finishes after the cancel is still published. */
	remote_finish(b, &cb, "8\n", 2, 0, 0);
	CHECK_INT(remote_fetch(a, other, 0, &cl, &rec, &len), 0);
	CHECK_INT(cl.outcome, REMOTE_HIT);
	free(rec);
	remote_close(a);
	remote_close(b);
}

/* A holder that died: its lease (not renewed) expires, and a waiter,
 * blocked or parked, takes over just after, not a lease period later. */
static void test_dead_holder(void)
{
	struct woken w = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
			   0 };
	remote *a = tier(sock, 0);
	struct remote_claim cl;
	uint8_t key[KEY_LEN];
	char hex[2 * KEY_LEN + 1];
	redisReply *r;
	void *rec;
	size_t len;
	int64_t t0;

	memset(key, 60, KEY_LEN);
	key_hex(key, hex);
	r = redis_do("SET t:l:%b dead PX 800", hex, 2 * KEY_LEN);
	CHECK(r && r->type == REDIS_REPLY_STATUS);
	freeReplyObject(r);
	t0 = util_now_ns();
	CHECK_INT(remote_fetch(a, key, 1, &cl, &rec, &len), 0);
	CHECK_INT(cl.outcome, REMOTE_LEASED);
	CHECK(util_now_ns() - t0 > 300000000);
	CHECK(util_now_ns() - t0 < 2500000000);
	remote_finish(a, &cl, NULL, 0, 0, 0);
	/* Parked: the watch wakes just after the expiry. */
	memset(key, 61, KEY_LEN);
	key_hex(key, hex);
	CHECK_INT(remote_watch(a, key, on_wake, &w), 0); /* subscribes */
	CHECK_INT(woken_wait(&w, 1, 5000), 1);
	r = redis_do("SET t:l:%b dead PX 800", hex, 2 * KEY_LEN);
	freeReplyObject(r);
	t0 = util_now_ns();
	CHECK_INT(remote_watch(a, key, on_wake, &w), 0);
	CHECK_INT(woken_wait(&w, 2, 3000), 2);
	CHECK(util_now_ns() - t0 > 300000000);
	CHECK(util_now_ns() - t0 < 2500000000);
	CHECK_INT(remote_fetch(a, key, 0, &cl, &rec, &len), 0);
	CHECK_INT(cl.outcome, REMOTE_LEASED);
	remote_finish(a, &cl, NULL, 0, 0, 0);
	remote_close(a);
}

/* ---- two memo layers: two machines -------------------------------------- */

static atomic_int slow_runs;

static int fn_slow(memofs_ctx *ctx, const char *arg, void *udata)
{
	atomic_fetch_add(&slow_runs, 1);
	usleep(400000);
	return memofs_printf(ctx, "slow %s\n", arg);
}

/* Waits (up to 10 s) until slow() has started n times: the machine
 * computing it holds its lease from before it starts. */
static void wait_runs(int n)
{
	for (int i = 0; i < 10000 && atomic_load(&slow_runs) < n; i++)
		usleep(1000);
	CHECK(atomic_load(&slow_runs) >= n);
}

static int fn_fast(memofs_ctx *ctx, const char *arg, void *udata)
{
	return memofs_printf(ctx, "fast %s\n", arg);
}

/* A typed result: two float64 values. */
static int fn_pair(memofs_ctx *ctx, const char *arg, void *udata)
{
	const double v[2] = { 0.5, -2.0 };

	return memofs_write_f64(ctx, v, 2);
}

/* outer(x) calls slow(x): a nested call, which waits in place. */
static int fn_outer(memofs_ctx *ctx, const char *arg, void *udata)
{
	const void *data;
	size_t len;
	int rc = memofs_call(ctx, "slow", arg, &data, &len);

	return rc ? rc : memofs_printf(ctx, "outer %.*s", (int)len,
				       (const char *)data);
}

struct done {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int n, err;
	char text[4][32];	/* in the order the callbacks came */
	int inline_calls;	/* callbacks on the thread that submitted */
};

static pthread_t submitter;	/* the test's main thread */

static void on_done(void *arg, int err, memo_result *res)
{
	struct done *d = arg;

	pthread_mutex_lock(&d->lock);
	if (pthread_equal(pthread_self(), submitter))
		d->inline_calls++;
	if (err)
		d->err = err;
	else if (d->n < 4)
		snprintf(d->text[d->n], sizeof(d->text[0]), "%.*s",
			 (int)memo_result_len(res),
			 (const char *)memo_result_data(res));
	d->n++;
	pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->lock);
}

static int done_wait(struct done *d, int n)
{
	struct timespec until;
	int got;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 10;
	pthread_mutex_lock(&d->lock);
	while (d->n < n &&
	       pthread_cond_timedwait(&d->cond, &d->lock, &until) == 0)
		;
	got = d->n;
	pthread_mutex_unlock(&d->lock);
	return got;
}

struct machine {
	char dir[300];
	store *st;
	remote *rm;
	memo *m;
};

static void machine_open(struct machine *mc, const reg *r, const ds *d,
			 unsigned workers)
{
	snprintf(mc->dir, sizeof(mc->dir), "%s/store.XXXXXX", tmp);
	CHECK(mkdtemp(mc->dir) != NULL);
	CHECK_INT(store_open(mc->dir, &mc->st), 0);
	mc->rm = tier(sock, 0);
	CHECK_INT(memo_new(mc->st, r, d, workers, &mc->m), 0);
	memo_set_remote(mc->m, mc->rm);
}

static int rm_entry(const char *p, const struct stat *sb, int flag,
		    struct FTW *ftw)
{
	return remove(p);
}

static void machine_close(struct machine *mc)
{
	memo_free(mc->m);
	remote_close(mc->rm);
	store_close(mc->st);
	nftw(mc->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* Two memo layers with their own stores, on one Redis: a result asked on
 * both at once is computed once (top-level and nested asks); a machine
 * with one worker, whose job waits for the other machine's lease, parks
 * it and computes something else meanwhile. */
static void test_two_machines(void)
{
	static const char *const args[] = { "a", "b", "c", "d", NULL };
	const struct memofs_function defs[] = {
		{ "slow", "1", "", MEMOFS_ARGS_LIST, args, fn_slow, NULL,
		  MEMOFS_BYTES, MEMOFS_SHAPE_VECTOR, NULL, 0, 0 },
		{ "fast", "1", "", MEMOFS_ARGS_LIST, args, fn_fast, NULL,
		  MEMOFS_BYTES, MEMOFS_SHAPE_VECTOR, NULL, 0, 0 },
		{ "outer", "1", "", MEMOFS_ARGS_LIST, args, fn_outer, NULL,
		  MEMOFS_BYTES, MEMOFS_SHAPE_VECTOR, NULL, 0, 0 },
		{ "pair", "1", "", MEMOFS_ARGS_LIST, args, fn_pair, NULL,
		  MEMOFS_FLOAT64, MEMOFS_SHAPE_VECTOR, NULL, 0, 0 },
	};
	struct done da = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
			   0, 0, { "" }, 0 };
	struct done db = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
			   0, 0, { "" }, 0 };
	struct machine a, b;
	struct memo_stats st;
	reg *r = NULL;
	ds *d = NULL;

	CHECK_INT(ds_demo(&d), 0);
	CHECK_INT(reg_new(&r), 0);
	for (size_t i = 0; i < sizeof(defs) / sizeof(defs[0]); i++)
		CHECK_INT(memofs_register(r, &defs[i]), 0);
	CHECK_INT(reg_bind_dataset(r, d), 0);
	machine_open(&a, r, d, 2);
	machine_open(&b, r, d, 1);

	/* slow(a) on both, and outer(a) (nested) on b: one computation. */
	submitter = pthread_self();
	CHECK_INT(memo_submit(a.m, reg_find(r, "slow"), "a", on_done, &da), 0);
	wait_runs(1);		/* a holds the lease */
	CHECK_INT(memo_submit(b.m, reg_find(r, "slow"), "a", on_done, &db), 0);
	CHECK_INT(memo_submit(b.m, reg_find(r, "fast"), "a", on_done, &db), 0);
	/* b's one worker parked slow(a): fast(a) is answered first. */
	CHECK_INT(done_wait(&db, 1), 1);
	CHECK_STR(db.text[0], "fast a\n");
	CHECK_INT(done_wait(&da, 1), 1);
	CHECK_INT(done_wait(&db, 2), 2);
	CHECK_STR(da.text[0], "slow a\n");
	CHECK_STR(db.text[1], "slow a\n");
	CHECK_INT(atomic_load(&slow_runs), 1);
	memo_get_stats(b.m, &st);
	CHECK_INT(st.computed, 1);		/* fast(a) only */
	CHECK_INT(st.remote_hits, 1);
	CHECK(st.remote_waited >= 1);
	memo_get_stats(a.m, &st);
	CHECK_INT(st.remote_leases, 1);
	CHECK_INT(st.remote_misses, 1);

	/* A nested call on b waits in place for a's lease on slow(b). */
	CHECK_INT(memo_submit(a.m, reg_find(r, "slow"), "b", on_done, &da), 0);
	wait_runs(2);
	CHECK_INT(memo_submit(b.m, reg_find(r, "outer"), "b", on_done, &db),
		  0);
	CHECK_INT(done_wait(&da, 2), 2);
	CHECK_INT(done_wait(&db, 3), 3);
	CHECK_STR(db.text[2], "outer slow b\n");
	CHECK_INT(atomic_load(&slow_runs), 2);
	CHECK_INT(da.err + db.err, 0);

	/* A typed result comes back typed from the other machine. */
	CHECK_INT(memo_submit(a.m, reg_find(r, "pair"), "a", on_done, &da), 0);
	CHECK_INT(done_wait(&da, 3), 3);
	{
		memo_result *res = NULL;
		const double *v;

		CHECK_INT(memo_lookup(b.m, reg_find(r, "pair"), "a", &res),
			  -ENOENT);	/* lookups never ask Redis */
		CHECK_INT(memo_submit(b.m, reg_find(r, "pair"), "a",
				      on_done, &db), 0);
		CHECK_INT(done_wait(&db, 4), 4);
		CHECK_INT(memo_lookup(b.m, reg_find(r, "pair"), "a", &res), 0);
		CHECK(res && memo_result_dtype(res) == MEMOFS_FLOAT64 &&
		      memo_result_count(res) == 2);
		v = res ? memo_result_f64(res) : NULL;
		CHECK(v && v[0] == 0.5 && v[1] == -2.0);
		memo_result_unref(res);
		memo_get_stats(b.m, &st);
		CHECK_INT(st.remote_hits, 3);	/* slow(a), slow(b), pair */
	}

	/* A job parked when b stops ends with -ESHUTDOWN, at once. */
	CHECK_INT(memo_submit(a.m, reg_find(r, "slow"), "c", on_done, &da), 0);
	wait_runs(3);
	CHECK_INT(memo_submit(b.m, reg_find(r, "slow"), "c", on_done, &db), 0);
	usleep(100000);
	memo_cancel(b.m);
	CHECK_INT(done_wait(&db, 5), 5);
	CHECK_INT(db.err, -ESHUTDOWN);
	CHECK_INT(done_wait(&da, 4), 4);
	CHECK_INT(atomic_load(&slow_runs), 3);
	/* fast() is cheap now, but with a remote tier no job runs on the
	 * thread that submitted it (its first step is a round trip).  (b's
	 * cancel called its waiters here: that is no job.) */
	CHECK_INT(da.inline_calls, 0);
	CHECK_INT(memo_submit(a.m, reg_find(r, "fast"), "b", on_done, &da), 0);
	CHECK_INT(done_wait(&da, 5), 5);	/* fast() took < 1 ms */
	CHECK_INT(memo_submit(a.m, reg_find(r, "fast"), "c", on_done, &da), 0);
	CHECK_INT(done_wait(&da, 6), 6);
	CHECK_INT(da.inline_calls, 0);
	machine_close(&a);
	machine_close(&b);
	reg_free(r);
	ds_free(d);
}

int main(void)
{
	test_url_good();
	test_url_bad();
	test_records();
	redis_start();
	test_lease_and_wait();
	test_damaged_value();
	test_readonly();
	test_foreign_lease();
	test_keyed_values();
	test_too_large();
	test_max_age();
	test_unreachable();
	test_cancel_wakes_waiter();
	test_busy_and_watch();
	test_dead_holder();
	test_two_machines();
	redis_stop();
	return check_report("test_remote");
}
