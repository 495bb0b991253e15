"""Condition*= of the unit subset, evaluated once at boot (pure but for the file system).

ConditionPathExists=[!]PATH, ConditionPathExistsGlob=[!]PATTERN,
ConditionEnvironment=[!]NAME or [!]NAME=VALUE, as systemd.unit(5) has
them: `!` negates; a `|` before it makes the condition a triggering one
(the unit starts if every plain condition holds and, when there are
triggering ones, at least one of those). Paths are absolute and looked up
under the container root (`--root`).

The same lines, one per line, make a plain service dir's `conditions` file.
"""
import os

from ..record import Record

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import List, Mapping, Optional, Tuple

KINDS = ("ConditionPathExists", "ConditionPathExistsGlob", "ConditionEnvironment")


class Condition(Record):
    kind: str
    arg: str
    negate: bool
    trigger: bool

    def text(self) -> str:
        return "%s=%s%s%s" % (self.kind, "|" if self.trigger else "", "!" if self.negate else "", self.arg)


def parse_condition(kind: str, value: str) -> "Tuple[Optional[Condition], Optional[str]]":
    """(Condition, None) or (None, why it is invalid)."""
    v = value.strip()
    trigger = v.startswith("|")
    if trigger:
        v = v[1:].lstrip()
    negate = v.startswith("!")
    if negate:
        v = v[1:].lstrip()
    if not v:
        return None, "empty condition"
    if kind in ("ConditionPathExists", "ConditionPathExistsGlob") and not v.startswith("/"):
        return None, "path %r is not absolute" % v
    if kind == "ConditionEnvironment" and not v.partition("=")[0]:
        return None, "want NAME or NAME=VALUE"
    if kind not in KINDS:
        return None, "unknown condition"
    return Condition(kind, v, negate, trigger), None


def parse_lines(text: str, path: str) -> "Tuple[List[Condition], List[str]]":
    """A `conditions` file: `Kind=value` per line, `#` comments; (conditions, errors)."""
    out, errors = [], []
    for no, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        kind, _, value = line.partition("=")
        cond, why = parse_condition(kind.strip(), value)
        if cond is None:
            errors.append("%s:%d: %s: %s" % (path, no, kind.strip() or line, why))
        else:
            out.append(cond)
    return out, errors


def holds(cond: "Condition", root: str, env: "Mapping[str, str]") -> bool:
    if cond.kind == "ConditionEnvironment":
        name, eq, value = cond.arg.partition("=")
        ok = (env.get(name) == value) if eq else (name in env)
    else:
        full = os.path.join(root, cond.arg.lstrip("/"))
        if cond.kind == "ConditionPathExists":
            ok = os.path.exists(full)
        else:
            import glob   # only units that use it pay for the import
            ok = bool(glob.glob(full))
    return ok != cond.negate


def unmet(conds: "List[Condition]", root: str, env: "Mapping[str, str]") -> "Optional[str]":
    """None when the unit may start, else a line saying which condition failed."""
    triggers = [c for c in conds if c.trigger]
    for c in conds:
        if not c.trigger and not holds(c, root, env):
            return "%s not met" % c.text()
    if triggers and not any(holds(c, root, env) for c in triggers):
        return "none of the triggering conditions met: %s" % ", ".join(c.text() for c in triggers)
    return None
