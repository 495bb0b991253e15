"""Load a core unit dir and a drop-in dir into a `UnitSet` (reads files, writes nothing).

A drop-in with the same full file name as a core unit replaces it (one
`drop-in override: ...` line, through `log`, and a `unit_overridden` trace
event); any other name is added. References (After=, Requires=,
OnFailure=) may cross between the two dirs, and may name service dirs that
exist beside the units (`extra`, e.g. the services.d copy).
"""
import os

from .. import deps
from ..trace import trace
from .model import Unit, interpret, service_name
from .parser import parse

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import Callable, Dict, Iterable, Iterator, List, Mapping, Optional, Tuple


class UnitSet:
    """What `load()` found: `units` (name -> Unit, only those that can run),
    `warnings` and `errors` (lines naming file, section and directive),
    `overrides` ((name, core path, drop-in path) for each replaced unit)."""

    def __init__(self) -> None:
        self.units: Dict[str, Unit] = {}
        self.warnings: List[str] = []
        self.errors: List[str] = []
        self.overrides: List[Tuple[str, str, str]] = []
        self.sockets: Dict[str, tuple] = {}    # web.socket -> (service dir name, SocketSpec)

    def ok(self, strict: bool = False) -> bool:
        return not self.errors and not (strict and self.warnings)

    def __getitem__(self, name: str) -> "Unit":
        return self.units[name]

    def __contains__(self, name: object) -> bool:
        return name in self.units

    def __repr__(self) -> str:
        return "UnitSet(units=%r, warnings=%d, errors=%d)" % (sorted(self.units), len(self.warnings),
                                                              len(self.errors))


def _files(d: "Optional[str]", out: "UnitSet") -> "Dict[str, str]":
    """name -> path of the unit files of `d`; other names are warned about once."""
    found: Dict[str, str] = {}
    if not d or not os.path.isdir(d):
        return found
    for name in sorted(os.listdir(d)):
        path = os.path.join(d, name)
        if name.startswith(".") or not os.path.isfile(path):
            continue
        if name.endswith(".service") and "@" in name:
            out.warnings.append("%s: template units (NAME@.service) are not supported, ignored" % path)
        elif name.endswith((".service", ".socket")):   # .socket: pysix/sockets/unit.py
            found[name] = path
        else:
            out.warnings.append("%s: not a .service or .socket unit, ignored" % path)
    return found


def read_units(paths: "Dict[str, str]", out: "UnitSet") -> "Iterator[Tuple[str, str, str]]":
    """(name, path, text) of each unit file of `paths` (name -> path), in name order;
    one that cannot be read is an error in `out.errors` and is passed over."""
    for name, path in sorted(paths.items()):
        try:
            with open(path, "rb") as f:
                text = f.read().decode("utf-8", "replace")
        except OSError as e:
            out.errors.append("%s: cannot read: %s" % (path, e.strerror))
            continue
        yield name, path, text


def load(units_dir: "Optional[str]", dropin_dir: "Optional[str]" = None,
         env: "Optional[Mapping[str, str]]" = None, extra: "Iterable[str]" = (),
         log: "Optional[Callable[[str], None]]" = None) -> "UnitSet":
    env = dict(os.environ) if env is None else env
    out = UnitSet()
    paths = _files(units_dir, out)
    for name, path in _files(dropin_dir, out).items():
        if name in paths:
            out.overrides.append((name, paths[name], path))
            if log is not None:
                log("drop-in override: %s replaces %s with %s" % (name, paths[name], path))
            trace("unit_overridden", unit=name, core=paths[name], dropin=path)
        paths[name] = path
    sockets = {n: p for n, p in paths.items() if n.endswith(".socket")}
    paths = {n: p for n, p in paths.items() if n not in sockets}
    candidates: Dict[str, Unit] = {}
    for name, path, text in read_units(paths, out):
        unit, warnings, errors = interpret(parse(text, path), name, env)
        out.warnings.extend(warnings)
        out.errors.extend(errors)
        if not errors:
            candidates[name] = unit
    _check_refs(candidates, set(paths), set(extra), out)
    if sockets:
        from ..sockets.unit import attach
        attach(out, sockets, set(extra))
    return out


def _check_refs(cands: "Dict[str, Unit]", all_names: set, extra: set, out: "UnitSet") -> None:
    """Missing Requires=/OnFailure= targets and cycles are errors; After= of an
    unknown unit is ignored (systemd's ordering-only meaning), `.target`s silently."""
    known = set(cands) | {n + ".service" for n in extra}
    for name, u in sorted(cands.items()):
        for key, refs in (("Requires", u.requires), ("OnFailure", u.on_failure)):
            for r in refs:
                if r not in known:
                    why = "has errors" if r in all_names else "no such unit"
                    out.errors.append("%s: [Unit] %s=%s: %s" % (u.path, key, r, why))
        for r in u.after:
            if r not in known and not r.endswith(".target") and r not in u.requires:
                out.warnings.append("%s: [Unit] After=%s: no such unit, ignored" % (u.path, r))
    graph = {service_name(n): [service_name(d) for d in set(u.requires) | set(u.after) if d in cands]
             for n, u in cands.items()}
    _, cycles = deps.check_graph(graph)
    bad = set()
    for cyc in cycles:
        out.errors.append("%s: [Unit] After=/Requires=: dependency cycle: %s" % (
            cands[cyc[0] + ".service"].path, " -> ".join(cyc + cyc[:1])))
        bad.update(c + ".service" for c in cyc)
    for name, u in cands.items():
        if name not in bad and not any(r not in known for r in u.requires + u.on_failure):
            out.units[name] = u
