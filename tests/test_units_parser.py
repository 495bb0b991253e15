"""Golden tests of the unit-file syntax, quoting, expansion and values (pure)."""
import json
import os

import pytest

from pysix.units.expand import ExpandError, expand
from pysix.units.parser import logical_lines, parse
from pysix.units.quoting import QuotingError, parse_command, split
from pysix.units.values import parse_bool, parse_timespan, ms

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "units_golden")


def golden(name):
    p = parse(open(os.path.join(HERE, name + ".service")).read(), name + ".service")
    got = {"values": {"%s/%s" % k: v for k, v in sorted(p.values.items())}, "warnings": p.warnings}
    assert got == json.load(open(os.path.join(HERE, name + ".json")))
    return p


def test_golden_syntax_file():
    p = golden("syntax")
    # duplicate single-valued key: the last wins; empty assignment reset the list
    assert p.get("Service", "Type") == "oneshot"
    assert p.all("Unit", "Requires") == ["y.service"]
    assert p.where("Service", "Type").startswith("syntax.service:14: [Service] Type=")


def test_continuation_skips_comment_block_and_joins():
    lines = logical_lines("[S]\nA=1 \\\n# c\n; d\n 2\nB=3\\\n")
    assert lines == [(1, "[S]"), (2, "A=1  2"), (6, "B=3")]


def test_assignment_outside_section_and_garbage_warn_with_file_and_line():
    p = parse("Foo=1\n[Service]\nnot an assignment\n", "u.service")
    assert p.warnings == ["u.service:1: Foo: assignment outside of any section, ignored",
                          "u.service:3: [Service] 'not an assignment': not a Key=value assignment, ignored"]


def test_empty_single_valued_resets_to_default():
    p = parse("[Service]\nUser=app\nUser=\n", "u")
    assert p.get("Service", "User") is None


@pytest.mark.parametrize("text,words", [
    ("/bin/echo a b", ["/bin/echo", "a", "b"]),
    ("/bin/sh -c 'echo \"hi there\"'", ["/bin/sh", "-c", 'echo "hi there"']),
    ('echo "a b"c\'d e\'', ["echo", "a bcd e"]),
    (r'echo "tab\there" \x41\101\u00e9 \s', ["echo", "tab\there", "AAé", " "]),
    ("echo ''", ["echo", ""]),
    ("  spaced   out  ", ["spaced", "out"]),
    (r'echo "a \"quoted\" word"', ["echo", 'a "quoted" word']),
])
def test_split(text, words):
    assert split(text) == words


@pytest.mark.parametrize("text", ["echo 'open", 'echo "open', "echo trailing\\", r"echo \q", r"echo \x4"])
def test_split_errors(text):
    with pytest.raises(QuotingError):
        split(text)


def test_command_prefixes():
    c, w = parse_command("-/bin/false x")
    assert c.ignore_failure and c.argv == ["/bin/false", "x"] and not w
    c, w = parse_command("@/bin/sleep mysleep 10")
    assert c.argv == ["/bin/sleep", "10"] and c.arg0 == "mysleep"
    c, w = parse_command(":/bin/echo ${X}")
    assert not c.expand
    c, w = parse_command("+/bin/true")
    assert c.argv == ["/bin/true"] and "not supported" in w[0]
    with pytest.raises(QuotingError):
        parse_command("-")


def test_expand():
    env = {"A": "x", "EMPTY": ""}
    assert expand("${A}/${B}/${B:-d}/${EMPTY:-e}/${A:-no}", env) == "x//d/e/x"
    assert expand("$A $$ ${A}", env) == "$A $ x"
    assert expand("${APP_HOME:-/home/app}", {}) == "/home/app"
    for bad in ("${A", "${1X}", "${}"):
        with pytest.raises(ExpandError):
            expand(bad, env)


def test_timespans_and_bools():
    assert parse_timespan("2s") == 2.0
    assert parse_timespan("60s") == 60.0
    assert parse_timespan("1min 30s") == 90.0
    assert parse_timespan("500ms") == 0.5
    assert parse_timespan("90") == 90.0
    assert parse_timespan("1h") == 3600.0
    assert parse_timespan("infinity") == float("inf")
    assert parse_timespan("2 parsecs") is None and parse_timespan("") is None
    assert ms(2.5) == 2500 and ms(float("inf")) == 0
    assert parse_bool("yes") is True and parse_bool("off") is False and parse_bool("maybe") is None
