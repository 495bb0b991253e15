"""pysix-check: lint an image's cont-init.d, services.d and cont-finish.d before it ships.

`check_tree(root)` returns findings (level, path, message), one per problem,
each naming the file; the same parsing rules as the supervisor (servicedir,
policy, deps, shebang), so an ERROR is exactly what would fail at boot, and
a WARNING what boots but may not do what was meant (an ignored file, a tool
the image lacks, an s6-overlay v2 setting that pysix maps differently).
"""
import difflib
import os
import re
import shutil
import subprocess

from . import deps
from .policy import parse_restart_limit, parse_type
from .servicedir import KNOWN_FILES, parse_signal_file, parse_uint, read_lines
from .record import Record
from .units.lint import PLAIN_FILES, check_plain, check_units
from .shebang import parse as parse_shebang

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import List, Optional

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


# Shells whose `-n` checks syntax without running anything.
SHELLS = ("sh", "bash", "dash", "ash", "ksh", "zsh")
# Commands v2 scripts call that pysix-install-s6-names provides.
from .cli.install_names import NAMES as _NAMES   # noqa: E402
PROVIDED = {n for n, _ in _NAMES}
_TOOL = re.compile(rb"(?<![\w./-])(s6-[a-z0-9-]+|printcontenv|logutil-service|with-contenv)(?![\w-])")
BIN_DIRS = ("usr/local/sbin", "usr/local/bin", "usr/sbin", "usr/bin", "sbin", "bin")


def _on_root(name: str, root: str) -> bool:
    """Whether the image has `name` (in its bin dirs, or on PATH when root is /)."""
    if os.path.abspath(root) == "/":
        return shutil.which(name) is not None or any(os.path.exists("/" + d + "/" + name) for d in BIN_DIRS)
    return any(os.path.exists(os.path.join(root, d, name)) for d in BIN_DIRS) or (
        not os.path.isdir(os.path.join(root, "usr")) and shutil.which(name) is not None)


def _language(interp: str, arg: "Optional[str]") -> str:
    """The language the script is in: a shell name, `execlineb`, or ''."""
    name = os.path.basename(interp)
    if name in ("env", "with-contenv") and arg:
        name = os.path.basename(arg.split()[0])
    return name if name in SHELLS or name == "execlineb" else ""


def _syntax(path: str, lang: str, out: "List[Finding]") -> None:
    """`sh -n` for shell scripts; execlineb's own parser for execline ones (where installed)."""
    tool = shutil.which(lang)
    if tool is None:
        return
    try:
        if lang == "execlineb":
            with open(path, "rb") as f:
                text = f.read().decode("utf-8", "replace")
            # execlineb parses the whole text before it execs the first word: make that `true`.
            argv = [tool, "-P", "-c", "true\n" + text]
        else:
            argv = [tool, "-n", path]
        r = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, timeout=10)
    except (OSError, subprocess.TimeoutExpired, ValueError) as e:
        out.append(Finding(WARNING, path, "cannot check the syntax with %s: %s" % (lang, e)))
        return
    if r.returncode != 0:
        msg = r.stderr.decode("utf-8", "replace").strip().split("\n")[0] or "exit %d" % r.returncode
        out.append(Finding(ERROR, path, "syntax error (%s): %s" % (
            "execlineb" if lang == "execlineb" else "%s -n" % lang, msg)))


def check_script(path: str, root: str, out: "List[Finding]") -> None:
    """What would keep the script from running at boot: no usable #! line, a
    missing interpreter, CRLF line ends, a syntax error. Mode 0644 is fine:
    pysix runs such a script through its #! line, as s6-overlay v2 made it
    executable. Tools it calls that the image lacks are warnings."""
    try:
        with open(path, "rb") as f:
            data = f.read(1 << 20)
    except OSError as e:
        out.append(Finding(ERROR, path, "cannot read: %s" % e.strerror))
        return
    head = data[:256]
    first = head.split(b"\n", 1)[0]
    if first.endswith(b"\r") or b"\r\n" in head:
        out.append(Finding(ERROR, path, "has CRLF line endings (the kernel looks for an interpreter ending in \\r)"))
    if head.startswith(b"\x7fELF"):
        return
    got, why = parse_shebang(head)
    if got is None:
        out.append(Finding(ERROR, path, "%s: it cannot be run (not a binary either)" % why))
        return
    interp, arg = got
    candidates = [os.path.join(root, interp.lstrip("/"))]
    if os.path.abspath(root) == "/" or not os.path.exists(os.path.join(root, "bin")):
        candidates.append(interp)
    if not any(os.path.exists(c) for c in candidates):
        name = os.path.basename(interp)
        hint = (" (RUN pysix-install-s6-names)" if name in PROVIDED
                else " (apt-get install execline)" if name == "execlineb" else "")
        out.append(Finding(ERROR, path, "interpreter %s does not exist%s" % (interp, hint)))
    lang = _language(interp, arg)
    if lang:
        _syntax(path, lang, out)
    missing = []
    for m in _TOOL.finditer(data):
        name = m.group(1).decode()
        if name not in missing and not _on_root(name, root):
            missing.append(name)
    for name in missing:
        how = "RUN pysix-install-s6-names" if name in PROVIDED else "not provided by pysix: install s6 (apt-get install s6)"
        out.append(Finding(WARNING, path, "calls %s, which the image does not have (%s)" % (name, how)))


def check_service(sd: str, root: str, out: "List[Finding]", is_log: bool = False) -> None:
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
        elif name == "socket":
            from .sockets.bind import read_spec
            spec, problems = read_spec(sd)
            out.extend(Finding(ERROR if spec is None else WARNING, path, p[len(path) + 2:] if p.startswith(path + ": ") else p)
                       for p in problems)
        elif name == "log" and not is_log:
            if os.path.isdir(path):
                check_service(path, root, out, is_log=True)
            else:
                out.append(Finding(ERROR, path, "log must be a directory"))


def check_tree(root: str) -> "List[Finding]":
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
    from .overlaycompat import NO_EFFECT
    for name, why in NO_EFFECT.items():
        v = os.environ.get(name, "").strip()
        if v and v != "0":
            out.append(Finding(WARNING, "%s=%s" % (name, v), "has no effect: %s" % why))
    if os.environ.get("S6_CMD_WAIT_FOR_SERVICES", "0").strip() not in ("", "0") and \
            os.environ.get("S6_CMD_WAIT_FOR_SERVICES_MAXTIME") is None:
        out.append(Finding(WARNING, "S6_CMD_WAIT_FOR_SERVICES_MAXTIME", "unset: pysix waits without a bound "
                           "(s6-overlay v2: 5000 ms); set it to keep v2's limit"))
    sdir = os.path.join(etc, "services.d")
    if not os.path.isdir(sdir):
        out.append(Finding(WARNING, sdir, "no such directory: no service will be started "
                           "(fine for an image that only runs a CMD; wrong --root?)"))
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
