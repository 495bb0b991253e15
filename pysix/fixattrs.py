"""/etc/fix-attrs.d: s6-overlay v2's ownership and mode fixes, applied at boot.

Each file holds one rule per line, five fields separated by blanks:

    PATH RECURSE ACCOUNT FMODE DMODE
    /var/lib/app true app:app,1000:1000 0640 0750

PATH is a glob (no match: nothing to do, as in v2); RECURSE `true` or
`false`; ACCOUNT `user[:group]` by name or number, optionally followed by
`,uid:gid` used when the names do not resolve; FMODE for files and DMODE
for directories, in octal, `-` to leave the mode alone. Descending skips
dot-files unless S6_FIX_ATTRS_HIDDEN=1, and never follows a symlink to a
directory (v2 did, which loops on a link to a parent). A blank line, or one
starting with `#`, is skipped. A bad line is reported once, naming the file
and the line, and the other lines still apply.
"""
import glob
import os

from .record import Record

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import List, Optional, Tuple


class Rule(Record):
    where: str          # "FILE line N", for messages
    pattern: str
    recurse: bool
    uid: int
    gid: int
    fmode: "Optional[int]"
    dmode: "Optional[int]"


def _mode(word: str) -> "Optional[int]":
    if word == "-":
        return None
    if not word or any(c not in "01234567" for c in word) or int(word, 8) > 0o7777:
        raise ValueError(word)
    return int(word, 8)


def resolve_account(spec: str) -> "Tuple[Optional[Tuple[int, int]], str]":
    """`user[:group][,uid:gid]` -> ((uid, gid), "") or (None, why)."""
    import grp
    import pwd
    names, _, fallback = spec.partition(",")
    user, colon, group = names.partition(":")
    fb: Optional[Tuple[int, int]] = None
    if fallback:
        fu, _, fg = fallback.partition(":")
        if not fu.isdigit() or not fg.isdigit():
            return None, "fallback %r is not uid:gid" % fallback
        fb = (int(fu), int(fg))
    uid = gid = None
    try:
        pw = pwd.getpwnam(user) if user else pwd.getpwuid(0)
        uid, gid = pw.pw_uid, pw.pw_gid
    except KeyError:
        if user.isdigit():
            uid = int(user)
            try:
                gid = pwd.getpwuid(uid).pw_gid
            except KeyError:
                gid = uid
    if colon:
        gid = None
        try:
            gid = grp.getgrnam(group).gr_gid if group else 0
        except KeyError:
            if group.isdigit():
                gid = int(group)
    if uid is None or gid is None:
        if fb is not None:
            return (fb[0] if uid is None else uid, fb[1] if gid is None else gid), ""
        return None, "unknown %s %r and no ,uid:gid fallback" % (
            "user" if uid is None else "group", user if uid is None else group)
    return (uid, gid), ""


def parse(text: str, name: str) -> "Tuple[List[Rule], List[str]]":
    """The rules of one file, and one message per bad line."""
    rules, errors = [], []
    for n, line in enumerate(text.split("\n"), 1):
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        where = "%s line %d" % (name, n)
        if len(words) != 5:
            errors.append("%s: want 5 fields `path recurse account fmode dmode`, got %d" % (where, len(words)))
            continue
        pattern, rec, account, fm, dm = words
        if rec not in ("true", "false"):
            errors.append("%s: recurse must be true or false, not %r" % (where, rec))
            continue
        try:
            fmode, dmode = _mode(fm), _mode(dm)
        except ValueError as e:
            errors.append("%s: %r is not an octal mode (or -)" % (where, e.args[0]))
            continue
        ids, why = resolve_account(account)
        if ids is None:
            errors.append("%s: account %r: %s" % (where, account, why))
            continue
        rules.append(Rule(where, pattern, rec == "true", ids[0], ids[1], fmode, dmode))
    return rules, errors


def _fix(path: str, rule: "Rule", hidden: bool, errors: "List[str]") -> None:
    try:
        os.chown(path, rule.uid, rule.gid)
        isdir = os.path.isdir(path)
        mode = rule.dmode if isdir else rule.fmode
        if mode is not None:
            os.chmod(path, mode)
    except OSError as e:
        errors.append("%s: %s: %s" % (rule.where, path, e.strerror))
        return
    if rule.recurse and isdir and not os.path.islink(path):
        try:
            names = sorted(os.listdir(path))
        except OSError as e:
            errors.append("%s: %s: %s" % (rule.where, path, e.strerror))
            return
        for n in names:
            if hidden or not n.startswith("."):
                sub = os.path.join(path, n)
                if os.path.islink(sub):
                    continue   # a link's target may be anywhere (and chown would follow it)
                _fix(sub, rule, hidden, errors)


def apply(rule: "Rule", root: str = "/", hidden: bool = False) -> "List[str]":
    """Apply one rule under `root`; one message per path that could not be fixed."""
    errors: List[str] = []
    pattern = os.path.join(root, rule.pattern.lstrip("/")) if root != "/" else rule.pattern
    for path in sorted(glob.glob(pattern, recursive=False)):
        _fix(path, rule, hidden, errors)
    return errors


def apply_dir(fixdir: str, root: str = "/", hidden: bool = False) -> "Tuple[int, List[str]]":
    """Every file of `fixdir` in name order: (rules applied, messages)."""
    count, errors = 0, []
    try:
        names = sorted(n for n in os.listdir(fixdir) if not n.startswith("."))
    except FileNotFoundError:
        return 0, []
    except OSError as e:
        return 0, ["%s: %s" % (fixdir, e.strerror)]
    for name in names:
        fn = os.path.join(fixdir, name)
        try:
            with open(fn, encoding="utf-8", errors="replace") as f:
                text = f.read()
        except IsADirectoryError:
            continue
        except OSError as e:
            errors.append("%s: %s" % (fn, e.strerror))
            continue
        rules, errs = parse(text, fn)
        errors += errs
        for r in rules:
            errors += apply(r, root, hidden)
            count += 1
    return count, errors
