"""pysix [--root DIR] [--scandir DIR] COMMAND ...: the command for people.

The s6-named tools stay what scripts use; this one finds the live scan dir
itself (see pysix.findscan) and speaks in service names: `pysix status`,
`pysix restart web`, `pysix logs -f web`, `pysix health` for probes.
Each subcommand lives in its own module, imported only when it runs.
"""
import os
import sys

from .opts import UsageError, getopt

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import List, Optional, Tuple

PROG = "pysix"
USAGE = ("usage: pysix [ --root DIR ] [ --scandir DIR ] "
         "status|start|stop|restart|kill|logs|health|check|run|version|completion|help ...")
COMMANDS = ("status", "start", "stop", "restart", "kill", "logs", "health", "check", "run",
            "version", "completion", "help")
EXIT_USAGE = 100
EXIT_SYSTEM = 111


class Fatal(Exception):
    """A one-line error for stderr, with the exit code to end with."""

    def __init__(self, msg: str, code: int = EXIT_USAGE) -> None:
        super().__init__(msg)
        self.msg = msg
        self.code = code


def usage_error(msg: str, cmd: str = "") -> "Fatal":
    return Fatal("%s; see `pysix %s--help`" % (msg, cmd + " " if cmd else ""), EXIT_USAGE)


class Context:
    """What every subcommand gets: the --root / --scandir given, found lazily."""

    def __init__(self, root: "Optional[str]", scandir: "Optional[str]") -> None:
        self.root = root
        self.given = scandir
        self._found: Optional[str] = None

    def scandir(self) -> str:
        if self._found is None:
            if self.given:
                if not os.path.isdir(self.given):
                    raise Fatal("--scandir %s: not a directory" % self.given, EXIT_SYSTEM)
                self._found = self.given
            else:
                from ..findscan import find_scandir
                d, tried = find_scandir(self.root, os.environ)
                if d is None:
                    raise Fatal("no live scan dir found (tried %s); is pysix-init running? "
                                "Set PYSIX_SCANDIR or use --root" % ", ".join(tried), EXIT_SYSTEM)
                self._found = d
        return self._found

    def all_names(self) -> "List[str]":
        from ..servicestate import services
        return services(self.scandir())

    def resolve(self, names: "List[str]", cmd: str, allow_all: bool = False,
                loggers_in_all: bool = True) -> "List[str]":
        """Check NAME... against the scan dir; `all` (where allowed) is every service."""
        known = self.all_names()
        if allow_all and names == ["all"]:
            return [n for n in known if loggers_in_all or not n.endswith("/log")]
        out = []
        for n in names:
            n = n.rstrip("/")
            if n == "all":
                raise usage_error("`all` must be the only name", cmd)
            if n not in known:
                raise Fatal("unknown service %r in %s (services: %s)" % (
                    n, self.scandir(), ", ".join(known) or "none"), EXIT_USAGE)
            if n not in out:
                out.append(n)
        return out


def parse(args: "List[str]", cmd: str, shortopts: str, longopts: "List[str]") -> "Tuple[list, List[str]]":
    """getopt with `--help` for every subcommand; errors name the subcommand."""
    longopts = list(longopts) + ["help"]
    opts: list = []
    rest: List[str] = []
    try:
        # Options may follow names (`pysix restart web -T 5000`), as people type
        # them; after `--` everything is a name.
        while args:
            o, r = getopt(args, shortopts, longopts)
            opts += o
            used = len(args) - len(r)
            if not r or (used and args[used - 1] == "--"):
                rest += r
                break
            rest.append(r[0])
            args = r[1:]
    except UsageError as e:
        raise usage_error(e.msg, cmd) from None
    if any(o == "--help" for o, _ in opts):
        from .helptext import text
        raise Help(text("pysix " + cmd))
    return opts, rest


def parse_ms(v: str, opt: str, cmd: str) -> int:
    if not (v.isascii() and v.isdigit()):
        raise usage_error("%s wants a number of milliseconds, not %r" % (opt, v), cmd)
    return int(v)


class Help(Exception):
    """Print this text on stdout and exit 0."""


def main(argv: "Optional[List[str]]" = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    try:
        return _main(args)
    except Help as h:
        sys.stdout.write(str(h))
        return 0
    except Fatal as e:
        sys.stderr.write("pysix: %s\n" % e.msg)
        return e.code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `pysix logs -f web | head`: the reader left, which is no error. Point stdout at
        # /dev/null so the final flush does not raise again.
        fd = os.open(os.devnull, os.O_WRONLY)
        os.dup2(fd, sys.stdout.fileno())
        os.close(fd)
        return 0


def _main(args: "List[str]") -> int:
    try:
        opts, rest = getopt(args, "", ["root=", "scandir=", "help", "version"])
    except UsageError as e:
        raise Fatal("%s; %s" % (e.msg, USAGE)) from None
    root = scandir = None
    for o, v in opts:
        if o == "--root":
            if not os.path.isdir(v):
                raise Fatal("--root %s: not a directory" % v)
            root = v
        elif o == "--scandir":
            scandir = v
        elif o == "--help":
            rest = ["help"]
        else:
            rest = ["version"]
    if not rest:
        raise Fatal("no command given; %s" % USAGE)
    cmd, args = rest[0], rest[1:]
    ctx = Context(root, scandir)
    if cmd in ("status", "health"):
        from . import people_status
        return people_status.main(ctx, cmd, args)
    if cmd in ("start", "stop", "restart", "kill"):
        from . import people_control
        return people_control.main(ctx, cmd, args)
    if cmd == "logs":
        from . import people_logs
        return people_logs.main(ctx, args)
    if cmd == "check":
        from .check import main as check_main
        if root and not any(a == "--root" or a.startswith("--root=") for a in args):
            args = ["--root", root] + args
        return check_main(args)
    if cmd == "run":
        from .run import main as pysix_run
        return pysix_run(args)
    if cmd == "version":
        if parse(args, cmd, "", [])[1]:
            raise usage_error("version takes no arguments", cmd)
        from .helptext import version
        sys.stdout.write(version(PROG))
        return 0
    if cmd == "completion":
        from . import completion
        return completion.main(ctx, args)
    if cmd == "help":
        from .helptext import text
        args = parse(args, cmd, "", [])[1]
        topic = "pysix " + args[0] if args and args[0] in COMMANDS else "pysix"
        if args and args[0] not in COMMANDS:
            raise Fatal("no help on %r; commands: %s" % (args[0], ", ".join(COMMANDS)))
        sys.stdout.write(text(topic))
        return 0
    if cmd == "_names":     # for the shell completion: one name a line, nothing on error
        try:
            sys.stdout.write("".join(n + "\n" for n in ctx.all_names()))
        except Fatal:
            pass
        return 0
    raise Fatal("unknown command %r; %s" % (cmd, USAGE))
