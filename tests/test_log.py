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


def test_missing_dir_is_created_but_not_its_parents(tmp):
    d = os.path.join(tmp, "new")
    r = subprocess.run(["pysix-log", d], input="hello\n", capture_output=True, text=True, timeout=10)
    assert r.returncode == 0, r.stderr
    assert open(os.path.join(d, "current")).read() == "hello\n"
    deep = os.path.join(tmp, "no", "such")
    r = subprocess.run(["pysix-log", deep], input="x\n", capture_output=True, text=True, timeout=10)
    assert r.returncode == 111 and r.stderr.count("\n") == 1
    assert "unable to mkdir %s" % deep in r.stderr and not os.path.exists(deep)


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


def _stderr_until(p, marker, timeout):
    """What p wrote to its stderr pipe until `marker` came (or timeout, checked between reads)."""
    err = b""
    deadline = time.monotonic() + timeout
    while marker not in err and time.monotonic() < deadline:
        err += os.read(p.stderr.fileno(), 4096)
    return err


def _end_and_unmount(procs, d):
    """Kill the loggers still running on the mount at d, then unmount it (lazily)."""
    for q in procs.procs:
        if q.poll() is None:
            q.kill()
            q.wait(5)
    subprocess.run(["umount", "-l", d])


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
        err = _stderr_until(p, b"No space left", 10)
        assert b"No space left on device" in err and b"retrying" in err
        assert p.poll() is None   # still alive, still holding the rest
        # Make room as an operator would: take what was written away.
        data = open(os.path.join(d, "current"), "rb").read()
        os.unlink(os.path.join(d, "current"))
        assert p.wait(15) == 0
        data += open(os.path.join(d, "current"), "rb").read()
        assert data == blob
    finally:
        _end_and_unmount(procs, d)


def _current(d):
    with open(os.path.join(d, "current"), "rb") as f:
        return f.read()


def test_binary_garbage_passes_through_byte_exact(tmp, procs):
    import random
    rnd = random.Random(7)
    blob = bytes(rnd.getrandbits(8) for _ in range(300000)) + b"\x00\xff\xfe\xc3(\n" + b"tail\x00\x80"
    d = os.path.join(tmp, "log")
    os.makedirs(d)
    # -l 1M: random bytes hold lines of a few hundred bytes at most, none is cut.
    p = procs.start(["pysix-log", "-s", "10M", "-l", "1M", d], stdin=subprocess.PIPE)
    for i in range(0, len(blob), 4093):    # odd chunks: lines straddle reads
        p.stdin.write(blob[i:i + 4093])
        p.stdin.flush()
    p.stdin.close()
    assert p.wait(10) == 0
    assert _current(d) == blob + b"\n"


def test_a_line_of_exactly_linemax_is_not_cut_when_its_newline_comes_later(tmp, procs):
    d = os.path.join(tmp, "log")
    os.makedirs(d)
    p = procs.start(["pysix-log", "-l", "100", d], stdin=subprocess.PIPE)
    p.stdin.write(b"x" * 100)
    p.stdin.flush()
    time.sleep(0.2)                          # the logger has read the 100 bytes alone
    p.stdin.write(b"\n" + b"y" * 201 + b"\n")
    p.stdin.close()
    assert p.wait(5) == 0
    assert _current(d) == b"x" * 100 + b"\n" + b"y" * 100 + b"\n" + b"y" * 100 + b"\ny\n"


def test_term_also_writes_what_waits_in_the_pipe(tmp, procs):
    d = os.path.join(tmp, "log")
    os.makedirs(d)
    p = procs.start(["pysix-log", "-t", "tai64n", "-s", "10M", d], stdin=subprocess.PIPE)
    wait_for(lambda: os.path.exists(os.path.join(d, "current")), what="logger started")
    import fcntl
    fcntl.fcntl(p.stdin.fileno(), 1031, 1 << 20)    # F_SETPIPE_SZ: room for more than one read
    os.kill(p.pid, signal.SIGSTOP)
    try:
        body = b"".join(b"queued %d\n" % i for i in range(30000))  # ~300 KB, several reads
        p.stdin.write(body + b"cut")
        p.stdin.flush()
        os.kill(p.pid, signal.SIGTERM)       # delivered, with the data unread, at SIGCONT
    finally:
        os.kill(p.pid, signal.SIGCONT)
    assert p.wait(5) == 0
    got = b"".join(l.split(b" ", 1)[1] + b"\n" for l in _current(d).splitlines())
    assert got == body + b"cut\n"


