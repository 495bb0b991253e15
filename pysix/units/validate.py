"""`pysix-init --validate` and pysix-check's unit findings (reads files, runs nothing)."""
import os

from . import passwd
from .boot import user_files
from .loader import UnitSet, load
from .model import describe

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import List, Mapping, Optional, Tuple


def services_d(root: str) -> "List[str]":
    d = os.path.join(root, "etc", "services.d")
    try:
        return sorted(n for n in os.listdir(d) if not n.startswith(".") and os.path.isdir(os.path.join(d, n)))
    except OSError:
        return []


def check(root: str, units_dir: "Optional[str]", dropin_dir: "Optional[str]",
          env: "Optional[Mapping[str, str]]" = None) -> "Tuple[UnitSet, List[str]]":
    """(the loaded set, with user checks added to its warnings; the overrides' lines)."""
    logged: List[str] = []
    us = load(units_dir, dropin_dir, env, extra=services_d(root), log=logged.append)
    pw, gr = user_files(root)
    ptext, gtext = passwd.read(pw), passwd.read(gr)
    for name, u in sorted(us.units.items()):
        if u.user:
            ids, why = passwd.resolve(u.user, u.group, ptext, gtext)
        elif u.group:
            ids, why = passwd.resolve_group(u.group, gtext)
        else:
            continue
        if ids is None:
            us.warnings.append("%s: [Service] User=/Group=: %s in %s (unless a cont-init script adds it)"
                               % (u.path, why, os.path.dirname(pw)))
    return us, logged


def validate(root: str, units_dir: "Optional[str]", dropin_dir: "Optional[str]", strict: bool,
             env: "Optional[Mapping[str, str]]" = None) -> "Tuple[List[str], List[str], int]":
    """(summary lines for stdout, problem lines for stderr, exit code)."""
    us, logged = check(root, units_dir, dropin_dir, env)
    out = [describe(u) for _, u in sorted(us.units.items())]
    if us.sockets:
        from ..sockets.unit import describe as describe_socket
        out += [describe_socket(n, s, spec) for n, (s, spec) in sorted(us.sockets.items())]
    err = logged + ["warning: " + w for w in us.warnings] + ["error: " + e for e in us.errors]
    err.append("%d units, %d errors, %d warnings" % (len(us.units), len(us.errors), len(us.warnings)))
    return out, err, 0 if us.ok(strict) else 1
