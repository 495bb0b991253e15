"""The paths and habits of s6-overlay v2 images, set up by pysix-init.

Derived images hard-code these, so each must exist and be the real thing:

  /run/s6/services                   the live scan dir itself (not a link: run
                                     wrappers test whether `pwd` is under it);
                                     /run/pysix/services links to it
  /var/run/s6/services               the same dir (Debian and Alpine have
                                     /var/run -> /run; else a link is made)
  /var/run/s6/container_environment  links to pysix's saved environment, so
                                     cont-init scripts writing there reach
                                     with-contenv (pysix's or v2's own)
  /var/run/s6/env-stage3/            where finish scripts write S6_STAGE2_EXITED
  /var/run/s6/etc/{cont-init.d,...}  links to /etc/..., as v2 made them
  /run/s6-linux-init-container-results/   v3's exitcode file, likewise

Exit codes a previous boot left there (`docker restart` keeps /run) are
removed. When ROOT/run is not writable (a non-root USER), pysix keeps its
own paths and says once that the v2 ones are missing.

Also here: how a cont-init/cont-finish script is run when it is not
executable (v2 chmodded them; pysix runs them through their #! line and
never writes /etc), /etc/fix-attrs.d, and the S6_* settings that pysix
accepts but that change nothing.
"""
import os

from .fscopy import remove_tree

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import Callable, List, Mapping

STAGE3_FILE = "S6_STAGE2_EXITED"
V3_RESULTS = "run/s6-linux-init-container-results"

# Settings pysix takes under their S6_ names but that do nothing here: why.
NO_EFFECT = {
    "S6_LOGGING": "there is no catch-all logger: all output goes to the container's stdout/stderr "
                  "(use a log/ service, e.g. `logutil-service`, for files)",
    "S6_READ_ONLY_ROOT": "none is needed: pysix never writes /etc (0644 scripts run through their #! "
                         "line, services are copied to /run); only /run must be writable",
    "S6_SYNC_DISKS": "pysix does not sync disks at shutdown",
    "S6_RUNTIME_PROFILE": "pysix reads /etc/cont-init.d, /etc/services.d and /etc/cont-finish.d only",
}


def _link(target: str, path: str) -> None:
    """`path` becomes a symlink to `target`, whatever it was before."""
    try:
        if os.readlink(path) == target:
            return
    except OSError:
        pass
    remove_tree(path)
    os.symlink(target, path)


def _alias(live: str, own: str) -> None:
    """RUNDIR/services, pysix's own name for the live scan dir, as a link to it. Only a
    link this made (to `live`) is replaced; another is refused, as rundir refuses one."""
    from .rundir import RundirError
    if os.path.islink(own):
        if os.readlink(own) == live:
            return
        raise RundirError("refusing %s: it is a symlink (pysix never follows one there); remove it" % own)
    if os.path.lexists(own):
        raise RundirError("refusing %s: it is in the way of the link to %s; remove it" % (own, live))
    os.symlink(live, own)


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def scandir(root: str, rundir_path: str, say: "Callable[[str], None]") -> str:
    """The live scan dir: ROOT/run/s6/services where it can be made, else RUNDIR/services.

    Both are real directories (a symlink there is refused, never followed).
    """
    from .rundir import RundirError, real_subdir
    s6 = os.path.join(root, "run", "s6")
    try:
        real_subdir(os.path.join(root, "run"), "s6", 0o755)
        if not os.access(s6, os.W_OK | os.X_OK):
            raise RundirError("cannot use %s: Permission denied" % s6)
        return real_subdir(s6, "services", 0o755)
    except RundirError as e:
        say("warning: %s: the s6-overlay paths /var/run/s6/services, /var/run/s6/container_environment "
            "and env-stage3 are missing; using %s/services" % (e, rundir_path))
    own = os.path.join(rundir_path, "services")
    if os.path.islink(own):
        os.unlink(own)   # the alias a boot with the v2 paths made; removed, never followed
    return real_subdir(rundir_path, "services", 0o755)


