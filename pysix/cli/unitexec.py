"""pysix-unit-exec: the exec context of a converted unit, or of a plain service dir.

  pysix-unit-exec --spec unit.json                  (a unit's `run`, in its service dir)
  pysix-unit-exec --service-dir DIR -- PROG ARGS... (a service dir with `user`, `group`
                                                    or `working-directory`)

In order: the environment (the container's, then Environment=, then each
EnvironmentFile=, which wins as in systemd); user and group from the
container's /etc/passwd and /etc/group (supplementary groups, then gid,
then uid; HOME, USER, LOGNAME, SHELL set); the working directory (as the
user); ExecStartPre= commands one by one (`-`: a failure is ignored, else
the first failure is the service's exit code); then ExecStart=.

Type=simple: ExecStart= is exec'd, so the supervised pid is the program's.
Type=oneshot: the commands run one by one and the last is exec'd.
Type=forking: this process stays as the supervised pid. It becomes a child
subreaper, runs ExecStart=, waits for it to exit (the daemon has forked
by then), and takes as main pid the one in PIDFile= (waited for up to
TimeoutStartSec=, 10 s by default), or else its only remaining child. It
then writes the readiness newline on `notification-fd`, forwards every
stop signal it gets (down-signal, SIGCONT, ...) to the main pid, reaps
every process re-parented to it, and exits as the main pid did (same
code, or killed by the same signal), after sending SIGTERM to what the
daemon left behind. A main pid that is not a descendant is an error.

Exit codes: 100 bad usage or spec, 111 cannot set ids or directory or
read an EnvironmentFile=, 126/127 a command cannot be run, else the
commands' own.
"""
import os
import sys
import _signal as signal   # the C module: `signal` adds enums (ms of imports)

from .setuidgid import _execvp

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import Dict, List, NoReturn, Optional

PROG = "pysix-unit-exec"
USAGE = ("%s: usage: %s --spec FILE | --service-dir DIR -- PROG [ ARGS... ]\n" % (PROG, PROG))
FORWARD = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1,
           signal.SIGUSR2, signal.SIGCONT, signal.SIGALRM, signal.SIGWINCH)
PIDFILE_WAIT = 10.0
_preloaded: "List" = []   # modules imported before the uid changes


class Fatal(Exception):
    def __init__(self, code: int, msg: str) -> None:
        super().__init__(msg)
        self.code = code


def _read_plain(sd: str, name: str) -> str:
    try:
        with open(os.path.join(sd, name), "rb") as f:
            return f.read(4096).decode("utf-8", "replace").split("\n", 1)[0].strip()
    except FileNotFoundError:
        return ""


def plain_spec(sd: str) -> dict:
    return {"user": _read_plain(sd, "user"), "group": _read_plain(sd, "group"),
            "working_directory": _read_plain(sd, "working-directory"), "type": "plain"}


def build_env(spec: dict, base: "Dict[str, str]") -> "Dict[str, str]":
    from ..units.envfile import parse
    env = dict(base)
    for k, v in spec.get("environment") or ():
        env[k] = v
    for path, optional in spec.get("environment_files") or ():
        try:
            with open(path, "rb") as f:
                text = f.read().decode("utf-8", "replace")
        except OSError as e:
            if optional:
                continue
            raise Fatal(111, "EnvironmentFile=%s: cannot read: %s" % (path, e.strerror))
        pairs, bad = parse(text, path)
        for b in bad:
            _say("warning: " + b)
        env.update(pairs)
    return env


def become(spec: dict, env: "Dict[str, str]") -> "Optional[str]":
    """Set groups, gid, uid (and HOME...); returns the user's home or None."""
    user, group = spec.get("user") or "", spec.get("group") or ""
    if not user and not group:
        return None
    from ..units import passwd
    gtext = passwd.read(spec.get("group_file") or "/etc/group")
    if not user:
        gid, why = passwd.resolve_group(group, gtext)
        if gid is None:
            raise Fatal(111, "Group=%s: %s" % (group, why))
        try:
            if os.getgid() != gid:
                os.setgroups([gid])
                os.setgid(gid)
        except OSError as e:
            raise Fatal(111, "unable to set group %s: %s" % (group, e.strerror))
        return None
    ids, why = passwd.resolve(user, group, passwd.read(spec.get("passwd") or "/etc/passwd"), gtext)
    if ids is None:
        raise Fatal(111, "User=%s: %s" % (user, why))
    try:
        if (os.getuid(), os.getgid()) != (ids.uid, ids.gid) or os.getuid() == 0:
            os.setgroups(ids.groups)
            os.setgid(ids.gid)
            os.setuid(ids.uid)
    except OSError as e:
        raise Fatal(111, "unable to become %s (uid %d gid %d): %s" % (user, ids.uid, ids.gid, e.strerror))
    env.update({"HOME": ids.home, "USER": ids.name, "LOGNAME": ids.name, "SHELL": ids.shell})
    return ids.home


