"""The s6 2.11 `supervise/status` record and `death_tally` records, byte-exact.

Pure functions only: the supervisor and every client share them, and the
golden tests pin them against records written by the real s6-supervise.
Times are kept as Unix nanoseconds and converted to TAI64N on the wire.
"""
from .record import Record
from .specialised import and_, call, mod, rshift

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs a client ms to import; annotations are strings anyway
    from typing import List, Tuple

STATUS_SIZE = 35
TALLY_SIZE = 14
# 2^62 + 10 s (TAI-UTC in 1972) + 27 leap seconds: skalibs' table for any
# current date. +10 instead of +37 would make every age 27 s too large.
TAI_OFFSET = (1 << 62) + 37

FLAG_PAUSED = 0x01
FLAG_FINISHING = 0x02
FLAG_WANTUP = 0x04
FLAG_READY = 0x08

# Big-endian fields through int.to_bytes/from_bytes, not struct: importing
# struct is 0.6 ms of a status query's few (speed.py).


def tain_pack(unix_ns: int) -> bytes:
    """12-byte TAI64N label of a Unix time in nanoseconds."""
    sec, nano = divmod(unix_ns, 1_000_000_000)
    return ((sec + TAI_OFFSET) * 0x1_0000_0000 + nano).to_bytes(12, "big")


def tain_unpack(b: bytes) -> int:
    """Unix nanoseconds of a 12-byte TAI64N label."""
    return (int.from_bytes(b[:8], "big") - TAI_OFFSET) * 1_000_000_000 + int.from_bytes(b[8:12], "big")


def tain_label(unix_ns: int) -> str:
    """Text form used by s6-svstat and s6-svdt: '@' + 24 lowercase hex digits."""
    return "@" + tain_pack(unix_ns).hex()


class Status(Record):
    stamp: int        # Unix ns of the last up/down transition
    readystamp: int   # Unix ns of the last readiness (or end of finish)
    pid: int          # run pid while up, finish pid while finishing, else 0
    wstat: int        # low 16 bits of the raw wait status of the last death
    flags: int        # FLAG_* bits

    @property
    def paused(self) -> bool:
        return bool(self.flags & FLAG_PAUSED)

    @property
    def finishing(self) -> bool:
        return bool(self.flags & FLAG_FINISHING)

    @property
    def wantup(self) -> bool:
        return bool(self.flags & FLAG_WANTUP)

    @property
    def ready(self) -> bool:
        return bool(self.flags & FLAG_READY)

    @property
    def up(self) -> bool:
        """What every s6 client calls up: a pid that is not finish's."""
        return self.pid != 0 and not self.finishing

    @property
    def signal(self) -> int:
        """Signal number of the last death, or 0 if it exited."""
        return self.wstat & 0x7F


def pack_status(st: "Status") -> bytes:
    # divmod()[1], not & 0xFFFF: a supervisor writes its status often, and
    # 3.12 specialises neither & nor bytes((n,)) (speed.py)
    tail = divmod(st.wstat, 0x1_0000)[1] * 0x100 + divmod(st.flags, 0x10)[1]
    return b"".join((tain_pack(st.stamp), tain_pack(st.readystamp), st.pid.to_bytes(8, "big"),
                     tail.to_bytes(3, "big")))


def unpack_status(b: bytes) -> "Status":
    """Decode the first 35 bytes; ValueError if the record is short."""
    if len(b) < STATUS_SIZE:
        raise ValueError("status record is %d bytes, expected %d" % (len(b), STATUS_SIZE))
    return Status(tain_unpack(b[:12]), tain_unpack(b[12:24]), int.from_bytes(b[24:32], "big"),
                  int.from_bytes(b[32:34], "big"), b[34] & 0x0F)


class Death(Record):
    when: int      # Unix ns
    code: int      # exit code, or 128 + signal
    sig: int       # signal number, 0 if it exited


# A supervisor runs these three and split_wait at each death: `&`, `>>` and
# `%` through specialised.py's built-ins, a record made through call(), and
# no bytes((...)) or bytearray `+=` (3.12 specialises none of them: each
# wrote a page of every supervisor, speed.py).

def death_from_wstat(when: int, wstat: int) -> "Death":
    sig = and_(wstat, 0x7F)
    if sig:
        return call(Death, when, 128 + sig, sig)      # at most 255
    return call(Death, when, and_(rshift(wstat, 8), 0xFF), 0)


def pack_tally(deaths: "List[Death]") -> bytes:
    out = []
    for d in deaths:
        out.append(tain_pack(d.when))
        out.append((and_(d.code, 0xFF) * 0x100 + and_(d.sig, 0xFF)).to_bytes(2, "big"))
    return b"".join(out)


def unpack_tally(b: bytes) -> "List[Death]":
    """Decode a death tally; a size that is not a multiple of 14 reads as empty (as s6)."""
    if mod(len(b), TALLY_SIZE):
        return []
    out = []
    for i in range(0, len(b), TALLY_SIZE):
        out.append(Death(tain_unpack(b[i:i + 12]), b[i + 12], b[i + 13]))
    return out


# The one decoder of wait statuses: every pysix process reads them through
# these three (raw waitpid() statuses of exited or killed processes).

def split_wait(wstat: int) -> "Tuple[int, int]":
    """(exit code or 256, signal or 0): the first two arguments of ./finish."""
    sig = and_(wstat, 0x7F)
    return (256, sig) if sig else (and_(rshift(wstat, 8), 0xFF), 0)


def shell_code(wstat: int) -> int:
    """A shell's view: the exit code, or 128 + signal."""
    sig = wstat & 0x7F
    return 128 + sig if sig else (wstat >> 8) & 0xFF


def describe_wait(wstat: int) -> str:
    sig = wstat & 0x7F
    return "killed by signal %d" % sig if sig else "exit code %d" % ((wstat >> 8) & 0xFF)
