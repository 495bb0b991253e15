"""The status record, its s6-svstat renderings, and the clients both ways.

Golden records are the real s6-supervise 2.11.3.2 files quoted in the spec
(section 4.5); interop tests drive a real s6-supervise with pysix's clients
and a pysix-supervise with s6's.
"""
import fcntl
import json
import os
import shutil
import subprocess
import time

import pytest

from helpers import make_sd, read_status, wait_for
from pysix import svstatfmt
from pysix.status import (FLAG_READY, FLAG_WANTUP, Death, Status, pack_status, pack_tally,
                          tain_label, unpack_status, unpack_tally)

HAVE_S6 = shutil.which("s6-supervise") is not None
needs_s6 = pytest.mark.skipif(not HAVE_S6, reason="s6 is not installed (apt-get install s6)")

# (hex of a real 35-byte record, s6-svstat line at age 0 with no `down` file)
GOLDEN = [
    ("40 00 00 00 6b 03 7b 24 1d de 5c bb 40 00 00 00 6b 03 7b 24 1d de 5c bb 00 00 00 00 00 00 00 00 00 00 08",
     "down (exitcode 0) 0 seconds, normally up, ready 0 seconds"),
    ("40 00 00 00 6b 03 7a d3 0f e4 84 60 40 00 00 00 6b 03 7a ce 2d 6d 2b 05 00 00 00 00 00 00 42 47 00 0f 04",
     "up (pid 16967) 0 seconds"),
    ("40 00 00 00 6b 03 7a d3 0f e4 84 60 40 00 00 00 6b 03 7a ce 2d 6d 2b 05 00 00 00 00 00 00 42 47 00 0f 05",
     "up (pid 16967) 0 seconds, paused"),
    ("40 00 00 00 6b 03 7a d3 0f e4 84 60 40 00 00 00 6b 03 7a ce 2d 6d 2b 05 00 00 00 00 00 00 42 47 00 0f 00",
     "up (pid 16967) 0 seconds, want down"),
    ("40 00 00 00 6b 03 7c 24 18 73 e6 ba 40 00 00 00 6b 03 7c 24 18 7b 62 f0 00 00 00 00 00 00 5e 2b 00 00 0c",
     "up (pid 24107) 0 seconds, ready 0 seconds"),
    ("40 00 00 00 6b 03 7a d8 0f 69 40 cf 40 00 00 00 6b 03 7a ce 2d 6d 2b 05 00 00 00 00 00 00 43 15 00 09 02",
     "down (signal SIGKILL) 0 seconds, normally up"),
    ("40 00 00 00 6b 03 7a ce 2c ec fb 16 40 00 00 00 6b 03 7a ce 2d 6d 2b 05 00 00 00 00 00 00 00 00 00 0f 08",
     "down (signal SIGTERM) 0 seconds, normally up, ready 0 seconds"),
    ("40 00 00 00 6b 03 7c 25 24 9e ea 0a 40 00 00 00 6b 03 7c 25 24 b9 49 10 00 00 00 00 00 00 00 00 03 00 0c",
     "down (exitcode 3) 0 seconds, normally up, want up, ready 0 seconds"),
]


def _rec(hexs):
    b = bytes.fromhex(hexs.replace(" ", ""))
    assert len(b) == 35
    return b


@pytest.mark.parametrize("hexs,text", GOLDEN)
def test_golden_records_decode_render_and_reencode(hexs, text):
    raw = _rec(hexs)
    st = unpack_status(raw)
    now = max(st.stamp, st.readystamp)
    assert svstatfmt.human(st, True, now) == text
    assert pack_status(st) == raw


def test_tai_offset_is_37_seconds():
    # Unix 1795390117 <-> 0x400000006b037aca (spec 4.2)
    assert tain_label(1795390117 * 10**9)[:17] == "@400000006b037aca"


def test_field_prefix_matching_and_ready_quirk():
    assert svstatfmt.resolve_field("p") == "paused"
    assert svstatfmt.resolve_field("re") == "ready"
    assert svstatfmt.resolve_field("updown") == "updownsince"
    assert svstatfmt.resolve_field("zz") is None
    down_ready = Status(0, 0, 0, 15, FLAG_READY)
    assert svstatfmt.field("ready", down_ready, True, 0) == "false"
    assert svstatfmt.fields(["exitcode", "signal", "signum", "pid"], down_ready, True, 0) == "-1 SIGTERM 15 -1"


def test_death_tally_round_trip_and_bad_size():
    d = [Death(10**18, 143, 15), Death(10**18 + 5, 4, 0)]
    assert unpack_tally(pack_tally(d)) == d
    assert unpack_tally(b"x" * 15) == []


