"""test_mends.py -- every size option takes the same units (fs/mfs_opts.c,
mfs_parse_size(), through compute/util/units.c's units_parse_size()).

-o max_size and -o remote_max_value accept the same spellings (64M, 64m,
64MB, 64MiB, plain bytes) with the same meaning, checked by their effect:
the max_size .memofs/stats.json reports, and which results a real
redis-server (tests/redis_server.py) receives under remote_max_value.
Both refuse the same hostile values with one line naming the option.
"""
import json
import os
import re

import pytest

from test_remote import redis  # noqa: F401  (the fixture)

NROWS = 200     # column/col1 as .npy: 128 + 1600 bytes, above 1 KiB


@pytest.fixture
def data(tmp_path):
    p = tmp_path / "data.csv"
    with open(p, "w") as f:
        for r in range(NROWS):
            f.write(f"{r * 0.5},{r * 0.5 + 1}\n")
    return p


MIB64 = ["64m", "64M", "64mB", "64MB", "64MiB", "64miB", str(64 << 20)]
KIB1 = ["1k", "1K", "1KB", "1KiB", "1024"]


def stats_json(m):
    with open(m.p(".memofs/stats.json")) as f:
        return json.load(f)


def test_size_options_take_the_same_units(mount_factory, data, redis):
    """Each spelling of 64 MiB gives max_size 64 MiB; as remote_max_value
    it shares a 1.7 KB column.  Each spelling of 1 KiB as
    remote_max_value keeps that column local (a mark in Redis) and still
    shares a small result: the value is 1024 bytes, whatever the
    spelling."""
    for v in MIB64:
        m = mount_factory(data=data, opts=[f"max_size={v}"])
        assert stats_json(m)["max_size"] == 64 << 20, v
        m.unmount()
    for i, v in enumerate(MIB64 + KIB1):
        prefix = f"t{i}"
        m = mount_factory(data=data, opts=[
            f"remote={redis.url}", f"remote_prefix={prefix}",
            f"remote_max_value={v}", "remote_timeout=5000", "delay=0.001"])
        m.read("column/col1.npy")
        m.read("max/col1")
        m.unmount()
        values = [redis.call("GET", k)
                  for k in redis.call("KEYS", f"{prefix}:v:*")]
        assert len(values) == 2, (v, values)
        marks = [x for x in values if x == b"memofs: computed locally\n"]
        if v in KIB1:
            assert len(marks) == 1, f"remote_max_value={v}: expected the " \
                f"column kept local, got {values!r}"
            assert re.search(r"above remote_max_value: kept local", m.log())
        else:
            assert marks == [], f"remote_max_value={v}: expected both " \
                f"results shared, got {values!r}"
        assert all(x.startswith(b"MFS\0") for x in values if x not in marks)


HOSTILE = ["-1", "1e400", "64q", "", "+64M", "64 M", " 64M", "1.5M",
           "0x40", "64Mi", "64MiBB", "64mb", "99999999999999999999",
           "17179869184T", "64M\t", "64M\n1", "\u00b9M"]


@pytest.mark.parametrize("opt", ["max_size", "remote_max_value"])
@pytest.mark.parametrize("value", HOSTILE)
def test_size_options_refuse_hostile_values(mount_factory, data, opt, value):
    """One line on stderr that names the option and the value and says what
    a size is; exit 1, no mount."""
    mnt = mount_factory.mountpoint()
    o = f"{opt}={value}"
    if opt.startswith("remote"):
        o = "remote=redis://127.0.0.1:1," + o
    r = mount_factory.run(["-o", o, data, mnt])
    assert r.returncode == 1, (o, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, (o, r.stderr)
    assert f"{opt}=" in lines[0] and "expected a size" in lines[0] and \
        "powers of 1024" in lines[0], (o, lines[0])


def test_remote_max_value_bounds(mount_factory, data):
    """remote_max_value takes 1 byte to 512M (Redis's largest string) in
    any spelling; 0 and one byte more are refused; max_size takes 0 (no
    limit)."""
    mnt = mount_factory.mountpoint()
    for v in ["0", "513M", "513m", "524289KiB", str((512 << 20) + 1),
              "1T", "1g"]:
        r = mount_factory.run(["-o", "remote=redis://127.0.0.1:1,"
                               f"remote_max_value={v}", data, mnt])
        assert r.returncode == 1 and "from 1 to 512M" in r.stderr, \
            (v, r.stderr)
    m = mount_factory(data=data, opts=["max_size=0"])
    assert stats_json(m)["max_size"] == 0
    m.unmount()
    for v in ["512M", "512m", "524288KiB", "1"]:
        m = mount_factory(data=data, opts=["remote=redis://127.0.0.1:1",
                                           f"remote_max_value={v}"])
        m.unmount()


def allocated(path):
    """Bytes of disk blocks a file holds (st_blocks, as du counts)."""
    return os.stat(path).st_blocks * 512


def test_empty_cache_on_disk(mount_factory, tmp_path):
    """An empty cache counts little on disk (compute/engine/store.c,
    STORE_MANIFEST_PREALLOC): under 1 MiB mounted (it was 4.26 MB, RocksDB
    preallocating 4 MiB of MANIFEST), and after a write nothing but the
    WAL's preallocation (1.1 x the 16 MiB write buffer) is large; at rest,
    once unmounted, under 1 MiB again.  stats.json's disk_bytes is what du
    counts."""
    cache = tmp_path / "cache"
    m = mount_factory(opts=[f"cache={cache}"])
    disk = stats_json(m)["disk_bytes"]
    assert 0 < disk < 1 << 20, disk
    m.read("mean/col0")
    files = [cache / f for f in os.listdir(cache)]
    wal = sum(allocated(f) for f in files if f.suffix == ".log")
    disk = stats_json(m)["disk_bytes"]
    counted = sum(allocated(f) for f in files if f.is_file())
    assert abs(disk - counted) < 1 << 20, (disk, counted)  # upkeep writes
    assert wal <= (16 << 20) * 11 // 10 + 4096, wal
    assert disk - wal < 1 << 20, (disk, wal)
    m.unmount()
    rest = sum(allocated(cache / f) for f in os.listdir(cache))
    assert rest < 1 << 20, rest
