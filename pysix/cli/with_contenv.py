"""with-contenv PROG ARGS...: run PROG with the saved container environment.

Usable as a shebang: `#!/usr/bin/with-contenv sh`. The environment becomes
exactly the saved one (as s6-overlay does), keeping only pysix's own
PYSIX_* variables from the current one. Without a saved environment (for
example PYSIX_KEEP_ENV=1) PROG runs with the current environment.
"""
import errno
import os
import sys

from .. import contenv

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import List, Optional


def main(argv: "Optional[List[str]]" = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args:
        sys.stderr.write("with-contenv: usage: with-contenv PROG [ ARGS... ]\n")
        return 100
    d = contenv.find_dir(dict(os.environ))
    env = os.environb
    if d is not None:
        try:
            saved = contenv.load(d)
        except OSError as e:
            hint = ("; it holds secrets and is private to the user pysix-init runs as: run with-contenv "
                    "as that user, then drop privileges (with-contenv pysix-setuidgid USER PROG)"
                    if e.errno == errno.EACCES else "")
            sys.stderr.write("with-contenv: fatal: cannot read %s: %s%s\n" % (d, e.strerror, hint))
            return 111
        for k, v in os.environb.items():
            if k.startswith(b"PYSIX_"):
                saved.setdefault(k, v)
        env = saved
    try:
        os.execvpe(args[0], args, env)
    except OSError as e:
        sys.stderr.write("with-contenv: fatal: unable to exec %s: %s\n" % (args[0], e.strerror))
        return 126 if e.errno == 13 else 127