class HeldSD:
    """A fake service dir whose lock this test process holds, with a chosen status."""

    def __init__(self, path, st, down=False):
        self.path = path
        os.makedirs(os.path.join(path, "supervise"), exist_ok=True)
        self.fd = os.open(os.path.join(path, "supervise", "lock"), os.O_WRONLY | os.O_CREAT, 0o644)
        fcntl.lockf(self.fd, fcntl.LOCK_EX)
        with open(os.path.join(path, "supervise", "status"), "wb") as f:
            f.write(pack_status(st))
        if down:
            open(os.path.join(path, "down"), "w").close()

    def close(self):
        os.close(self.fd)


ALL = "up,wantedup,normallyup,ready,paused,pid,exitcode,signal,signum,updownsince,readysince,updownfor,readyfor"


@needs_s6
@pytest.mark.parametrize("flags,pid,wstat,down", [
    (FLAG_WANTUP, 1234, 0, False), (FLAG_WANTUP | FLAG_READY, 1234, 0x300, True),
    (FLAG_READY, 0, 0x300, False), (FLAG_READY | FLAG_WANTUP, 0, 9, True), (0x02, 777, 0x86, False),
    (0x01 | FLAG_WANTUP, 99, 0, False)])
def test_pysix_svstat_prints_what_s6_svstat_prints(tmp, flags, pid, wstat, down):
    now = time.time_ns()
    sd = HeldSD(os.path.join(tmp, "sd"), Status(now - 3 * 10**9, now - 2 * 10**9, pid, wstat, flags), down)
    try:
        for opts in ([], ["-n"], ["-o", ALL], ["-uwNrpest"]):
            ours = subprocess.run(["pysix-svstat"] + opts + [sd.path], capture_output=True, text=True)
            theirs = subprocess.run(["s6-svstat"] + opts + [sd.path], capture_output=True, text=True)
            assert (ours.returncode, ours.stdout) == (theirs.returncode, theirs.stdout), opts
    finally:
        sd.close()


def test_svstat_not_running_and_json(tmp):
    sd = make_sd(os.path.join(tmp, "x"), "exec true")
    r = subprocess.run(["pysix-svstat", sd], capture_output=True, text=True)
    assert r.returncode == 1 and "not running" in r.stderr and r.stderr.count("\n") == 1
    now = time.time_ns()
    held = HeldSD(os.path.join(tmp, "h"), Status(now, now, 4242, 0, FLAG_WANTUP | FLAG_READY))
    try:
        r = subprocess.run(["pysix-svstat", "--json", held.path, sd], capture_output=True, text=True)
        objs = json.loads(r.stdout)
        assert [o["supervised"] for o in objs] == [True, False]
        assert objs[0]["pid"] == 4242 and objs[0]["ready"] is True and objs[0]["wanted_up"] is True
        assert objs[0]["ready_since_tai64n"].startswith("@4000")
    finally:
        held.close()


@pytest.mark.parametrize("args", [["-Z", "x"], ["-T", "abc", "-wu", "x"], ["-w", "z", "x"], []])
def test_svc_usage_errors_are_one_line_exit_100(args):
    r = subprocess.run(["pysix-svc"] + args, capture_output=True, text=True)
    assert r.returncode == 100
    assert "pysix-svc" in r.stderr and "Traceback" not in r.stderr


def test_svc_exit_codes_without_supervisor(tmp):
    assert subprocess.run(["pysix-svc", "-u", os.path.join(tmp, "nope")]).returncode == 111
    os.makedirs(os.path.join(tmp, "e"))
    assert subprocess.run(["pysix-svc", "-u", os.path.join(tmp, "e")]).returncode == 100
    assert subprocess.run(["pysix-svok", os.path.join(tmp, "e")]).returncode == 1
    assert subprocess.run(["pysix-svok"]).returncode == 100


