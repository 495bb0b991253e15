"""One supervisor per service directory: s6-supervise 2.11 semantics.

machine.py is the pure life cycle (state, event) -> effects; identity.py
records and recognises the running process; supervisor.py is the I/O shell
that applies effects in one event loop.
"""
__all__ = ["run_supervisor"]


def __getattr__(name: str):
    # Loaded when first asked for: the scanner reads identity.py's records
    # long before (or, as a tini with only a CMD, without) forking a
    # supervisor, and the supervisor's modules are ~1 MiB of a process.
    if name == "run_supervisor":
        from .supervisor import run_supervisor
        return run_supervisor
    raise AttributeError("module %r has no attribute %r" % (__name__, name))
