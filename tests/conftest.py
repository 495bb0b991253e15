"""Test set-up shared by every test file.

The repository's bin/ goes first on PATH and the repository on PYTHONPATH,
so tests run the working tree's commands whether or not pysix is installed.
Every test is bounded: a hung test dumps its traceback and the run ends.
"""
import faulthandler
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.environ["PATH"] = os.path.join(ROOT, "bin") + os.pathsep + os.environ.get("PATH", "")
os.environ["PYTHONPATH"] = ROOT + (os.pathsep + os.environ["PYTHONPATH"] if os.environ.get("PYTHONPATH") else "")
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

TEST_TIMEOUT = float(os.environ.get("PYSIX_TEST_TIMEOUT", "120"))


@pytest.fixture(autouse=True)
def _bounded():
    faulthandler.dump_traceback_later(TEST_TIMEOUT, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


@pytest.fixture
def procs():
    """A registry of processes a test starts; all are killed at teardown."""
    from helpers import ProcSet
    ps = ProcSet()
    yield ps
    ps.kill_all()


@pytest.fixture
def tmp(tmp_path_factory):
    """A scratch dir on tmpfs when /dev/shm exists (status files are rewritten often)."""
    base = "/dev/shm" if os.path.isdir("/dev/shm") else None
    import tempfile
    import shutil
    d = tempfile.mkdtemp(prefix="pysix-test-", dir=base)
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)
