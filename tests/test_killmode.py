"""kill-mode: what run leaves behind dies with it (cgroup v2, else the session); `process` keeps s6's way."""
import json
import os
import shutil
import signal
import subprocess

import pytest

from helpers import make_sd, pid_alive, stop, up_pid
from helpers import wait_for as _wait_for

from pysix.killmode import parse_mode
from pysix.lockprobe import lock_holder


def wait_for(pred, timeout=30.0, **kw):
    return _wait_for(pred, timeout=timeout, **kw)


def child_of(sd, n=1):
    fn = os.path.join(sd, "child%d" % n)
    wait_for(lambda: os.path.exists(fn) and open(fn).read().strip(), what=fn)
    return int(open(fn).read())


def track_new_children(procs, sd, old1, old2):
    """The children a restarted run made (its files rewritten), ended at the test's end."""
    n1 = wait_for(lambda: (lambda n: n if n != old1 else 0)(child_of(sd, 1)), what="new child1")
    n2 = wait_for(lambda: (lambda n: n if n != old2 else 0)(child_of(sd, 2)), what="new child2")
    procs.track(n1, n2)
    return n1, n2


# Two leftovers: one in run's session, one that left it with setsid.
RUN = "sleep 1000 & echo $! > child1; setsid sleep 1000 & echo $! > child2; exec sleep 1000"


def test_parse_mode():
    assert parse_mode(None) == ("control-group", None)
    assert parse_mode(b"process\n") == ("process", None)
    mode, why = parse_mode(b"cgroups")
    assert mode == "control-group" and "kill-mode: 'cgroups'" in why


def test_session_mode_ends_leftovers_at_death_and_down(tmp, procs):
    scan = os.path.join(tmp, "scan")
    sd = make_sd(os.path.join(scan, "web"), RUN)
    env = dict(os.environ, PYSIX_CGROUP_ROOT="/nonexistent")   # session mode wherever this runs
    p = procs.start(["pysix-svscan", scan], env=env)
    pid = wait_for(lambda: up_pid(sd), what="up")
    c1, c2 = child_of(sd, 1), child_of(sd, 2)
    procs.track(c1, c2)
    # child2 is written before its setsid() ran: killed before it, it is still in run's session.
    wait_for(lambda: os.getsid(c2) == c2, what="child2 in a session of its own")
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not pid_alive(c1), what="session leftover ended")
    assert pid_alive(c2)        # left the session: only a cgroup catches it
    os.kill(c2, signal.SIGKILL)
    # svc -d: the same through the down signal.
    wait_for(lambda: up_pid(sd) and up_pid(sd) != pid, what="restarted")
    old1, old2 = c1, c2
    c1 = wait_for(lambda: (lambda n: n if n != old1 else 0)(child_of(sd, 1)), what="new child1")
    procs.track(c1, wait_for(lambda: (lambda n: n if n != old2 else 0)(child_of(sd, 2)), what="new child2"))
    subprocess.run(["pysix-svc", "-d", sd], check=True, timeout=20)
    wait_for(lambda: not pid_alive(c1), what="leftover ended by svc -d")
    assert not os.path.exists(os.path.join(sd, "supervise", "pysix-cgroup"))
    stop(p)


def test_process_mode_leaves_them(tmp, procs):
    scan = os.path.join(tmp, "scan")
    sd = make_sd(os.path.join(scan, "web"), RUN, kill_mode="process\n")
    p = procs.start(["pysix-svscan", scan])
    pid = wait_for(lambda: up_pid(sd), what="up")
    c1, c2 = child_of(sd, 1), child_of(sd, 2)
    procs.track(c1, c2)
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: up_pid(sd) and up_pid(sd) != pid, what="restarted")
    track_new_children(procs, sd, c1, c2)     # they live on too: ended by pid at the end
    assert pid_alive(c1)
    stop(p)


def _cgroup2_in_a_mount_namespace():
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return False
    r = subprocess.run(["unshare", "--mount", "sh", "-c", "mount -t cgroup2 none /sys/fs/cgroup"],
                       capture_output=True, timeout=20)
    return r.returncode == 0


