"""systemd unit-file syntax, as systemd.syntax(7) and systemd.unit(5) define it (pure).

`parse(text, path)` turns a unit file into `Parsed`: for each known
directive of each section, its values in order, with systemd's rules:

* `[Section]` headers; `#` and `;` start comment lines; blank lines are ignored.
* A line ending in a backslash continues on the next one (the backslash
  becomes a space); comment lines inside a continuation are skipped.
* Whitespace around `=` is ignored.
* A list-valued directive (After=, ExecStart=, Environment=, ...)
  accumulates; an empty assignment (`After=`) resets it. A single-valued
  directive given twice keeps the last value; an empty one resets it to
  its default.
* An unknown section, an unknown directive, or a line that is no assignment
  is a warning naming file, line, section and directive; `[Install]` and
  `X-` sections are accepted and ignored.

The meaning of each value is not checked here (see model.py).
"""
from ..record import Record

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import Dict, List, Optional, Tuple

# (section, directive) -> True when list-valued.
DIRECTIVES: "Dict[Tuple[str, str], bool]" = {}
for _d, _many in (("Description", False), ("Documentation", True), ("After", True),
                  ("Requires", True), ("OnFailure", True), ("ConditionPathExists", True),
                  ("ConditionPathExistsGlob", True), ("ConditionEnvironment", True),
                  ("StartLimitBurst", False), ("StartLimitIntervalSec", False)):
    DIRECTIVES[("Unit", _d)] = _many
for _d, _many in (("Type", False), ("RemainAfterExit", False), ("ExecStartPre", True),
                  ("ExecStart", True), ("Environment", True), ("EnvironmentFile", True),
                  ("User", False), ("Group", False), ("WorkingDirectory", False),
                  ("Restart", False), ("RestartSec", False), ("StartLimitBurst", False),
                  ("StartLimitIntervalSec", False), ("TimeoutStartSec", False),
                  ("TimeoutStopSec", False), ("KillSignal", False), ("PIDFile", False),
                  ("ExitContainerOnFailure", False), ("KillMode", False)):
    DIRECTIVES[("Service", _d)] = _many
SECTIONS = ("Unit", "Service", "Install")
IGNORED_SECTIONS = ("Install",)


class Parsed(Record):
    path: str
    # (section, directive) -> values in order (one for single-valued ones)
    values: "Dict[Tuple[str, str], List[str]]"
    # (section, directive) -> line of the assignment that counts last
    lines: "Dict[Tuple[str, str], int]"
    warnings: "List[str]"

    def get(self, section: str, key: str) -> "Optional[str]":
        v = self.values.get((section, key))
        return v[-1] if v else None

    def all(self, section: str, key: str) -> "List[str]":
        return list(self.values.get((section, key), ()))

    def where(self, section: str, key: str) -> str:
        """`file:line: [Section] Key=` for messages about a value."""
        return "%s:%d: [%s] %s=" % (self.path, self.lines.get((section, key), 0), section, key)


def logical_lines(text: str) -> "List[Tuple[int, str]]":
    """(first line number, text) of each non-comment line, continuations joined."""
    out: List[Tuple[int, str]] = []
    pending: Optional[List] = None   # [start line, text so far]
    for no, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if pending is not None and line[:1] in ("#", ";"):
            continue   # systemd.syntax: a comment block inside a continuation is skipped
        if pending is None:
            if not line or line[:1] in ("#", ";"):
                continue
            pending = [no, ""]
        if line.endswith("\\"):
            pending[1] += line[:-1] + " "
            continue
        pending[1] += line
        out.append((pending[0], pending[1]))
        pending = None
    if pending is not None:
        out.append((pending[0], pending[1].rstrip()))
    return out


def parse(text: str, path: str, directives: "Optional[Dict[Tuple[str, str], bool]]" = None) -> "Parsed":
    known = DIRECTIVES if directives is None else directives
    values: Dict[Tuple[str, str], List[str]] = {}
    lines: Dict[Tuple[str, str], int] = {}
    warnings: List[str] = []
    section: Optional[str] = None
    skip = False   # inside a section whose content is ignored
    for no, line in logical_lines(text):
        if line.startswith("["):
            if not line.endswith("]") or len(line) < 3:
                warnings.append("%s:%d: invalid section header %r" % (path, no, line))
                section, skip = None, True
                continue
            section = line[1:-1]
            skip = section in IGNORED_SECTIONS or section.startswith("X-")
            if section not in (SECTIONS if directives is None else {s for s, _ in known}) and not skip:
                warnings.append("%s:%d: [%s]: unknown section, ignored" % (path, no, section))
                skip = True
            continue
        if skip:
            continue
        key, eq, value = line.partition("=")
        key, value = key.strip(), value.strip()
        if section is None:
            warnings.append("%s:%d: %s: assignment outside of any section, ignored" % (path, no, key or line))
            continue
        if not eq or not key:
            warnings.append("%s:%d: [%s] %r: not a Key=value assignment, ignored" % (path, no, section, line))
            continue
        if key.startswith("X-"):
            continue
        many = known.get((section, key))
        if many is None:
            warnings.append("%s:%d: [%s] %s=: unknown directive, ignored" % (path, no, section, key))
            continue
        k = (section, key)
        lines[k] = no
        if value == "":
            values.pop(k, None)   # systemd: an empty assignment resets the list (or the default)
        elif many:
            values.setdefault(k, []).append(value)
        else:
            values[k] = [value]
    return Parsed(path, values, lines, warnings)
