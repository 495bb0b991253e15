"""pysix-install-s6-names [DIR]: the s6 and s6-overlay tool names, served by pysix.

Run scripts of s6-overlay images call s6-svc, s6-svscanctl, s6-svwait,
s6-setuidgid, s6-envuidgid, s6-svstat, s6-svok, printcontenv, with-contenv
and logutil-service by name (and `#!/usr/bin/with-contenv` by path). This
makes each a symlink in DIR (default /usr/bin) to the pysix command that
does the same job. A name that already exists in DIR, or anywhere on PATH,
is left alone and reported: the real s6 tools, when installed, keep their
names (they drive pysix's services, and pysix's drive theirs). Running it
again is harmless. Exit: 0, 100 bad usage, 111 DIR cannot be written.
"""
import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import List, Optional

NAMES = (("s6-svc", "pysix-svc"), ("s6-svscanctl", "pysix-svscanctl"), ("s6-svwait", "pysix-svwait"),
         ("s6-setuidgid", "pysix-setuidgid"), ("s6-envuidgid", "pysix-envuidgid"),
         ("s6-svstat", "pysix-svstat"), ("s6-svok", "pysix-svok"), ("printcontenv", "pysix-printcontenv"),
         ("with-contenv", "with-contenv"), ("logutil-service", "pysix-logutil-service"))


def _find(name: str, path: str) -> "Optional[str]":
    for d in path.split(":"):
        fn = os.path.join(d or ".", name)
        if os.path.isfile(fn) and os.access(fn, os.X_OK):
            return fn
    return None


def main(argv: "Optional[List[str]]" = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) > 1 or (args and args[0].startswith("-")):
        sys.stderr.write("pysix-install-s6-names: usage: pysix-install-s6-names [ DIR ]\n")
        return 100
    dest = args[0] if args else "/usr/bin"
    bindir = os.path.dirname(os.path.abspath(sys.argv[0]))   # where pip put pysix's commands
    path = os.environ.get("PATH", os.defpath)
    rc = 0
    for name, ours in NAMES:
        target = os.path.join(bindir, ours)
        if not os.path.exists(target):
            target = _find(ours, path) or target
        link = os.path.join(dest, name)
        try:
            if os.readlink(link) == target:
                print("%s -> %s (already)" % (link, target))
                continue
        except OSError:
            pass
        if os.path.lexists(link):
            print("%s: kept (already there; pysix's %s works beside it)" % (link, ours))
            continue
        other = _find(name, path)
        if other is not None and os.path.realpath(other) != os.path.realpath(target):
            print("%s: not made (%s is on PATH; pysix's %s works beside it)" % (link, other, ours))
            continue
        try:
            os.makedirs(dest, exist_ok=True)
            os.symlink(target, link)
        except OSError as e:
            sys.stderr.write("pysix-install-s6-names: fatal: unable to create %s: %s\n" % (link, e.strerror))
            return 111
        print("%s -> %s" % (link, target))
    return rc