@pytest.mark.skipif(not _cgroup2_in_a_mount_namespace(), reason="needs root and a mountable cgroup2")
def test_cgroup_mode_ends_everything_even_what_left_the_session(tmp, procs):
    scan = os.path.join(tmp, "scan")
    sd = make_sd(os.path.join(scan, "web"), RUN)
    # A private mount namespace where /sys/fs/cgroup is a real cgroup2 hierarchy.
    p = procs.start(["unshare", "--mount", "sh", "-c",
                     "mount -t cgroup2 none /sys/fs/cgroup && exec pysix-svscan \"$0\"", scan])
    pid = wait_for(lambda: up_pid(sd), what="up")
    c1, c2 = child_of(sd, 1), child_of(sd, 2)
    procs.track(c1, c2)
    cg = open(os.path.join(sd, "supervise", "pysix-cgroup")).read().strip()
    assert cg.startswith("/sys/fs/cgroup/pysix-") and cg.endswith("/web")
    js = json.loads(subprocess.run(["pysix-svstat", "--json", sd], capture_output=True, text=True,
                                   timeout=20).stdout)[0]
    assert js["kill_mode"] == "control-group" and js["cgroup"] == cg and "memory_current" in js
    with open("/proc/%d/cgroup" % c2) as f:
        assert f.read().strip().endswith(cg[len("/sys/fs/cgroup"):])
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not pid_alive(c1) and not pid_alive(c2), what="the whole cgroup ended")
    new = wait_for(lambda: up_pid(sd) != pid and up_pid(sd), what="restarted")
    n1 = wait_for(lambda: (lambda n: n if n != c1 else 0)(child_of(sd, 1)), what="new child1")
    n2 = wait_for(lambda: (lambda n: n if n != c2 else 0)(child_of(sd, 2)), what="new child2")
    procs.track(n1, n2)
    stop(p)      # the final stop ends the whole group too, and removes it
    assert not pid_alive(new)
    wait_for(lambda: not pid_alive(n1) and not pid_alive(n2), what="leftovers ended by the final stop")


def _adoption_ends_leftovers(tmp, procs, cgroup):
    """A supervisor SIGKILLed, the next one adopts its run; the run dies: its leftovers go too."""
    scan = os.path.join(tmp, "scan")
    sd = make_sd(os.path.join(scan, "web"), RUN)
    err = os.path.join(tmp, "err")
    if cgroup:
        p = procs.start(["unshare", "--mount", "sh", "-c",
                         "mount -t cgroup2 none /sys/fs/cgroup && exec pysix-svscan \"$0\"", scan],
                        stderr=open(err, "wb"))
    else:
        p = procs.start(["pysix-svscan", scan], stderr=open(err, "wb"),
                        env=dict(os.environ, PYSIX_CGROUP_ROOT="/nonexistent"))
    pid = wait_for(lambda: up_pid(sd), what="up")
    c1, c2 = child_of(sd, 1), child_of(sd, 2)
    procs.track(c1, c2)
    lock = os.path.join(sd, "supervise", "lock")
    sup = wait_for(lambda: lock_holder(lock), what="supervisor")
    os.kill(sup, signal.SIGKILL)
    wait_for(lambda: ("took over run (pid %d)" % pid) in open(err).read(), what="run adopted")
    assert lock_holder(lock) not in (0, sup) and up_pid(sd) == pid
    os.kill(pid, signal.SIGKILL)
    try:
        wait_for(lambda: not pid_alive(c1), what="the adopted run's leftover ended")
        if cgroup:
            wait_for(lambda: not pid_alive(c2), what="the whole cgroup ended")
        wait_for(lambda: up_pid(sd) not in (0, pid), what="restarted")
        track_new_children(procs, sd, c1, c2)
        stop(p)
    finally:    # a failed wait: what the restarted run made is ended too
        for n in (1, 2):
            try:
                procs.track(int(open(os.path.join(sd, "child%d" % n)).read()))
            except (OSError, ValueError):
                pass


def test_adopted_run_leftovers_ended_session_mode(tmp, procs):
    _adoption_ends_leftovers(tmp, procs, cgroup=False)


@pytest.mark.skipif(not _cgroup2_in_a_mount_namespace(), reason="needs root and a mountable cgroup2")
def test_adopted_run_leftovers_ended_cgroup_mode(tmp, procs):
    _adoption_ends_leftovers(tmp, procs, cgroup=True)


# memory accounting: the controllers for the services' groups ------------------------

