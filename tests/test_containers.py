"""Real containers (../shared/container-lab.sh): the skeleton image, the README's
Dockerfile, and an s6-overlay v2-style image run unchanged except for the entrypoint.

Marked `container`: skipped, with the reason, when the lab cannot start. Images
are built once per session; docker's layer cache makes later runs fast.
"""
import os
import re
import shutil
import subprocess
import tempfile
import time

import pytest

pytestmark = pytest.mark.container

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LAB = os.environ.get("CLAB_SCRIPT") or os.path.join(os.path.dirname(REPO), "shared", "container-lab.sh")
BASE = "localhost/clab-base:" + os.environ.get("CLAB_SUITE", "bookworm")
TAG = "localhost/pysix-test-%s:latest"


def sh(args, timeout=120, check=True, **kw):
    r = subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kw)
    if check and r.returncode != 0:
        raise AssertionError("%s exited %d:\n%s%s" % (" ".join(args), r.returncode, r.stdout[-3000:],
                                                      r.stderr[-3000:]))
    return r


def build(ctx, dockerfile_text, name):
    """Build with the lab (the engine reaches no registry; RUN steps get the host network)."""
    with tempfile.NamedTemporaryFile("w", suffix=".Dockerfile", delete=False) as f:
        f.write(dockerfile_text)
    try:
        sh(["bash", LAB, "build", ctx, "--tag", TAG % name, "-f", f.name], timeout=600)
    finally:
        os.unlink(f.name)
    return TAG % name


def no_registry(dockerfile_text, base):
    """The same Dockerfile FROM an image of the lab (python:3.12-slim needs a registry)."""
    return re.sub(r"(?m)^FROM python:3\.12-slim$", "FROM " + base, dockerfile_text)


@pytest.fixture(scope="session")
def images():
    if not os.path.exists(LAB):
        pytest.skip("container lab script not found at %s (set CLAB_SCRIPT)" % LAB)
    try:
        r = sh(["bash", LAB, "setup"], timeout=900, check=False)
    except subprocess.TimeoutExpired:
        pytest.skip("container lab setup took longer than 900 s")
    if r.returncode != 0:
        pytest.skip("container lab cannot start: %s" % (r.stderr.strip().splitlines() or ["?"])[-1])
    t0 = time.monotonic()
    # A base like python:3.12-slim (pip on PATH), plus execline for the v2 scripts.
    empty = tempfile.mkdtemp(prefix="pysix-ctx-")
    base = build(empty, "FROM %s\nRUN apt-get update -qq && apt-get install -y -qq execline >/dev/null "
                       "&& python3 -m venv /opt/venv\n"
                       "ENV PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"
                 % BASE, "base")
    os.rmdir(empty)
    with open(os.path.join(REPO, "skeleton", "Dockerfile")) as f:
        skeleton = build(REPO, no_registry(f.read(), base), "skeleton")
    with open(os.path.join(REPO, "README.md")) as f:
        snippet = re.search(r"```dockerfile\n(.*?)```", f.read(), re.S).group(1)
    readme = build(REPO, no_registry(snippet, base), "readme")
    ctx = tempfile.mkdtemp(prefix="pysix-v2-")
    try:
        v2_tree(ctx)
        v2 = build(ctx, "FROM %s\nRUN rm -rf /etc/services.d /etc/cont-init.d /etc/cont-finish.d "
                        "&& mkdir -m 0700 /var/log/app\nCOPY etc/ /etc/\nRUN pysix-check\n" % readme, "v2")
    finally:
        shutil.rmtree(ctx, ignore_errors=True)
    # The same image with Debian's s6 too: the real tools keep their names and drive pysix.
    empty = tempfile.mkdtemp(prefix="pysix-ctx-")
    v2s6 = build(empty, "FROM %s\nRUN apt-get install -y -qq s6 >/dev/null\n" % v2, "v2s6")
    os.rmdir(empty)
    print("container images built in %.1f s" % (time.monotonic() - t0))
    return {"skeleton": skeleton, "readme": readme, "v2": v2, "v2s6": v2s6}


def v2_tree(ctx):
    """An s6-overlay v2 image's /etc: sh and execline scripts, all mode 0644 as v2 allowed."""
    files = {
        "fix-attrs.d/01-logs": "/var/log/app true nobody 0644 0755\n",
        "cont-init.d/10-add": (
            "#!/bin/sh\n"
            "printf 'from-cont-init' > /var/run/s6/container_environment/ADDED\n"
            "mkdir -p /etc/services.d/late\n"
            "printf '#!/bin/sh\\ntrap \"echo late-hup\" HUP\\necho late-started\\n"
            "while :; do sleep 0.1; done\\n' > /etc/services.d/late/run\n"),
        "cont-init.d/20-execline": "#!/bin/execlineb -P\nforeground { echo cont-init-execline }\n",
        "services.d/app/run": (
            "#!/usr/bin/with-contenv sh\n"
            "echo \"app: cwd=$(pwd) added=${ADDED}\"\n"
            "while [ ! -e /tmp/go ]; do sleep 0.1; done\n"
            "exit 3\n"),
        # The v2 recipe: write the code, stop the container. Written every time (a finish run
        # again by a restart during stage 3 would overwrite 3 with 256, i.e. exit code 0).
        "services.d/app/finish": (
            "#!/bin/execlineb -S1\n"
            "foreground { redirfd -w 1 /var/run/s6/env-stage3/S6_STAGE2_EXITED echo ${1} }\n"
            "s6-svscanctl -t /var/run/s6/services\n"),
        "services.d/logged/run": "#!/bin/sh\necho logged-line\nexec sleep 1000\n",
        "services.d/logged/log/run": "#!/bin/sh\nexec logutil-service /var/log/app\n",
    }
    for rel, text in files.items():
        fn = os.path.join(ctx, "etc", rel)
        os.makedirs(os.path.dirname(fn), exist_ok=True)
        with open(fn, "w") as f:
            f.write(text)
        os.chmod(fn, 0o644)


