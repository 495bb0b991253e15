"""pysix-init's unit options: defaults, --validate, --strict-units (before any supervision)."""
import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import Dict, Optional


def resolve_dirs(root: str, opts: "Dict") -> None:
    """Fill in the defaults (under --root, when they exist) in place."""
    if opts.get("units") is None or opts.get("dropin") is None:
        from .boot import default_dirs
        du, dd = default_dirs(root)
        if opts.get("units") is None:
            opts["units"] = du
        if opts.get("dropin") is None:
            opts["dropin"] = dd


def prepare(root: str, opts: "Dict") -> "Optional[int]":
    """None: go on and boot; else the exit code (--validate done, or a bad option)."""
    resolve_dirs(root, opts)
    for k in ("units", "dropin"):
        if opts[k] and not os.path.isdir(opts[k]):
            sys.stderr.write("pysix-init: fatal: --%s %s: not a directory\n" % (
                "units" if k == "units" else "drop-in", opts[k]))
            return 100
    if not (opts["validate"] or opts["strict"]) or not (opts["units"] or opts["dropin"]):
        if opts["validate"]:
            sys.stderr.write("pysix-init: no unit dirs (--units, --drop-in or %s/etc/container-init*)\n" % root)
            return 0
        return None
    from .validate import validate
    out, err, code = validate(root, opts["units"], opts["dropin"], opts["strict"])
    if opts["validate"]:
        for line in out:
            sys.stdout.write(line + "\n")
        for line in err:
            sys.stderr.write("pysix-init: %s\n" % line)
        return code
    if code:   # --strict-units: refuse to boot, say why
        for line in err:
            sys.stderr.write("pysix-init: %s\n" % line)
        sys.stderr.write("pysix-init: fatal: --strict-units: unit problems, not booting\n")
        return 1
    return None