class FakeCgroupFS:
    """cgroup v2's rules that matter here, in memory: a child gets what its parent's
    subtree_control lists; a non-root group with processes can list nothing."""
    ROOT = "/cg"

    def __init__(self, available, base_procs, given=()):
        self.groups = {self.ROOT: {"procs": set(), "sub": set(available)}}
        self.base = self.ROOT + "/ctr"
        self.groups[self.base] = {"procs": set(base_procs), "sub": set(given)}
        self.writes = []

    def controllers(self, g):
        return self.groups[os.path.dirname(g)]["sub"]

    def make(self, path):
        self.groups.setdefault(path, {"procs": set(), "sub": set()})

    def words(self, path):
        g, f = os.path.split(path)
        if f == "cgroup.controllers":
            return sorted(self.controllers(g))
        if f == "cgroup.subtree_control":
            return sorted(self.groups[g]["sub"])
        return [str(p) for p in sorted(self.groups[g]["procs"])]

    def write(self, path, text):
        import errno
        g, f = os.path.split(path)
        self.writes.append((path, text))
        if f == "cgroup.procs":
            if self.groups[g]["sub"]:
                raise OSError(errno.EBUSY, "busy", path)
            for other in self.groups.values():
                other["procs"].discard(int(text))
            self.groups[g]["procs"].add(int(text))
            return
        for word in text.split():
            c = word[1:]
            if c not in self.controllers(g):
                raise OSError(errno.ENOENT, "no such controller", path)
            if self.groups[g]["procs"] and g != self.ROOT:
                raise OSError(errno.EBUSY, "no internal processes", path)
            self.groups[g]["sub"].add(c)


@pytest.fixture
def fakecg(monkeypatch):
    from pysix import cgroup

    def make(available, base_procs, given=()):
        fs = FakeCgroupFS(available, base_procs, given)
        monkeypatch.setattr(cgroup, "_words", fs.words)
        monkeypatch.setattr(cgroup, "_write", fs.write)
        monkeypatch.setattr(cgroup, "make", fs.make)
        fs.tree = fs.base + "/pysix-0123456789"
        fs.make(fs.tree)
        return fs
    return make


def test_pid1_moves_into_a_leaf_and_enables_memory(fakecg):
    from pysix.cgroup import enable_controllers
    fs = fakecg(["cpu", "memory", "pids", "io"], [1, 40, 41])
    assert enable_controllers(fs.base, fs.tree, pid1=True) == ""
    assert fs.groups[fs.base + "/pysix-init"]["procs"] == {1, 40, 41}
    assert fs.groups[fs.base]["procs"] == set()
    assert fs.groups[fs.base]["sub"] == {"memory", "pids"}      # only these two, nothing else
    assert fs.groups[fs.tree]["sub"] == {"memory", "pids"}
    assert fs.controllers(fs.tree + "/web") == {"memory", "pids"}   # what a service's group gets


def test_not_pid1_enables_only_what_the_base_gives(fakecg):
    from pysix.cgroup import enable_controllers
    fs = fakecg(["memory", "pids"], [7])
    why = enable_controllers(fs.base, fs.tree, pid1=False)
    assert "does not give memory" in why and "not PID 1" in why
    assert fs.groups[fs.base]["procs"] == {7} and fs.writes == []   # nothing moved
    fs = fakecg(["memory", "pids"], [7], given=["memory"])    # delegated: memory only
    assert enable_controllers(fs.base, fs.tree, pid1=False) == ""  # no pids: no warning
    assert fs.groups[fs.tree]["sub"] == {"memory"} and fs.groups[fs.base]["procs"] == {7}


def test_no_memory_controller_in_the_hierarchy_is_silent(fakecg):
    from pysix.cgroup import enable_controllers
    fs = fakecg(["hugetlb"], [1])      # memory bound to cgroup v1 (a hybrid host)
    assert enable_controllers(fs.base, fs.tree, pid1=True) == "" and fs.writes == []


def test_prepare_tree_never_fails_the_boot(fakecg, monkeypatch):
    from pysix import cgroup
    monkeypatch.setattr(cgroup, "_tree", None)      # restored at the end: prepare_tree sets it
    fs = fakecg(["memory"], [1])
    monkeypatch.setattr(cgroup, "base", lambda: fs.base)
    monkeypatch.setattr(cgroup, "_at_namespace_root", lambda: True)

    def broken(path, text):
        raise OSError(13, "Permission denied", path)
    monkeypatch.setattr(cgroup, "_write", broken)
    said = []
    cgroup.prepare_tree("/scan", said.append)
    assert len(said) == 1 and "Permission denied" in said[0] and "memory_current stays null" in said[0]
    monkeypatch.setattr(cgroup, "_words", lambda path: 1 / 0)
    said = []
    cgroup.prepare_tree("/scan", said.append)
    assert len(said) == 1 and "ZeroDivisionError" in said[0]