def enter_dir(wd: str, home: "Optional[str]", env: "Dict[str, str]") -> None:
    if not wd:
        return
    optional = wd.startswith("-")
    path = wd[1:] if optional else wd
    if path == "~" or path.startswith("~/"):
        path = (home or env.get("HOME") or "/") + path[1:]
    try:
        os.chdir(path)
    except OSError as e:
        if not optional:
            raise Fatal(111, "WorkingDirectory=%s: %s" % (path, e.strerror))


def _argv(cmd: dict) -> "List[str]":
    argv = list(cmd["argv"])
    if cmd.get("arg0"):
        return [cmd["arg0"]] + argv[1:]
    return argv


def spawn(cmd: dict, env: "Dict[str, str]") -> int:
    try:
        return os.posix_spawnp(cmd["argv"][0], _argv(cmd), env, setsigmask=())
    except OSError as e:
        raise Fatal(126 if e.errno == 13 else 127, "unable to run %s: %s" % (cmd["argv"][0], e.strerror))


def code_of(status: int) -> int:
    return os.waitstatus_to_exitcode(status) if hasattr(os, "waitstatus_to_exitcode") else status


def run_one(cmd: dict, env: "Dict[str, str]") -> int:
    """Run to its end; the exit code (128 + signal when killed)."""
    pid = spawn(cmd, env)
    _, st = os.waitpid(pid, 0)
    c = code_of(st)
    return 128 - c if c < 0 else c


def exec_cmd(cmd: dict, env: "Dict[str, str]") -> "NoReturn":
    os.environ.clear()
    os.environ.update(env)
    try:
        prog = cmd["argv"][0]
        if "/" in prog:
            os.execve(prog, _argv(cmd), env)
        _execvp(prog, _argv(cmd))
    except OSError as e:
        raise Fatal(126 if e.errno == 13 else 127, "unable to exec %s: %s" % (cmd["argv"][0], e.strerror))
    raise AssertionError("unreachable")


# Type=forking and a final `-` command: this process stays and follows a child.
def _children() -> "List[int]":
    out: List[int] = []
    try:
        for t in os.listdir("/proc/self/task"):
            with open("/proc/self/task/%s/children" % t) as f:
                out.extend(int(x) for x in f.read().split())
    except OSError:
        pass
    return out


def _pid_from_file(path: str, wait: float) -> "Optional[int]":
    import time
    deadline = time.monotonic() + wait
    while True:
        try:
            with open(path) as f:
                text = f.read().strip()
            if text.isdigit() and int(text) > 1:
                return int(text)
        except OSError:
            pass
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.01)


def forward_to(main: int) -> None:
    """From now on the stop signals this process gets go to `main`.

    Installed before anyone can know `main` is up (readiness, or the spawn
    under a blocked mask): a signal still at its default would kill this
    process and orphan the daemon, and one inherited as ignored would be lost.
    """
    for s in FORWARD:
        signal.signal(s, lambda sig, _f: _kill(main, sig))


def follow(main: int, ignore_failure: bool) -> "NoReturn":
    """With forward_to(main) in place: reap everything, exit as `main` did."""
    while True:
        try:
            pid, st = os.waitpid(-1, 0)
        except ChildProcessError:
            raise Fatal(111, "main pid %d is not a descendant of this process: cannot follow it" % main)
        if pid == main:
            break
    for s in FORWARD:
        signal.signal(s, signal.SIG_DFL)
    for p in _children():
        _kill(p, signal.SIGTERM)
    c = code_of(st)
    if ignore_failure:
        os._exit(0)
    if c < 0:
        os.kill(os.getpid(), -c)
    os._exit(c & 0xFF)


