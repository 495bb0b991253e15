"""pysix-setuidgid USER[:GROUP] PROG ARGS...: run PROG as USER (s6-setuidgid, chpst -u).

Sets the user's uid, its primary gid (or GROUP's) and its supplementary
groups, and HOME, USER and LOGNAME. USER and GROUP may be numeric. Exit:
100 bad usage or unknown user/group, 111 cannot change ids, 126/127 PROG
cannot be run (as a shell says).
"""
import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import List, Optional

USAGE = "pysix-setuidgid: usage: pysix-setuidgid USER[:GROUP] PROG [ ARGS... ]\n"


def _fatal(code: int, msg: str) -> int:
    sys.stderr.write("pysix-setuidgid: fatal: %s\n" % msg)
    return code


def main(argv: "Optional[List[str]]" = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["--"]:
        args = args[1:]
    if len(args) < 2 or args[0].startswith("-"):
        sys.stderr.write(USAGE)
        return 100
    import grp
    import pwd
    user, _, group = args[0].partition(":")
    try:
        pw = pwd.getpwuid(int(user)) if user.isdigit() else pwd.getpwnam(user)
        uid, gid, home, name = pw.pw_uid, pw.pw_gid, pw.pw_dir, pw.pw_name
    except KeyError:
        if not user.isdigit():
            return _fatal(100, "unknown user: %s" % user)
        uid, gid, home, name = int(user), int(user), "/", user
    if group:
        try:
            gid = int(group) if group.isdigit() else grp.getgrnam(group).gr_gid
        except KeyError:
            return _fatal(100, "unknown group: %s" % group)
    try:
        groups = os.getgrouplist(name, gid) if not user.isdigit() or name != user else [gid]
        os.setgroups(groups)
        os.setgid(gid)
        os.setuid(uid)
    except OSError as e:
        return _fatal(111, "unable to become %s: %s" % (args[0], e.strerror))
    os.environ.update({"HOME": home, "USER": name, "LOGNAME": name})
    try:
        _execvp(args[1], args[1:])
    except OSError as e:
        return _fatal(126 if e.errno == 13 else 127, "unable to exec %s: %s" % (args[1], e.strerror))


def _execvp(prog: str, argv: "List[str]") -> None:
    """os.execvp without its lazy `import warnings`: after the drop the new user
    may not be able to read the interpreter's library (under /root, say)."""
    if "/" in prog:
        os.execv(prog, argv)
    err: Optional[OSError] = None
    for d in (os.environ.get("PATH") or os.defpath).split(":"):
        try:
            os.execv(os.path.join(d or ".", prog), argv)
        except OSError as e:
            if err is None or e.errno == 13:    # a found-but-refused file says more than ENOENT
                err = e
    raise err if err is not None else FileNotFoundError(2, "No such file or directory")
