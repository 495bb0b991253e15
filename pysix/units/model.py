"""A parsed unit file -> `Unit`, the meaning of each directive (pure).

Values are checked here and `${VAR}` / `${VAR:-default}` are expanded from
the container environment (plus the unit's own Environment= for
ExecStart=). Every problem is one line naming file, line, section and
directive; an error means the unit cannot be run, a warning that something
was ignored.
"""
from ..record import Record
from ..signames import parse_signal, signal_name
from .conditions import KINDS, Condition, parse_condition
from .expand import ExpandError, expand
from .parser import Parsed
from .quoting import Command, QuotingError, parse_command, split
from .values import INFINITY, parse_bool, parse_timespan

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import List, Mapping, Optional, Tuple

TYPES = ("simple", "oneshot", "forking")
RESTARTS = ("no", "on-failure", "always")
# systemd's defaults when only one of the pair is given
DEFAULT_BURST, DEFAULT_INTERVAL = 5, 10.0


class Unit(Record):
    name: str                  # web.service
    service: str               # web: the service dir in the scan dir
    path: str
    description: str
    type: str
    remain_after_exit: bool
    exec_start_pre: "List[Command]"
    exec_start: "List[Command]"
    environment: "List[Tuple[str, str]]"
    environment_files: "List[Tuple[str, bool]]"  # (path, optional: `-` prefix)
    user: str
    group: str
    working_directory: str                       # `-` prefix kept: missing is then not an error
    restart: str
    restart_sec: "Optional[float]"
    start_limit: "Optional[Tuple[int, float]]"   # (burst, interval seconds)
    timeout_start: "Optional[float]"
    timeout_stop: "Optional[float]"
    kill_signal: "Optional[int]"
    pid_file: str
    exit_container_on_failure: bool
    after: "List[str]"                           # unit names
    requires: "List[str]"
    on_failure: "List[str]"
    conditions: "List[Condition]"
    kill_mode: str             # KillMode=: the `kill-mode` file (pysix/killmode.py), "" = default

    def runs(self) -> str:
        cmds = [c.display() for c in self.exec_start]
        return " ; ".join(cmds) if cmds else "(nothing)"


def service_name(unit_name: str) -> str:
    """web.service -> web (the scan dir's name for it)."""
    return unit_name[:-len(".service")] if unit_name.endswith(".service") else unit_name


def unit_ref(word: str) -> str:
    """A name in After=/Requires=/OnFailure=; a bare `web` means web.service."""
    return word if "." in word else word + ".service"


