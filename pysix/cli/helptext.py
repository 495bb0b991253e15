"""`--help` and `--version` for every command, in one place.

pysix.cli.run_main() answers `PROG --help` / `PROG --version` (the first
argument only, so `with-contenv prog --help` still runs prog) before the
command's main() runs: no cli module carries its own help, and
a client's start-up does not pay for these texts. Each text says what the
command does, every option, the exit codes and one example.
"""
import os

from .. import __version__ as VERSION

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import Dict

HELP: "Dict[str, str]" = {}

HELP["pysix"] = """\
usage: pysix [ --root DIR ] [ --scandir DIR ] COMMAND [ ARGS ]

The command for people: see and drive the services of a running pysix
tree by name. It finds the live scan dir itself: $PYSIX_SCANDIR,
$PYSIX_RUNDIR/services, DIR/run/pysix/services (--root DIR or $PYSIX_ROOT),
/run/pysix/services, the non-root fallback ($XDG_RUNTIME_DIR or
/tmp)/pysix-UID/services, then s6-overlay's /var/run/s6/services and
/run/s6/services (a running scanner preferred).

Commands:
  status [ --json ] [ NAME... ]          one line per service and logger (web, web/log)
  start|stop|restart|kill [ -T ms ] [ -W ] NAME...|all
                                         drive services, waiting until it took effect
  logs [ -f ] [ -n N ] NAME...           the output kept by the service's logger
  health [ --live ] [ NAME... ]          exit 0 if healthy, 1 if not (Docker HEALTHCHECK, probes)
  check [ ARGS ]                         pysix-check: lint the tree (ROOT/etc)
  run [ ARGS ]                           pysix-run: several programs, no configuration
  version                                the version
  completion bash                        the bash completion script
  help [ COMMAND ]                       this text, or a command's

Options:
  --root DIR      the tree pysix-init was started with (--root DIR)
  --scandir DIR   the live scan dir itself
  --help          this text
  --version       the version

Exit codes: 0 done; 1 did not take effect in time / a service failed /
unhealthy; 100 bad usage or unknown service; 111 no scan dir, no supervisor,
or a system error.

Example:
  pysix status && pysix restart web && pysix logs -f ticker
"""

HELP["pysix status"] = """\
usage: pysix status [ --json ] [ NAME... ]

One aligned line per service, loggers included as NAME/log (default: all):
  STATE      up, ready, starting (up, not ready yet), down, finishing,
             failed, waiting (for dependencies), done (a oneshot that
             succeeded), unsupervised (no supervisor on the directory)
  PID        the service's pid while it runs
  FOR        how long it has been in its up or down state
  DEATHS     how often it died lately: within restart-limit's SECONDS, else
             the last 60 s (from the death tally: stops asked for count too)
  LAST EXIT  how it last died: `exit N` or the signal
  REASON     why it failed or waits, `restarting`, `stopped by request`
The state is coloured on a terminal, unless NO_COLOR is set.

Options:
  --json   the same as one JSON array of objects
  --help   this text

Exit codes: 0 shown; 100 unknown service; 111 no scan dir.

Example:
  pysix status web web/log
"""

_CONTROL = """\
usage: pysix %(cmd)s [ -T ms ] [ -W ] NAME...|all

%(what)s
`all` is every service (loggers follow their services and are left alone);
NAME/log names a logger. Several services are driven in parallel.

Options:
  -T ms, --timeout=ms   give up waiting after ms milliseconds (default 10000;
                        0: wait as long as it takes)
  -W, --no-wait         send the command and return at once
  --help                this text

Exit codes: 0 done; 1 not done within the timeout, or a service failed for
good (the message names each one and its state); 100 bad usage or unknown
service; 111 no scan dir or no supervisor listening.

Example:
  pysix %(cmd)s -T 5000 %(example)s
"""
HELP["pysix start"] = _CONTROL % {"cmd": "start", "example": "web", "what": """\
Start services (wanted up from now on, s6-svc -u) and wait until each is up,
and ready where it signals readiness (notification-fd or a check). A oneshot
is run again."""}
HELP["pysix stop"] = _CONTROL % {"cmd": "stop", "example": "all", "what": """\
Stop services (wanted down from now on, s6-svc -d: the down-signal, SIGKILL
after timeout-kill) and wait until each is down."""}
HELP["pysix restart"] = _CONTROL % {"cmd": "restart", "example": "web", "what": """\
Stop, then start services, waiting for each step: works from any state,
a failed service included."""}
HELP["pysix kill"] = _CONTROL % {"cmd": "kill", "example": "worker", "what": """\
SIGKILL the services that are running and wait until they died; their
supervisors restart the ones wanted up, as after any crash."""}

