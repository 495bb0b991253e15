"""`pysix logs [-f] [-n N] NAME...`: a service's logger output, stamps in local time.

NAME or NAME/log both mean the logger's output. A service without `log/`
writes to the container's stdout: that is said, not guessed at. With several
names every line starts with `NAME | `. -f follows across rotations until
Ctrl-C.
"""
import os
import sys

from .people import parse, usage_error

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import List

    from .people import Context

DEFAULT_LINES = 20


def main(ctx: "Context", args: "List[str]") -> int:
    opts, names = parse(args, "logs", "fn:", ["follow", "lines="])
    follow, n = False, DEFAULT_LINES
    for o, v in opts:
        if o in ("-f", "--follow"):
            follow = True
        else:
            if not (v.isascii() and v.isdigit()):
                raise usage_error("%s wants a number of lines, not %r" % (o, v), "logs")
            n = int(v)
    if not names:
        raise usage_error("name a service", "logs")
    names = [x[:-4] if x.endswith("/log") else x for x in (y.rstrip("/") for y in names)]
    names = ctx.resolve(names, "logs")
    scandir = ctx.scandir()
    from .. import logview
    dirs, shown = [], []
    rc = 0
    for name in names:
        if not os.path.isdir(os.path.join(scandir, name, "log")):
            sys.stderr.write("pysix: %s has no log/: its output goes to the container's stdout"
                             " (`docker logs`, or the terminal pysix-init runs in)\n" % name)
            continue
        d = logview.find_logdir(scandir, name)
        if d is None:
            sys.stderr.write("pysix: %s: cannot tell where its logger writes (no `current` found;"
                             " see %s/log/run)\n" % (name, os.path.join(scandir, name)))
            rc = 1
            continue
        dirs.append(d)
        shown.append(name)
    if not dirs:
        return rc or (0 if not follow else 1)
    prefixed = len(dirs) > 1
    out = sys.stdout
    for name, d in zip(shown, dirs):
        for line in logview.tail(d, n):
            out.write(_fmt(logview.decode(line), name, prefixed))
    out.flush()
    if not follow:
        return rc
    try:
        for batch in logview.follow(dirs):
            for name, lines in zip(shown, batch):
                for line in lines:
                    out.write(_fmt(logview.decode(line), name, prefixed))
            out.flush()
    except KeyboardInterrupt:
        return rc
    return rc


def _fmt(text: str, name: str, prefixed: bool) -> str:
    if not text.endswith("\n"):
        text += "\n"
    return "%s | %s" % (name, text) if prefixed else text
