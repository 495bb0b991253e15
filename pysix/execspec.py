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
from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import List, Optional

EXEC_FILES = ("user", "group", "working-directory")
SPEC_FILE = "unit.json"
HELPER = "pysix-unit-exec"


def helper_argv() -> List[str]:
    """The helper as [interpreter, script] (no `env python3` lookup: a pyenv
    shim costs tens of ms per start), or `-m` when the script is not found."""
    dirs = [os.path.dirname(os.path.abspath(sys.argv[0]))] if sys.argv and sys.argv[0] else []
    dirs += (os.environ.get("PATH") or os.defpath).split(os.pathsep)
    for d in dirs:
        path = os.path.join(d or ".", HELPER)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return [sys.executable, path]
    return [sys.executable, "-m", "pysix.cli.unitexec"]


def exec_wrapper(sd: str) -> Optional[List[str]]:
    if os.path.exists(os.path.join(sd, SPEC_FILE)):
        return None
    if not any(os.path.lexists(os.path.join(sd, f)) for f in EXEC_FILES):
        return None
    return helper_argv() + ["--service-dir", sd, "--"]
