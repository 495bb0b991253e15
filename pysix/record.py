"""Named tuples for the records clients read, without typing or collections.

typing.NamedTuple costs a client several ms of imports and collections'
namedtuple about one, next to a start-up budget of a few ms. A `Record`
subclass is written as a NamedTuple one (the annotations, in order, are the
fields) and behaves as one: a plain tuple with read-only named fields,
positional or keyword construction, repr, `_fields`, `_make`, `_replace`,
`_asdict`, no instance `__dict__`. Type checkers see typing.NamedTuple.
"""
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NamedTuple as Record
else:
    from .specialised import call, getitem
    _tuple_new = tuple.__new__

    def _new_for(name, fields):
        n = len(fields)

        def __new__(_cls, *args, **kw):
            if kw:
                args = list(args)
                for f in fields[len(args):]:
                    if f not in kw:
                        raise TypeError("%s() missing required argument: %r" % (name, f))
                    args.append(kw.pop(f))
                if kw:
                    raise TypeError("%s() got unexpected or repeated arguments: %s" % (name, ", ".join(kw)))
            if len(args) != n:
                raise TypeError("%s() takes %d arguments (%d given)" % (name, n, len(args)))
            return call(_tuple_new, _cls, args)    # made in every supervisor (specialised.py)
        return __new__

    def _getter(i):
        # One argument, no default: CPython 3.12 specialises reading such a
        # property, and a read it cannot specialise writes its counter into
        # the reader's code on every run (a page of each supervisor; speed.py).
        # getitem, not self[i]: a subscript of a tuple subclass is not
        # specialised either.
        return lambda self: getitem(self, i)

    class _RecordType(type):
        def __new__(mcls, name, bases, ns):
            if "__annotations__" in ns:
                fields = tuple(ns["__annotations__"])
            else:   # Python >= 3.14 evaluates a class's annotations only when asked
                annotate = ns.get("__annotate_func__") or ns.get("__annotate__")
                fields = tuple(annotate(1)) if annotate else ()     # 1: annotationlib.Format.VALUE
            ns["__slots__"] = ()
            if bases != (tuple,):   # a record, not Record itself
                ns["_fields"] = ns["__match_args__"] = fields
                for i, f in enumerate(fields):
                    ns[f] = property(_getter(i), doc="Alias for field number %d" % i)
                # Not generated with exec() as namedtuple's is: compiling it cost
                # 150 us per record class of a client's start-up (speed.py).
                ns["__new__"] = _new_for(name, fields)
            return super().__new__(mcls, name, bases, ns)

    class Record(tuple, metaclass=_RecordType):
        _fields = ()

        @classmethod
        def _make(cls, iterable):
            result = tuple.__new__(cls, iterable)
            if len(result) != len(cls._fields):
                raise TypeError("Expected %d arguments, got %d" % (len(cls._fields), len(result)))
            return result

        def _replace(self, **changes):
            result = self._make(map(changes.pop, self._fields, self))
            if changes:
                raise ValueError("Got unexpected field names: %r" % list(changes))
            return result

        def _asdict(self):
            return dict(zip(self._fields, self))

        def __repr__(self):
            return "%s(%s)" % (type(self).__name__,
                               ", ".join("%s=%r" % fv for fv in zip(self._fields, self)))

        def __getnewargs__(self):
            return tuple(self)