HELP["pysix logs"] = """\
usage: pysix logs [ -f ] [ -n N ] NAME...

The lines a service's logger (its log/run: pysix-log, s6-log) kept: the
archives and `current`, oldest first. The logger's directory is found from
the running logger, else from log/run. TAI64N stamps are shown in local
time. With several names each line starts with `NAME | `. A service without
log/ writes to the container's stdout (`docker logs`): that is said instead.

Options:
  -f, --follow     keep printing new lines (across rotations) until Ctrl-C
  -n N, --lines=N  the last N lines of each (default 20; 0 with -f: only new ones)
  --help           this text

Exit codes: 0 shown; 1 a logger's directory could not be found; 100 bad
usage or unknown service; 111 no scan dir.

Example:
  pysix logs -f -n 50 ticker
"""

HELP["pysix health"] = """\
usage: pysix health [ --live ] [ NAME... ]

Exit 0 when every named service (default: every service and logger not
down on purpose, i.e. without a `down` file or a stop) is healthy: up, and
ready where it signals readiness (notification-fd or check), or a oneshot
that succeeded. Otherwise exit 1 with one line naming each service that is
not and its state. Failed and waiting services are never "down on purpose".
Once the whole tree is stopping (stage 3) it is unhealthy at once.
Cheap enough to run every second: it only reads files.

Options:
  --live   liveness: up is enough (a service still `starting` passes)
  --help   this text

Exit codes: 0 healthy; 1 unhealthy, or no scan dir (a probe must fail, never
exit 2, which Docker reserves); 100 bad usage or unknown service.

Example:
  HEALTHCHECK --interval=10s CMD pysix health
"""

HELP["pysix check"] = "usage: pysix check [ ARGS ]\n\nThe same as pysix-check (with --root passed on).\n\n" + \
    "See `pysix-check --help`.\n\nExample:\n  pysix --root skeleton check --strict\n"
HELP["pysix run"] = "usage: pysix run [ ARGS ]\n\nThe same as pysix-run.\n\nSee `pysix-run --help`.\n\n" + \
    "Example:\n  pysix run -- nginx -g 'daemon off;' -- ./worker.sh\n"
HELP["pysix version"] = "usage: pysix version\n\nPrints pysix's version. Exit code 0.\n\nExample:\n  pysix version\n"
HELP["pysix help"] = "usage: pysix help [ COMMAND ]\n\nHelp on pysix or one of its commands. Exit code 0.\n\n" + \
    "Example:\n  pysix help logs\n"
HELP["pysix completion"] = """\
usage: pysix completion bash

Prints a bash completion script: commands, options, and service names read
from the live scan dir when you press Tab.

Exit codes: 0; 100 a shell other than bash.

Example:
  pysix completion bash > /etc/bash_completion.d/pysix
"""

