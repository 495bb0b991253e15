"""One supervisor per service directory: s6-supervise 2.11 semantics.

machine.py is the pure life cycle (state, event) -> effects; identity.py
records and recognises the running process; supervisor.py is the I/O shell
that applies effects in one event loop.
"""
from .supervisor import run_supervisor

__all__ = ["run_supervisor"]