def run_forking(spec: dict, cmd: dict, env: "Dict[str, str]") -> "NoReturn":
    from ..subreaper import set_subreaper
    if not set_subreaper():
        _say("warning: cannot become a child subreaper: the daemon may escape")
    nfd = spec.get("notify_fd")
    if nfd is not None:
        try:
            os.set_inheritable(nfd, False)
        except OSError:
            nfd = None
    code = run_one(cmd, env)
    if code and not cmd.get("ignore_failure"):
        raise Fatal(code, "%s exited %d before the daemon was up" % (cmd["argv"][0], code))
    main = None
    if spec.get("pid_file"):
        main = _pid_from_file(spec["pid_file"], spec.get("timeout_start") or PIDFILE_WAIT)
        if main is None:
            raise Fatal(1, "PIDFile=%s: no pid in it after the daemon started" % spec["pid_file"])
    else:
        kids = _children()
        if not kids:
            raise Fatal(1, "%s exited and left no daemon behind (set PIDFile=)" % cmd["argv"][0])
        main = min(kids)
    forward_to(main)
    if nfd is not None:
        try:
            os.write(nfd, b"\n")
            os.close(nfd)
        except OSError:
            pass
    follow(main, False)


def run_spec(spec: dict, argv: "List[str]") -> "NoReturn":
    if argv and "/" in argv[0] and not argv[0].startswith("/"):
        argv = [os.path.abspath(argv[0])] + argv[1:]   # ./run, before working-directory moves us
    env = build_env(spec, dict(os.environ))
    if spec.get("type") == "forking":
        # Imported while still root: the new user may not be able to read the
        # interpreter's library (a pyenv under /root, say).
        import ctypes
        import time
        _preloaded.extend((ctypes, time))
    home = become(spec, env)
    enter_dir(spec.get("working_directory") or "", home, env)
    os.environ.clear()
    os.environ.update(env)   # posix_spawnp looks PROG up in this PATH
    if spec.get("type") == "plain":
        exec_cmd({"argv": argv}, env)
    for cmd in spec.get("exec_start_pre") or ():
        c = run_one(cmd, env)
        if c and not cmd.get("ignore_failure"):
            raise Fatal(c, "ExecStartPre=%s exited %d" % (cmd["argv"][0], c))
    cmds = list(spec.get("exec_start") or ())
    if not cmds:
        os._exit(0)
    if spec.get("type") == "forking":
        run_forking(spec, cmds[0], env)
    for cmd in cmds[:-1]:
        c = run_one(cmd, env)
        if c and not cmd.get("ignore_failure"):
            raise Fatal(c, "ExecStart=%s exited %d" % (cmd["argv"][0], c))
    last = cmds[-1]
    if last.get("ignore_failure"):
        old = signal.pthread_sigmask(signal.SIG_BLOCK, FORWARD)   # held until forward_to
        pid = spawn(last, env)   # its own mask is reset (setsigmask=())
        forward_to(pid)
        signal.pthread_sigmask(signal.SIG_SETMASK, old)
        follow(pid, True)
    exec_cmd(last, env)


def _kill(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except OSError:
        pass


def _say(msg: str) -> None:
    try:
        os.write(2, ("%s: %s\n" % (PROG, msg)).encode("utf-8", "replace"))
    except OSError:
        pass


def main(argv: "Optional[List[str]]" = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        if len(args) == 2 and args[0] == "--spec":
            import json
            try:
                with open(args[1], "rb") as f:
                    spec = json.loads(f.read().decode("utf-8", "surrogateescape"))
            except (OSError, ValueError) as e:
                raise Fatal(100, "%s: cannot load: %s" % (args[1], e))
            if spec.get("unit"):
                global PROG
                PROG = "%s (%s)" % (PROG, spec["unit"])
            run_spec(spec, [])
        if len(args) >= 4 and args[0] == "--service-dir" and args[2] == "--":
            run_spec(plain_spec(args[1]), args[3:])
        sys.stderr.write(USAGE)
        return 100
    except Fatal as e:
        _say("fatal: %s" % e)
        return e.code
