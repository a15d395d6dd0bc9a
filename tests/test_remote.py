"""test_remote.py -- the remote tier (issue 16): memofs daemons with
separate local caches, as separate machines would be, sharing results
through a real redis-server that each test starts on 127.0.0.1 on a free
port (tests/redis_server.py) and stops by its pid.

Computations are counted from each mount's log ("column(colN):
computing"), summed across mounts.  Column values are small multiples of
0.5 whose text is known exactly, so every byte served is checked.
"""
import json
import os
import re
import stat
import threading
import time

import pytest

from redis_server import RedisServer, free_port

NCOLS = 8
NROWS = 200
DOWN_LINE = "computing and serving locally"


def column_bytes(c):
    return "".join(f"{repr(float(r * 0.5 + c))}\n"
                   for r in range(NROWS)).encode()


@pytest.fixture
def data(tmp_path):
    p = tmp_path / "data.csv"
    with open(p, "w") as f:
        for r in range(NROWS):
            f.write(",".join(repr(r * 0.5 + c) for c in range(NCOLS)))
            f.write("\n")
    return p


@pytest.fixture
def redis(tmp_path):
    r = RedisServer(tmp_path / "redis").start()
    yield r
    r.stop()


def machines(mount_factory, data, redis, n, delay="0.2", extra=()):
    """n mounts of data, each with its own temporary cache and the same
    Redis: n machines."""
    # remote_timeout=5000: a loaded CI machine (sanitizers, other jobs)
    # can keep Redis from answering within the default second, and the
    # tier would then compute locally: not what these tests count.
    return [mount_factory(data=data, opts=[f"remote={redis.url}",
                                           f"delay={delay}", "workers=2",
                                           "remote_timeout=5000", *extra])
            for _ in range(n)]


def computed(mounts, arg):
    return sum(m.count("column", arg) for m in mounts)


