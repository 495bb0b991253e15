"""The PYSIX_* settings of pysix-init, each also accepted under its s6-overlay S6_* name.

One table, so the README, the code and the tests agree on names and defaults.
`PYSIX_X` wins over `S6_X` when both are set. `load()` reads them once into
a frozen `Config`; pysix-run builds one directly with `_replace`.
"""
import os
from .record import Record

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import Dict, List, Mapping, Optional, Tuple


class Setting(Record):
    name: str          # without prefix
    default: int
    doc: str


SETTINGS: "Tuple[Setting, ...]" = (
    Setting("KEEP_ENV", 0, "1: do not save the environment to container_environment (with-contenv passes through)"),
    Setting("BEHAVIOUR_IF_STAGE2_FAILS", 0, "a failing cont-init script: 0 go on, 1 go on but exit non-zero at the end, 2 stop the container"),
    Setting("CMD_WAIT_FOR_SERVICES", 0, "1: start the CMD only once every service is up (ready where it notifies or has a check)"),
    Setting("CMD_WAIT_FOR_SERVICES_MAXTIME", 0, "ms bound on that wait; 0 = no bound"),
    Setting("SERVICES_GRACETIME", 3000, "ms a service gets after its down-signal at stop before SIGKILL"),
    Setting("KILL_FINISH_MAXTIME", 5000, "ms each cont-finish.d script may run before SIGKILL; 0 = no bound"),
    Setting("KILL_GRACETIME", 3000, "ms between TERM and KILL to the processes left at the end (ends early when none is left)"),
    Setting("CMD_RECEIVE_SIGNALS", 0, "1: TERM/INT/HUP/USR1/USR2 to PID 1 go to the CMD instead of stopping the container"),
    Setting("READ_ONLY_ROOT", 0, "accepted for s6-overlay images, with a warning that it has no effect: pysix never writes /etc"),
    Setting("LOGGING", 0, "accepted for s6-overlay images, with a warning that it has no effect: output always goes to the container's stdout/stderr"),
    Setting("PREFIX", 0, "1: prefix each output line of a service without log/ with its name"),
    Setting("TRACE", 0, "1: write a JSON-lines boot and shutdown trace (see PYSIX_TRACE_FILE)"),
    Setting("VERBOSITY", 2, "2: say what each stage does; 1: warnings and errors only; 0: errors only"),
)
_DEFAULTS: "Dict[str, int]" = {s.name: s.default for s in SETTINGS}


class Config(Record):
    """Every setting of one pysix-init run, read once. Fields in SETTINGS order, then the rest."""
    KEEP_ENV: int
    BEHAVIOUR_IF_STAGE2_FAILS: int
    CMD_WAIT_FOR_SERVICES: int
    CMD_WAIT_FOR_SERVICES_MAXTIME: int
    SERVICES_GRACETIME: int
    KILL_FINISH_MAXTIME: int
    KILL_GRACETIME: int
    CMD_RECEIVE_SIGNALS: int
    READ_ONLY_ROOT: int
    LOGGING: int
    PREFIX: int
    TRACE: int
    VERBOSITY: int            # pysix-run -qqq sets -1: not even errors
    CMD_ARG0: str             # "" when unset
    VERBOSITY_SET: bool       # given explicitly (else a CMD-only container stays quiet)

    def __getitem__(self, key):   # cfg["NAME"] as well as cfg.NAME
        if isinstance(key, str):
            return getattr(self, key)
        return tuple.__getitem__(self, key)


def load(env: "Mapping[str, str]" = os.environ) -> "Tuple[Config, List[str]]":
    """(the frozen config, warnings about values that were not understood)."""
    values, warnings = [], []
    for s in SETTINGS:
        v, warn = get_int(s.name, env)
        if warn:
            warnings.append(warn)
        values.append(v)
    values.append(raw("CMD_ARG0", env) or "")
    values.append(bool((raw("VERBOSITY", env) or "").strip()))
    return Config._make(values), warnings


def raw(name: str, env: "Mapping[str, str]" = os.environ) -> "Optional[str]":
    """The value of PYSIX_NAME, else S6_NAME, else None."""
    for prefix in ("PYSIX_", "S6_"):
        v = env.get(prefix + name)
        if v is not None:
            return v
    return None


def get_int(name: str, env: "Mapping[str, str]" = os.environ) -> "Tuple[int, Optional[str]]":
    """(value, warning or None); a non-numeric value falls back to the default, named."""
    default = _DEFAULTS[name]
    v = raw(name, env)
    if v is None or v.strip() == "":
        return default, None
    v = v.strip()
    if v.isdigit():
        return int(v), None
    which = "PYSIX_" + name if env.get("PYSIX_" + name) is not None else "S6_" + name
    return default, "%s=%r is not a non-negative integer; using %d" % (which, v, default)


def get_str(name: str, env: "Mapping[str, str]" = os.environ) -> "Optional[str]":
    return raw(name, env)