def prepare(root: str, rundir_path: str, live: str, say: "Callable[[str], None]") -> None:
    """Create the rest of the v2 paths under `root` around the live scan dir `live`."""
    own = os.path.join(rundir_path, "services")
    s6 = os.path.join(root, "run", "s6")
    if live == own:
        return
    _alias(live, own)
    _link(os.path.join(rundir_path, "container_environment"), os.path.join(s6, "container_environment"))
    stage3 = os.path.join(s6, "env-stage3")
    if os.path.islink(stage3):
        os.unlink(stage3)
    os.makedirs(stage3, mode=0o755, exist_ok=True)
    _unlink(os.path.join(stage3, STAGE3_FILE))
    # v2's view of the user's dirs (links, as v2 made them without S6_READ_ONLY_ROOT).
    os.makedirs(os.path.join(s6, "etc"), mode=0o755, exist_ok=True)
    for name in ("fix-attrs.d", "cont-init.d", "cont-finish.d", "services.d"):
        _link(os.path.join(root, "etc", name), os.path.join(s6, "etc", name))
    results = os.path.join(root, V3_RESULTS)
    os.makedirs(results, mode=0o755, exist_ok=True)
    _unlink(os.path.join(results, "exitcode"))
    _var_run(root, s6, say)


def _var_run(root: str, s6: str, say: "Callable[[str], None]") -> None:
    """Make ROOT/var/run/s6 reach ROOT/run/s6."""
    run = os.path.join(root, "run")
    vr = os.path.join(root, "var", "run")
    if os.path.islink(vr):
        target = os.readlink(vr)
        # Read the link inside ROOT (an absolute /run means ROOT/run, not the host's).
        resolved = os.path.normpath(os.path.join(root, target.lstrip("/")) if target.startswith("/")
                                    else os.path.join(os.path.dirname(vr), target))
        if resolved != os.path.normpath(run):
            say("warning: %s links to %s, not /run: /var/run/s6 is not set up" % (vr, target))
        return
    os.makedirs(vr, mode=0o755, exist_ok=True)
    vs6 = os.path.join(vr, "s6")
    if os.path.isdir(vs6) and not os.path.islink(vs6):
        # A /var/run/s6 shipped in the image: its entries point to the live ones.
        for name in ("services", "container_environment", "env-stage3"):
            _link(os.path.join(s6, name), os.path.join(vs6, name))
    else:
        _link(s6, vs6)


def script_argv(path: str) -> "List[str]":
    """How to run a cont-init/cont-finish script: itself, or through its #! line when
    it is not executable (shipped 0644, or /etc mounted noexec)."""
    if os.access(path, os.X_OK):
        return [path]
    from .shebang import interpreter_argv
    argv, _ = interpreter_argv(path)
    return argv or [path]     # no usable #! line: exec says why


def fix_attrs(etc: str, root: str, hidden: bool, say: "Callable[[str], None]",
              info: "Callable[[str], None]") -> bool:
    """Apply /etc/fix-attrs.d (before cont-init, as v2); False if a line was bad or a
    path could not be fixed."""
    d = os.path.join(etc, "fix-attrs.d")
    if not os.path.isdir(d):
        return True
    from .fixattrs import apply_dir
    count, errors = apply_dir(d, root, hidden)
    for e in errors:
        say("fix-attrs.d: " + e)
    info("fix-attrs.d: %d rules applied, %d problems" % (count, len(errors)))
    return not errors


def warn_no_effect(env: "Mapping[str, str]", say: "Callable[[str], None]") -> None:
    for name, why in NO_EFFECT.items():
        for var in (name, "PYSIX_" + name[3:]):
            v = env.get(var, "").strip()
            if v and v != "0":
                say("warning: %s=%s has no effect: %s" % (var, v, why))
