"""The boot and shutdown trace (PYSIX_TRACE=1): JSON lines, one record per event.

Every record has `t` (Unix time, seconds, float), `pid` (the writer) and
`kind`; the other fields depend on the kind:

  {"kind": "stage", "stage": 1|2|3, "phase": "begin"|"end"}
  {"kind": "script", "stage": "cont-init"|"cont-finish", "path": P, "code": N, "ms": F}
  {"kind": "service", "name": NAME, "event": "supervisor"|"spawn"|"ready"|"down", "run_pid": N, "code": N}
  {"kind": "phase", "phase": "stop-cmd"|"stop-services"|"cont-finish"|"kill-rest", "why": TEXT}
  {"kind": "cmd", "event": "spawn"|"exit", "argv0": A, "code": N}
  {"kind": "exit", "code": N}

pysix-init, the scanner and every supervisor append to the same file with
one O_APPEND write per record, so records never interleave. When tracing is
off, `trace()` costs one attribute test.
"""
from __future__ import annotations

import os
import time

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import Optional

_path: Optional[str] = None
_checked = False


def enable(path: str) -> None:
    """Turn tracing on for this process and (through the environment) its children."""
    global _path, _checked
    os.environ["PYSIX_TRACE_FILE"] = path
    _path, _checked = path, True


def _resolve() -> Optional[str]:
    global _path, _checked
    _checked = True
    on = os.environ.get("PYSIX_TRACE", "") not in ("", "0")
    _path = os.environ.get("PYSIX_TRACE_FILE") if on else None
    return _path


def trace(kind: str, **fields: object) -> None:
    path = _path if _checked else _resolve()
    if not path:
        return
    import json
    rec = {"t": round(time.time(), 6), "pid": os.getpid(), "kind": kind}
    rec.update(fields)
    line = (json.dumps(rec, separators=(",", ":")) + "\n").encode("utf-8", "replace")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)
    except OSError:
        pass
