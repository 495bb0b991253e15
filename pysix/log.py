"""pysix-log: a logger for `log/run`, what s6-log and svlogd are used for.

Reads stdin, writes `DIR/current`; past SIZE bytes `current` is renamed
(atomically) to `DIR/@<tai64n>.s`, as s6-log names archives, and only the
newest COUNT archives are kept. Each line may get a timestamp (ISO 8601 UTC
or TAI64N) and a prefix; lines may be copied to stderr. Nothing read is ever
dropped: a partial last line is written with a newline at the end of input
or on TERM; a line longer than LINEMAX is split; a full disk or an
unwritable dir is reported once and retried every second; meanwhile the
data is kept in memory, and past MAX_PENDING (4 MiB) stdin is no longer
read (back-pressure on the writer instead of loss).

Details:
- LINEMAX counts input bytes (stamp and prefix not included); a longer line
  is cut into LINEMAX pieces, each written as a line of its own.
- TERM, INT and HUP: what the writer already put into the pipe is still
  read (at most MAX_PENDING bytes), then everything is written, a partial
  line with a newline added, and the exit code is 0. So is end of input.
- An archive is fsync'd before its rename; its name is always newer than the
  newest archive present, so a clock stepping back never overwrites or
  prunes the wrong one. A `current` left ending mid-line by a killed
  logger gets its newline before new lines are appended.
- DIR/lock is held with fcntl.lockf: a second logger on DIR exits 111. If
  DIR cannot be written at start (read-only, full), that is reported and
  retried every second; nothing is read meanwhile.

Speed: all complete lines of one read are stamped with one clock reading
and one `bytes.replace`, never a Python loop per line.
"""
import os
import select
import signal
import time

from .ctldir import Busy, take_lock
from .loop import Loop
from .status import tain_pack, tain_unpack

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import List

READ_SIZE = 65536
MAX_PENDING = 4 << 20       # stop reading stdin past this much unwritten data
RETRY = 1.0


_iso_cache = [-1, ""]    # [second, its formatted date and time]: strftime once a second


def iso_stamp(unix_ns: int) -> bytes:
    sec, ns = divmod(unix_ns, 1_000_000_000)
    if _iso_cache[0] != sec:
        _iso_cache[0], _iso_cache[1] = sec, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec))
    return ("%s.%06dZ " % (_iso_cache[1], ns // 1000)).encode()


def tai_stamp(unix_ns: int) -> bytes:
    return b"@" + tain_pack(unix_ns).hex().encode() + b" "


def stamp_lines(lines: bytes, head: bytes) -> bytes:
    """Put `head` before every line of `lines` (which ends with a newline)."""
    if not head:
        return lines
    return head + lines[:-1].replace(b"\n", b"\n" + head) + b"\n"


def split_long(partial: bytes, linemax: int) -> "List[bytes]":
    """Cut a newline-less buffer longer than `linemax` into `linemax` pieces.

    The rest (at least one byte) stays partial: a line of exactly `linemax`
    bytes whose newline is still on its way must not be cut.
    """
    out = []
    while len(partial) > linemax:
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
                 to_stderr: bool, linemax: int, loop: "Loop") -> None:
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
        self.pollable = True             # False: stdin is read by blocking reads
        self.tail_checked = False

    def warn(self, msg: str) -> None:
        try:
            os.write(2, ("pysix-log: warning: %s\n" % msg).encode("utf-8", "replace"))
        except OSError:
            pass

    # files -----------------------------------------------------------------
    def lock(self) -> None:
        try:
            self.lock_fd = take_lock(os.path.join(self.dir, "lock"))
        except Busy:
            raise RuntimeError("another logger is already writing to %s" % self.dir) from None

    def _open_current(self) -> None:
        path = os.path.join(self.dir, "current")
        # O_RDWR, not O_WRONLY: the last byte is read back once, below.
        self.fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        self.cur_size = os.fstat(self.fd).st_size
        if not self.tail_checked:
            # Only at the first open: later, a file ending mid-line is our own
            # write cut short by a full disk, and the rest of the line is queued.
            if self.cur_size and os.pread(self.fd, 1, self.cur_size - 1) != b"\n":
                self.pending[:0] = b"\n"
            self.tail_checked = True

    def _archives(self) -> "List[str]":
        return sorted(n for n in os.listdir(self.dir)
                      if n.startswith("@") and n.endswith(".s") and len(n) == 27)

    def _rotate(self) -> None:
        os.fsync(self.fd)      # as s6-log: an archive is complete on disk before it is named
        os.close(self.fd)
        self.fd = -1
        archives = self._archives()
        name = archive_name(time.time_ns())
        if archives and name <= archives[-1]:
            # The clock stepped back (or did not move): stay after the newest
            # archive so that rename never replaces one and pruning stays oldest-first.
            name = archive_name(tain_unpack(bytes.fromhex(archives[-1][1:25])) + 1)
        os.rename(os.path.join(self.dir, "current"), os.path.join(self.dir, name))
        self._prune(archives + [name])
        self._open_current()

    def _prune(self, archives: "List[str]") -> None:
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
        if self.pollable and not self.reading and not self.eof and len(self.pending) < MAX_PENDING:
            self.loop.add_reader(0, self.on_input)   # PermissionError if epoll refuses stdin
            self.reading = True

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

    def on_signal(self) -> None:
        if self.reading:
            self._drain()
        self.finish()

    def _drain(self) -> None:
        """Read what the writer has already put into the pipe: it was sent, keep it."""
        p = select.poll()
        p.register(0, select.POLLIN)
        budget = MAX_PENDING
        while budget > 0 and p.poll(0):
            try:
                data = os.read(0, READ_SIZE)
            except OSError:
                return
            if not data:
                return
            budget -= len(data)
            self.take(data)
            self.write_pending()

    def finish(self) -> None:
        """End of input or TERM: write everything, partial line included, then stop."""
        self.eof = True
        if self.lock_fd < 0:     # still waiting for DIR: nothing was read
            self.loop.stop()
            return
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


def _wait_for_lock(lg: "Logger", loop: "Loop") -> bool:
    """Take DIR/lock, retrying while DIR cannot be written; False if told to stop first."""
    said = ""
    while True:
        try:
            lg.lock()
            if said:
                lg.warn("writing to %s works again" % lg.dir)
            return True
        except RuntimeError:
            raise
        except OSError as e:
            msg = "cannot write %s: %s" % (os.path.join(lg.dir, "lock"), e.strerror)
            if msg != said:
                lg.warn(msg + "; retrying every %g s" % RETRY)
                said = msg
        loop.run_once(RETRY)
        if lg.eof:
            return False


def run(directory: str, size: int, count: int, stamp: str, prefix: bytes, to_stderr: bool,
        linemax: int) -> int:
    loop = Loop()
    lg = Logger(directory, size, count, stamp, prefix, to_stderr, linemax, loop)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        loop.add_signal(sig, lambda s: lg.on_signal())
    if not _wait_for_lock(lg, loop):
        return 0
    lg.write_pending()           # create `current` at once
    try:
        lg._resume()
    except PermissionError:
        # epoll refuses regular files and /dev/null; reading them never blocks.
        lg.pollable = False
    if lg.pollable:
        loop.run()
        return 0
    while not lg.eof:
        if len(lg.pending) < MAX_PENDING:
            lg.on_input()
        else:
            loop.run_once(RETRY)     # the disk refused: wait for the retry timer
        loop.run_once(0)             # a TERM between two reads
    while lg.pending:
        loop.run_once(RETRY)
    return 0
