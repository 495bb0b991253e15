"""pysix.inotify: the event decoder, and a real watch on a real directory."""
import os
import select
import struct

from pysix.inotify import IN_CREATE, IN_DELETE, DirWatch, parse_events


def _event(mask, name=b"", pad=16):
    raw = name + b"\0" * (pad - len(name)) if name else b""
    return struct.pack("iIII", 1, mask, 0, len(raw)) + raw


def test_parse_events_names_and_padding():
    data = _event(IN_CREATE, b"web") + _event(0x400) + _event(IN_DELETE, b"worker", 32)
    assert parse_events(data) == [(IN_CREATE, "web"), (0x400, ""), (IN_DELETE, "worker")]
    assert parse_events(b"") == []
    assert parse_events(data[:10]) == []        # a truncated header is not an event


def test_dirwatch_sees_a_new_and_a_removed_dir(tmp):
    w = DirWatch(tmp)
    try:
        assert w.read() == []                   # non-blocking: nothing yet
        os.mkdir(os.path.join(tmp, "svc"))
        assert select.select([w], [], [], 5)[0], "no inotify event within 5 s"
        assert (IN_CREATE | 0x40000000, "svc") in w.read()   # IN_ISDIR is set for a dir
        os.rmdir(os.path.join(tmp, "svc"))
        assert select.select([w], [], [], 5)[0], "no inotify event within 5 s"
        assert [n for m, n in w.read() if m & IN_DELETE] == ["svc"]
    finally:
        w.close()
    assert w.fileno() == -1


def test_dirwatch_on_a_missing_dir_names_it(tmp):
    missing = os.path.join(tmp, "nope")
    try:
        DirWatch(missing)
    except OSError as e:
        assert e.filename == missing and e.strerror
    else:
        raise AssertionError("watching a missing dir did not fail")
