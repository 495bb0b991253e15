"""pysix.dirnotify: real change signals from a real directory."""
import os
import signal

import pytest

from pysix.dirnotify import SIGNAL, DirNotify


@pytest.fixture
def blocked_signal():
    """SIGNAL held pending so sigtimedwait can collect it; restored after."""
    old_handler = signal.signal(SIGNAL, lambda *a: None)   # never the default action (exit)
    old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, {SIGNAL})
    yield
    signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
    signal.signal(SIGNAL, old_handler)


def _drain():
    while signal.sigtimedwait({SIGNAL}, 0) is not None:
        pass


def test_signal_on_new_renamed_and_removed_entries(tmp, blocked_signal):
    w = DirNotify(tmp)
    try:
        _drain()
        for change in (lambda: os.mkdir(os.path.join(tmp, "svc")),
                       lambda: os.rename(os.path.join(tmp, "svc"), os.path.join(tmp, "svc2")),
                       lambda: os.rmdir(os.path.join(tmp, "svc2"))):
            change()
            assert signal.sigtimedwait({SIGNAL}, 5) is not None, "no change signal within 5 s"
            _drain()
    finally:
        w.close()
    os.mkdir(os.path.join(tmp, "after"))
    assert signal.sigtimedwait({SIGNAL}, 0.2) is None      # closed: no more signals
    assert w.fd == -1


def test_missing_dir_is_named(tmp):
    missing = os.path.join(tmp, "nope")
    with pytest.raises(OSError) as e:
        DirNotify(missing)
    assert missing in str(e.value)
