"""test_commands.py -- command functions (-o functions=FILE) and directory
DATA: results, invalidation, failures, timeouts, hostile names, errors.

Commands here are ordinary Debian programs (awk, sh, printf, env, cat,
sleep, python3) named in functions files written by each test.
"""
import errno
import os
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import is_mounted, wait_until

HOSTILE = ["$(touch x)", "; rm -rf y", "a b", "-rf", "--help", "`id`",
           "quote'd", '"dq"', "semi;colon", "star*", "~tilde", "\\back"]


def functions_file(tmp_path, text, name="f.ini"):
    path = tmp_path / name
    path.write_text(text)
    return path


def datadir(tmp_path, files, name="data"):
    d = tmp_path / name
    d.mkdir()
    for n, content in files.items():
        (d / n).write_bytes(content if isinstance(content, bytes)
                            else content.encode())
    return d


def count_prefix(m, fn, name):
    """'computing' lines of fn on a file argument (NAME/HEX)."""
    return sum(1 for l in m.computing_lines()
               if f"{fn}({name}/" in l)


def read_errno(path):
    with pytest.raises(OSError) as e:
        with open(path, "rb") as f:
            f.read()
    return e.value.errno


LINES = """\
# counts lines, and shows how a command is written
[lines]
description = Lines of each input file
args = files
command = awk 'END { print NR }' {file}
"""


# ---- results -----------------------------------------------------------------

def test_files_results_listing_and_cache(mount_factory, tmp_path):
    d = datadir(tmp_path, {"report.txt": "a\nb\nc\n", "notes.md": "x\n",
                           "empty": ""})
    (d / "sub").mkdir()
    os.symlink("/etc/passwd", d / "link")
    f = functions_file(tmp_path, LINES)
    m = mount_factory(data=d, opts=[f"functions={f}", "workers=2"])
    assert sorted(os.listdir(m.path)) == ["lines"]
    assert sorted(os.listdir(m.p("lines"))) == ["empty", "notes.md",
                                                "report.txt"]
    assert m.read("lines/report.txt") == b"3\n"
    assert m.read("lines/notes.md") == b"1\n"
    assert m.read("lines/empty") == b"0\n"
    for _ in range(3):
        assert m.read("lines/report.txt") == b"3\n"
    assert count_prefix(m, "lines", "report.txt") == 1
    assert os.stat(m.p("lines/report.txt")).st_size == 2
    m.unmount()


def test_list_and_column_functions(mount_factory, tmp_path):
    data = np.arange(12, dtype=float).reshape(4, 3) * 1.5
    csv = tmp_path / "t.csv"
    csv.write_text("a,b,c\n" + "".join(",".join(repr(v) for v in row) + "\n"
                                       for row in data))
    f = functions_file(tmp_path, """\
[greet]
description = says hello
args = list: alice, bob smith,  carol
command = printf 'hello %s\\n' {arg}

[colsum]
args = columns
command = python3 -c "import sys, numpy; print(repr(numpy.loadtxt(sys.argv[2], delimiter=',', skiprows=1)[:, int(sys.argv[1])].sum()))" {col} {data}

[which]
args = columns
command = echo {arg} {col}
""")
    m = mount_factory(data=csv, opts=[f"functions={f}"])
    assert sorted(os.listdir(m.p("greet"))) == ["alice", "bob smith",
                                                "carol"]
    assert m.read("greet/bob smith") == b"hello bob smith\n"
    assert read_errno(m.p("greet/dave")) == errno.ENOENT
    for j in range(3):
        assert m.read(f"colsum/col{j}") == \
            (repr(float(data[:, j].sum())) + "\n").encode()
    # a header alias is the same argument, canonical in argv
    assert m.read("which/b") == b"col1 1\n"
    assert m.read("which/col1") == b"col1 1\n"
    assert m.count("which", "col1") == 1
    # built-ins are still there next to command functions
    assert m.read("sum/col0") == (repr(float(data[:, 0].sum())) +
                                  "\n").encode()
    m.unmount()


def test_environment_stdin_and_cwd(mount_factory, tmp_path):
    fdir = tmp_path / "fns"
    fdir.mkdir()
    f = functions_file(fdir, """\
[env]
args = list: x
command = env
[stdin]
args = list: x
command = cat
[cwd]
args = list: x
command = pwd
[script]
args = list: x
command = sh ./hello.sh {arg}
""")
    (fdir / "hello.sh").write_text('echo "script says $1"\n')
    m = mount_factory(opts=[f"functions={f}"])
    env = dict(l.split("=", 1) for l in
               m.read("env/x").decode().splitlines())
    assert env == {"PATH": "/usr/local/bin:/usr/bin:/bin",
                   "HOME": os.environ.get("HOME") or "/",
                   "TMPDIR": str(mount_factory.tmpdir),
                   "LC_ALL": "C.UTF-8"}
    assert m.read("stdin/x") == b""
    assert m.read("cwd/x") == (str(fdir.resolve()) + "\n").encode()
    assert m.read("script/x") == b"script says x\n"
    m.unmount()


