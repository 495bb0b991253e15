"""The argv that runs a script through its `#!` interpreter, as the kernel would.

For a `run` on a noexec mount (`docker run --read-only --tmpfs /run`): the
kernel refuses to execute the file itself, but its interpreter, on an exec
mount, may still read it. Linux's rules: the first line, at most 255 bytes
after `#!`, is the interpreter path then at most ONE argument (the rest of
the line, spaces inside kept); the script path comes next, then the args.
"""
from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import List, Optional, Sequence, Tuple

HEAD_MAX = 256   # the kernel's BINPRM_BUF_SIZE: the #! line must end within it


def parse(head: bytes, path: str, args: Sequence[str] = ()) -> Tuple[Optional[List[str]], str]:
    """(argv, "") from the first bytes of the script at `path`, or (None, reason)."""
    if not head.startswith(b"#!"):
        return None, "%s: no #! line (not a script): cannot be run from a noexec mount" % path
    end = head.find(b"\n")
    if end < 0:
        if len(head) >= HEAD_MAX:
            return None, "%s: #! line longer than %d bytes" % (path, HEAD_MAX - 1)
        end = len(head)
    line = head[2:end].strip(b" \t\r")
    if not line:
        return None, "%s: #! names no interpreter" % path
    interp, _, arg = line.replace(b"\t", b" ").partition(b" ")
    arg = arg.strip(b" ")
    try:
        argv = [os.fsdecode(interp)] + ([os.fsdecode(arg)] if arg else [])
    except UnicodeError:    # fsdecode uses surrogateescape: only a broken locale gets here
        return None, "%s: #! line cannot be decoded" % path
    if "\0" in "".join(argv):
        return None, "%s: #! line holds a NUL byte" % path
    if not argv[0].startswith("/"):
        return None, "%s: #! interpreter %r is not an absolute path" % (path, argv[0][:60])
    return argv + [path] + list(args), ""


def interpreter_argv(path: str, args: Sequence[str] = ()) -> Tuple[Optional[List[str]], str]:
    """Read `path`'s first line: (argv to posix_spawn, "") or (None, one-line reason)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as e:
        return None, "%s: cannot open: %s" % (path, e.strerror)
    try:
        import stat
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None, "%s: not a regular file" % path
        head = os.read(fd, HEAD_MAX)
    except OSError as e:
        return None, "%s: cannot read: %s" % (path, e.strerror)
    finally:
        os.close(fd)
    return parse(head, path, args)