def test_stdin_that_epoll_refuses(tmp):
    d = os.path.join(tmp, "log")
    os.makedirs(d)
    with open(os.devnull, "rb") as null:
        r = subprocess.run(["pysix-log", d], stdin=null, capture_output=True, timeout=10)
    assert r.returncode == 0 and r.stderr == b"" and _current(d) == b""
    src = os.path.join(tmp, "input")
    with open(src, "wb") as f:
        f.write(b"".join(b"from a file %d\n" % i for i in range(50000)))
    with open(src, "rb") as f:
        r = subprocess.run(["pysix-log", "-s", "100k", "-n", "1000", d], stdin=f, timeout=20)
    assert r.returncode == 0
    assert _lines(d) == [b"from a file %d" % i for i in range(50000)]


def test_a_current_left_mid_line_gets_its_newline_first(tmp):
    d = os.path.join(tmp, "log")
    os.makedirs(d)
    with open(os.path.join(d, "current"), "wb") as f:
        f.write(b"old\nkilled mid-li")
    subprocess.run(["pysix-log", d], input=b"new\n", timeout=10)
    assert _current(d) == b"old\nkilled mid-li\nnew\n"


def test_archive_names_stay_ordered_when_the_clock_steps_back(tmp):
    from pysix.log import Logger
    from pysix.loop import Loop
    d = os.path.join(tmp, "log")
    os.makedirs(d)
    future = "@4000000080000000" + "0" * 8 + ".s"     # year 2038 and later
    open(os.path.join(d, future), "wb").close()
    loop = Loop()
    try:
        lg = Logger(d, 10, 3, "none", b"", False, 1000, loop)
        lg.lock()
        lg.take(b"".join(b"line %03d\n" % i for i in range(5)))
        assert lg.write_pending()
        names = sorted(n for n in os.listdir(d) if n.startswith("@"))
        assert len(names) == 3 and future not in names   # pruned as the oldest
        content = b"".join(open(os.path.join(d, n), "rb").read() for n in names) + _current(d)
        assert content.endswith(b"line 004\n") and b"line 002\n" in content
        assert names[0] > future
    finally:
        os.close(lg.lock_fd)
        loop.close()


@pytest.mark.skipif(shutil.which("s6-log") is None, reason="s6 is not installed")
def test_the_lock_keeps_out_s6_log_and_is_kept_out_by_it(tmp, procs):
    d = os.path.join(tmp, "log")
    os.makedirs(d)
    p = procs.start(["pysix-log", d], stdin=subprocess.PIPE)
    wait_for(lambda: os.path.exists(os.path.join(d, "current")))
    r = subprocess.run(["s6-log", "t", d], input=b"x\n", capture_output=True, timeout=10)
    assert r.returncode == 111 and b"lock" in r.stderr
    p.stdin.close()
    assert p.wait(5) == 0
    s6 = procs.start(["s6-log", "t", d], stdin=subprocess.PIPE)
    wait_for(lambda: os.path.exists(os.path.join(d, "state")))
    r = subprocess.run(["pysix-log", d], input=b"x\n", capture_output=True, timeout=10)
    assert r.returncode == 111 and r.stderr.count(b"\n") == 1 and b"already" in r.stderr
    s6.stdin.close()
    assert s6.wait(5) == 0


def test_a_read_only_dir_is_reported_and_retried(tmp, procs):
    d = os.path.join(tmp, "ro")
    os.makedirs(d)
    if subprocess.run(["mount", "--bind", d, d], capture_output=True).returncode != 0:
        pytest.skip("cannot bind-mount here")
    try:
        if subprocess.run(["mount", "-o", "remount,bind,ro", d], capture_output=True).returncode != 0:
            pytest.skip("cannot remount read-only here")
        p = procs.start(["pysix-log", d], stdin=subprocess.PIPE, stderr=subprocess.PIPE)
        p.stdin.write(b"written while read-only\n")
        p.stdin.flush()
        err = _stderr_until(p, b"\n", 5)
        assert err.startswith(b"pysix-log: warning: cannot write %s/lock: Read-only file system; retrying"
                              % d.encode())
        time.sleep(1.2)
        assert p.poll() is None
        subprocess.run(["mount", "-o", "remount,bind,rw", d], check=True)
        p.stdin.write(b"and after\n")
        p.stdin.close()
        assert p.wait(5) == 0
        assert _current(d) == b"written while read-only\nand after\n"
    finally:
        _end_and_unmount(procs, d)
