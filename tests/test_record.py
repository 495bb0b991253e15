"""pysix.record.Record behaves as typing.NamedTuple for the records built on it."""
import pickle
import typing

import pytest

from pysix.policy import PolicyState
from pysix.status import Death, Status


class Ref(typing.NamedTuple):
    stamp: int
    readystamp: int
    pid: int
    wstat: int
    flags: int


def test_status_is_a_named_tuple_like_typings():
    st, ref = Status(1, 2, 3, 4, 5), Ref(1, 2, 3, 4, 5)
    assert st == ref == (1, 2, 3, 4, 5) and hash(st) == hash(ref)
    assert repr(st) == repr(ref).replace("Ref(", "Status(")
    assert Status._fields == Ref._fields == Status.__match_args__
    assert (st.stamp, st.readystamp, st.pid, st.wstat, st.flags) == (1, 2, 3, 4, 5)
    assert Status(wstat=4, stamp=1, readystamp=2, pid=3, flags=5) == st
    assert st._replace(pid=0) == Status(1, 2, 0, 4, 5) and type(st._replace()) is Status
    assert st._asdict() == ref._asdict()
    assert Status._make(range(5)) == tuple(range(5)) and type(Status._make(range(5))) is Status
    assert pickle.loads(pickle.dumps(st)) == st and type(pickle.loads(pickle.dumps(st))) is Status
    a, *_ = st
    assert a == 1 and isinstance(st, tuple) and len(st) == 5
    assert st.up and not Status(0, 0, 0, 0, 0).up      # the class's own properties still work


def test_records_refuse_what_named_tuples_refuse():
    st = Status(1, 2, 3, 4, 5)
    with pytest.raises(AttributeError):
        st.pid = 9
    with pytest.raises(AttributeError):
        st.other = 9                                    # no instance __dict__
    with pytest.raises(TypeError):
        Status(1, 2, 3, 4)
    with pytest.raises(TypeError):
        Status(1, 2, 3, 4, 5, pid=3)
    with pytest.raises(TypeError):
        Status._make((1, 2))
    with pytest.raises(ValueError):
        st._replace(nope=1)


def test_other_records():
    assert Death(1, 2, 3).code == 2 and repr(Death(1, 2, 3)) == "Death(when=1, code=2, sig=3)"
    assert PolicyState("up", "", 0)._fields == ("state", "reason", "deaths")


def test_fields_come_from_annotations_evaluated_eagerly_or_lazily():
    # Without `from __future__ import annotations` a class body's annotations
    # are values (3.9-3.13: `__annotations__`, in order) or, from 3.14, an
    # annotate function (`__annotate_func__`) that a metaclass calls itself.
    from pysix.record import Record

    class Eager(Record):
        a: int
        b: "typing.Optional[str]"

    Lazy = type(Record)("Lazy", (Record,), {"__annotate_func__": lambda fmt: {"a": int, "b": "x"}})
    for cls in (Eager, Lazy):
        assert cls._fields == ("a", "b") and cls(1, "y").b == "y" and cls(b=2, a=1) == (1, 2)
    assert type(Record)("Empty", (Record,), {"__annotate_func__": None})._fields == ()
