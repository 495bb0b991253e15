"""The `#!` line of a script, read the way Linux reads it.

Used to run a script that cannot be exec'd itself (on a noexec mount, such
as `docker run --read-only --tmpfs /run`, or shipped as mode 0644): its
interpreter, on an exec mount, is exec'd instead with the argv the kernel
would have built: interpreter, at most ONE argument (the rest of the line,
inner spaces kept), the script's path, then the script's own arguments.

The same API as issue 13's module of this name (parse, interpreter_argv,
BUF), so either can be kept; this one never blocks on a FIFO.
"""
import os

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import List, Optional, Sequence, Tuple

BUF = 256   # Linux >= 5.1 reads this much of the file for `#!` (BINPRM_BUF_SIZE)


def parse(head: bytes) -> "Tuple[Optional[Tuple[str, Optional[str]]], str]":
    """((interpreter, optional single argument), "") or (None, why not)."""
    if not head.startswith(b"#!"):
        return None, "no #! line" if not head.startswith(b"\x7fELF") else "a binary, not a script"
    if b"\n" not in head[2:] and len(head) >= BUF:
        return None, "#! line longer than %d bytes" % (BUF - 1)
    line = head[2:].split(b"\n", 1)[0].split(b"\0", 1)[0].strip(b" \t")
    if not line:
        return None, "empty #! line"
    parts = line.replace(b"\t", b" ").split(b" ", 1)
    arg = parts[1].strip(b" \t") if len(parts) > 1 else b""
    return (os.fsdecode(parts[0]), os.fsdecode(arg) if arg else None), ""


def interpreter_argv(path: str, args: "Sequence[str]" = ()) -> "Tuple[Optional[List[str]], str]":
    """(argv that runs `path` with `args` through its interpreter, "") or (None, why not)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)   # a FIFO must not block us
    except OSError as e:
        return None, "cannot read: %s" % e.strerror
    try:
        import stat
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None, "not a regular file"
        head = os.read(fd, BUF)
    except OSError as e:
        return None, "cannot read: %s" % e.strerror
    finally:
        os.close(fd)
    got, why = parse(head)
    if got is None:
        return None, why
    interp, arg = got
    return [interp] + ([arg] if arg is not None else []) + [path] + list(args), ""
