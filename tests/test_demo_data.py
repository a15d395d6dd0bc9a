"""test_demo_data.py -- the demo dataset is NumPy's, bit for bit.

Runs tests/dump_demo (its path in MEMOFS_DUMP_DEMO, which tests/meson.build
sets) and compares its output with numpy.random.RandomState(42).randn(10000, 4):
the raw float64 values bit for bit, then fmt_double()'s text for each value
with Python's repr().
"""
import os
import subprocess

import numpy
import pytest

SEED = 42
SHAPE = (10000, 4)


@pytest.fixture(scope="module")
def dump_demo():
    path = os.environ.get("MEMOFS_DUMP_DEMO")
    if not path:
        pytest.skip("MEMOFS_DUMP_DEMO is not set: run through 'meson test', "
                    "or set it to the dump_demo executable")
    return path


@pytest.fixture(scope="module")
def expected():
    return numpy.random.RandomState(SEED).randn(*SHAPE).ravel()


def run(path, *args):
    return subprocess.run([path, *args], check=True, capture_output=True,
                          timeout=120).stdout


def test_values_bit_for_bit(dump_demo, expected):
    out = run(dump_demo)
    assert len(out) == expected.size * 8
    got = numpy.frombuffer(out, dtype="<u8")
    want = expected.astype("<f8").view("<u8")
    bad = numpy.flatnonzero(got != want)
    assert bad.size == 0, (
        f"{bad.size} values differ; first at {bad[0]}: "
        f"got {numpy.frombuffer(out, dtype='<f8')[bad[0]]!r}, "
        f"want {expected[bad[0]]!r}")


def test_repr_matches_python(dump_demo, expected):
    lines = run(dump_demo, "--repr").decode("ascii").split("\n")
    assert lines[-1] == "", "output does not end in a newline"
    lines = lines[:-1]
    assert len(lines) == expected.size
    for i, (got, x) in enumerate(zip(lines, expected)):
        assert got == repr(float(x)), f"value {i}"
