"""cgroup v2 for services: find a writable hierarchy, make a service's group, end it.

Used only when /sys/fs/cgroup itself is a cgroup2 mount we may write (the
usual case in a container with its own cgroup namespace); a hybrid host's
/sys/fs/cgroup/unified is not used by default (PYSIX_CGROUP_ROOT names any
mount, for tests). A service's group is `<our cgroup>/pysix-<id>/<name>`, where <id>
is derived from the scan dir, so two trees on one host never share groups.
"""
import errno
import os
import time

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import List, Optional

MOUNT = "/sys/fs/cgroup"
INIT_LEAF = "pysix-init"    # where a PID 1 moves itself so its cgroup may enable controllers
CONTROLLERS = ("memory", "pids")     # enabled for the services' groups where available
KILL_WAIT = 1.0             # seconds cgroup.kill is given to empty a group


def _is_cgroup2(path: str) -> bool:
    try:
        with open("/proc/self/mountinfo") as f:
            for line in f:
                pre, _, post = line.partition(" - ")
                parts = pre.split()
                if len(parts) > 4 and parts[4] == path and post.split()[:1] == ["cgroup2"]:
                    return True
    except OSError:
        pass
    return False


_base: "Optional[tuple]" = None    # (answer,): read once, by the scanner before its forks (speed.py)


def base() -> "Optional[str]":
    """The writable cgroup2 dir this process is in, or None (session mode).

    Read once: a forked supervisor is where its scanner was, and a PID 1 that
    moves itself into INIT_LEAF later keeps the same answer (see _find_base)."""
    global _base
    if _base is None:
        _base = (_find_base(),)
    return _base[0]


def _find_base() -> "Optional[str]":
    root = os.environ.get("PYSIX_CGROUP_ROOT") or MOUNT
    if not _is_cgroup2(root):
        return None
    rel = _own_cgroup()
    if rel is None:
        return None
    if os.path.basename(rel) == INIT_LEAF:     # a PID 1 that moved itself there (enable_controllers)
        rel = os.path.dirname(rel)
    path = os.path.normpath(root + "/" + rel.lstrip("/"))
    if not os.path.isdir(path):     # a cgroup namespace we are not at the root of: use the mount root
        path = root
    return path if os.access(path, os.W_OK) else None


def tree_path(cg_base: str, scandir: str) -> str:
    """`<base>/pysix-<id>`: the parent of one scan dir's service groups."""
    import hashlib      # only where a cgroup is used: its import costs ms
    tree = hashlib.sha1(os.path.realpath(scandir).encode("utf-8", "surrogateescape")).hexdigest()[:10]
    return os.path.join(cg_base, "pysix-" + tree)


_tree: "Optional[str]" = None     # set by the scanner before its forks (prepare_tree)


def service_path(cg_base: str, service_dir: str, name: str) -> str:
    """A service's group; `name` is its path below the scan dir (`web`, `web/log`)."""
    tree = _tree
    if tree is None or os.path.dirname(tree) != cg_base:   # pysix-supervise alone: from the dir
        scandir = os.path.realpath(service_dir)
        for _ in name.split("/"):
            scandir = os.path.dirname(scandir)
        tree = tree_path(cg_base, scandir)
    return os.path.join(tree, name.replace("/", "."))


def make(path: str) -> None:
    os.makedirs(path, exist_ok=True)


def enter(path: str, pid: int) -> None:
    with open(os.path.join(path, "cgroup.procs"), "w") as f:
        f.write("%d\n" % pid)


def procs(path: str) -> "List[int]":
    """Every pid in the group and its descendants."""
    out: List[int] = []
    for d, subdirs, _ in os.walk(path):
        try:
            with open(os.path.join(d, "cgroup.procs")) as f:
                out.extend(int(x) for x in f.read().split())
        except (OSError, ValueError):
            pass
    return out


def kill_all(path: str) -> bool:
    """cgroup.kill (SIGKILL to every member, atomically); False where the kernel has none."""
    try:
        with open(os.path.join(path, "cgroup.kill"), "w") as f:
            f.write("1")
        return True
    except OSError:
        return False


def wait_empty(path: str, timeout: float = KILL_WAIT) -> bool:
    deadline = time.monotonic() + timeout
    delay = 0.001
    while procs(path):
        if time.monotonic() > deadline:
            return False
        time.sleep(delay)
        delay = min(0.05, delay * 2)
    return True


