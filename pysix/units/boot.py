"""Stage 1 of pysix-init for unit files: load, convert into the live scan dir,
then evaluate every service dir's `conditions` (units' and services.d's alike)."""
import os

from ..trace import trace
from .conditions import parse_lines, unmet

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import Callable, List, Mapping, Optional, Tuple
    from .loader import UnitSet

UNITS_DIR = "etc/container-init/units"
DROPIN_DIR = "etc/container-init.d"


def default_dirs(root: str) -> "Tuple[Optional[str], Optional[str]]":
    """The seed's defaults, under the container root, when they exist."""
    u, d = os.path.join(root, UNITS_DIR), os.path.join(root, DROPIN_DIR)
    return (u if os.path.isdir(u) else None), (d if os.path.isdir(d) else None)


def _service_names(scandir: str) -> "List[str]":
    try:
        return sorted(n for n in os.listdir(scandir)
                      if not n.startswith(".") and os.path.isdir(os.path.join(scandir, n)))
    except OSError:
        return []


def user_files(root: str) -> "Tuple[str, str]":
    """The container's passwd and group files (under --root when it has them)."""
    out = []
    for name in ("passwd", "group"):
        p = os.path.join(root, "etc", name)
        out.append(p if os.path.exists(p) else "/etc/" + name)
    return out[0], out[1]


def install(root: str, scandir: str, units_dir: "Optional[str]", dropin_dir: "Optional[str]",
            say: "Callable[[str], None]", env: "Optional[Mapping[str, str]]" = None) -> "Optional[UnitSet]":
    """Convert the units into `scandir` beside what is already there; one line per problem."""
    env = dict(os.environ) if env is None else env
    us = None
    if units_dir or dropin_dir:
        # Imported here: an image without units pays only for the conditions pass.
        from ..execspec import helper_argv
        from .convert import service_files, write_service
        from .loader import load
        existing = _service_names(scandir)
        us = load(units_dir, dropin_dir, env, extra=existing, log=say)
        for w in us.warnings:
            say("warning: " + w)
        for e in us.errors:
            say("error: " + e)
        helper = helper_argv()
        passwd, group = user_files(root)
        known = set(existing) | {u.service for u in us.units.values()}
        for name, u in sorted(us.units.items()):
            if u.service in existing:
                say("error: %s: services.d already has a service named %s: unit not loaded" % (u.path, u.service))
                continue
            try:
                write_service(scandir, u, service_files(u, helper, known, passwd, group))
            except OSError as e:
                say("error: %s: cannot write its service dir: %s" % (u.path, e.strerror))
                continue
            trace("unit", unit=name, service=u.service, path=u.path)
        if us.sockets:
            from ..sockets.unit import install_sockets
            install_sockets(us, scandir, say)
    apply_conditions(root, scandir, env, say)
    return us


def apply_conditions(root: str, scandir: str, env: "Mapping[str, str]",
                     say: "Callable[[str], None]") -> "List[str]":
    """A service dir whose `conditions` are not met gets `down` (loaded, not
    started) and a line saying why; dependents stop waiting for it, as
    systemd's Requires= on a condition-skipped unit does not block."""
    skipped = []
    names = _service_names(scandir)
    for name in names:
        path = os.path.join(scandir, name, "conditions")
        try:
            with open(path, "rb") as f:
                text = f.read().decode("utf-8", "replace")
        except OSError:
            continue
        conds, errors = parse_lines(text, path)
        for e in errors:
            say("warning: %s (ignored)" % e)
        why = unmet(conds, root, env)
        if why:
            open(os.path.join(scandir, name, "down"), "w").close()
            say("%s: not started: %s" % (name, why))
            trace("service", name=name, event="skipped", why=why)
            skipped.append(name)
    if skipped:
        gone = set(skipped)
        for name in names:
            dep = os.path.join(scandir, name, "dependencies")
            try:
                with open(dep) as f:
                    lines = f.read().splitlines()
            except OSError:
                continue
            keep = [ln for ln in lines if ln.split("#", 1)[0].strip() not in gone]
            if keep != lines:
                with open(dep, "w") as f:
                    f.write("".join(ln + "\n" for ln in keep))
    return skipped
