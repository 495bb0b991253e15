"""pysix-check's findings for unit dirs and for the plain files that mirror unit directives."""
import os

from ..restartpolicy import parse_restart, parse_restart_delay

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import List, Tuple

# Optional plain files of a service dir (the same settings a unit has).
PLAIN_FILES = frozenset({"restart", "restart-delay", "exit-container-on-failure", "user", "group",
                         "working-directory", "conditions", "unit.json"})


def check_plain(path: str, name: str, root: str) -> "List[Tuple[str, str]]":
    """(level, message) for one of PLAIN_FILES."""
    try:
        with open(path, "rb") as f:
            data = f.read(65536)
    except OSError as e:
        return [("ERROR", "cannot read: %s" % e.strerror)]
    first = data.split(b"\n", 1)[0].strip().decode("utf-8", "replace")
    if name == "restart" and parse_restart(data) is None:
        return [("ERROR", "want always, on-failure or no")]
    if name == "restart-delay" and parse_restart_delay(data) is None:
        return [("ERROR", "want milliseconds (a non-negative integer)")]
    if name == "working-directory":
        bare = first[1:] if first.startswith("-") else first
        if not (bare.startswith("/") or bare == "~" or bare.startswith("~/")):
            return [("ERROR", "want an absolute path (or ~; -PATH: may be missing)")]
    if name == "conditions":
        from .conditions import parse_lines
        _, errors = parse_lines(data.decode("utf-8", "replace"), path)
        return [("ERROR", e[len(path) + 1:]) for e in errors]
    if name in ("user", "group") and not first:
        return [("ERROR", "empty")]
    if name == "user":
        from . import passwd
        from .boot import user_files
        pw, gr = user_files(root)
        group = ""
        try:
            with open(os.path.join(os.path.dirname(path), "group"), "rb") as f:
                group = f.read(256).split(b"\n", 1)[0].strip().decode("utf-8", "replace")
        except OSError:
            pass
        ids, why = passwd.resolve(first, group, passwd.read(pw), passwd.read(gr))
        if ids is None:
            return [("WARNING", "%s (unless a cont-init script adds it)" % why)]
    return []


def check_units(root: str) -> "List[Tuple[str, str, str]]":
    """(level, path, message) for the default unit dirs under root: the
    same loading and checks as `pysix-init --validate`."""
    from .boot import default_dirs
    from .validate import check
    units, dropin = default_dirs(root)
    if not units and not dropin:
        return []
    us, _ = check(root, units, dropin)
    out = []
    for level, lines in (("ERROR", us.errors), ("WARNING", us.warnings)):
        for line in lines:
            path, _, msg = line.partition(": ")
            out.append((level, path, msg))
    return out
