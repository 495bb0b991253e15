"""pysix-log: no line lost, rotation bounded, stamps, prefixes, bad input, full disk."""
import os
import re
import shutil
import signal
import subprocess
import time

import pytest

from helpers import wait_for
from pysix.log import split_long, split_long_lines, stamp_lines


def test_stamp_lines_and_split_long_are_pure():
    assert split_long_lines(b"ab\nabcdefg\n", 3) == b"ab\nabc\ndef\ng\n"
    assert stamp_lines(b"a\nb\n", b"T ") == b"T a\nT b\n"
    assert stamp_lines(b"a\n", b"") == b"a\n"
    assert split_long(b"abcdefg", 3) == [b"abc\n", b"def\n", b"g"]


def _lines(d):
    out = []
    names = sorted(n for n in os.listdir(d) if n.startswith("@")) + ["current"]
    for n in names:
        with open(os.path.join(d, n), "rb") as f:
            out += f.read().splitlines()
    return out


def test_every_line_in_order_through_a_pipe_with_rotation(tmp, procs):
    d = os.path.join(tmp, "log")
    os.makedirs(d)
    p = procs.start(["pysix-log", "-t", "iso", "-s", "20k", "-n", "100", d], stdin=subprocess.PIPE)
    for i in range(20000):
        p.stdin.write(b"line %d\n" % i)
    p.stdin.close()
    assert p.wait(20) == 0
    lines = _lines(d)
    assert [l.split(b" ", 1)[1] for l in lines] == [b"line %d" % i for i in range(20000)]
    assert all(re.match(rb"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z ", l) for l in lines)
    for n in os.listdir(d):
        if n.startswith("@"):
            assert len(n) == 27 and os.path.getsize(os.path.join(d, n)) <= 20000


def test_archive_count_is_bounded(tmp):
    d = os.path.join(tmp, "log")
    os.makedirs(d)
    data = b"".join(b"%08d\n" % i for i in range(5000))
    r = subprocess.run(["pysix-log", "-s", "1k", "-n", "3", d], input=data, timeout=20)
    assert r.returncode == 0
    assert len([n for n in os.listdir(d) if n.startswith("@")]) == 3
    assert _lines(d)[-1] == b"00004999"


def test_partial_line_binary_and_long_lines(tmp):
    d = os.path.join(tmp, "log")
    os.makedirs(d)
    garbage = bytes(range(256)).replace(b"\n", b"") * 3
    data = garbage + b"\n" + b"x" * 250 + b"\nlast-without-newline"
    r = subprocess.run(["pysix-log", "-l", "100", d], input=data, timeout=20)
    assert r.returncode == 0
    content = open(os.path.join(d, "current"), "rb").read()
    assert content.startswith(garbage[:100] + b"\n")
    assert garbage in content.replace(b"\n", b"")
    assert content.endswith(b"last-without-newline\n")
    assert b"x" * 100 + b"\n" + b"x" * 100 + b"\n" + b"x" * 50 + b"\n" in content


def test_term_flushes_the_partial_line(tmp, procs):
    d = os.path.join(tmp, "log")
    os.makedirs(d)
    p = procs.start(["pysix-log", "-p", "web", d], stdin=subprocess.PIPE)
    p.stdin.write(b"one\ntwo-partial")
    p.stdin.flush()
    wait_for(lambda: os.path.exists(os.path.join(d, "current")) and
             os.path.getsize(os.path.join(d, "current")) > 0, what="first line written")
    p.send_signal(signal.SIGTERM)
    assert p.wait(5) == 0
    assert open(os.path.join(d, "current"), "rb").read() == b"web one\nweb two-partial\n"


@pytest.mark.skipif(shutil.which("s6-tai64nlocal") is None, reason="s6 is not installed")
def test_tai64n_stamps_are_s6_compatible(tmp):
    d = os.path.join(tmp, "log")
    os.makedirs(d)
    subprocess.run(["pysix-log", "-t", "tai64n", "-e", d], input=b"hello\n", timeout=10, capture_output=True)
    line = open(os.path.join(d, "current"), "rb").read()
    assert re.match(rb"^@4000[0-9a-f]{20} hello\n$", line)
    local = subprocess.run(["s6-tai64nlocal"], input=line, capture_output=True, timeout=10).stdout
    assert local.decode().startswith(time.strftime("%Y-%m-%d"))


def test_copy_to_stderr(tmp):
    d = os.path.join(tmp, "log")
    os.makedirs(d)
    r = subprocess.run(["pysix-log", "-e", d], input=b"a\nb\n", capture_output=True, timeout=10)
    assert r.stderr == b"a\nb\n"


@pytest.mark.parametrize("args", [["-Z", "x"], ["-s", "abc", "x"], ["-t", "utc", "x"], [], ["a", "b"]])
def test_bad_arguments_one_line_exit_100(args):
    r = subprocess.run(["pysix-log"] + args, input="", capture_output=True, text=True, timeout=10)
    assert r.returncode == 100 and "pysix-log: fatal:" in r.stderr and "Traceback" not in r.stderr


def test_not_a_directory_and_second_logger(tmp, procs):
    f = os.path.join(tmp, "file")
    open(f, "w").close()
    r = subprocess.run(["pysix-log", f], input="", capture_output=True, text=True, timeout=10)
    assert r.returncode == 111 and "not a directory" in r.stderr
    d = os.path.join(tmp, "log")
    os.makedirs(d)
    p = procs.start(["pysix-log", d], stdin=subprocess.PIPE)
    wait_for(lambda: os.path.exists(os.path.join(d, "lock")))
    time.sleep(0.2)
    r = subprocess.run(["pysix-log", d], input="", capture_output=True, text=True, timeout=10)
    assert r.returncode == 111 and "already" in r.stderr
    p.stdin.close()
    assert p.wait(5) == 0


def test_full_disk_is_reported_and_retried_without_loss(tmp, procs):
    d = os.path.join(tmp, "small")
    os.makedirs(d)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", d]).returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        p = procs.start(["pysix-log", "-s", "1M", d], stdin=subprocess.PIPE, stderr=subprocess.PIPE)
        blob = b"".join(b"%07d\n" % i for i in range(12000))   # 96 KB on a 64 KB disk
        p.stdin.write(blob)
        p.stdin.close()
        err = b""
        deadline = time.monotonic() + 10
        while b"No space left" not in err and time.monotonic() < deadline:
            err += os.read(p.stderr.fileno(), 4096)
        assert b"No space left on device" in err and b"retrying" in err
        assert p.poll() is None   # still alive, still holding the rest
        # Make room as an operator would: take what was written away.
        data = open(os.path.join(d, "current"), "rb").read()
        os.unlink(os.path.join(d, "current"))
        assert p.wait(15) == 0
        data += open(os.path.join(d, "current"), "rb").read()
        assert data == blob
    finally:
        for q in procs.procs:
            if q.poll() is None:
                q.kill()
                q.wait(5)
        subprocess.run(["umount", "-l", d])
