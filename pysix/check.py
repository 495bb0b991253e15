"""pysix-check: lint an image's cont-init.d, services.d and cont-finish.d before it ships.

`check_tree(root)` returns findings (level, path, message), one per problem,
each naming the file; the same parsing rules as the supervisor (servicedir,
policy, deps), so what the linter accepts is what pysix runs.
"""
from __future__ import annotations

import difflib
import os

from . import deps
from .policy import parse_restart_limit, parse_type
from .servicedir import KNOWN_FILES, parse_signal_file, parse_uint, read_lines
from .record import Record
from .units.lint import PLAIN_FILES, check_plain, check_units

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import List

ERROR, WARNING = "ERROR", "WARNING"
INT_FILES = ("notification-fd", "timeout-kill", "timeout-finish", "max-death-tally", "timeout-ready",
             "lock-fd")
SCRIPT_FILES = ("run", "finish", "check")


class Finding(Record):
    level: str
    path: str
    message: str

    def __str__(self) -> str:
        return "%s %s: %s" % (self.level, self.path, self.message)


def check_script(path: str, root: str, out: List[Finding]) -> None:
    """Executable bit, shebang interpreter present (under root), CRLF line ends."""
    if not os.access(path, os.X_OK):
        out.append(Finding(ERROR, path, "not executable (chmod +x)"))
    try:
        with open(path, "rb") as f:
            head = f.read(256)
    except OSError as e:
        out.append(Finding(ERROR, path, "cannot read: %s" % e.strerror))
        return
    first = head.split(b"\n", 1)[0]
    if first.endswith(b"\r") or b"\r\n" in head:
        out.append(Finding(ERROR, path, "has CRLF line endings (the kernel looks for an interpreter ending in \\r)"))
    if first.startswith(b"#!"):
        words = first[2:].strip().split()
        if not words:
            out.append(Finding(ERROR, path, "empty #! line"))
            return
        interp = os.fsdecode(words[0].rstrip(b"\r"))
        candidates = [os.path.join(root, interp.lstrip("/"))]
        if os.path.abspath(root) == "/" or not os.path.exists(os.path.join(root, "bin")):
            candidates.append(interp)
        if not any(os.path.exists(c) for c in candidates):
            out.append(Finding(ERROR, path, "interpreter %s does not exist" % interp))
    elif not head.startswith(b"\x7fELF"):
        out.append(Finding(WARNING, path, "no #! line: exec will fail unless it is a binary"))


def check_service(sd: str, root: str, out: List[Finding], is_log: bool = False) -> None:
    run = os.path.join(sd, "run")
    if not os.path.exists(run):
        out.append(Finding(ERROR, sd, "no run file"))
    for name in sorted(os.listdir(sd)):
        path = os.path.join(sd, name)
        if name not in KNOWN_FILES:
            close = difflib.get_close_matches(name, sorted(KNOWN_FILES), n=1, cutoff=0.75)
            hint = " (did you mean %s?)" % close[0] if close else ""
            out.append(Finding(WARNING, path, "unknown file, ignored%s" % hint))
            continue
        if name in SCRIPT_FILES and os.path.isfile(path):
            check_script(path, root, out)
        elif name in INT_FILES:
            data = open(path, "rb").read(64)
            if parse_uint(data) is None:
                out.append(Finding(ERROR, path, "invalid value %r (want a non-negative integer)"
                                   % data.split(b"\n", 1)[0].decode("utf-8", "replace")))
        elif name == "down-signal":
            data = open(path, "rb").read(64)
            if parse_signal_file(data) is None:
                out.append(Finding(ERROR, path, "unknown signal %r" % data.split(b"\n", 1)[0].decode("utf-8", "replace")))
        elif name == "restart-limit":
            if parse_restart_limit(open(path, "rb").read(64)) is None:
                out.append(Finding(ERROR, path, "want `N SECONDS`, e.g. `5 60`"))
        elif name == "type":
            if parse_type(open(path, "rb").read(64)) is None:
                out.append(Finding(ERROR, path, "want `oneshot` or `longrun`"))
        elif name in PLAIN_FILES:
            out.extend(Finding(lvl, path, msg) for lvl, msg in check_plain(path, name, root))
        elif name == "log" and not is_log:
            if os.path.isdir(path):
                check_service(path, root, out, is_log=True)
            else:
                out.append(Finding(ERROR, path, "log must be a directory"))


def check_tree(root: str) -> List[Finding]:
    out: List[Finding] = []
    etc = os.path.join(root, "etc")
    for d in ("cont-init.d", "cont-finish.d"):
        path = os.path.join(etc, d)
        if not os.path.isdir(path):
            continue
        for name in sorted(os.listdir(path)):
            fn = os.path.join(path, name)
            if os.path.isfile(fn) and not name.startswith("."):
                check_script(fn, root, out)
    out.extend(Finding(*f) for f in check_units(root))
    sdir = os.path.join(etc, "services.d")
    if not os.path.isdir(sdir):
        return out
    primaries = []
    for name in sorted(os.listdir(sdir)):
        sd = os.path.join(sdir, name)
        if name.startswith("."):
            continue
        if not os.path.isdir(sd):
            out.append(Finding(WARNING, sd, "not a directory, ignored"))
            continue
        check_service(sd, root, out)
        if os.path.exists(os.path.join(sd, "primary")):
            primaries.append(sd)
    if len(primaries) > 1:
        out.append(Finding(ERROR, sdir, "more than one primary service: %s" % ", ".join(
            os.path.basename(p) for p in primaries)))
    graph = deps.read_graph(sdir)
    missing, cycles = deps.check_graph(graph)
    for name, gone in sorted(missing.items()):
        out.append(Finding(ERROR, os.path.join(sdir, name, "dependencies"), "unknown service %s" % ", ".join(gone)))
    for cyc in cycles:
        out.append(Finding(ERROR, os.path.join(sdir, cyc[0], "dependencies"),
                           "dependency cycle: %s" % " -> ".join(cyc + cyc[:1])))
    for name in sorted(graph):
        target = read_lines(os.path.join(sdir, name), "on-failure")
        if target and target[0] not in graph:
            out.append(Finding(ERROR, os.path.join(sdir, name, "on-failure"), "unknown service %s" % target[0]))
    return out
