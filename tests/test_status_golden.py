"""Golden tests of the pure status code: the real s6-supervise 2.11.3.2 records
of spec 4.5 decode to the s6-svstat text the spec quotes, encode back
byte-exact, and the -o fields, --json object and wait state machine agree.
"""
import pytest

from pysix import svstatfmt
from pysix.signames import signal_name
from pysix.status import (FLAG_FINISHING, FLAG_PAUSED, FLAG_READY, FLAG_WANTUP, Status,
                          pack_status, tain_label, tain_pack, tain_unpack, unpack_status)
from pysix.waitgoal import Waiter

S = 10**9
R2 = "40 00 00 00 6b 03 7a d3 0f e4 84 60 40 00 00 00 6b 03 7a ce 2d 6d 2b 05 00 00 00 00 00 00 42 47 00 0f "
R8 = "40 00 00 00 6b 03 7c 25 24 9e ea 0a 40 00 00 00 6b 03 7c 25 24 b9 49 10 00 00 00 00 00 00 00 00 03 00 "

# (spec 4.5 row, hex record, `down` file present, seconds after the stamps, s6-svstat line)
GOLDEN = [
    (1, "40 00 00 00 6b 03 7b 24 1d de 5c bb 40 00 00 00 6b 03 7b 24 1d de 5c bb"
        " 00 00 00 00 00 00 00 00 00 00 08", True, 0,
     "down (exitcode 0) 0 seconds, ready 0 seconds"),
    (2, R2 + "04", False, 0, "up (pid 16967) 0 seconds"),
    (3, R2 + "05", False, 0, "up (pid 16967) 0 seconds, paused"),
    (4, R2 + "00", False, 1, "up (pid 16967) 1 seconds, want down"),
    (5, "40 00 00 00 6b 03 7c 24 18 73 e6 ba 40 00 00 00 6b 03 7c 24 18 7b 62 f0"
        " 00 00 00 00 00 00 5e 2b 00 00 0c", False, 0, "up (pid 24107) 0 seconds, ready 0 seconds"),
    (6, "40 00 00 00 6b 03 7a d8 0f 69 40 cf 40 00 00 00 6b 03 7a ce 2d 6d 2b 05"
        " 00 00 00 00 00 00 43 15 00 09 02", False, 0, "down (signal SIGKILL) 0 seconds, normally up"),
    (6, "40 00 00 00 6b 03 7a d8 0f 69 40 cf 40 00 00 00 6b 03 7a ce 2d 6d 2b 05"
        " 00 00 00 00 00 00 43 15 00 09 06", False, 0,
     "down (signal SIGKILL) 0 seconds, normally up, want up"),
    (7, "40 00 00 00 6b 03 7a ce 2c ec fb 16 40 00 00 00 6b 03 7a ce 2d 6d 2b 05"
        " 00 00 00 00 00 00 00 00 00 0f 08", False, 0,
     "down (signal SIGTERM) 0 seconds, normally up, ready 0 seconds"),
    (8, R8 + "0c", False, 0, "down (exitcode 3) 0 seconds, normally up, want up, ready 0 seconds"),
    (9, R8 + "08", False, 1, "down (exitcode 3) 1 seconds, normally up, ready 1 seconds"),
]


def _raw(hexs: str) -> bytes:
    b = bytes.fromhex(hexs.replace(" ", ""))
    assert len(b) == 35
    return b


def _now(st: Status, after: int) -> int:
    return max(st.stamp, st.readystamp) + after * S


@pytest.mark.parametrize("row,hexs,down,after,text", GOLDEN)
def test_spec_record_renders_as_s6_svstat(row, hexs, down, after, text):
    st = unpack_status(_raw(hexs))
    assert svstatfmt.human(st, not down, _now(st, after)) == text


@pytest.mark.parametrize("row,hexs,down,after,text", GOLDEN)
def test_spec_record_reencodes_byte_exact(row, hexs, down, after, text):
    raw = _raw(hexs)
    assert pack_status(unpack_status(raw)) == raw
    # Extra bytes are ignored, as s6 readers do; high flag bits are dropped.
    assert unpack_status(raw + b"junk") == unpack_status(raw)
    assert unpack_status(raw[:34] + bytes([raw[34] | 0xF0])) == unpack_status(raw)


