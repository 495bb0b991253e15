"""systemd's value syntaxes the unit subset uses: time spans and booleans (pure)."""
TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import Optional

# systemd.time(7): unit -> seconds
_UNITS = {}
for _names, _secs in ((("us", "usec", "µs", "μs"), 1e-6), (("ms", "msec"), 1e-3),
                      (("s", "sec", "second", "seconds"), 1.0),
                      (("m", "min", "minute", "minutes"), 60.0),
                      (("h", "hr", "hour", "hours"), 3600.0), (("d", "day", "days"), 86400.0),
                      (("w", "week", "weeks"), 604800.0)):
    for _n in _names:
        _UNITS[_n] = _secs

INFINITY = float("inf")


def parse_timespan(text: str, default_unit: float = 1.0) -> "Optional[float]":
    """`2s`, `1min 30s`, `500ms`, `90` (seconds) or `infinity` -> seconds; None if invalid."""
    t = text.strip()
    if t == "infinity":
        return INFINITY
    if not t:
        return None
    total = 0.0
    i, n = 0, len(t)
    while i < n:
        while i < n and t[i] == " ":
            i += 1
        j = i
        while j < n and (t[j].isdigit() or t[j] == "."):
            j += 1
        if j == i:
            return None
        try:
            num = float(t[i:j])
        except ValueError:
            return None
        while j < n and t[j] == " ":
            j += 1
        k = j
        while k < n and t[k].isalpha():
            k += 1
        unit = t[j:k]
        if unit:
            if unit not in _UNITS:
                return None
            total += num * _UNITS[unit]
        else:
            total += num * default_unit
        i = k
    return total


def parse_bool(text: str) -> "Optional[bool]":
    t = text.strip().lower()
    if t in ("1", "yes", "y", "true", "t", "on"):
        return True
    if t in ("0", "no", "n", "false", "f", "off"):
        return False
    return None


MAX_MS = (1 << 32) - 1


def ms(seconds: float) -> int:
    """Whole milliseconds for s6's files; infinity (or too big) -> 0, their "no bound"."""
    if seconds != seconds or seconds == INFINITY or seconds * 1000 >= MAX_MS:
        return 0
    return max(0, int(round(seconds * 1000)))
