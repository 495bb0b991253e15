"""EnvironmentFile= contents (pure): `NAME=VALUE` lines as systemd reads them.

`#` and `;` comment lines, blank lines and a leading `export ` are skipped;
whitespace around NAME and VALUE is dropped; a VALUE in double quotes may
hold \\" \\\\ \\n escapes, one in single quotes is literal; a line ending in a
backslash continues on the next one.
"""
TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import List, Tuple


def parse(text: str, path: str) -> "Tuple[List[Tuple[str, str]], List[str]]":
    out: List[Tuple[str, str]] = []
    bad: List[str] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        no, line = i + 1, lines[i].strip()
        i += 1
        while line.endswith("\\") and i < len(lines):
            line = line[:-1] + lines[i].strip()
            i += 1
        if not line or line[0] in "#;":
            continue
        if line.startswith("export "):
            line = line[7:].lstrip()
        name, eq, value = line.partition("=")
        name, value = name.strip(), value.strip()
        if not eq or not name or not all(c.isalnum() or c == "_" for c in name):
            bad.append("%s:%d: not NAME=VALUE, ignored" % (path, no))
            continue
        if len(value) >= 2 and value[0] == value[-1] == "'":
            value = value[1:-1]
        elif len(value) >= 2 and value[0] == value[-1] == '"':
            v, j, body = [], 0, value[1:-1]
            while j < len(body):
                if body[j] == "\\" and j + 1 < len(body):
                    v.append({"n": "\n", "t": "\t"}.get(body[j + 1], body[j + 1]))
                    j += 2
                else:
                    v.append(body[j])
                    j += 1
            value = "".join(v)
        out.append((name, value))
    return out, bad
