"""pysix.signames reads the C module `_signal`; its table must be the one signal.Signals gives."""
import signal

from pysix.signames import parse_signal, signal_name


def reference_name(num):
    """The table as it was built from signal.Signals, with s6's preferences."""
    names = {int(s): s.name for s in signal.Signals
             if s.name.startswith("SIG") and not s.name.startswith("SIG_")}
    names[int(signal.SIGIOT)] = "SIGABRT"
    names[int(signal.SIGCHLD)] = "SIGCHLD"
    names[int(signal.SIGPOLL)] = "SIGPOLL"
    for rt in ("SIGRTMIN", "SIGRTMAX"):
        if hasattr(signal, rt):
            names.pop(int(getattr(signal, rt)), None)
    return names.get(num, "SIG???")


def test_names_match_signal_enum():
    for n in range(0, 130):
        assert signal_name(n) == reference_name(n), n


def test_every_signal_name_parses():
    for s in signal.Signals:
        assert parse_signal(s.name) == int(s) and parse_signal(s.name[3:].lower()) == int(s)
    assert [parse_signal(t) for t in ("IOT", "POLL", "IO", "CLD", "0", "65", "x")] == \
        [signal.SIGABRT, signal.SIGIO, signal.SIGIO, signal.SIGCHLD, None, None, None]