# ---- invalidation ------------------------------------------------------------

def test_edited_file_gets_a_fresh_result(mount_factory, tmp_path):
    d = datadir(tmp_path, {"a.txt": "1\n2\n", "b.txt": "1\n"})
    f = functions_file(tmp_path, LINES)
    cache = tmp_path / "cache"
    m = mount_factory(data=d, opts=[f"functions={f}", f"cache={cache}"])
    assert m.read("lines/a.txt") == b"2\n"
    assert m.read("lines/b.txt") == b"1\n"
    (d / "a.txt").write_text("1\n2\n3\n4\n")
    assert m.read("lines/a.txt") == b"4\n"        # while mounted
    assert os.stat(m.p("lines/a.txt")).st_size == 2
    assert m.read("lines/b.txt") == b"1\n"
    assert count_prefix(m, "lines", "a.txt") == 2
    assert count_prefix(m, "lines", "b.txt") == 1
    (d / "c.txt").write_text("x\n")               # new files appear
    assert "c.txt" in os.listdir(m.p("lines"))
    assert m.read("lines/c.txt") == b"1\n"
    (d / "c.txt").unlink()                        # and go
    assert "c.txt" not in os.listdir(m.p("lines"))
    assert read_errno(m.p("lines/c.txt")) == errno.ENOENT
    m.unmount()

    # Edited while unmounted: only that file is computed again.
    (d / "b.txt").write_text("1\n2\n3\n")
    m = mount_factory(data=d, opts=[f"functions={f}", f"cache={cache}"])
    assert m.read("lines/a.txt") == b"4\n"
    assert m.read("lines/b.txt") == b"3\n"
    assert count_prefix(m, "lines", "a.txt") == 0
    assert count_prefix(m, "lines", "b.txt") == 1
    m.unmount()


def test_changed_command_or_script_invalidates(mount_factory, tmp_path):
    cache = tmp_path / "cache"
    script = tmp_path / "calc.sh"
    script.write_text("echo one\n")
    text = "[calc]\nargs = list: x\ncommand = sh calc.sh\n" \
           "[other]\nargs = list: x\ncommand = echo other\n"
    f = functions_file(tmp_path, text)

    def mount_and_read():
        m = mount_factory(opts=[f"functions={f}", f"cache={cache}"])
        out = (m.read("calc/x"), m.read("other/x"))
        counts = (m.count("calc", "x"), m.count("other", "x"))
        m.unmount()
        return out, counts

    assert mount_and_read() == ((b"one\n", b"other\n"), (1, 1))
    assert mount_and_read() == ((b"one\n", b"other\n"), (0, 0))
    script.write_text("echo two\n")                  # the script changed
    assert mount_and_read() == ((b"two\n", b"other\n"), (1, 0))
    f.write_text(text.replace("sh calc.sh", "sh calc.sh extra"))
    assert mount_and_read() == ((b"two\n", b"other\n"), (1, 0))
    f.write_text(text.replace("args = list: x\ncommand = sh",
                              "description = now described\n"
                              "args = list: x\ncommand = sh"))
    # a description is not part of the result: still cached
    assert mount_and_read() == ((b"two\n", b"other\n"), (0, 0))


def test_file_changed_while_running_is_not_cached(mount_factory, tmp_path):
    d = datadir(tmp_path, {"a.txt": "old\n"})
    f = functions_file(tmp_path, """\
[slowcat]
args = files
command = sh -c 'sleep 1; cat "$1"' sh {file}
""")
    m = mount_factory(data=d, opts=[f"functions={f}"])
    result = {}

    def reader():
        try:
            result["data"] = m.read("slowcat/a.txt")
        except OSError as e:
            result["errno"] = e.errno

    t = threading.Thread(target=reader)
    t.start()
    m.wait_log(r"slowcat\(a\.txt/[0-9a-f]{32}\): computing")
    (d / "a.txt").write_text("new\n")
    t.join(20)
    assert result == {"errno": errno.EIO}
    m.wait_log(r"changed while the command ran")
    assert m.read("slowcat/a.txt") == b"new\n"
    m.unmount()


