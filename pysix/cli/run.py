"""pysix-run [-q...] [-d DELAY] [-k KILL_TIMEOUT] -- CMD ARGS -- CMD ARGS ...

Several programs as one container, without configuration files. The
commands become a generated service tree run by pysix-init, so reaping,
signals and the stop sequence are PID 1's:

* each command is a service that depends on the previous one, which must
  have stayed alive DELAY seconds (default 1) before the next starts;
* `:wait:CMD` runs to completion before the next starts (a oneshot, e.g. a
  migration); its failure stops everything;
* `-CMD`: a non-zero exit of CMD is not an error;
* any command exiting stops all, in reverse start order, each getting
  KILL_TIMEOUT seconds (default 5) after TERM; the exit status is the first
  failure's (0 if none failed);
* `-q` once: only warnings from pysix; twice: only errors; three times: nothing.
"""
from __future__ import annotations

import os
import shlex
import shutil
import sys
import tempfile

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import List, Optional, Tuple

USAGE = ("pysix-run: usage: pysix-run [ -q... ] [ -d DELAY ] [ -k KILL_TIMEOUT ] "
         "-- [-][:wait:]CMD ARGS [ -- CMD ARGS ... ]\n")


class UsageError(Exception):
    pass


def parse(argv: List[str]) -> Tuple[int, float, float, List[Tuple[bool, bool, List[str]]]]:
    """(quiet, delay, kill timeout, [(may_fail, wait, argv), ...]) — pure."""
    quiet, delay, kill = 0, 1.0, 5.0
    i = 0
    while i < len(argv) and argv[i] != "--":
        a = argv[i]
        if a.startswith("-q") and set(a[1:]) == {"q"}:
            quiet += len(a) - 1
        elif a in ("-d", "-k"):
            if i + 1 >= len(argv):
                raise UsageError("option %s wants a number of seconds" % a)
            try:
                v = float(argv[i + 1])
            except ValueError:
                raise UsageError("option %s: %r is not a number of seconds" % (a, argv[i + 1]))
            if v < 0 or v != v:
                raise UsageError("option %s: %r must not be negative" % (a, argv[i + 1]))
            if a == "-d":
                delay = v
            else:
                kill = v
            i += 1
        else:
            raise UsageError("unknown option %r" % a)
        i += 1
    cmds: List[Tuple[bool, bool, List[str]]] = []
    cur: Optional[List[str]] = None
    for a in argv[i:]:
        if a == "--":
            if cur is not None and not cur:
                raise UsageError("empty command between two --")
            cur = []
            cmds.append((False, False, cur))
        else:
            cur.append(a)
    if not cmds:
        raise UsageError("no command given (commands follow --)")
    if not cmds[-1][2]:
        raise UsageError("empty command after the last --")
    out = []
    for _, _, words in cmds:
        first = words[0]
        may_fail = first.startswith("-")
        if may_fail:
            first = first[1:]
        wait = first.startswith(":wait:")
        if wait:
            first = first[len(":wait:"):]
        if not first:
            raise UsageError("command %r has no program name" % words[0])
        out.append((may_fail, wait, [first] + words[1:]))
    return min(quiet, 3), delay, kill, out


def build_tree(root: str, cmds: List[Tuple[bool, bool, List[str]]], delay: float, cwd: str) -> None:
    """ROOT/etc/services.d with one service per command, chained by dependencies."""
    sd_root = os.path.join(root, "etc", "services.d")
    os.makedirs(sd_root)
    prev = None
    width = len(str(len(cmds)))
    for n, (may_fail, wait, words) in enumerate(cmds, 1):
        base = "".join(c if c.isalnum() or c in "._-" else "_" for c in os.path.basename(words[0]))
        name = "%0*d-%s" % (width, n, base or "cmd")
        sd = os.path.join(sd_root, name)
        os.makedirs(sd)
        line = " ".join(shlex.quote(w) for w in words)
        if wait and may_fail:
            body = "%s || echo \"pysix-run: %s failed with $? (ignored)\" >&2\nexit 0" % (line, name)
        else:
            body = "exec " + line
        _write(os.path.join(sd, "run"), "#!/bin/sh\ncd %s || exit 111\n%s\n" % (shlex.quote(cwd), body), 0o755)
        if wait:
            _write(os.path.join(sd, "type"), "oneshot\n")
            _write(os.path.join(sd, "primary"), "")
        else:
            # Any exit stops everything; a "-" command's failure counts as success.
            _write(os.path.join(sd, "primary"), "0\n" if may_fail else "")
            if delay > 0:
                _write(os.path.join(sd, "check"), "#!/bin/sh\nexec sleep %g\n" % delay, 0o755)
        if prev is not None:
            _write(os.path.join(sd, "dependencies"), prev + "\n")
        prev = name


def _write(path: str, text: str, mode: int = 0o644) -> None:
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


def main(argv: Optional[List[str]] = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    try:
        quiet, delay, kill, cmds = parse(args)
    except UsageError as e:
        sys.stderr.write("pysix-run: fatal: %s\n" % e + USAGE)
        return 100
    base = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    root = tempfile.mkdtemp(prefix="pysix-run-", dir=base)
    try:
        build_tree(root, cmds, delay, os.getcwd())
        os.environ["PYSIX_VERBOSITY"] = str(2 - min(quiet, 2))
        os.environ["PYSIX_SERVICES_GRACETIME"] = str(int(kill * 1000))
        os.environ["PYSIX_KILL_GRACETIME"] = str(int(kill * 1000))
        os.environ.setdefault("PYSIX_RUNDIR", os.path.join(root, "run"))
        from .. import init
        init.SILENT = quiet >= 3
        return init.Init(root, []).run()
    finally:
        shutil.rmtree(root, ignore_errors=True)