def _drive(sd, svc, svstat, svok, svwait):
    """The same sequence against either supervisor, with either set of clients."""
    run = lambda *a: subprocess.run(list(a), capture_output=True, text=True)  # noqa: E731
    assert run(svwait, "-U", "-t", "5000", sd).returncode == 0
    assert run(svok, sd).returncode == 0
    assert run(svstat, "-o", "up,ready", sd).stdout.split() == ["true", "true"]
    assert run(svc, "-wD", "-T", "5000", "-d", sd).returncode == 0
    assert run(svstat, "-o", "up,wantedup", sd).stdout.split() == ["false", "false"]
    assert run(svc, "-wu", "-T", "300", sd).returncode == 99
    assert run(svc, "-wU", "-T", "5000", "-u", sd).returncode == 0
    assert run(svc, "-wR", "-T", "5000", "-r", sd).returncode == 0
    assert run(svc, "-wd", "-T", "5000", "-k", "-O", sd).returncode == 0
    assert run(svc, "-o", sd).returncode == 0
    assert run(svwait, "-u", "-t", "5000", sd).returncode == 0
    st = wait_for(lambda: (lambda s: s if s and s.up and not s.wantup else None)(read_status(sd)))
    assert st.pid
    assert run(svc, "-wd", "-T", "5000", "-xd", sd).returncode in (0, 1)
    wait_for(lambda: run(svok, sd).returncode == 1, what="supervisor exit")


@needs_s6
def test_pysix_clients_drive_real_s6_supervise(tmp, procs):
    sd = make_sd(os.path.join(tmp, "s6"), "echo >&3; exec sleep 1000", notification_fd="3")
    procs.start(["s6-supervise", sd], stderr=subprocess.DEVNULL)
    wait_for(lambda: read_status(sd), what="status")
    _drive(sd, "pysix-svc", "pysix-svstat", "pysix-svok", "pysix-svwait")


@needs_s6
def test_s6_clients_drive_pysix_supervise(tmp, procs):
    sd = make_sd(os.path.join(tmp, "py"), "echo >&3; exec sleep 1000", notification_fd="3")
    procs.start(["pysix-supervise", sd])
    wait_for(lambda: read_status(sd), what="status")
    _drive(sd, "s6-svc", "s6-svstat", "s6-svok", "s6-svwait")


def test_pysix_clients_drive_pysix_supervise(tmp, procs):
    sd = make_sd(os.path.join(tmp, "pp"), "echo >&3; exec sleep 1000", notification_fd="3")
    procs.start(["pysix-supervise", sd])
    wait_for(lambda: read_status(sd), what="status")
    _drive(sd, "pysix-svc", "pysix-svstat", "pysix-svok", "pysix-svwait")


def test_svwait_counts_failures_when_supervisor_exits(tmp, procs):
    sd = make_sd(os.path.join(tmp, "g"), "exec sleep 1000", down="")
    procs.start(["pysix-supervise", sd])
    wait_for(lambda: read_status(sd))
    w = procs.start(["pysix-svwait", "-u", "-t", "5000", sd])
    time.sleep(0.3)
    subprocess.run(["pysix-svc", "-x", sd])
    assert w.wait(5) == 1


def _same_as_s6(sd, opts=()):
    """pysix-svstat and s6-svstat on one live dir; retried if a second ticked between them."""
    for _ in range(5):
        ours = subprocess.run(["pysix-svstat", *opts, sd], capture_output=True, text=True, timeout=10)
        theirs = subprocess.run(["s6-svstat", *opts, sd], capture_output=True, text=True, timeout=10)
        if (ours.returncode, ours.stdout) == (theirs.returncode, theirs.stdout):
            return ours.stdout
    assert (ours.returncode, ours.stdout) == (theirs.returncode, theirs.stdout), opts


def _pysix_state(sd):
    r = subprocess.run(["pysix-svstat", "-o", "state", sd], capture_output=True, text=True, timeout=10)
    return r.stdout.strip()


@needs_s6
@pytest.mark.parametrize("state,run,files", [
    ("starting", "exec sleep 1000", {"check": "#!/bin/sh\nexit 1\n"}),
    ("done", "exit 0", {"type": "oneshot\n"}),
    ("failed", "exit 3", {"restart_limit": "0 60\n"}),
])
def test_svstat_default_output_is_s6s_in_pysix_states(tmp, procs, state, run, files):
    sd = make_sd(os.path.join(tmp, state), run, **files)
    procs.start(["pysix-supervise", sd], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(lambda: _pysix_state(sd) == state, what="state %s" % state)
    for opts in ([], ["-n"], ["-o", ALL], ["-uwNrpest"]):
        line = _same_as_s6(sd, opts)
        assert ";" not in line
    mine = subprocess.run(["pysix-svstat", "--pysix", sd], capture_output=True, text=True, timeout=10)
    assert mine.stdout.rstrip("\n").endswith("; " + state) or ("; %s (" % state) in mine.stdout, mine.stdout
    o = subprocess.run(["pysix-svstat", "-o", "up,state,reason,deaths", sd], capture_output=True, text=True)
    assert o.stdout.split()[1] == state and len(o.stdout.split()) == 4
