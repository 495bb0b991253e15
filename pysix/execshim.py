"""Starting run through `/bin/sh -c 'PRELUDE; exec "$@"'` when something must happen
in the process that becomes run, which posix_spawn cannot do: set LISTEN_PID
to its own pid, enter its cgroup before it can fork. The shell's $$ is run's
pid after the exec. Measured (posix_spawn + wait of /bin/true, a loaded
2-core machine): 13.5 ms direct, 15.6 ms through /bin/sh, 168 ms through
`python3 -S`, so the shell it is; without /bin/sh the
callers fall back (no LISTEN_PID, cgroup entered right after the spawn).
"""
import os

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import List, Tuple

SHELL = "/bin/sh"


def sh_quote(word: str) -> str:
    """`word` as one sh word (shlex.quote without importing shlex and re)."""
    return "'" + word.replace("'", "'\\''") + "'"


def available() -> bool:
    return os.access(SHELL, os.X_OK)


def target_argv(path: str, args: "List[str]") -> "List[str]":
    """What exec "$@" runs: `path` itself, or its #! interpreter when it cannot be exec'd."""
    if not os.access(path, os.X_OK):   # 0644 or noexec: the shell's exec would fail
        from .shebang import interpreter_argv
        via, _ = interpreter_argv(path, args)
        if via is not None:
            return via
    return [path] + args


def wrap(path: str, args: "List[str]", prelude: "List[str]") -> "Tuple[str, List[str]]":
    """(path, args) for spawn(): unchanged without a prelude or a shell."""
    if not prelude or not available():
        return path, args
    script = "; ".join(prelude + ['exec "$@"'])
    return SHELL, ["-c", script, os.path.basename(path)] + target_argv(path, args)
