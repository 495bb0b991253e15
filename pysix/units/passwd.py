"""User= and Group= from the container's /etc/passwd and /etc/group (pure parsing).

Read directly, not through NSS: the files are the container's (under
`--root` in tests), and a cont-init script may have just added the user.
"""
from ..record import Record

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import List, Optional, Tuple


class Ids(Record):
    name: str
    uid: int
    gid: int
    groups: "List[int]"   # supplementary groups, the primary one included
    home: str
    shell: str


def _rows(text: str, width: int) -> "List[List[str]]":
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        f = line.split(":")
        if len(f) >= width:
            out.append(f)
    return out


def resolve(user: str, group: str, passwd_text: str, group_text: str) -> "Tuple[Optional[Ids], Optional[str]]":
    """(Ids, None), or (None, why). A numeric user absent from passwd is
    used as is (gid = uid unless Group= says otherwise)."""
    pw = None
    for f in _rows(passwd_text, 7):
        if f[0] == user or (user.isdigit() and f[2] == user):
            pw = f
            break
    groups = _rows(group_text, 4)
    if pw is not None:
        try:
            name, uid, gid, home, shell = pw[0], int(pw[2]), int(pw[3]), pw[5], pw[6]
        except ValueError:
            return None, "bad passwd line for %s" % user
    elif user.isdigit():
        name, uid, gid, home, shell = user, int(user), int(user), "/", "/bin/sh"
    else:
        return None, "unknown user %s (not in /etc/passwd)" % user
    if group:
        g = next((f for f in groups if f[0] == group or (group.isdigit() and f[2] == group)), None)
        if g is not None:
            gid = int(g[2])
        elif group.isdigit():
            gid = int(group)
        else:
            return None, "unknown group %s (not in /etc/group)" % group
    supp = [gid]
    for f in groups:
        if name in f[3].split(",") and f[2].isdigit() and int(f[2]) not in supp:
            supp.append(int(f[2]))
    return Ids(name, uid, gid, supp, home, shell), None


def resolve_group(group: str, group_text: str) -> "Tuple[Optional[int], Optional[str]]":
    """Group= without User=: only the gid changes."""
    if group.isdigit():
        return int(group), None
    for f in _rows(group_text, 4):
        if f[0] == group and f[2].isdigit():
            return int(f[2]), None
    return None, "unknown group %s (not in /etc/group)" % group


def read(path: str) -> str:
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""