HELP["pysix-init"] = """\
usage: pysix-init [ --root DIR ] [ -- ] [ CMD ARGS... ]

The container's PID 1. Stage 1 saves the environment and copies
ROOT/etc/services.d into the live scan dir ROOT/run/pysix/services; stage 2
runs ROOT/etc/cont-init.d/*, starts every service, then CMD if given;
stage 3 (SIGTERM, SIGINT, pysix-halt, CMD exit) stops CMD, the services in
dependency order, runs ROOT/etc/cont-finish.d/* and exits. Settings are
environment variables PYSIX_NAME or S6_NAME (see README: KEEP_ENV,
BEHAVIOUR_IF_STAGE2_FAILS, CMD_WAIT_FOR_SERVICES, SERVICES_GRACETIME, ...).

Options:
  --root DIR   the tree to run (default $PYSIX_ROOT or /); state goes in
               DIR/run/pysix ($PYSIX_RUNDIR), else /tmp/pysix-UID
  --help       this text
  --version    the version

With a CMD, TERM/INT/QUIT start stage 3 and the CMD gets that same signal;
other signals are passed to the CMD (as tini does); TSTP/TTIN/TTOU stop it.

Exit codes: CMD's code (128 + signal; 128 + signal too if a stop signal came
before it started); else a `primary` service's; else pysix-halt's CODE;
else 0; a 0 becomes a failed cont-init script's code under
BEHAVIOUR_IF_STAGE2_FAILS=1/2. 100 bad usage; 111 stage 1 failed.

Example:
  pysix-init --root skeleton -- sh -c 'sleep 5; pysix status'
"""

HELP["pysix-svscan"] = """\
usage: pysix-svscan [ -p ] [ -t rescan_ms ] [ -d notif_fd ] [ SCANDIR ]

s6-svscan: one supervisor per directory of SCANDIR (default .), a logger
pipe for each NAME/log, new and removed directories noticed at once. Signals
as s6-svscan: TERM/INT stop everything, HUP rescans and stops removed
services, ALRM rescans, an executable .s6-svscan/SIGxxx replaces the default.

Options:
  -p, --prefix   prefix each output line of services without log/ with `NAME | `
  -t ms          also rescan every ms milliseconds (accepted; dnotify makes it unneeded)
  -d fd          write a newline to fd once every supervisor has started
  -c max, -X fd  accepted for s6 compatibility
  --help         this text
  --version      the version

Exit codes: 0 after a stop; 100 bad usage or scan dir in use; 111 system error.

Example:
  pysix-svscan /tmp/scan
"""

HELP["pysix-supervise"] = """\
usage: pysix-supervise DIR

s6-supervise: run DIR/run, restart it when it dies, keep DIR/supervise/
(status, control FIFO, lock, event/) byte-compatible with s6 2.11. Normally
forked by pysix-svscan or pysix-init rather than run by hand.

Options:
  --help      this text
  --version   the version

Exit codes: 0 when told to exit (s6-svc -x); 100 bad usage or DIR already
supervised; 111 system error.

Example:
  pysix-supervise /tmp/scan/web
"""

HELP["pysix-svc"] = """\
usage: pysix-svc [ -wu | -wU | -wd | -wD | -wr | -wR ] [ -T ms ] [ -abqhkti12pcyroduDUxOQ ] SERVICEDIR

s6-svc: send control letters to a service's supervisor.
  -u up (wanted up)   -d down (wanted down)   -r restart (down-signal, stays wanted up)
  -o once (start now, not restarted)   -O once, without starting
  -D / -U as -d / -u, and create / remove the `down` file   -Q as -O, and create `down`
  -x exit the supervisor once the service is down
  -p pause  -c continue  -a ALRM -b ABRT -q QUIT -h HUP -k KILL -t TERM
  -i INT -1 USR1 -2 USR2 -y WINCH
  -wu -wU -wd -wD -wr -wR  then wait until up / ready / down / finished / restarted
  -T ms      bound on that wait
  --help     this text; --version the version

Exit codes (as s6-svc): 0 done; 1 the service failed for good or its
supervisor died while waiting; 99 timed out; 100 bad usage or no supervisor
listening; 111 system error.

Example:
  pysix-svc -wU -T 5000 -u /run/pysix/services/web
"""

