"""A native socket-activated test server: says who it is, then echoes; one connection at a time."""
import os
import socket

pid = os.getpid()
head = ("pid=%d listen_pid=%s fds=%s names=%s\n" % (
    pid, os.environ.get("LISTEN_PID"), os.environ.get("LISTEN_FDS"), os.environ.get("LISTEN_FDNAMES"))).encode()
ls = socket.socket(fileno=3)
while True:
    c, _ = ls.accept()
    try:
        c.sendall(head)
        while True:
            d = c.recv(65536)
            if not d:
                break
            c.sendall(d)
    except OSError:
        pass
    c.close()