class Container:
    def __init__(self, image, *args):
        self.name = "pysix-test-%d-%d" % (os.getpid(), time.monotonic_ns() % 10**9)
        sh(["docker", "run", "-d", "--label", "clab=1", "--network", "none", "--name", self.name, image]
           + list(args), timeout=60)

    def logs(self):
        r = sh(["docker", "logs", self.name], check=False, timeout=30)
        return r.stdout + r.stderr

    def wait_logs(self, *needles, timeout=30.0):
        deadline = time.monotonic() + timeout
        while True:
            text = self.logs()
            if all(n in text for n in needles):
                return text
            if time.monotonic() > deadline:
                raise AssertionError("timed out waiting for %r in the logs:\n%s" % (needles, text[-3000:]))
            time.sleep(0.1)

    def exec(self, *cmd, check=True):
        return sh(["docker", "exec", self.name] + list(cmd), timeout=30, check=check)

    def wait_exit(self, timeout=30):
        return int(sh(["docker", "wait", self.name], timeout=timeout).stdout.strip())

    def stop(self, grace=10):
        t0 = time.monotonic()
        sh(["docker", "stop", "-t", str(grace), self.name], timeout=grace + 30)
        took = time.monotonic() - t0
        return int(sh(["docker", "inspect", "-f", "{{.State.ExitCode}}", self.name]).stdout.strip()), took

    def remove(self):
        subprocess.run(["docker", "rm", "-f", self.name], capture_output=True, timeout=60)


@pytest.fixture
def container():
    made = []

    def start(image, *args):
        c = Container(image, *args)
        made.append(c)
        return c
    yield start
    for c in made:
        c.remove()


UP = re.compile(r"^up \(pid \d+\) \d+ seconds(, ready \d+ seconds)?\n$")


@pytest.mark.parametrize("which", ["skeleton", "readme"])
def test_skeleton_image_boots_runs_services_and_stops_in_order(images, container, which):
    c = container(images[which])
    c.wait_logs("cont-init: preparing the container", "web: serving ", "worker: job 1 done")
    assert UP.match(c.exec("s6-svstat", "/var/run/s6/services/web").stdout)
    c.exec("s6-svc", "-r", "/var/run/s6/services/worker")
    c.wait_logs("worker: stopped (code 256, signal 15)")
    code, took = c.stop()
    text = c.logs()
    assert code == 0, text
    assert took < 5, took
    assert "cont-finish: all services stopped" in text


@pytest.mark.parametrize("which", ["v2", "v2s6"])
def test_v2_image_unchanged_but_the_entrypoint(images, container, which):
    c = container(images[which])
    c.wait_logs("cont-init-execline", "late-started", "app: cwd=/run/s6/services/app added=from-cont-init")
    assert c.exec("printcontenv", "ADDED").stdout == "from-cont-init\n"
    real = c.exec("readlink", "-f", "/usr/bin/s6-svc").stdout.strip()
    assert (real == "/usr/bin/s6-svc") == (which == "v2s6"), real   # the real tool, when installed
    c.exec("s6-svc", "-h", "/var/run/s6/services/late")
    c.wait_logs("late-hup")
    assert UP.match(c.exec("s6-svstat", "/var/run/s6/services/app").stdout)
    # logutil-service: /var/log/app, made nobody's by fix-attrs.d, written as nobody.
    deadline = time.monotonic() + 10
    while "logged-line" not in c.exec("cat", "/var/log/app/current", check=False).stdout:
        assert time.monotonic() < deadline, c.logs()
        time.sleep(0.1)
    assert c.exec("stat", "-c", "%U", "/var/log/app", "/var/log/app/current").stdout == "nobody\nnobody\n"
    # The v2 exit-code recipe: the finish writes 3 and runs s6-svscanctl -t.
    c.exec("touch", "/tmp/go")
    assert c.wait_exit() == 3, c.logs()


def test_v2_image_docker_stop_exits_0_at_once(images, container):
    c = container(images["v2"])
    c.wait_logs("late-started", "app: cwd=")
    code, took = c.stop()
    assert code == 0, c.logs()
    assert took < 5, took
