"""pysix.shebang: the kernel's reading of `#!`, and running a 0644 script through it."""
import os
import subprocess

import pytest

from pysix.shebang import BUF, interpreter_argv, parse


@pytest.mark.parametrize("head,want", [
    (b"#!/bin/sh\necho\n", ("/bin/sh", None)),
    (b"#! /bin/sh -e\n", ("/bin/sh", "-e")),
    (b"#!/usr/bin/with-contenv bash\n", ("/usr/bin/with-contenv", "bash")),
    (b"#!/usr/bin/env python3 -u -B\n", ("/usr/bin/env", "python3 -u -B")),   # one argument, as Linux
    (b"#!/bin/execlineb -P", ("/bin/execlineb", "-P")),                       # no newline at all
    (b"#!\t/bin/sh\t \n", ("/bin/sh", None)),
])
def test_parse_like_linux(head, want):
    assert parse(head) == (want, "")


@pytest.mark.parametrize("head,why", [
    (b"echo hi\n", "no #! line"), (b"#!\n", "empty #! line"), (b"#!   \n", "empty #! line"),
    (b"\x7fELF\x02", "a binary, not a script"), (b"#!/bin/" + b"x" * BUF, "#! line longer than 255 bytes"),
])
def test_parse_refusals_say_why(head, why):
    assert parse(head) == (None, why)


def test_interpreter_argv_runs_a_0644_script_as_exec_would(tmp):
    fn = os.path.join(tmp, "s")
    with open(fn, "w") as f:
        f.write("#!/bin/sh -e\necho \"$0 $#\"\n")
    os.chmod(fn, 0o644)
    argv, why = interpreter_argv(fn)
    assert (argv, why) == (["/bin/sh", "-e", fn], "")
    assert subprocess.run(argv, capture_output=True, text=True, timeout=10).stdout == "%s 0\n" % fn
    assert interpreter_argv(os.path.join(tmp, "nope"))[1] == "cannot read: No such file or directory"
