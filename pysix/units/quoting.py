"""systemd's command-line quoting (systemd.service(5) "Command lines"), pure.

`split(text)` splits into words as systemd does for ExecStart= and
Environment=: words are separated by whitespace; single or double quotes
group (and may appear inside a word); C escapes are decoded in and out of
quotes (\\n \\t \\\\ \\" \\' \\s \\xHH \\NNN \\uXXXX ...). A lone
trailing backslash, an unknown escape or an unclosed quote is an error.

`parse_command(value)` also reads the prefixes systemd puts before the path:
`-` (a failing exit is not a failure), `@` (the second word is argv[0]),
`:` (no ${VAR} expansion). `+`, `!` and `!!` (privilege tricks) are
accepted and ignored with a warning.
"""
from ..record import Record

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import List, Optional, Tuple

_SIMPLE = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
           "\\": "\\", '"': '"', "'": "'", "s": " "}
_WS = " \t\n\r"


class QuotingError(ValueError):
    pass


class Command(Record):
    argv: "List[str]"       # argv[0] is the program (path or name looked up in PATH)
    ignore_failure: bool    # `-` prefix
    expand: bool            # False with the `:` prefix
    arg0: "Optional[str]"   # `@` prefix: the argv[0] the program sees

    def display(self) -> str:
        return ("-" if self.ignore_failure else "") + " ".join(quote(a) for a in self.argv)


def _escape(text: str, i: int) -> "Tuple[str, int]":
    """Decode the escape starting at text[i] == '\\'; (char, index after it)."""
    if i + 1 >= len(text):
        raise QuotingError("trailing backslash")
    c = text[i + 1]
    if c in _SIMPLE:
        return _SIMPLE[c], i + 2
    for letter, width, base in (("x", 2, 16), ("u", 4, 16), ("U", 8, 16)):
        if c == letter:
            digits = text[i + 2:i + 2 + width]
            try:
                if len(digits) != width:
                    raise ValueError
                n = int(digits, base)
                if n == 0:
                    raise ValueError
                return chr(n), i + 2 + width
            except (ValueError, OverflowError):
                raise QuotingError("invalid escape \\%s%s" % (c, digits))
    if c in "01234567":
        digits = text[i + 1:i + 4]
        if len(digits) == 3 and all(d in "01234567" for d in digits) and int(digits, 8):
            return chr(int(digits, 8)), i + 4
        raise QuotingError("invalid escape \\%s" % digits)
    raise QuotingError("invalid escape \\%s" % c)


def split(text: str) -> "List[str]":
    words: List[str] = []
    cur: List[str] = []
    in_word = False
    quote_ch = ""
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if quote_ch and c == quote_ch:
            quote_ch = ""
            i += 1
            continue
        if not quote_ch:
            if c in _WS:
                if in_word:
                    words.append("".join(cur))
                    cur, in_word = [], False
                i += 1
                continue
            in_word = True
            if c in "'\"":
                quote_ch = c
                i += 1
                continue
        # One character of the word, quoted or not: an escape, else itself.
        if c == "\\":
            ch, i = _escape(text, i)
        else:
            ch, i = c, i + 1
        cur.append(ch)
    if quote_ch:
        raise QuotingError("unclosed %s quote" % quote_ch)
    if in_word:
        words.append("".join(cur))
    return words


def parse_command(value: str) -> "Tuple[Command, List[str]]":
    """(Command, warnings); QuotingError when the line cannot be split or is empty."""
    warnings: List[str] = []
    ignore, expand, arg0_next = False, True, False
    text = value.lstrip()
    while text and text[0] in "-@:+!":
        c = text[0]
        if c == "-":
            ignore = True
        elif c == "@":
            arg0_next = True
        elif c == ":":
            expand = False
        else:
            warnings.append("prefix %r not supported (no privilege changes in a container), ignored" % c)
        text = text[1:]
    words = split(text)
    if not words:
        raise QuotingError("empty command line")
    arg0 = None
    if arg0_next:
        if len(words) < 2:
            raise QuotingError("@ prefix needs a second word (the argv[0])")
        arg0 = words.pop(1)
    return Command(words, ignore, expand, arg0), warnings


_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./-_")


def quote(word: str) -> str:
    """A word as a shell (and systemd) would read it back; for display and scripts."""
    if word and all(c in _SAFE for c in word):
        return word
    return "'" + word.replace("'", "'\"'\"'") + "'"
