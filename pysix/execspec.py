"""How a service's `run` is started when its dir asks for an exec context (pure but for stat).

The optional plain files `user` (NAME or UID), `group` (NAME or GID) and
`working-directory` (an absolute path; `-/path`: ignore a missing one; `~`:
the user's home) of a service dir are applied by `pysix-unit-exec`, the
same helper that runs converted unit files. `exec_wrapper(sd)` says what to
put before `./run`: None when nothing is asked (the common case: one stat
per file, no import), else the helper's argv ending in `--`. A converted
unit's `run` already goes through the helper (its `unit.json`), so it gets
None too.
"""
import os
import sys

from .servicedir import in_dir, lexists

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import List, Optional

EXEC_FILES = ("user", "group", "working-directory")
SPEC_FILE = "unit.json"


def helper_argv() -> "List[str]":
    """The helper as `python -S -c ...`, with pysix's own dir in place of
    the "" (the cwd: a service dir) that -c puts first on sys.path.

    -S: no site import. The helper needs only the standard library and
    pysix, and site (with whatever .pth files an image's site-packages has)
    is most of an interpreter's start: one start per service at boot."""
    top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return [sys.executable, "-S", "-c", _BOOT % (top,)]


_BOOT = ("import sys; sys.path[0] = %r; from pysix.cli.unitexec import main; "
         "from pysix.cli import run_main; run_main(main)")


def exec_wrapper(sd: str) -> "Optional[List[str]]":
    if lexists(in_dir(sd, SPEC_FILE)):
        return None
    if not any(lexists(in_dir(sd, f)) for f in EXEC_FILES):
        return None
    return helper_argv() + ["--service-dir", sd, "--"]
