"""pysix-envuidgid [-i | -D uid:gid:gidlist] [-u | -g | -B] [-n] ACCOUNT PROG...: s6-envuidgid.

Sets UID, GID and GIDLIST (the supplementary groups, comma-separated) from
the account database, then execs PROG. -u: ACCOUNT is a user, only UID is
set; -g: a group, only GID; -B: `user:group`, UID and GID (a missing part is
0, or -D's). -n: numbers are taken as ids, and ACCOUNT is `user:group` as with -B. -D: the
values for an unknown account instead of failing; -i (the default): fail.
Exit: 1 unknown account, 100 bad usage, 126/127 PROG cannot be run.
"""
import os
import sys

from .opts import UsageError, getopt

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import Dict, List, Optional, Tuple

USAGE = ("s6-envuidgid: usage: s6-envuidgid [ -i | -D defaultuid:defaultgid:defaultgidlist ] "
         "[ -u | -g | -B ] [ -n ] account prog...\n")


class Unknown(Exception):
    pass


def _user(name: str, numeric: bool) -> "Tuple[int, int, str]":
    import pwd
    try:
        pw = pwd.getpwnam(name)
        return pw.pw_uid, pw.pw_gid, pw.pw_name
    except KeyError:
        if numeric and name.isdigit():
            return int(name), 0, ""
        raise Unknown("unknown user: %s" % name)


def _group(name: str, numeric: bool) -> int:
    import grp
    try:
        return grp.getgrnam(name).gr_gid
    except KeyError:
        if numeric and name.isdigit():
            return int(name)
        raise Unknown("unknown group: %s" % name)


def _gidlist(user: str) -> str:
    import grp
    seen: List[int] = []
    for g in grp.getgrall():
        if user in g.gr_mem and g.gr_gid not in seen:
            seen.append(g.gr_gid)
    return ",".join(str(g) for g in seen)


def compute(account: str, mode: str, numeric: bool,
            default: "Optional[Tuple[str, str, str]]") -> "Dict[str, str]":
    """The variables to set; raises Unknown (only without a default)."""
    if mode == "B" or (numeric and mode == ""):   # as s6: -n means the user:group form
        user, _, group = account.partition(":")
        out = {}
        try:
            if not user:
                raise Unknown("")
            out["UID"] = str(_user(user, numeric)[0])
        except Unknown:
            if default is None and user:
                raise
            out["UID"] = default[0] if default else "0"
        try:
            if not group:
                raise Unknown("")
            out["GID"] = str(_group(group, numeric))
        except Unknown:
            if default is None and group:
                raise
            out["GID"] = default[1] if default else "0"
        return out
    if mode == "g":
        try:
            return {"GID": str(_group(account, numeric))}
        except Unknown:
            if default is None:
                raise
            return {"GID": default[1]}
    try:
        uid, gid, name = _user(account, numeric)
    except Unknown:
        if default is None:
            raise
        return {"UID": default[0]} if mode == "u" else {"UID": default[0], "GID": default[1], "GIDLIST": default[2]}
    if mode == "u":
        return {"UID": str(uid)}
    return {"UID": str(uid), "GID": str(gid), "GIDLIST": _gidlist(name) if name else ""}


def _parse_default(v: str) -> "Optional[Tuple[str, str, str]]":
    parts = v.split(":", 2) + ["", ""]
    uid, gid, gids = parts[0], parts[1] or "0", parts[2]
    if not uid.isdigit() or not gid.isdigit() or not all(g.isdigit() for g in gids.split(",") if g):
        return None
    return uid, gid, gids


def main(argv: "Optional[List[str]]" = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    try:
        opts, rest = getopt(args, "iD:ugBn")
    except UsageError:
        sys.stderr.write(USAGE)
        return 100
    mode, numeric, default = "", False, None
    for o, v in opts:
        if o == "-i":
            default = None
        elif o == "-D":
            default = _parse_default(v)
            if default is None:
                sys.stderr.write(USAGE)
                return 100
        elif o == "-n":
            numeric = True
        else:
            mode = o[1]
    if len(rest) < 2:
        sys.stderr.write(USAGE)
        return 100
    try:
        env = compute(rest[0], mode, numeric, default)
    except Unknown as e:
        sys.stderr.write("s6-envuidgid: fatal: %s\n" % e)
        return 1
    os.environ.update(env)
    try:
        os.execvp(rest[1], rest[1:])
    except OSError as e:
        sys.stderr.write("s6-envuidgid: fatal: unable to exec %s: %s\n" % (rest[1], e.strerror))
        return 126 if e.errno == 13 else 127
