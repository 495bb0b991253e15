"""container-init's unit files on pysix's model: the public API.

An image's CI can load its units and assert on them::

    import pysix.units
    us = pysix.units.load("/etc/container-init/units", "/etc/container-init.d",
                          env={"APP_USER": "web"})
    assert us.ok(strict=True), us.errors + us.warnings
    web = us["web.service"]
    assert web.user == "web" and web.restart == "on-failure"
    print(pysix.units.describe(web))

`load(units_dir, dropin_dir=None, env=None, extra=(), log=None) -> UnitSet`
  reads both dirs (a drop-in of the same file name replaces the core unit);
  `env` is the container environment for `${VAR:-default}` (default:
  os.environ); `extra` names service dirs that units may reference.
`UnitSet`: `.units` (name -> Unit: only units without errors), `.warnings`,
  `.errors` (one line each: file:line: [Section] Directive=: what),
  `.overrides` ((name, core path, drop-in path)), `.ok(strict=False)`.
`Unit`: a record with `name`, `service`, `type`, `exec_start`, `user`,
  `restart`, `requires`, `after`, `conditions`, ... (see model.py).
`parse(text, path) -> Parsed`: the bare syntax, for golden tests.
`service_files(unit, helper_argv) -> {file: (bytes, mode)}`: the service dir.
"""
__all__ = ["load", "UnitSet", "Unit", "describe", "parse", "Parsed", "service_files"]
_WHERE = {"load": "loader", "UnitSet": "loader", "Unit": "model", "describe": "model",
          "parse": "parser", "Parsed": "parser", "service_files": "convert"}


def __getattr__(name: str):
    # Lazy (PEP 562): pysix-init imports pysix.units.boot on every boot, and an
    # image without unit files should not pay for the parser and json.
    if name in _WHERE:
        import importlib
        return getattr(importlib.import_module("." + _WHERE[name], __name__), name)
    raise AttributeError("module %r has no attribute %r" % (__name__, name))