def test_table_changed_since_mount_refuses_data_commands(mount_factory,
                                                        tmp_path):
    csv = tmp_path / "t.csv"
    csv.write_text("1\n2\n")
    # ("size" is a built-in since issue 13)
    f = functions_file(tmp_path, "[nbytes]\nargs = columns\n"
                       "command = wc -c {data}\n")
    m = mount_factory(data=csv, opts=[f"functions={f}"])
    csv.write_text("1\n2\n3\n")
    assert read_errno(m.p("nbytes/col0")) == errno.EIO
    m.wait_log(r"changed since it was mounted: remount")
    assert m.read("mean/col0") == b"1.5\n"       # the snapshot still serves
    m.unmount()


# ---- failures ------------------------------------------------------------------

FAILING = """\
[status]
args = list: x
command = sh -c 'echo first line >&2; echo "it broke" >&2; exit 3'
[signal]
args = list: x
command = sh -c 'kill -SEGV $$'
[slow]
args = list: x
timeout = 0.5
command = sleep 30
[slowdefault]
args = list: x
command = sh -c 'sleep 31.25 & sleep 31.25'
[ok]
args = list: x
command = echo fine
"""


def test_failures_are_eio_logged_and_not_cached(mount_factory, tmp_path):
    f = functions_file(tmp_path, FAILING)
    m = mount_factory(opts=[f"functions={f}", "timeout=1", "workers=2"])
    for fn in ("status", "signal", "slow", "slowdefault"):
        t0 = time.monotonic()
        assert read_errno(m.p(f"{fn}/x")) == errno.EIO, fn
        assert time.monotonic() - t0 < 10, fn
    log = m.log()
    assert "status(x): failed" in log
    assert "exit status 3; stderr: first line | it broke" in log
    assert "killed by signal 11 (Segmentation fault)" in log
    assert "timed out after 0.5 s (killed)" in log
    assert "timed out after 1 s (killed)" in log     # -o timeout
    assert read_errno(m.p("status/x")) == errno.EIO  # ran again:
    assert m.count("status", "x") == 2               # nothing cached
    assert m.read("ok/x") == b"fine\n"               # daemon still up
    assert m.read("mean/col0")
    m.unmount()
    # the background sleep of slowdefault was killed with its group
    r = subprocess.run(["pgrep", "-f", "sleep 31.25"], capture_output=True)
    assert r.returncode == 1, r.stdout


