"""Listeners pysix holds for services: the `socket` file, binding, the hand-off, the proxy.

spec.py parses a service dir's `socket` file (pure); bind.py binds what it
lists; handoff.py carries the bound fds from the scanner into a forked
supervisor; activation.py is the supervisor's side (wait for a connection,
hand the fds to run as LISTEN_FDS); proxy.py is the proxy-mode process and
proxydir.py writes the service dir that runs it.
"""