def test_spec_record_fields():
    st = unpack_status(_raw(GOLDEN[5][1]))          # row 6: finish running after SIGKILL
    assert st.pid == 0x4315 and st.finishing and not st.up
    assert svstatfmt.fields(list(svstatfmt.FIELDS[:9]), st, True, _now(st, 0)) == \
        "false false true false false -1 -1 SIGKILL 9"
    assert svstatfmt.field("updownsince", st, True, _now(st, 0)) == "@400000006b037ad80f6940cf"
    assert svstatfmt.field("readysince", st, True, _now(st, 0)) == "@400000006b037ace2d6d2b05"
    st5 = unpack_status(_raw(GOLDEN[4][1]))         # row 5: up and ready
    assert svstatfmt.fields(["up", "ready", "pid", "exitcode", "signal", "signum"], st5, True,
                            _now(st5, 0)) == "true true 24107 -1 NA -1"


def test_short_record_is_an_error():
    with pytest.raises(ValueError):
        unpack_status(_raw(GOLDEN[0][1])[:34])


@pytest.mark.parametrize("st", [
    Status(0, 0, 0, 0, 0),
    Status(1795390117 * S + 123, 1795390118 * S + 999_999_999, 2**63, 0xFFFF, 0x0F),
    Status(-5 * S, 3, 1, 0x8B, FLAG_PAUSED | FLAG_FINISHING),
])
def test_encoder_round_trip(st):
    assert unpack_status(pack_status(st)) == st


def test_tai64n_offset_and_label():
    # Unix 1795390117 <-> 0x400000006b037aca: +2^62 +37 s (spec 4.2).
    assert tain_pack(1795390117 * S)[:8].hex() == "400000006b037aca"
    assert tain_label(1795390117 * S + 5) == "@400000006b037aca00000005"
    assert tain_unpack(tain_pack(1234567890123456789)) == 1234567890123456789


def test_numeric_signal_and_odd_wait_statuses():
    base = dict(stamp=0, readystamp=0, pid=0, flags=0)
    assert svstatfmt.human(Status(wstat=15, **base), True, 0, numeric=True) == \
        "down (signal 15) 0 seconds, normally up"
    # Core dump bit, and 0x7f (the "stopped" pattern) which WIFSIGNALED rejects.
    assert svstatfmt.human(Status(wstat=0x86, **base), False, 0) == "down (signal SIGABRT) 0 seconds"
    assert svstatfmt.human(Status(wstat=0x7F, **base), False, 0) == "down (exitcode 0) 0 seconds"
    assert svstatfmt.fields(["exitcode", "signal", "signum"], Status(wstat=0x7F, **base), False, 0) == \
        "-1 NA -1"
    assert svstatfmt.fields(["exitcode", "signal"], Status(wstat=0x300, **base), False, 0) == "3 NA"


def test_signal_names_as_skalibs():
    assert [signal_name(n) for n in (1, 6, 9, 15, 17, 29, 31)] == \
        ["SIGHUP", "SIGABRT", "SIGKILL", "SIGTERM", "SIGCHLD", "SIGPOLL", "SIGSYS"]
    assert signal_name(34) == signal_name(64) == signal_name(0) == "SIG???"


