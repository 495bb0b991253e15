"""pysix-run [-q...] [-d DELAY] [-k KILL_TIMEOUT] -- CMD ARGS -- CMD ARGS ...

Several programs as one container, without configuration files (dinit's
interface). The commands become a generated service tree run by pysix-init,
so reaping, signals and the stop sequence are PID 1's:

* each command is a service that depends on the previous one, which must
  have stayed alive DELAY seconds (default 1) before the next starts;
* `:wait:CMD` runs to completion before the next starts (a oneshot, e.g. a
  migration); its failure stops everything;
* `-CMD`: a non-zero exit of CMD is not an error;
* the first command to exit (a `:wait:` one: to fail) stops all, in reverse
  start order, each getting KILL_TIMEOUT seconds (default 5) after TERM; no
  command is ever restarted;
* dinit's messages: `Started PID 'NAME'`, `Child PID 'NAME' exited with
  status N`, `Stopped child PID 'NAME', exited with status N`, `Exiting,
  status N`; a status is the exit code, or the signal number;
* the exit status is the first non-zero status in the order the commands
  ended (a stopped command's counts: after `sleep 3` exited 0 and `sleep 5`
  was stopped, 15), leaving out `-CMD` commands; 0 if there is none;
* `-q`: errors only; `-qq`: only the commands' own output; `-qqq`:
  nothing at all (the commands' output goes to /dev/null).
"""
import math
import os
import shlex
import shutil
import sys
import tempfile

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import List, Optional, Tuple

MAX_SECONDS = 86400.0   # -d and -k: more than a day is a typo, not a setting
PID_FILE = "pysix-run.pid"   # in each live service dir: the command's pid, written by its run
USAGE = ("pysix-run: usage: pysix-run [ -q... ] [ -d DELAY ] [ -k KILL_TIMEOUT ] "
         "-- [-][:wait:]CMD ARGS [ -- CMD ARGS ... ]\n")


class UsageError(Exception):
    """A bad command line; `short`: a bad value, said in one line without the usage."""

    def __init__(self, msg: str, short: bool = False) -> None:
        super().__init__(msg)
        self.short = short


def parse(argv: "List[str]") -> "Tuple[int, float, float, List[Tuple[bool, bool, List[str]]]]":
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
                raise UsageError("option %s: %r is not a number of seconds" % (a, argv[i + 1]), True)
            if not math.isfinite(v) or v < 0 or v > MAX_SECONDS:
                raise UsageError("option %s: %r is not a number of seconds from 0 to %d" % (
                    a, argv[i + 1], MAX_SECONDS), True)
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


def service_name(n: int, count: int, argv0: str) -> str:
    base = "".join(c if c.isalnum() or c in "._-" else "_" for c in os.path.basename(argv0))
    return "%0*d-%s" % (len(str(count)), n, base or "cmd")


def build_tree(root: str, cmds: "List[Tuple[bool, bool, List[str]]]", delay: float, cwd: str,
               quiet: int = 0) -> "List[str]":
    """ROOT/etc/services.d with one service per command, chained by
    dependencies; returns the service names in start order."""
    sd_root = os.path.join(root, "etc", "services.d")
    os.makedirs(sd_root)
    prev = None
    names = []
    for n, (may_fail, wait, words) in enumerate(cmds, 1):
        name = service_name(n, len(cmds), words[0])
        names.append(name)
        sd = os.path.join(sd_root, name)
        os.makedirs(sd)
        line = " ".join(shlex.quote(w) for w in words)
        if wait and may_fail:
            body = "%s || echo \"pysix-run: %s failed with $? (ignored)\" >&2\nexit 0" % (line, name)
        else:
            body = "exec " + line
        # O: this run is the only one (the first exit stops everything, nothing restarts).
        lines = ["#!/bin/sh", "printf O > supervise/control", "echo $$ > " + PID_FILE]
        if quiet == 0:
            lines.append("echo \"pysix-run: Started $$ '%s'\" >&2" % os.path.basename(words[0]).replace("'", ""))
        lines += ["cd %s || exit 111" % shlex.quote(cwd), body]
        _write(os.path.join(sd, "run"), "\n".join(lines) + "\n", 0o755)
        if wait:
            _write(os.path.join(sd, "type"), "oneshot\n")
        elif delay > 0:
            _write(os.path.join(sd, "check"), "#!/bin/sh\nexec sleep %g\n" % delay, 0o755)
        if prev is not None:
            _write(os.path.join(sd, "dependencies"), prev + "\n")
        prev = name
    return names


def _write(path: str, text: str, mode: int = 0o644) -> None:
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


def main(argv: "Optional[List[str]]" = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    try:
        quiet, delay, kill, cmds = parse(args)
    except UsageError as e:
        sys.stderr.write("pysix-run: fatal: %s\n" % e + ("" if e.short else USAGE))
        return 100
    from .. import settings
    from ..runinit import RunInit
    cfg, warnings = settings.load()
    kill_ms = int(kill * 1000)
    # The config is built here, not passed through os.environ: the commands
    # get the caller's environment as it is.
    cfg = cfg._replace(VERBOSITY=(1, 0, -1, -1)[quiet], VERBOSITY_SET=True,
                       SERVICES_GRACETIME=kill_ms, KILL_GRACETIME=kill_ms)
    if quiet < 2:
        for w in warnings:
            sys.stderr.write("pysix-run: warning: %s\n" % w)
    if quiet >= 3:
        # Everything muted: pysix's own messages, its supervisors' and the commands' output.
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.dup2(null, 2)
        os.close(null)
    base = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    root = tempfile.mkdtemp(prefix="pysix-run-", dir=base)
    try:
        names = build_tree(root, cmds, delay, os.getcwd(), quiet)
        meta = [(name, os.path.basename(words[0]), may_fail, wait)
                for name, (may_fail, wait, words) in zip(names, cmds)]
        return RunInit(root, meta, cfg, quiet).run()
    finally:
        shutil.rmtree(root, ignore_errors=True)