def test_unmount_stops_running_commands(mount_factory, tmp_path):
    marker = f"memofs-test-{os.getpid()}-{time.monotonic_ns()}"
    script = tmp_path / f"{marker}.sh"
    script.write_text("sleep 300\n")
    f = functions_file(tmp_path, f"[hang]\nargs = list: x\n"
                       f"command = sh {script}\n")
    m = mount_factory(opts=[f"functions={f}"])
    reader = subprocess.Popen(["cat", m.p("hang/x")],
                              stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    m.wait_log(r"hang\(x\): computing")
    reader.kill()               # the read returns at once (EINTR) ...
    reader.wait(10)
    t0 = time.monotonic()
    assert m.unmount() == 0     # ... and unmounting stops the command
    assert time.monotonic() - t0 < 10
    m.wait_log(r"hang\(x\): failed after .*cancelled \(unmounting\)", 1)
    r = subprocess.run(["pgrep", "-f", marker], capture_output=True)
    assert r.returncode == 1, r.stdout


def test_single_flight_for_commands(mount_factory, tmp_path):
    d = datadir(tmp_path, {"a": "1\n2\n3\n"})
    f = functions_file(tmp_path, """\
[slowlines]
args = files
command = sh -c 'sleep 0.5; wc -l < "$1"' sh {file}
""")
    m = mount_factory(data=d, opts=[f"functions={f}", "workers=4"])
    out = []
    threads = [threading.Thread(target=lambda: out.append(
        m.read("slowlines/a"))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert out == [b"3\n"] * 8
    assert count_prefix(m, "slowlines", "a") == 1
    m.unmount()


# ---- hostile names -------------------------------------------------------------

def test_hostile_file_names_reach_no_shell(mount_factory, tmp_path):
    d = datadir(tmp_path, {n: f"content of {n}\n" for n in HOSTILE})
    (d / "nl\nname").write_text("newline\n")
    (d / "sub").mkdir()
    (d / "sub" / "inner").write_text("inner\n")
    os.symlink("/etc/passwd", d / "escape")
    os.symlink("../outside", d / "up")
    (tmp_path / "outside").write_text("secret\n")
    os.mkfifo(d / "fifo")
    work = tmp_path / "work"
    work.mkdir()
    f = functions_file(work, """\
[show]
args = files
command = printf '%s|%s|' {arg} {file}
[cat]
args = files
command = cat -- {file}
""")
    m = mount_factory(data=d, opts=[f"functions={f}"])
    listed = sorted(os.listdir(m.p("show")))
    assert listed == sorted(HOSTILE)
    for n in HOSTILE:
        assert m.read(f"show/{n}") == f"{n}|/dev/fd/3|".encode(), n
        assert m.read(f"cat/{n}") == f"content of {n}\n".encode(), n
    for bad in ("nl\nname", "sub", "escape", "up", "fifo", "missing",
                "..%2F..%2Fetc%2Fpasswd", "." * 3):
        assert read_errno(m.p("show") / bad) == errno.ENOENT, bad
    # ".." and "sub/inner" walk the mount's own tree, never DATA's
    assert not os.path.exists(m.p("show/sub/inner"))
    assert os.path.realpath(m.p("show/..")) == str(m.path)
    with pytest.raises(NotADirectoryError):
        os.stat(m.p("show") / "a b" / ".." / "-rf")   # a file, not a dir
    for p in (work, d, tmp_path, Path("/")):
        assert not (p / "x").exists(), p
        assert not (p / "y").exists(), p
    assert all((d / n).exists() for n in HOSTILE)
    m.unmount()


def test_hostile_list_items_are_single_arguments(mount_factory, tmp_path):
    f = functions_file(tmp_path, """\
[show]
args = list: $(touch x), ; rm -rf y, -n, a  b, --version
command = printf '[%s]' {arg}
""")
    m = mount_factory(opts=[f"functions={f}"])
    for item in ("$(touch x)", "; rm -rf y", "-n", "a  b", "--version"):
        assert m.read(f"show/{item}") == f"[{item}]".encode()
    assert not (tmp_path / "x").exists()
    m.unmount()


# ---- start-up errors ----------------------------------------------------------

BAD_FILES = [
    ("[f]\nargs = list: x\ncomand = echo\n", "line 3: unknown key 'comand'"),
    ("[f]\nargs = list: x\n", "missing 'command'"),
    ("[f]\nargs = list: x\ncommand = echo 'open\n", "line 3: unterminated"),
    ("[f]\nargs = list: x\ncommand = echo --in={arg}\n",
     "must be a whole argument"),
    ("[f]\nargs = files\ncommand = cat {file}\n",
     "line 1: [f]: 'args = files' needs a directory as DATA"),
    ("[f]\nargs = list: x\ncommand = cat {data}\n",
     "{data} needs a DATA file"),
    ("[mean]\nargs = list: x\ncommand = echo\n",
     "line 1: function 'mean' is already registered"),
    ("[f]\nargs = list: x\ncommand = no-such-program-here x\n",
     "line 3: program 'no-such-program-here' not found in"),
    ("[f]\nargs = list: x\ncommand = ./missing.sh\n", "program "),
    ("[f]\nargs = list: x\ntimeout = soon\ncommand = echo\n", "line 3:"),
]


@pytest.mark.parametrize("text,message", BAD_FILES,
                         ids=[str(i) for i in range(len(BAD_FILES))])
def test_bad_functions_file_stops_the_mount(mount_factory, tmp_path, text,
                                            message):
    f = functions_file(tmp_path, text)
    mnt = mount_factory.mountpoint()
    r = mount_factory.run(["-o", f"functions={f}", mnt])
    assert r.returncode == 1
    assert message in r.stderr, r.stderr
    assert r.stderr.startswith(f"memofs: {f}"), r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert not is_mounted(mnt)


def test_mode_mismatch_and_missing_file(mount_factory, tmp_path):
    d = datadir(tmp_path, {"a": "1\n"})
    f = functions_file(tmp_path, "[c]\nargs = columns\ncommand = echo\n")
    mnt = mount_factory.mountpoint()
    r = mount_factory.run(["-o", f"functions={f}", d, mnt])
    assert r.returncode == 1
    assert "'args = columns' needs a table as DATA" in r.stderr
    g = functions_file(tmp_path, "[l]\nargs = list: x\ncommand = ls {data}\n",
                       name="g.ini")
    r = mount_factory.run(["-o", f"functions={g}", d, mnt])
    assert r.returncode == 1
    assert "line 3: [l]: {data} is a directory: use it with 'args = files'" \
        in r.stderr
    r = mount_factory.run(["-o", f"functions={tmp_path}/nope.ini", mnt])
    assert r.returncode == 1
    assert f"{tmp_path}/nope.ini: No such file or directory" in r.stderr
    r = mount_factory.run(["-o", "timeout=0", mnt])
    assert r.returncode == 1 and "timeout=0" in r.stderr
    assert not is_mounted(mnt)


def test_directory_data_has_no_builtins(mount_factory, tmp_path):
    d = datadir(tmp_path, {"a": "1\n"})
    m = mount_factory(data=d)
    assert os.listdir(m.path) == []
    m.unmount()


# ---- listing -------------------------------------------------------------------

def test_functions_listing_and_description(mount_factory, tmp_path):
    d = datadir(tmp_path, {"a": "1\n"})
    f = functions_file(tmp_path, LINES)
    r = mount_factory.run(["--functions", "-o", f"functions={f}", d])
    assert r.returncode == 0, r.stderr
    line = [l for l in r.stdout.splitlines() if l.startswith("lines ")]
    assert len(line) == 1
    assert "Lines of each input file" in line[0]
    assert __import__("re").search(r"\b1\+[0-9a-f]{16}\b", line[0])
    m = mount_factory(data=d, opts=[f"functions={f}"])
    assert os.getxattr(m.p("lines"), "user.memofs.description") == \
        b"Lines of each input file"
    m.unmount()


# ---- the README's example ------------------------------------------------------

def readme_block(start):
    """The fenced block of README.md whose first line starts with start."""
    text = (Path(os.environ.get("MEMOFS_SRC",
                                Path(__file__).resolve().parent.parent))
            / "README.md").read_text()
    for block in text.split("```")[1::2]:
        body = block.split("\n", 1)[1] if "\n" in block else ""
        if body.startswith(start):
            return body
    pytest.fail(f"README.md has no block starting with {start!r}")


def test_readme_example_works(mount_factory, tmp_path):
    (tmp_path / "stats.ini").write_text(readme_block("# stats.ini"))
    (tmp_path / "count_words.py").write_text(
        readme_block("# count_words.py"))
    d = datadir(tmp_path, {"jan.txt": "a b c\nd\n", "feb.txt": "x y\n"},
                name="reports")
    m = mount_factory(data=d, opts=[f"functions={tmp_path}/stats.ini"])
    assert sorted(os.listdir(m.p("lines"))) == ["feb.txt", "jan.txt"]
    assert m.read("lines/jan.txt") == b"2 /dev/fd/3\n"
    assert m.read("words/jan.txt") == b"4\n"
    with open(d / "jan.txt", "a") as f:
        f.write("more\n")
    assert m.read("lines/jan.txt") == b"3 /dev/fd/3\n"
    assert m.read("words/feb.txt") == b"2\n"
    assert m.read("lines/feb.txt") == b"1 /dev/fd/3\n"
    assert count_prefix(m, "lines", "jan.txt") == 2
    assert count_prefix(m, "lines", "feb.txt") == 1
    m.unmount()


# ---- with plugins --------------------------------------------------------------

@pytest.mark.skipif(not os.environ.get("MEMOFS_ZSTATS"),
                    reason="MEMOFS_ZSTATS unset")
def test_plugins_and_commands_in_one_mount(mount_factory, tmp_path):
    data = np.random.RandomState(7).randn(50, 2)
    npy = tmp_path / "t.npy"
    np.save(npy, data)
    f = functions_file(tmp_path, """\
[rows]
description = rows of the table, by python3
args = columns
command = python3 -c "import sys, numpy; print(numpy.load(sys.argv[1]).shape[0])" {data}
""")
    m = mount_factory(data=npy, opts=[f"functions={f}",
                                      f"plugin={os.environ['MEMOFS_ZSTATS']}",
                                      "workers=1"])
    assert m.read("rows/col1") == b"50\n"
    z = np.array(m.read("zscore/col1").split(), dtype=float)
    ref = (data[:, 1] - data[:, 1].mean()) / data[:, 1].std()
    assert np.allclose(z, ref, rtol=0, atol=1e-12)
    m.read("histogram/col1")
    # the plugin's nested calls went through the cache: one column each
    assert m.count("column", "col1") == 1
    assert m.count("mean", "col1") == 1
    r = mount_factory.run(["--functions", "-o", f"functions={f}", "-o",
                           f"plugin={os.environ['MEMOFS_ZSTATS']}", npy])
    names = [l.split()[0] for l in r.stdout.splitlines()]
    assert {"rows", "zscore", "histogram", "mean"} <= set(names)
    m.unmount()
