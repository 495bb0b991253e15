"""PYSIX_PREFIX=1: whole lines of a service's output, each led by `NAME | `.

Pure: bytes in, bytes to write out. A line is written only once complete
(line-atomic with the other services' lines); a line longer than LINE_MAX is
cut there. What is left without a newline when the stream ends is flushed as
a last line of its own, so a final message without "\n" is not lost.
"""
LINE_MAX = 65536


class Prefixer:
    __slots__ = ("name", "tag", "buf")

    def __init__(self, name: str) -> None:
        self.name = ""
        self.rename(name)
        self.buf = b""

    def rename(self, name: str) -> None:
        """The service dir was renamed: later lines carry the new name."""
        if name != self.name:
            self.name = name
            self.tag = name.encode("utf-8", "surrogateescape") + b" | "

    def feed(self, data: bytes) -> bytes:
        """The complete lines that `data` ends, prefixed; keeps the rest."""
        buf = self.buf + data
        cut = buf.rfind(b"\n") + 1
        if cut == 0 and len(buf) >= LINE_MAX:
            self.buf = b""
            return self._lines(buf + b"\n")
        self.buf = buf[cut:]
        return self._lines(buf[:cut]) if cut else b""

    def flush(self) -> bytes:
        """The unfinished last line, prefixed and ended with a newline (or b"")."""
        if not self.buf:
            return b""
        rest, self.buf = self.buf, b""
        return self._lines(rest + b"\n")

    def _lines(self, lines: bytes) -> bytes:
        tag = self.tag
        return tag + lines[:-1].replace(b"\n", b"\n" + tag) + b"\n"
