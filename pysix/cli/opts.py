"""getopt.getopt's parsing and messages, without its imports.

The stdlib module pulls in gettext, re and enum: several ms of a client's
start-up. This is the same pure algorithm (POSIX: options stop at the first
operand or `--`; clustered flags `-wU`; `-T 5000` or `-T5000`; long options
by unique prefix) raising UsageError with getopt's exact message.
"""
TYPE_CHECKING = False
if TYPE_CHECKING:   # typing costs ms to import; annotations are strings anyway
    from typing import List, Sequence, Tuple


class UsageError(Exception):
    """A bad command line; `msg` is what getopt.GetoptError would say."""

    def __init__(self, msg: str, opt: str = "") -> None:
        super().__init__(msg, opt)
        self.msg = msg
        self.opt = opt

    def __str__(self) -> str:
        return self.msg


def getopt(args: "Sequence[str]", shortopts: str,
           longopts: "Sequence[str]" = ()) -> "Tuple[List[Tuple[str, str]], List[str]]":
    """(options as ("-x", value) pairs, remaining operands), as getopt.getopt."""
    args = list(args)
    opts: List[Tuple[str, str]] = []
    while args and args[0].startswith("-") and args[0] != "-":
        arg = args.pop(0)
        if arg == "--":
            break
        if arg.startswith("--"):
            opts.append(_long(arg[2:], longopts, args))
            continue
        cluster = arg[1:]
        while cluster:
            opt, cluster = cluster[0], cluster[1:]
            if not _takes_arg(opt, shortopts):
                opts.append(("-" + opt, ""))
                continue
            if not cluster:
                if not args:
                    raise UsageError("option -%s requires argument" % opt, opt)
                cluster = args.pop(0)
            opts.append(("-" + opt, cluster))
            cluster = ""
    return opts, args


def _takes_arg(opt: str, shortopts: str) -> bool:
    i = shortopts.find(opt) if opt != ":" else -1
    if i < 0:
        raise UsageError("option -%s not recognized" % opt, opt)
    return shortopts.startswith(":", i + 1)


def _long(opt: str, longopts: "Sequence[str]", args: "List[str]") -> "Tuple[str, str]":
    """One `--name[=value]`; may take the next argument from `args`."""
    optarg = None
    if "=" in opt:
        opt, optarg = opt.split("=", 1)
    matches = [o for o in longopts if o.startswith(opt)]
    if not matches:
        raise UsageError("option --%s not recognized" % opt, opt)
    if opt in matches:
        has_arg = False
    elif opt + "=" in matches:
        has_arg = True
    elif len(matches) > 1:
        raise UsageError("option --%s not a unique prefix" % opt, opt)
    else:
        has_arg = matches[0].endswith("=")
        opt = matches[0][:-1] if has_arg else matches[0]
    if has_arg:
        if optarg is None:
            if not args:
                raise UsageError("option --%s requires argument" % opt, opt)
            optarg = args.pop(0)
    elif optarg is not None:
        raise UsageError("option --%s must not have an argument" % opt, opt)
    return "--" + opt, optarg or ""
