"""`${VAR}` and `${VAR:-default}` from the container environment (pure).

The seed's per-image override pattern: `User=${APP_USER:-app}`. `${VAR}`
of an unset variable is empty (as systemd does); `${VAR:-default}` gives the
default when VAR is unset or empty; `$$` is a literal `$`. A bare `$VAR`
is left alone, so `sh -c '... $HOME'` in ExecStart= keeps working.
"""
TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import Mapping


class ExpandError(ValueError):
    pass


def expand(text: str, env: "Mapping[str, str]") -> str:
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c != "$" or i + 1 >= n:
            out.append(c)
            i += 1
            continue
        nxt = text[i + 1]
        if nxt == "$":
            out.append("$")
            i += 2
            continue
        if nxt != "{":
            out.append(c)
            i += 1
            continue
        end = text.find("}", i + 2)
        if end < 0:
            raise ExpandError("unclosed ${ in %r" % text)
        body = text[i + 2:end]
        name, sep, default = body.partition(":-")
        if not _valid_name(name):
            raise ExpandError("invalid variable name %r in %r" % (name, text))
        value = env.get(name)
        if sep:
            out.append(value if value else default)
        else:
            out.append(value or "")
        i = end + 1
    return "".join(out)


def _valid_name(name: str) -> bool:
    return bool(name) and not name[0].isdigit() and all(c.isalnum() or c == "_" for c in name) and name.isascii()