def remove(path: str) -> None:
    """rmdir the group (and its parent, once empty); a busy one stays."""
    for d in (path, os.path.dirname(path)):
        try:
            os.rmdir(d)
        except OSError:
            return


def memory_current(path: str) -> "Optional[int]":
    try:
        with open(os.path.join(path, "memory.current")) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


# Controllers for the services' groups -------------------------------------------------
# In cgroup v2 a group gets a controller only when its parent lists it in
# cgroup.subtree_control, and a non-root group with processes of its own
# cannot list any (the "no internal processes" rule). The services' parent
# `<base>/pysix-<id>` has none, so it can enable what `<base>` gives it; the
# scanner lives in `<base>`, so `<base>` can give something only where it
# already does, or where the scanner is PID 1 at the root of its cgroup
# namespace (a container): then everything in `<base>` moves into the leaf
# `<base>/pysix-init` (systemd's init.scope) and `<base>` enables them.
# runc and crun put `docker exec`'s processes into PID 1's cgroup when the
# container's own refuses them.

def _words(path: str) -> "List[str]":
    with open(path) as f:
        return f.read().split()


def _write(path: str, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)


def _at_namespace_root() -> bool:
    """PID 1 whose cgroup is its namespace's root (or the leaf it moved itself to)."""
    return os.getpid() == 1 and _own_cgroup() in ("/", "/" + INIT_LEAF)


def _own_cgroup() -> "Optional[str]":
    """This process's cgroup v2 path (the `0::` line of /proc/self/cgroup), or None."""
    try:
        with open("/proc/self/cgroup") as f:
            return next((ln[3:].strip() for ln in f if ln.startswith("0::")), None)
    except OSError:
        return None


def _move_all(src: str, dst: str) -> None:
    """Every process of `src` into `dst`; a few passes for what forks meanwhile."""
    for _ in range(5):
        pids = _words(os.path.join(src, "cgroup.procs"))
        if not pids:
            return
        for pid in pids:
            try:
                _write(os.path.join(dst, "cgroup.procs"), pid)
            except OSError as e:
                if e.errno != errno.ESRCH:    # gone meanwhile
                    raise


def _enable(group: str, names: "List[str]") -> None:
    """+NAME in `group`/cgroup.subtree_control; EBUSY right after a move is retried (crun does)."""
    for attempt in range(20):
        try:
            _write(os.path.join(group, "cgroup.subtree_control"), " ".join("+" + n for n in names))
            return
        except OSError as e:
            if e.errno != errno.EBUSY or attempt == 19:
                raise
            time.sleep(0.005)


def enable_controllers(cg_base: str, tree: str, pid1: "Optional[bool]" = None) -> str:
    """Give `tree`'s children CONTROLLERS where the hierarchy has them: '' or why not."""
    have = _words(os.path.join(cg_base, "cgroup.controllers"))
    want = [c for c in CONTROLLERS if c in have]
    if not want:
        return ""       # not in this hierarchy (bound to cgroup v1, or not delegated): nothing to do
    given = _words(os.path.join(cg_base, "cgroup.subtree_control"))
    missing = [c for c in want if c not in given]
    why = ""
    if missing and (_at_namespace_root() if pid1 is None else pid1):
        leaf = os.path.join(cg_base, INIT_LEAF)
        make(leaf)
        _move_all(cg_base, leaf)
        _enable(cg_base, missing)
        given = given + missing
    elif "memory" in missing:
        why = "%s does not give memory to its children (cgroup.subtree_control) and pysix is not " \
              "PID 1 of its cgroup namespace" % cg_base
    now = _words(os.path.join(tree, "cgroup.subtree_control"))
    todo = [c for c in want if c in given and c not in now]
    if todo:
        _enable(tree, todo)
    return why


def prepare_tree(scandir: str, warn) -> None:
    """In the scanner, once before its first fork: make `<base>/pysix-<id>` and
    enable memory (and pids) for the services' groups. Never fatal: one warning at most."""
    global _tree
    b = base()
    if b is None:
        return
    try:
        _tree = tree_path(b, scandir)
        make(_tree)
        why = enable_controllers(b, _tree)
    except OSError as e:
        why = "%s (%s)" % (e.strerror, getattr(e, "filename", None) or b)
    except Exception as e:      # a surprise must not stop the boot
        why = repr(e)
    if why:
        warn("cgroup: cannot enable memory accounting for the services (memory_current stays null): " + why)