def test_clock_quirks():
    now = 1000 * S
    future = Status(now + 50 * S, now + 100 * S + S // 2, 0, 0, FLAG_READY)
    # A future stamp reads as now; a future readystamp wraps as in s6.
    assert svstatfmt.human(future, True, now) == \
        "down (exitcode 0) 0 seconds, normally up, ready %d seconds" % (2**64 - 101)
    assert svstatfmt.field("updownsince", future, True, now) == tain_label(now)
    assert svstatfmt.field("readyfor", future, True, now) == str(2**64 - 101)


def test_field_prefixes_follow_table_order():
    r = svstatfmt.resolve_field
    assert [r(x) for x in ("u", "w", "n", "r", "re", "rea", "p", "pi", "e", "s", "signu",
                           "updown", "updownf", "readys", "readyf")] == \
        ["up", "wantedup", "normallyup", "ready", "ready", "ready", "paused", "pid", "exitcode",
         "signal", "signum", "updownsince", "updownfor", "readysince", "readyfor"]
    assert r("") is None and r("x") is None and r("upx") is None


def test_ready_field_quirk():
    # `ready` needs a pid: down-and-ready (finish done) prints false (spec 10.2).
    down_ready = Status(0, 0, 0, 15, FLAG_READY)
    assert svstatfmt.field("ready", down_ready, True, 0) == "false"
    assert svstatfmt.human(down_ready, True, 0).endswith(", ready 0 seconds")


def test_json_object():
    now = 2000 * S
    st = Status(now - 3 * S, now - 2 * S, 0, 0x0F, FLAG_READY | FLAG_WANTUP)
    d = svstatfmt.as_dict("/sd", st, True, False, now)
    assert d["path"] == "/sd" and d["supervised"] is True
    assert (d["up"], d["pid"], d["ready"], d["wanted_up"], d["normally_up"], d["paused"],
            d["finishing"]) == (False, None, False, True, False, False, False)
    assert (d["signal"], d["signum"], d["exitcode"]) == ("SIGTERM", 15, None)
    assert (d["since"], d["updown_for"], d["ready_since"], d["ready_for"]) == (1997.0, 3, 1998.0, 2)
    assert d["since_tai64n"] == tain_label(now - 3 * S)
    assert d["ready_since_tai64n"] == tain_label(now - 2 * S)
    assert "error" not in d


# The wait state machine (spec 10.4), one service unless said otherwise.
UP = Status(0, 0, 42, 0, FLAG_WANTUP)
UP_READY = Status(0, 0, 42, 0, FLAG_WANTUP | FLAG_READY)
DOWN_READY = Status(0, 0, 0, 0, FLAG_READY)
FINISHING = Status(0, 0, 43, 9, FLAG_FINISHING)


@pytest.mark.parametrize("want,st,letters,done,failures", [
    ("u", UP, b"", True, 0),                # already there: no wait
    ("d", DOWN_READY, b"", True, 0),
    ("D", FINISHING, b"", False, 0),
    ("D", FINISHING, b"D", True, 0),
    ("d", UP, b"s", False, 0),              # `s` and unknown bytes are ignored
    ("d", UP, b"d", True, 0),
    ("U", DOWN_READY, b"u", False, 0),
    ("U", DOWN_READY, b"uU", True, 0),
    ("u", DOWN_READY, b"dOD", True, 1),     # finish exited 125 while waiting for up
    ("d", UP, b"dOD", True, 0),             # O does not matter when waiting for down
    ("u", DOWN_READY, b"x", True, 1),       # supervisor exited short of the goal
    ("d", UP, b"dDx", True, 0),
    ("D", FINISHING, b"x", True, 1),
    ("r", UP, b"u", False, 0),              # not down yet: an `u` is no restart
    ("r", UP, b"dDu", True, 0),             # one read, still a restart
    ("R", UP_READY, b"dDu", False, 0),
    ("R", UP_READY, b"dDuU", True, 0),
    ("r", DOWN_READY, b"u", True, 0),       # already down: waits for up only
    ("r", UP, b"dx", True, 1),
])
def test_waiter_one_service(want, st, letters, done, failures):
    w = Waiter(want, [st])
    w.feed(0, letters)
    assert (w.done, w.failures) == (done, failures)


def test_waiter_strict_restart_wants_down_and_ready():
    w = Waiter("r", [UP], strict_down=True)        # s6-svc -wr with letters
    w.feed(0, b"du")                               # never down-and-ready
    assert not w.done
    w.feed(0, b"dDu")
    assert w.done


def test_waiter_all_any_and_failure_count():
    w = Waiter("u", [DOWN_READY, DOWN_READY, DOWN_READY])
    w.feed(0, b"u")
    w.feed(1, b"x")
    assert not w.done
    w.feed(2, b"x")
    assert w.done and w.failures == 2
    w = Waiter("u", [DOWN_READY, DOWN_READY], any_mode=True)
    w.feed(1, b"u")
    assert w.done and w.failures == 0


def test_waiter_restart_needs_all_down_at_once():
    # s6-svwait -r a b: b was down, comes up before a goes down: no restart of all.
    w = Waiter("r", [UP, DOWN_READY], any_mode=True)
    w.feed(1, b"u")
    w.feed(0, b"dD")
    w.feed(0, b"u")
    assert not w.done and w.restarting
    w.feed(0, b"dD")
    w.feed(1, b"dD")                    # now both are down at once
    assert not w.done and not w.restarting
    w.feed(1, b"u")                     # -o: any one up is enough
    assert w.done


def test_waiter_refuses_bad_goal():
    with pytest.raises(ValueError):
        Waiter("x", [UP])


def test_pack_status_keeps_the_low_bits_as_s6_does():
    """wstat is stored as its low 16 bits and flags as their low 4, whatever
    the ints hold (pack_status masks with divmod, which 3.12 specialises)."""
    from pysix.status import Status, pack_status, tain_pack, unpack_status
    for wstat, flags in ((0, 0), (0x1234, 0xF), (0x1_0009, 0x1F), (-1, -1)):
        b = pack_status(Status(10**18, 2 * 10**18, 42, wstat, flags))
        assert len(b) == 35 and b[:12] == tain_pack(10**18) and b[12:24] == tain_pack(2 * 10**18)
        assert b[32:34] == (wstat & 0xFFFF).to_bytes(2, "big") and b[34] == flags & 0x0F
        assert unpack_status(b) == Status(10**18, 2 * 10**18, 42, wstat & 0xFFFF, flags & 0x0F)