def read_all(jobs):
    """Reads (mount, path) pairs in parallel threads; returns the bytes
    (or the exception) of each, in order."""
    out = [None] * len(jobs)

    def one(i, m, rel):
        try:
            out[i] = m.read(rel)
        except OSError as e:
            out[i] = e
    ts = [threading.Thread(target=one, args=(i, m, rel))
          for i, (m, rel) in enumerate(jobs)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(30)
    return out


def remote_keys(redis, kind):
    return redis.call("KEYS", f"memofs:{kind}:*")


def test_computed_on_a_served_by_b(mount_factory, data, redis, tmp_path):
    a, = machines(mount_factory, data, redis, 1)
    cache_b = tmp_path / "cache-b"
    b = mount_factory(data=data, opts=[f"remote={redis.url}", "delay=0.2",
                                       f"cache={cache_b}"])
    assert a.read("column/col1") == column_bytes(1)
    assert a.count("column", "col1") == 1
    assert b.read("column/col1") == column_bytes(1)
    assert b.count("column", "col1") == 0
    assert re.search(r"column\(col1\): from the remote cache", b.log())
    # A nested call finds the column remotely too: b computes only max.
    assert float(b.read("max/col1")) == (NROWS - 1) * 0.5 + 1
    assert b.count("column", "col1") == 0
    # The remote hit was copied into b's own cache: served with Redis
    # emptied, after a remount.
    b.unmount()
    redis.call("FLUSHALL")
    b2 = mount_factory(data=data, opts=[f"remote={redis.url}", "delay=0.2",
                                        f"cache={cache_b}"])
    assert b2.read("column/col1") == column_bytes(1)
    assert b2.count("column", "col1") == 0
    assert "from the remote cache" not in b2.log()


def test_concurrent_cold_reads_compute_once(mount_factory, data, redis):
    ms = machines(mount_factory, data, redis, 3, delay="0.5")
    jobs = [(m, f"column/col{c}") for c in range(4) for m in ms]
    out = read_all(jobs)
    for (m, rel), got in zip(jobs, out):
        assert got == column_bytes(int(rel[-1])), (m.path, rel, got)
    for c in range(4):
        assert computed(ms, f"col{c}") == 1, [m.log() for m in ms]
    assert remote_keys(redis, "l") == []      # every lease released
    # `memofs stats` (.memofs/stats.json) counts them per function: 4
    # results computed under a lease in all, every other read a hit.
    col = [json.loads(m.read(".memofs/stats.json"))["functions"]["column"]
           for m in ms]
    assert sum(c["remote_leases"] for c in col) == 4, col
    assert sum(c["remote_hits"] for c in col) == 3 * 4 - 4, col
    assert sum(c["computed"] for c in col) == 4, col
    assert "remote_waited" in col[0] and "remote_misses" in col[0]
    # The counters each mount logs at unmount agree.
    for m in ms:
        m.unmount()
    stats = [tuple(map(int, re.search(
        r"remote: \S+: (\d+) hits, (\d+) misses, (\d+) leases taken, "
        r"(\d+) waits, (\d+) damaged, (\d+) errors", m.log()).groups()))
        for m in ms]
    hits, misses, leases, waits, damaged, errors = map(sum, zip(*stats))
    assert leases == 4 and misses == 4, stats
    assert hits == 3 * 4 - 4, stats
    assert damaged == 0 and errors == 0, stats


def test_lease_holder_killed_hands_over(mount_factory, data, redis):
    a, b, c = machines(mount_factory, data, redis, 3, delay="1.5")
    ta = threading.Thread(target=read_all, args=([(a, "column/col2")],))
    ta.start()
    a.wait_log(r"column\(col2\): computing")
    out = []
    tw = threading.Thread(target=lambda: out.extend(
        read_all([(b, "column/col2"), (c, "column/col2")])))
    tw.start()
    time.sleep(0.3)                           # b and c wait for a's lease
    assert computed([b, c], "col2") == 0
    assert len(remote_keys(redis, "l")) == 1
    t0 = time.monotonic()
    a.kill()                                  # kill -9, mid-computation
    tw.join(20)
    took = time.monotonic() - t0
    ta.join(10)
    a.unmount(check=False)
    assert out == [column_bytes(2)] * 2
    assert computed([b, c], "col2") == 1      # one waiter took over
    # The lease expires at most 3 s after the kill (its last renewal);
    # the waiters look again 50 ms after that, and one computes for 1.5 s.
    assert took < 3 + 0.05 + 1.5 + 2, took
    assert remote_keys(redis, "l") == []


def test_redis_killed_and_restarted_mid_run(mount_factory, data, redis):
    a, b = machines(mount_factory, data, redis, 2, delay="0.5")
    assert a.read("column/col0") == column_bytes(0)
    got = []
    t = threading.Thread(target=lambda: got.extend(
        read_all([(a, "column/col3")])))
    t.start()
    a.wait_log(r"column\(col3\): computing")
    redis.kill()                              # mid-computation
    t.join(20)
    assert got == [column_bytes(3)]           # no reader error
    for c in (4, 5):                          # Redis gone: all local
        assert a.read(f"column/col{c}") == column_bytes(c)
        assert b.read(f"column/col{c}") == column_bytes(c)
    assert computed([a, b], "col4") == 2
    for m in (a, b):
        assert m.log().count(DOWN_LINE) == 1, m.log()
    redis.start()                             # same port, empty
    time.sleep(1.2)                           # the tier's retry delay
    assert a.read("column/col6") == column_bytes(6)
    a.wait_log(r"answers again")
    assert b.read("column/col6") == column_bytes(6)
    assert computed([a, b], "col6") == 1
    # What a had before the restart is still served locally.
    assert a.read("column/col0") == column_bytes(0)


def test_slow_redis_times_out_to_local(mount_factory, data, redis):
    a, b = machines(mount_factory, data, redis, 2,
                    extra=["remote_timeout=200"])
    assert a.read("column/col0") == column_bytes(0)
    redis.pause()                             # answers nothing
    try:
        t0 = time.monotonic()
        assert b.read("column/col1") == column_bytes(1)
        assert b.read("column/col0") == column_bytes(0)
        took = time.monotonic() - t0
    finally:
        redis.resume()
    # One 200 ms timeout, then local computations (0.2 s each) without
    # asking Redis again within the next second.
    assert took < 0.2 + 2 * 0.2 + 2.0, took
    assert b.count("column", "col0") == 1
    assert b.log().count(DOWN_LINE) == 1
    assert re.search(r"remote: .*GET: no answer within 200 ms",
                     b.log()), b.log()
    time.sleep(1.2)
    assert b.read("column/col2") == column_bytes(2)
    b.wait_log("answers again")
    assert a.read("column/col2") == column_bytes(2)
    assert a.count("column", "col2") == 0


@pytest.mark.parametrize("damage", ["flipped", "truncated", "garbage",
                                    "wrong type"])
def test_damaged_remote_value_is_recomputed(mount_factory, data, redis,
                                            damage):
    a, b = machines(mount_factory, data, redis, 2)
    assert a.read("column/col1") == column_bytes(1)
    key, = remote_keys(redis, "v")
    value = redis.call("GET", key)
    if damage == "flipped":                   # one byte of the data
        value = value[:50] + bytes([value[50] ^ 1]) + value[51:]
    elif damage == "truncated":
        value = value[:-1]
    else:
        value = b"MFS\0" + b"\xff" * 60       # a forged header
    redis.call("DEL", key)
    if damage == "wrong type":
        redis.call("RPUSH", key, value)
    else:
        redis.call("SET", key, value)
    assert b.read("column/col1") == column_bytes(1)
    assert b.count("column", "col1") == 1      # recomputed, not served
    # The recomputed record replaced the damaged one: c is served.
    c, = machines(mount_factory, data, redis, 1)
    assert c.read("column/col1") == column_bytes(1)
    assert c.count("column", "col1") == 0


@pytest.mark.parametrize("keyed", [True, False])
def test_moved_record_needs_remote_key_file(mount_factory, data, redis,
                                            tmp_path, keyed):
    """A genuine record moved under another result's key passes the XXH3
    checksum: with remote_key_file its MAC (bound to the key's name) is
    refused and the result recomputed; without one it is served, as the
    README says."""
    extra = []
    if keyed:
        key = tmp_path / "key"
        key.write_text("a shared secret of 32 bytes.....\n")
        key.chmod(0o600)
        extra = [f"remote_key_file={key}"]
    a, b = machines(mount_factory, data, redis, 2, extra=extra)
    assert a.read("column/col1") == column_bytes(1)
    assert a.read("column/col2") == column_bytes(2)
    keys = remote_keys(redis, "v")
    assert len(keys) == 2
    # Swap the two records: col1's key then holds col2's record and the
    # other way round.
    v = {k: redis.call("GET", k) for k in keys}
    ka, kb = keys
    redis.call("SET", ka, v[kb])
    redis.call("SET", kb, v[ka])
    got1, got2 = b.read("column/col1"), b.read("column/col2")
    if keyed:
        assert (got1, got2) == (column_bytes(1), column_bytes(2))
        assert computed([b], "col1") + computed([b], "col2") == 2
        assert b.log().count("MAC mismatch") == 2
    else:
        assert (got1, got2) == (column_bytes(2), column_bytes(1))
        assert computed([b], "col1") + computed([b], "col2") == 0


def test_readonly_publishes_nothing(mount_factory, data, redis):
    a, = machines(mount_factory, data, redis, 1)
    ro, = machines(mount_factory, data, redis, 1, extra=["remote_readonly"])
    assert a.read("column/col1") == column_bytes(1)
    assert ro.read("column/col1") == column_bytes(1)  # uses a's result
    assert ro.count("column", "col1") == 0
    before = sorted(redis.call("KEYS", "*"))
    assert ro.read("column/col2") == column_bytes(2)  # computes, locally
    assert ro.count("column", "col2") == 1
    assert float(ro.read("sum/col5")) == sum(r * 0.5 + 5
                                             for r in range(NROWS))
    assert sorted(redis.call("KEYS", "*")) == before   # nothing written


def test_unix_socket_database_and_max_value(mount_factory, data, redis):
    """unix: URLs and /DB reach the same data; a record larger than
    remote_max_value stays local, a smaller one is shared."""
    opts = ["delay=0.1", "remote_max_value=200"]
    a = mount_factory(data=data, opts=[f"remote={redis.url}/3", *opts])
    b = mount_factory(data=data, opts=[f"remote={redis.unix_url}", *opts])
    c = mount_factory(data=data, opts=[f"remote={redis.url}/3", *opts])
    assert a.read("column/col1") == column_bytes(1)
    assert float(a.read("max/col1")) == (NROWS - 1) * 0.5 + 1
    big = re.search(r"remote: memofs:v:\w+: (\d+) bytes, above "
                    r"remote_max_value: kept local", a.log())
    assert big and int(big.group(1)) > 200, a.log()
    values = sorted(redis.call("GET", k, db=3)
                    for k in redis.call("KEYS", "memofs:v:*", db=3))
    assert len(values) == 2                                  # in db 3
    assert values[1] == b"memofs: computed locally\n"        # column's
    assert values[0].startswith(b"MFS\0")                     # max's
    assert redis.call("KEYS", "*") == []                     # not db 0
    assert float(c.read("max/col1")) == (NROWS - 1) * 0.5 + 1
    assert c.count("max", "col1") == 0                       # shared
    assert c.read("column/col1") == column_bytes(1)
    assert c.count("column", "col1") == 1                    # local
    assert b.read("column/col1") == column_bytes(1)          # db 0
    assert b.count("column", "col1") == 1
    assert len(redis.call("KEYS", "memofs:v:*")) == 1        # the mark
    assert float(b.read("max/col1")) == (NROWS - 1) * 0.5 + 1
    assert len(redis.call("KEYS", "memofs:v:*")) == 2


def test_too_large_results_computed_at_once(mount_factory, data, redis):
    """A result above remote_max_value on 3 machines at once: the first
    computes it, the two others wait for it once, then compute it
    together, not one after the other."""
    ms = machines(mount_factory, data, redis, 3, delay="1.5",
                  extra=["remote_max_value=200"])
    t0 = time.monotonic()
    out = read_all([(m, "column/col3") for m in ms])
    took = time.monotonic() - t0
    assert out == [column_bytes(3)] * 3
    assert computed(ms, "col3") == 3
    assert took < 2 * 1.5 + 1, took           # not 3 x 1.5 s


def test_unreachable_redis_at_mount(mount_factory, data):
    port = free_port()                        # nothing listens there
    m = mount_factory(data=data, opts=[f"remote=redis://127.0.0.1:{port}",
                                       "delay=0.1"])
    for c in range(3):
        assert m.read(f"column/col{c}") == column_bytes(c)
    assert m.count("column", "col0") == 1
    lines = [l for l in m.log().splitlines() if "remote:" in l]
    assert len(lines) == 1, lines
    assert f"127.0.0.1:{port}" in lines[0] and DOWN_LINE in lines[0]


def test_password_file(mount_factory, data, tmp_path):
    r = RedisServer(tmp_path / "redis", password="s3cret pass").start()
    try:
        pw = tmp_path / "pw"
        pw.write_text("s3cret pass\n")
        pw.chmod(0o600)
        a, b = [mount_factory(data=data, opts=[
            f"remote={r.url}", f"remote_password_file={pw}",
            "remote_prefix=team.a", "delay=0.1"]) for _ in range(2)]
        assert a.read("column/col1") == column_bytes(1)
        assert b.read("column/col1") == column_bytes(1)
        assert b.count("column", "col1") == 0
        assert len(r.call("KEYS", "team.a:v:*")) == 1
        assert "s3cret" not in a.log() + b.log()
        # Without the password: one line, local computation.
        c = mount_factory(data=data, opts=[f"remote={r.url}", "delay=0.1"])
        assert c.read("column/col1") == column_bytes(1)
        assert c.count("column", "col1") == 1
        assert c.log().count(DOWN_LINE) == 1
        assert "NOAUTH" in c.log() or "AUTH" in c.log()
    finally:
        r.stop()


def test_bad_remote_options(mount_factory, data, tmp_path):
    mnt = mount_factory.mountpoint()
    pw = tmp_path / "pw"
    pw.write_text("x\n")
    pw.chmod(0o644)
    empty, long, two = tmp_path / "empty", tmp_path / "long", tmp_path / "two"
    short = tmp_path / "short"
    empty.write_text("")
    long.write_text("x" * 513)
    two.write_text("a\nb\n")
    short.write_text("fifteen bytes..\n")
    for f in (empty, long, two, short):
        f.chmod(0o600)
    cases = [
        ("remote=redis://u:p@h:1", "password"),
        ("remote=rediss://h:1", "TLS"),
        ("remote=redis://h:0", "port"),
        ("remote=http://h", "redis://"),
        ("remote=unix:rel", "absolute"),
        ("remote_prefix=a:b", "remote_prefix"),
        ("remote=redis://h,remote_prefix=a:b", "remote_prefix"),
        ("remote=redis://h,remote_timeout=0", "remote_timeout"),
        ("remote=redis://h,remote_max_value=1T", "remote_max_value"),
        ("remote=redis://h,remote_max_value=513M", "remote_max_value"),
        ("remote_readonly", "need -o remote"),
        (f"remote=redis://h,remote_password_file={pw}", "chmod 600"),
        (f"remote=redis://h,remote_password_file={tmp_path}/none",
         "No such file"),
        (f"remote=redis://h,remote_password_file={tmp_path}",
         "not a regular file"),
        (f"remote=redis://h,remote_password_file={empty}", "one line"),
        (f"remote=redis://h,remote_password_file={long}", "one line"),
        (f"remote=redis://h,remote_password_file={two}", "one line"),
        (f"remote=redis://h,remote_key_file={short}", "16 to 512"),
        (f"remote=redis://h,remote_key_file={pw}", "chmod 600"),
    ]
    for opts, word in cases:
        r = mount_factory.run(["-f", "-o", opts, str(data), str(mnt)])
        assert r.returncode != 0, opts
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and word in lines[0], (opts, r.stderr)
