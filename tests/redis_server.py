"""redis_server.py -- a private redis-server for the remote-tier tests and
benchmark (tests/test_remote.py, tests/bench/remote.py).

    r = RedisServer(directory)      # 127.0.0.1, a free port, its own dir
    r.start(); r.url                # "redis://127.0.0.1:PORT"
    r.call("KEYS", "*")             # a reply: bytes, int, list, None, or
                                    # RedisError for an error reply
    r.call("KEYS", "*", db=3)       # in database 3
    r.unix_url                      # "unix:DIR/redis.sock"
    r.kill(); r.start()             # SIGKILL, then again on the same port
    r.pause(); r.resume()           # SIGSTOP / SIGCONT: a server that
                                    # answers nothing for a while
    r.stop()                        # SIGTERM by pid, waits

Nothing is saved to disk (--save "" --appendonly no), so a restart
starts empty, as a restarted cache server without persistence does.  The
client speaks RESP over a plain socket: no redis-py needed.
"""
import os
import signal
import socket
import subprocess
import time


class RedisError(Exception):
    pass


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _encode(args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class _Reader:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("redis closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n):
        while len(self.buf) < n + 2:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("redis closed the connection")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def reply(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest
        if kind == b"-":
            return RedisError(rest.decode(errors="replace"))
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n)
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self.reply() for _ in range(n)]
        raise ConnectionError(f"bad RESP line {line!r}")


def call(port, *args, password=None, db=0, timeout=5.0):
    """One command on a new connection to 127.0.0.1:port, in database
    db."""
    with socket.create_connection(("127.0.0.1", port), timeout) as s:
        r = _Reader(s)
        if password is not None:
            s.sendall(_encode(["AUTH", password]))
            r.reply()
        if db:
            s.sendall(_encode(["SELECT", db]))
            r.reply()
        s.sendall(_encode(list(args)))
        return r.reply()


class RedisServer:
    def __init__(self, directory, password=None):
        self.dir = str(directory)
        os.makedirs(self.dir, exist_ok=True)
        self.port = free_port()
        self.password = password
        self.proc = None

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}"

    @property
    def unix_url(self):
        """The same server through its Unix socket (mode 0700)."""
        return f"unix:{self.dir}/redis.sock"

    def start(self, timeout=10.0):
        args = ["redis-server", "--bind", "127.0.0.1", "--port",
                str(self.port), "--dir", self.dir, "--save", "",
                "--appendonly", "no", "--protected-mode", "yes",
                "--unixsocket", os.path.join(self.dir, "redis.sock"),
                "--unixsocketperm", "700",
                "--loglevel", "warning", "--logfile",
                os.path.join(self.dir, "redis.log")]
        if self.password is not None:
            args += ["--requirepass", self.password]
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while True:
            try:
                if self.call("PING") == b"PONG":
                    return self
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server on port {self.port} did "
                                   f"not start (see {self.dir}/redis.log)")
            time.sleep(0.02)

    def call(self, *args, db=0):
        return call(self.port, *args, password=self.password, db=db)

    def kill(self):
        """SIGKILL, as a crash or a power cut would."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def pause(self):
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self):
        self.proc.send_signal(signal.SIGCONT)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