HELP["pysix-svstat"] = """\
usage: pysix-svstat [ -uwNrpest ] [ -o FIELDS ] [ -n ] [ --json ] SERVICEDIR...

s6-svstat: a service's state. With one SERVICEDIR the line is s6-svstat's,
byte for byte, then pysix's own state where it says more (waiting, failed,
done, restart deaths). With several, each line starts with `SERVICEDIR: `.

Options:
  -u -w -N -r -p -e -s -t   fields up, wantedup, normallyup, ready, pid,
                            exitcode, signal, updownfor
  -o FIELDS   comma list of: up wantedup normallyup ready paused pid exitcode
              signal signum updownsince readysince updownfor readyfor
  -n          signals as numbers
  --json      a JSON array, one object per SERVICEDIR, every field decoded
              (also kill_mode, cgroup and its memory_current in bytes)
  --help      this text; --version the version

Exit codes (as s6-svstat): 0 shown; 1 not supervised; 100 bad usage;
111 system error.

Example:
  pysix-svstat -o up,pid,updownfor /run/pysix/services/web
"""

HELP["pysix-svok"] = """\
usage: pysix-svok SERVICEDIR

s6-svok: is a supervisor running on SERVICEDIR?

Options:
  --help      this text
  --version   the version

Exit codes (as s6-svok): 0 yes; 1 no; 100 bad usage; 111 system error.

Example:
  pysix-svok /run/pysix/services/web && echo supervised
"""

HELP["pysix-svwait"] = """\
usage: pysix-svwait [ -u | -U | -d | -D | -r | -R ] [ -a | -o ] [ -t ms ] SERVICEDIR...

s6-svwait: wait until the services are up (-u, default), ready (-U), down
(-d), finished (-D), restarted (-r, -R: ready).

Options:
  -a      all of them (default)      -o  any one of them
  -t ms   give up after ms milliseconds (0: never)
  --help  this text; --version the version

Exit codes (as s6-svwait): 0 reached; N (at most 98) that many services
failed for good or lost their supervisor; 99 timed out; 100 bad usage;
111 system error.

Example:
  pysix-svwait -U -t 10000 /run/pysix/services/web
"""

HELP["pysix-svscanctl"] = """\
usage: pysix-svscanctl [ -zabhitqnN ] SCANDIR

s6-svscanctl: send letters to a scanner (pysix-init or pysix-svscan).
  -a rescan   -h rescan and stop removed services   -t / -i stop everything
  -q quit     -b abort   -n / -N stop services whose dir is gone   -z reap

Options:
  --help      this text
  --version   the version

Exit codes (as s6-svscanctl): 0 sent; 100 bad usage or no scanner listening;
111 system error.

Example:
  pysix-svscanctl -t /run/pysix/services
"""

HELP["pysix-install-s6-names"] = """\
usage: pysix-install-s6-names [ DIR ]

Give an image the s6 and s6-overlay v2 tool names (s6-svc, s6-svscanctl,
s6-svwait, s6-setuidgid, s6-envuidgid, s6-svstat, s6-svok, printcontenv,
with-contenv, logutil-service) as symlinks in DIR (default /usr/bin) to
pysix's commands. A name already in DIR or on PATH (the real s6) is never
replaced.

Options:
  --help      this text
  --version   the version

Exit codes: 0 done; 100 bad usage; 111 a link could not be made.

Example:
  RUN pysix-install-s6-names    # in a Dockerfile, once pysix is installed
"""

HELP["pysix-envuidgid"] = """\
usage: pysix-envuidgid [ -i | -D UID:GID[:GIDS] ] [ -n ] ACCOUNT PROG...

As s6-envuidgid: set UID, GID and GIDLIST for ACCOUNT from the system's
passwd and group files, then exec PROG (which may drop privileges with
pysix-setuidgid -U).

Options:
  -i          an unknown account is not an error
  -D U:G:GS   the values used for an unknown account
  -n          ACCOUNT is a group only
  --help, --version

Exit codes: PROG's; 1 unknown account; 100 bad usage; 126/127 PROG cannot be run.

Example:
  pysix-envuidgid nobody pysix-setuidgid -U my-daemon
"""

