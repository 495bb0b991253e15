"""pysix-log: a logger for `log/run`, what s6-log and svlogd are used for.

Reads stdin, writes `DIR/current`; past SIZE bytes `current` is renamed
(atomically) to `DIR/@<tai64n>.s`, as s6-log names archives, and only the
newest COUNT archives are kept. Each line may get a timestamp (ISO 8601 UTC
or TAI64N) and a prefix; lines may be copied to stderr. Nothing read is ever
dropped: a partial last line is written with a newline at the end of input
or on TERM; a line longer than LINEMAX is split; a full disk or an
unwritable dir is reported once and retried every second while stdin is no
longer read (back-pressure instead of loss).

Speed: all complete lines of one read are stamped with one clock reading
and one `bytes.replace`, never a Python loop per line.
"""
from __future__ import annotations

import errno
import fcntl
import os
import signal
import stat
import time
from typing import List

from .loop import Loop
from .status import tain_pack

READ_SIZE = 65536
MAX_PENDING = 4 << 20       # stop reading stdin past this much unwritten data
RETRY = 1.0


def iso_stamp(unix_ns: int) -> bytes:
    sec, ns = divmod(unix_ns, 1_000_000_000)
    return (time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec)) + ".%06dZ " % (ns // 1000)).encode()


def tai_stamp(unix_ns: int) -> bytes:
    return b"@" + tain_pack(unix_ns).hex().encode() + b" "


def stamp_lines(lines: bytes, head: bytes) -> bytes:
    """Put `head` before every line of `lines` (which ends with a newline)."""
    if not head:
        return lines
    return head + lines[:-1].replace(b"\n", b"\n" + head) + b"\n"


def split_long(partial: bytes, linemax: int) -> List[bytes]:
    """Cut a newline-less buffer into full `linemax` pieces; the rest stays partial."""
    out = []
    while len(partial) >= linemax:
        out.append(partial[:linemax] + b"\n")
        partial = partial[linemax:]
    out.append(partial)
    return out


def split_long_lines(lines: bytes, linemax: int) -> bytes:
    """Cut every line of `lines` (newline-terminated) longer than `linemax`."""
    if len(lines) <= linemax:
        return lines
    parts = lines.split(b"\n")
    if max(map(len, parts)) <= linemax:
        return lines
    out = []
    for p in parts[:-1]:
        while len(p) > linemax:
            out.append(p[:linemax])
            p = p[linemax:]
        out.append(p)
    return b"\n".join(out) + b"\n"


def archive_name(unix_ns: int) -> str:
    return "@" + tain_pack(unix_ns).hex() + ".s"


class Logger:
    def __init__(self, directory: str, size: int, count: int, stamp: str, prefix: bytes,
                 to_stderr: bool, linemax: int, loop: Loop) -> None:
        self.dir = directory
        self.size = size
        self.count = count
        self.stamp = {"iso": iso_stamp, "tai64n": tai_stamp}.get(stamp)
        self.prefix = prefix
        self.to_stderr = to_stderr
        self.linemax = linemax
        self.loop = loop
        self.partial = b""
        self.pending = bytearray()       # stamped data not yet written
        self.fd = -1
        self.cur_size = 0
        self.reading = False
        self.eof = False
        self.retry_timer = None
        self.last_error = ""
        self.lock_fd = -1

    def warn(self, msg: str) -> None:
        try:
            os.write(2, ("pysix-log: warning: %s\n" % msg).encode("utf-8", "replace"))
        except OSError:
            pass

    # files -----------------------------------------------------------------
    def lock(self) -> None:
        self.lock_fd = os.open(os.path.join(self.dir, "lock"), os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.lockf(self.lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            if e.errno in (errno.EAGAIN, errno.EACCES):
                raise RuntimeError("another pysix-log is already writing to %s" % self.dir)
            raise

    def _open_current(self) -> None:
        path = os.path.join(self.dir, "current")
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        self.cur_size = os.fstat(self.fd).st_size

    def _rotate(self) -> None:
        os.close(self.fd)
        self.fd = -1
        cur = os.path.join(self.dir, "current")
        os.rename(cur, os.path.join(self.dir, archive_name(time.time_ns())))
        self._prune()
        self._open_current()

    def _prune(self) -> None:
        archives = sorted(n for n in os.listdir(self.dir)
                          if n.startswith("@") and n.endswith(".s") and len(n) == 27)
        for n in archives[:max(0, len(archives) - self.count)]:
            try:
                os.unlink(os.path.join(self.dir, n))
            except OSError:
                pass

    # input -----------------------------------------------------------------
    def take(self, data: bytes) -> None:
        """Stamp whatever complete lines `data` finishes and queue them."""
        buf = self.partial + data
        cut = buf.rfind(b"\n") + 1
        lines, self.partial = buf[:cut], buf[cut:]
        if len(self.partial) >= self.linemax:
            pieces = split_long(self.partial, self.linemax)
            lines += b"".join(pieces[:-1])
            self.partial = pieces[-1]
        if lines:
            self._queue(split_long_lines(lines, self.linemax))

    def flush_partial(self) -> None:
        if self.partial:
            self._queue(self.partial + b"\n")
            self.partial = b""

    def _queue(self, lines: bytes) -> None:
        head = (self.stamp(time.time_ns()) if self.stamp else b"") + self.prefix
        out = stamp_lines(lines, head)
        if self.to_stderr:
            _write_all(2, out)
        self.pending += out

    # output ----------------------------------------------------------------
    def write_pending(self) -> bool:
        """Write what is queued; False (and a retry armed) if the disk refused."""
        try:
            if self.fd < 0:
                self._open_current()
            while self.pending:
                room = self.size - self.cur_size
                if len(self.pending) > room:
                    # Fill `current` up to the limit at a line boundary, then rotate;
                    # a single line longer than the limit goes whole into a fresh file.
                    cut = self.pending.rfind(b"\n", 0, max(0, room)) + 1
                    if not cut and self.cur_size == 0:
                        cut = self.pending.find(b"\n") + 1 or len(self.pending)
                    if cut:
                        self._write_head(cut)
                    self._rotate()
                    continue
                self._write_head(len(self.pending))
                if self.cur_size >= self.size:
                    self._rotate()
            if self.last_error:
                self.warn("writing to %s works again" % self.dir)
                self.last_error = ""
            return True
        except OSError as e:
            # Reopen next time: `current` may have been removed or replaced meanwhile.
            if self.fd >= 0:
                os.close(self.fd)
                self.fd = -1
            msg = "cannot write %s: %s" % (os.path.join(self.dir, "current"), e.strerror)
            if msg != self.last_error:
                self.warn(msg + "; keeping the data and retrying every %g s" % RETRY)
                self.last_error = msg
            if self.retry_timer is None:
                self.retry_timer = self.loop.call_later(RETRY, self._retry)
            return False

    def _write_head(self, k: int) -> None:
        """Write the first k queued bytes; what is written leaves the queue at once."""
        while k > 0:
            with memoryview(self.pending) as mv:
                n = os.write(self.fd, mv[:k])
            del self.pending[:n]
            self.cur_size += n
            k -= n

    def _retry(self) -> None:
        self.retry_timer = None
        if self.write_pending():
            if self.eof:
                self.loop.stop()
            else:
                self._resume()

    def _resume(self) -> None:
        if not self.reading and not self.eof and len(self.pending) < MAX_PENDING:
            self.reading = True
            self.loop.add_reader(0, self.on_input)

    def _pause(self) -> None:
        if self.reading:
            self.reading = False
            self.loop.remove_reader(0)

    def on_input(self) -> None:
        try:
            data = os.read(0, READ_SIZE)
        except BlockingIOError:
            return
        except OSError as e:
            self.warn("cannot read stdin: %s" % e.strerror)
            data = b""
        if not data:
            self.finish()
            return
        self.take(data)
        if not self.write_pending() and len(self.pending) >= MAX_PENDING:
            self._pause()

    def finish(self) -> None:
        """End of input or TERM: write everything, partial line included, then stop."""
        self.eof = True
        self._pause()
        self.flush_partial()
        if self.write_pending():
            self.loop.stop()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            view = view[os.write(fd, view):]
        except OSError:
            return


def run(directory: str, size: int, count: int, stamp: str, prefix: bytes, to_stderr: bool,
        linemax: int) -> int:
    loop = Loop()
    lg = Logger(directory, size, count, stamp, prefix, to_stderr, linemax, loop)
    lg.lock()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        loop.add_signal(sig, lambda s: lg.finish())
    if stat.S_ISREG(os.fstat(0).st_mode):
        # epoll cannot watch a regular file; it never blocks anyway.
        while not lg.eof:
            lg.on_input()
            while lg.pending and not lg.write_pending():
                loop.run_once(RETRY)
        return 0 if not lg.pending else 111
    lg._resume()
    lg.write_pending()
    loop.run()
    return 0
