"""`pysix status` and `pysix health`: one look at every service, two ways to say it.

status: an aligned table (or --json), colour on a terminal unless NO_COLOR.
health: exit 0 when every service meant to run is up (and ready where it
signals readiness), else 1 and one line naming what is not; cheap enough to
run every second (no subscriptions, no waits: files and a lock probe).
"""
import os
import sys
import time

from .. import servicestate as ss
from .people import EXIT_USAGE, Fatal, parse

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import List

    from .people import Context

_GREEN, _YELLOW, _RED, _DIM, _RESET = "\033[32m", "\033[33m", "\033[31m", "\033[2m", "\033[0m"
HEADER = ("NAME", "STATE", "PID", "FOR", "DEATHS", "LAST EXIT", "REASON")


def main(ctx: "Context", cmd: str, args: "List[str]") -> int:
    if cmd == "health":
        return health(ctx, args)
    opts, names = parse(args, cmd, "", ["json"])
    as_json = any(o == "--json" for o, _ in opts)
    scandir = ctx.scandir()
    names = ctx.resolve(names, cmd) if names else ctx.all_names()
    now = time.time_ns()
    svcs = [ss.look(scandir, n) for n in names]
    if as_json:
        import json
        sys.stdout.write(json.dumps([ss.as_dict(s, now) for s in svcs], indent=1) + "\n")
        return 0
    if not svcs:
        sys.stdout.write("no services in %s\n" % scandir)
        return 0
    sys.stdout.write(table(svcs, now, use_colour(sys.stdout)))
    if ss.tree_stopping(scandir):
        sys.stdout.write("the whole tree is stopping: nothing starts again\n")
    return 0


def use_colour(stream) -> bool:
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def duration(seconds: int) -> str:
    """3s, 4m05s, 2h03m, 5d01h: two units at most, as people read uptimes."""
    if seconds < 60:
        return "%ds" % seconds
    if seconds < 3600:
        return "%dm%02ds" % divmod(seconds, 60)
    if seconds < 86400:
        return "%dh%02dm" % (seconds // 3600, seconds % 3600 // 60)
    return "%dd%02dh" % (seconds // 86400, seconds % 86400 // 3600)


def row(s: "ss.Service", now_ns: int) -> "List[str]":
    state = ss.state(s)
    pid = ss.pid(s)
    since = ss.since_ns(s)
    return [s.name, state, str(pid) if pid else "-",
            duration(max(0, now_ns - since) // 1_000_000_000) if s.status is not None and since else "-",
            str(ss.deaths(s, now_ns)), ss.last_exit(ss.last_death(s)) or "-", ss.reason(s)]


def colour_of(s: "ss.Service") -> str:
    state = ss.state(s)
    if state in ("failed", "unsupervised"):
        return _RED
    if state in ("ready", "up", "done"):
        return _GREEN
    if state == "down" and ss.by_intent_down(s):
        return _DIM
    return _YELLOW


def table(svcs: "List[ss.Service]", now_ns: int, colour: bool) -> str:
    rows = [list(HEADER)] + [row(s, now_ns) for s in svcs]
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADER) - 1)]
    out = []
    for k, r in enumerate(rows):
        cells = [r[i].ljust(widths[i]) for i in range(len(widths))]
        if colour and k:
            cells[1] = colour_of(svcs[k - 1]) + cells[1] + _RESET
        out.append(("  ".join(cells) + "  " + r[-1]).rstrip() + "\n")
    return "".join(out)


def health(ctx: "Context", args: "List[str]") -> int:
    """0 healthy, 1 not (or no scan dir: a probe must fail then, never say 'usage')."""
    opts, names = parse(args, "health", "", ["live"])
    live = any(o == "--live" for o, _ in opts)
    try:
        scandir = ctx.scandir()
        chosen = ctx.resolve(names, "health") if names else None
    except Fatal as e:
        if e.code == EXIT_USAGE and names:
            raise
        sys.stdout.write("unhealthy: %s\n" % e.msg)
        return 1
    if ss.tree_stopping(scandir):     # readiness must drop as soon as the stop begins
        sys.stdout.write("unhealthy: the whole tree is stopping\n")
        return 1
    svcs = [ss.look(scandir, n) for n in (chosen or ctx.all_names())]
    if chosen is None:      # by default, what is down on purpose is not a problem
        svcs = [s for s in svcs if not ss.by_intent_down(s)]
    bad = [s for s in svcs if not ss.healthy(s, live)]
    if not bad:
        sys.stdout.write("healthy: %d service%s %s\n" % (
            len(svcs), "" if len(svcs) == 1 else "s", "alive" if live else "up and ready"))
        return 0
    sys.stdout.write("unhealthy: %s\n" % "; ".join("%s %s" % (s.name, ss.describe(s)) for s in bad))
    return 1
