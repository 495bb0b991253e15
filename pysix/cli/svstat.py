"""pysix-svstat [-uwNrpest] [-o fields] [-n] [--pysix] [--json] SD...: s6-svstat 2.11, and more.

With one SD and s6's options the output is s6-svstat's, byte for byte, in
every state (scripts parse it). Beyond s6: several SDs (each line prefixed
with `SD: `); `-o` fields `state`, `reason` (one word, `-` if none) and
`deaths` for pysix's own state (starting, waiting, failed, done, restart
deaths); `--pysix`, which appends that state to the one-line form where it
says more than s6's; and `--json`: a JSON array with one object per SD
given, every field decoded.
"""
import os
import sys
import time

from ..svstatfmt import LETTER_FIELDS, resolve_field
from .opts import UsageError, getopt

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import List, Optional

USAGE = "usage: pysix-svstat [ -uwNrpest ] [ -o up,wantedup,normallyup,ready,paused,pid,exitcode,signal,signum,updownsince,readysince,updownfor,readyfor,state,reason,deaths ] [ -n ] [ --pysix ] [ --json ] servicedir..."


def _usage(msg: str) -> int:
    sys.stderr.write("pysix-svstat: fatal: %s; %s\n" % (msg, USAGE))    # one line
    return 100


def main(argv: "Optional[List[str]]" = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    try:
        opts, rest = getopt(args, "uwNrpesto:n", ["json", "pysix"])
    except UsageError as e:
        return _usage(e.msg)
    names: List[str] = []
    numeric = as_json = with_state = False
    for o, v in opts:
        if o == "-o":
            for part in v.split(","):
                if not part:    # s6 skips empty items: `-o up,` is `-o up`, `-o ''` is none
                    continue
                f = resolve_field(part)
                if f is None:
                    return _usage("invalid option field: %s" % part)
                names.append(f)
        elif o == "-n":
            numeric = True
        elif o == "--json":
            as_json = True
        elif o == "--pysix":
            with_state = True
        else:
            names.append(LETTER_FIELDS[o[1]])
    if not rest:
        return _usage("no service directory given")
    if len(names) > 16:
        return _usage("too many option fields (at most 16)")
    from .. import svstatfmt
    from ..lockprobe import supervised
    from ..status import unpack_status
    want_state = bool(names) or with_state or as_json   # s6's one-line form never shows pysix-state
    if want_state:
        from ..policy import STATE_FILE, parse_state

    now = time.time_ns()
    rc = 0
    objs = []
    for sd in rest:
        prefix = "%s: " % sd if len(rest) > 1 else ""
        try:
            running = supervised(sd)
        except OSError as e:
            rc = max(rc, 111)
            _err(as_json, objs, sd, "unable to check %s: %s" % (sd, e.strerror))
            continue
        normally_up = not os.path.lexists(os.path.join(sd, "down"))
        st = ps = None
        try:
            with open(os.path.join(sd, "supervise", "status"), "rb") as f:
                st = unpack_status(f.read())
        except (OSError, ValueError) as e:
            if running or as_json:
                rc = max(rc, 111)
                _err(as_json, objs, sd, "unable to read status for %s: %s" % (
                    sd, getattr(e, "strerror", None) or e), running)
                continue
        if want_state:
            try:
                with open(os.path.join(sd, STATE_FILE), "rb") as f:
                    ps = parse_state(f.read())
            except OSError:
                pass
        if as_json:
            objs.append(svstatfmt.as_dict(sd, st, running, normally_up, now, ps if running else None))
            from ..killmode import status_fields
            objs[-1].update(status_fields(sd))
            if not running:
                rc = max(rc, 1)
            continue
        if not running:
            sys.stderr.write("pysix-svstat: fatal: unable to read status for %s: s6-supervise not running\n" % sd)
            rc = max(rc, 1)
            continue
        if names:
            line = svstatfmt.fields(names, st, normally_up, now, ps)
        else:
            line = svstatfmt.human(st, normally_up, now, numeric)
            if with_state:
                line += svstatfmt.policy_suffix(ps)
        sys.stdout.write(prefix + line + "\n")
    if as_json:
        import json
        sys.stdout.write(json.dumps(objs, indent=1) + "\n")
    return rc


def _err(as_json: bool, objs: list, sd: str, msg: str, running: bool = False) -> None:
    if as_json:
        objs.append({"path": sd, "supervised": running, "error": msg})
    else:
        sys.stderr.write("pysix-svstat: fatal: %s\n" % msg)