def interpret(p: "Parsed", name: str, env: "Mapping[str, str]") -> "Tuple[Unit, List[str], List[str]]":
    """(Unit, warnings, errors) of a parsed unit file named `name`."""
    warnings: List[str] = list(p.warnings)
    errors: List[str] = []

    def err(sec: str, key: str, why: str) -> None:
        errors.append("%s %s" % (p.where(sec, key), why))

    def warn(sec: str, key: str, why: str) -> None:
        warnings.append("%s %s" % (p.where(sec, key), why))

    def exp(sec: str, key: str, text: str, extra: "Optional[Mapping[str, str]]" = None) -> str:
        e = env
        if extra:
            e = dict(env)
            e.update(extra)
        try:
            return expand(text, e)
        except ExpandError as x:
            err(sec, key, str(x))
            return text

    def span(key: str, sec: str = "Service") -> "Optional[float]":
        v = p.get(sec, key)
        if v is None:
            return None
        t = parse_timespan(v)
        if t is None:
            err(sec, key, "invalid time span %r (e.g. 2s, 500ms, 1min 30s, infinity)" % v)
        return t

    def boolean(key: str) -> bool:
        v = p.get("Service", key)
        if v is None:
            return False
        b = parse_bool(v)
        if b is None:
            err("Service", key, "invalid boolean %r" % v)
            return False
        return b

    def names(key: str) -> "List[str]":
        out: List[str] = []
        for v in p.all("Unit", key):
            for w in v.split():
                ref = unit_ref(w)
                if ref not in out:
                    out.append(ref)
        return out

    utype = p.get("Service", "Type") or "simple"
    if utype not in TYPES:
        err("Service", "Type", "%r is not supported (want %s)" % (utype, ", ".join(TYPES)))
        utype = "simple"

    environment: List[Tuple[str, str]] = []
    for v in p.all("Service", "Environment"):
        try:
            words = split(v)
        except QuotingError as x:
            err("Service", "Environment", "%s in %r" % (x, v))
            continue
        for w in words:
            k, eq, val = w.partition("=")
            if not eq or not k or not all(c.isalnum() or c == "_" for c in k):
                warn("Service", "Environment", "%r is not NAME=VALUE, ignored" % w)
                continue
            environment.append((k, exp("Service", "Environment", val)))
    own_env = dict(environment)

    def commands(key: str) -> "List[Command]":
        out = []
        for v in p.all("Service", key):
            try:
                cmd, ws = parse_command(v)
            except QuotingError as x:
                err("Service", key, "%s in %r" % (x, v))
                continue
            for w in ws:
                warn("Service", key, w)
            if cmd.expand:
                cmd = cmd._replace(argv=[exp("Service", key, a, own_env) for a in cmd.argv])
            out.append(cmd)
        return out
    pre, start = commands("ExecStartPre"), commands("ExecStart")
    if utype != "oneshot":
        if not p.all("Service", "ExecStart"):
            errors.append("%s: [Service] ExecStart=: missing (Type=%s needs one command)" % (p.path, utype))
        elif len(start) > 1:
            err("Service", "ExecStart", "Type=%s takes exactly one command (got %d)" % (utype, len(start)))
    if utype != "oneshot" and p.get("Service", "RemainAfterExit") is not None:
        warn("Service", "RemainAfterExit", "only means something with Type=oneshot, ignored")
    remain = boolean("RemainAfterExit")

    env_files = []
    for v in p.all("Service", "EnvironmentFile"):
        optional = v.startswith("-")
        path = v[1:].strip() if optional else v
        if not path.startswith("/"):
            err("Service", "EnvironmentFile", "path %r is not absolute" % path)
            continue
        env_files.append((path, optional))

    user = exp("Service", "User", p.get("Service", "User") or "")
    group = exp("Service", "Group", p.get("Service", "Group") or "")
    wd = exp("Service", "WorkingDirectory", p.get("Service", "WorkingDirectory") or "")
    bare = wd[1:] if wd.startswith("-") else wd
    if bare and not (bare.startswith("/") or bare == "~" or bare.startswith("~/")):
        err("Service", "WorkingDirectory", "%r is not absolute (or ~)" % bare)

    restart = p.get("Service", "Restart") or "no"
    if restart not in RESTARTS:
        err("Service", "Restart", "%r is not supported (want %s)" % (restart, "|".join(RESTARTS)))
        restart = "no"
    restart_sec = span("RestartSec")

    burst_text = p.get("Unit", "StartLimitBurst") or p.get("Service", "StartLimitBurst")
    interval = span("StartLimitIntervalSec", "Unit") if p.get("Unit", "StartLimitIntervalSec") else \
        span("StartLimitIntervalSec", "Service")
    start_limit = None
    if burst_text is not None and not burst_text.isdigit():
        sec = "Unit" if p.get("Unit", "StartLimitBurst") else "Service"
        err(sec, "StartLimitBurst", "invalid number %r" % burst_text)
    elif burst_text is not None or interval is not None:
        burst = int(burst_text) if burst_text is not None else DEFAULT_BURST
        iv = DEFAULT_INTERVAL if interval is None else interval
        # systemd: an interval of 0 (or a burst of 0) turns the limit off
        if burst and iv and iv != INFINITY:
            start_limit = (burst, iv)

    kill_signal = None
    ks = p.get("Service", "KillSignal")
    if ks is not None:
        kill_signal = parse_signal(ks)
        if kill_signal is None:
            err("Service", "KillSignal", "unknown signal %r" % ks)

    pid_file = p.get("Service", "PIDFile") or ""
    if pid_file and utype != "forking":
        warn("Service", "PIDFile", "only used with Type=forking, ignored")
    if pid_file and not pid_file.startswith("/"):
        err("Service", "PIDFile", "path %r is not absolute" % pid_file)

    conds: List[Condition] = []
    for kind in KINDS:
        for v in p.all("Unit", kind):
            c, why = parse_condition(kind, v)
            if c is None:
                err("Unit", kind, "%s in %r" % (why, v))
            else:
                conds.append(c)

    on_failure = names("OnFailure")
    if len(on_failure) > 1:
        warn("Unit", "OnFailure", "only one unit is started on failure here: %s; ignored: %s" % (
            on_failure[0], ", ".join(on_failure[1:])))
        on_failure = on_failure[:1]

    unit = Unit(name, service_name(name), p.path, p.get("Unit", "Description") or "", utype, remain,
                pre, start, environment, env_files, user, group, wd, restart, restart_sec, start_limit,
                span("TimeoutStartSec"), span("TimeoutStopSec"), kill_signal, pid_file,
                boolean("ExitContainerOnFailure"), names("After"), names("Requires"), on_failure, conds,
                kill_mode(p, warn))
    return unit, warnings, errors


def kill_mode(p: "Parsed", warn) -> str:
    """KillMode=control-group|mixed|process|none -> the kill-mode file's word."""
    v = p.get("Service", "KillMode")
    if v is None:
        return ""
    from ..killmode import parse_mode
    mode, bad = parse_mode(v.encode())
    if bad:
        warn("Service", "KillMode", "%r is not control-group, mixed, process or none; control-group" % v)
    return mode


def describe(u: "Unit") -> str:
    """One --validate line: name, type, dependencies, what it runs."""
    deps = sorted(set(u.requires) | set(u.after))
    bits = ["%s: %s" % (u.name, u.type + (" (remain)" if u.remain_after_exit else ""))]
    bits.append("deps=%s" % (",".join(deps) if deps else "-"))
    if u.user:
        bits.append("user=%s%s" % (u.user, (":" + u.group) if u.group else ""))
    if u.restart != "no":
        bits.append("restart=%s" % u.restart)
    if u.kill_signal:
        bits.append("kill=%s" % signal_name(u.kill_signal))
    if u.conditions:
        bits.append("if %s" % " ".join(c.text() for c in u.conditions))
    bits.append("runs: %s" % u.runs())
    return " ".join(bits)