def test_service_path_is_under_the_scanners_tree(monkeypatch):
    from pysix import cgroup
    monkeypatch.setattr(cgroup, "_tree", None)
    t = cgroup.tree_path("/cg", "/run/scan")
    assert cgroup.service_path("/cg", "/run/scan/web", "web") == t + "/web"
    assert cgroup.service_path("/cg", "/run/scan/web/log", "web/log") == t + "/web.log"   # the same tree


def _cgroup_namespaces():
    if not _cgroup2_in_a_mount_namespace() or not shutil.which("nsenter"):
        return False
    r = subprocess.run(["unshare", "--cgroup", "--pid", "--fork", "--mount", "--mount-proc", "true"],
                       capture_output=True, timeout=20)
    return r.returncode == 0


# In a private mount namespace: the real cgroup2 hierarchy, a group of the test's
# own under its root, and in there a container's namespaces with pysix-svscan as
# PID 1 at the root of its own cgroup namespace. The group goes when it ends.
CONTAINER = r"""
mount -t cgroup2 none /sys/fs/cgroup || exit 1
cg=/sys/fs/cgroup/pysix-test-$$
mkdir $cg && echo $$ > $cg/cgroup.procs || exit 1
unshare --cgroup --pid --fork --mount --mount-proc --kill-child sh -c     'umount /sys/fs/cgroup && mount -t cgroup2 none /sys/fs/cgroup && exec pysix-svscan "$0"' "$1" &
child=$!
trap 'kill -TERM $child' TERM
wait $child; wait $child
echo $$ > /sys/fs/cgroup/cgroup.procs
find $cg -depth -type d -exec rmdir {} + 2>/dev/null
rmdir $cg 2>/dev/null
exit 0
"""


@pytest.mark.skipif(not _cgroup_namespaces(), reason="needs root, a mountable cgroup2 and namespaces")
def test_pid1_in_a_container_gets_memory_accounting(tmp, procs):
    scan = os.path.join(tmp, "scan")
    sd = make_sd(os.path.join(scan, "web"), "exec sleep 1000")
    err = os.path.join(tmp, "err")
    p = procs.start(["unshare", "--mount", "sh", "-c", CONTAINER, "container", scan], stderr=open(err, "wb"))
    wait_for(lambda: up_pid(sd), what="up")     # a pid of the container's namespace
    scanner = wait_for(lambda: lock_holder(os.path.join(scan, ".s6-svscan", "lock")), what="scanner")
    inside = ["nsenter", "-t", str(scanner), "-m"]

    def cat(path):
        return subprocess.run(inside + ["cat", path], capture_output=True, text=True, timeout=20).stdout

    try:
        available = cat("/sys/fs/cgroup/cgroup.controllers").split()
        js = json.loads(subprocess.run(inside + ["pysix-svstat", "--json", sd], capture_output=True,
                                       text=True, timeout=20).stdout)[0]
        cg = js["cgroup"]
        assert cg.startswith("/sys/fs/cgroup/pysix-") and cg.endswith("/web")
        assert "warning: cgroup" not in open(err).read()
        if "memory" not in available:
            pytest.skip("no memory controller in this cgroup2 hierarchy (%s): bound to cgroup v1?"
                        % " ".join(available))
        # PID 1 left the namespace root for a leaf, so the root could give memory on.
        assert "1" in cat("/sys/fs/cgroup/pysix-init/cgroup.procs").split()
        assert cat("/sys/fs/cgroup/cgroup.procs").split() == []
        assert "memory" in cat("/sys/fs/cgroup/cgroup.subtree_control").split()
        assert "memory" in cat(os.path.dirname(cg) + "/cgroup.subtree_control").split()
        assert isinstance(js["memory_current"], int) and js["memory_current"] > 0
    finally:
        os.kill(scanner, signal.SIGTERM)
        p.wait(20)
    assert p.returncode == 0