HELP["pysix-printcontenv"] = """\
usage: pysix-printcontenv NAME

As s6-overlay v2's printcontenv: print the saved container environment
variable NAME.

Options:
  --help, --version

Exit codes: 0 printed; 1 NAME is not set; 100 bad usage.

Example:
  pysix-printcontenv HOME
"""

HELP["pysix-logutil-service"] = """\
usage: pysix-logutil-service [ -f FIFO ] DIR

As s6-overlay v2's logutil-service, for a log/run script: run pysix-log as
nobody writing into DIR (created and given to nobody if needed), with the
directives of $S6_LOGGING_SCRIPT (n, s, T, t).

Options:
  --help, --version

Exit codes: pysix-log's; 100 bad usage; 111 DIR unusable.

Example:
  exec logutil-service /var/log/nginx    # in services.d/nginx/log/run
"""

HELP["pysix-unit-exec"] = """\
usage: pysix-unit-exec --spec FILE | --service-dir DIR -- PROG [ ARGS... ]

The exec context of a converted unit file (or of a service dir with user,
group or working-directory files): environment and environment files,
supplementary groups, gid, uid from the container's /etc/passwd and
/etc/group, working directory, ExecStartPre commands, then ExecStart.
pysix's supervisor runs it; people rarely need to.

Options:
  --spec FILE         the unit.json pysix-init wrote beside run
  --service-dir DIR   read user, group, working-directory from DIR
  --help, --version

Exit codes: the command's; 100 bad usage or spec; 111 ids or directory
could not be set.

Example:
  pysix-unit-exec --spec unit.json
"""

HELP["pysix-halt"] = """\
usage: pysix-halt [ CODE ]

Stop the container from a script: write CODE (0-255) as the exit code
pysix-init is to use, then ask the scanner to stop (stage 3). The tree is
found as `pysix` finds it: $PYSIX_SCANDIR, $PYSIX_RUNDIR, $PYSIX_ROOT,
/run/pysix, the non-root fallback /tmp/pysix-UID.

Options:
  --help      this text
  --version   the version

Exit codes: 0 asked; 100 bad usage or no pysix-init listening; 111 the exit
code could not be written.

Example:
  pysix-halt 3    # from a finish script: the container exits with 3
"""

HELP["pysix-log"] = """\
usage: pysix-log [ -s SIZE ] [ -n COUNT ] [ -t iso|tai64n|none ] [ -p PREFIX ] [ -e ] [ -l LINEMAX ] DIR

A logger for log/run: lines from stdin go to DIR/current; past SIZE it is
renamed to DIR/@<tai64n>.s and only the newest COUNT archives are kept.
Nothing is dropped: a full disk is retried every second, stdin back-pressured.

Options:
  -s SIZE     rotate past SIZE bytes (k and M suffixes; default 1000000)
  -n COUNT    archives kept (default 10)
  -t STAMP    timestamp each line: iso (UTC), tai64n, none (default)
  -p PREFIX   put PREFIX before each line
  -e          copy every line to stderr too
  -l LINEMAX  split lines longer than LINEMAX bytes (default 65536)
  --help      this text; --version the version

Exit codes: 0 end of input or TERM/INT/HUP; 100 bad usage; 111 DIR unusable
(another logger holds it).

Example (a log/run):
  exec pysix-log -t iso -n 5 -s 100k /var/log/web
"""

