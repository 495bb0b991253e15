"""pysix.cli.opts against the stdlib getopt it replaces: same results, same messages."""
import getopt as std
import itertools
import random

import pytest

from pysix.cli.opts import UsageError, getopt

SHORT = "abqhkti12pcyroduDUxOQw:T:"
LONG = ["json", "jump=", "verbose", "version"]
WORDS = ["-wU", "-T", "5000", "-T5000", "-d", "-", "--", "--json", "--js", "--j", "--v",
         "--jump", "--jump=3", "--json=x", "--nope", "-Z", "-:", "-w", "DIR", "x", "-ab", "-aT"]


def both(args, short=SHORT, longs=LONG):
    try:
        want = ("ok",) + std.getopt(args, short, longs)
    except std.GetoptError as e:
        want = ("err", e.msg, e.opt)
    try:
        got = ("ok",) + getopt(args, short, longs)
    except UsageError as e:
        got = ("err", e.msg, e.opt)
    return want, got


@pytest.mark.parametrize("n", [0, 1, 2, 3])
def test_every_short_sequence_matches_stdlib(n):
    for args in itertools.product(WORDS, repeat=n):
        want, got = both(list(args))
        assert got == want, args


def test_random_command_lines_match_stdlib():
    rng = random.Random(8)
    for _ in range(3000):
        args = [rng.choice(WORDS) for _ in range(rng.randint(0, 6))]
        short = "".join(rng.sample("abwT:o:", rng.randint(0, 5)))
        want, got = both(args, short, rng.sample(LONG, rng.randint(0, 4)))
        assert got == want, (args, short)


def test_s6_style_clusters():
    assert getopt(["-wU", "-T5000", "-u", "--", "-d"], SHORT) == \
        ([("-w", "U"), ("-T", "5000"), ("-u", "")], ["-d"])
    assert getopt(["-dwD", "-T", "7", "sd", "-u"], SHORT) == \
        ([("-d", ""), ("-w", "D"), ("-T", "7")], ["sd", "-u"])
    with pytest.raises(UsageError, match="^option -T requires argument$"):
        getopt(["-T"], SHORT)
    assert str(UsageError("option -Z not recognized", "Z")) == "option -Z not recognized"
