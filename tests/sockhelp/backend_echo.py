"""A plain server that binds its own address (what proxy mode is for): echoes, many at once.

usage: backend_echo.py ADDR [DELAY]   ADDR host:port or /unix/path; DELAY seconds before binding
"""
import os
import socketserver
import sys
import time


class H(socketserver.BaseRequestHandler):
    def handle(self):
        try:
            while True:
                d = self.request.recv(65536)
                if not d:
                    break
                self.request.sendall(d)
        except OSError:
            pass


addr = sys.argv[1]
if len(sys.argv) > 2:
    time.sleep(float(sys.argv[2]))
if addr.startswith("/"):
    if os.path.exists(addr):
        os.unlink(addr)
    class S(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
        daemon_threads = True
    srv = S(addr, H)
else:
    host, port = addr.rsplit(":", 1)
    class S(socketserver.ThreadingMixIn, socketserver.TCPServer):
        daemon_threads = True
        allow_reuse_address = True
        request_queue_size = 1024
    srv = S((host, int(port)), H)
srv.serve_forever()