HELP["pysix-run"] = """\
usage: pysix-run [ -q... ] [ -d DELAY ] [ -k KILL_TIMEOUT ] -- [-][:wait:]CMD ARGS [ -- CMD ARGS ... ]

Several programs as one container, without configuration: each CMD becomes
a service of a generated tree run by pysix-init, started in order, each once
the previous one stayed up DELAY seconds. `:wait:CMD` must run to completion
first (a oneshot); `-CMD` may fail without it being an error. The first one
to exit stops all, in reverse order; nothing is restarted. It says what
dinit says: Started PID 'NAME', Child PID 'NAME' exited with status N,
Stopped child PID 'NAME', exited with status N, Exiting, status N.

Options:
  -d DELAY          seconds each command must stay up before the next (default 1, at most 86400)
  -k KILL_TIMEOUT   seconds after TERM before KILL at the stop (default 5, at most 86400)
  -q, -qq, -qqq     errors only; only the commands' own output; nothing at all
  --help            this text; --version the version

Exit codes: the first non-zero status in the order the commands ended (an exit
code, or a signal's number: a stopped sleep gives 15), `-CMD` ones left out;
0 if none; 100 bad usage.

Example:
  pysix-run -d 1 -- :wait:./manage.py migrate -- nginx -g 'daemon off;' -- -./worker.sh
"""

HELP["pysix-cron"] = """\
usage: pysix-cron -i INTERVAL [ -d DELAY ] [ -q... ] -- [-]COMMANDLINE

A periodic job as a service (its run): `/bin/sh -c COMMANDLINE` every
INTERVAL seconds, start to start, the first time after DELAY. Runs never
overlap. A failing run ends pysix-cron with its code, unless COMMANDLINE
starts with `-`. TERM/INT: the running command gets TERM (KILL 5 s later).

Options:
  -i INTERVAL   seconds between starts (required, > 0)
  -d DELAY      seconds before the first run (default 0)
  -q, -qq, -qqq only warnings and failures; only failures; nothing
  --help        this text; --version the version

Exit codes: 0 after TERM/INT; a failing run's code; 100 bad usage.

Example (a run script):
  exec pysix-cron -i 3600 -- 'find /tmp -mtime +1 -delete'
"""

HELP["pysix-setuidgid"] = """\
usage: pysix-setuidgid USER[:GROUP] PROG [ ARGS... ]

s6-setuidgid / chpst -u: exec PROG as USER, with its primary group (or
GROUP's) and supplementary groups, HOME, USER and LOGNAME set. USER and
GROUP may be numeric.

Options:
  --help      this text
  --version   the version

Exit codes: PROG's once it runs; 100 bad usage or unknown user/group; 111
cannot change ids; 126/127 PROG cannot be run.

Example (a run script):
  exec pysix-setuidgid www-data nginx -g 'daemon off;'
"""

HELP["pysix-check"] = """\
usage: pysix-check [ --strict ] [ --root DIR ]

Lint ROOT/etc/{cont-init.d,services.d,cont-finish.d} before it ships (a
RUN line of a Dockerfile): scripts that cannot run, bad service files,
dependency cycles, unknown names. One line per finding on stdout
(`ERROR path: what`, `WARNING path: what`), a summary on stderr.

Options:
  --strict     warnings fail too
  --root DIR   the tree (default $PYSIX_ROOT or /)
  --help       this text; --version the version

Exit codes: 0 clean; 1 an error (or, with --strict, a warning); 100 bad usage.

Example:
  pysix-check --root skeleton --strict
"""

HELP["with-contenv"] = """\
usage: with-contenv PROG [ ARGS... ]

Run PROG with the container environment pysix-init saved (exactly that,
plus the current PYSIX_* variables), as s6-overlay's with-contenv does;
usable as a shebang: `#!/usr/bin/with-contenv sh`. Without a saved
environment (PYSIX_KEEP_ENV=1) PROG gets the current one.

Options:
  --help      this text
  --version   the version

Exit codes: PROG's; 100 bad usage; 111 the saved environment is unreadable;
126/127 PROG cannot be run.

Example:
  #!/usr/bin/with-contenv sh
"""


def text(prog: str) -> str:
    return HELP.get(prog) or "usage: %s\n\nSee README.md.\n" % prog


def version(prog: str) -> str:
    return "%s (pysix) %s\n" % (prog, VERSION)


def answer(argv0: str, flag: str) -> int:
    """What pysix.cli.run_main() calls for `PROG --help` / `PROG --version`."""
    import sys
    prog = os.path.basename(argv0)
    sys.stdout.write(text(prog) if flag == "--help" else version(prog))
    return 0
