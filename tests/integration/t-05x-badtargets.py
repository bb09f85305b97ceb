#!/usr/bin/env python3
"""Bad poll targets for the soak server tests, one port each, all on 127.0.0.1:
sleep (answers after 30 s), garbage (200 with bytes that are no exposition),
endless (200 with a body that never ends), error (HTTP 500), and sink (a webhook
receiver: appends each POST body, one per line, to the file named by argv[1]).
Prints "MODE PORT" per line once every port listens; runs until killed."""
import http.server
import socketserver
import sys
import threading
import time


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        mode = self.server.mode
        try:
            if mode == "sleep":
                time.sleep(30)
                self.reply(200, b"late 1\n")
            elif mode == "garbage":
                self.reply(200, b"\x00\x01{{{ this is not an exposition\n\xff\xfe}}} 12 13 14\n")
            elif mode == "error":
                self.reply(500, b"internal error\n")
            elif mode == "endless":
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                line = b"endless_metric{i=\"x\"} 1\n" * 400
                chunk = b"%x\r\n%s\r\n" % (len(line), line)
                while True:
                    self.wfile.write(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        if self.server.mode == "sink" and len(sys.argv) > 1:
            with open(sys.argv[1], "ab") as f:
                f.write(self.headers.get("Content-Type", "").encode() + b" " + body + b"\n")
        self.reply(200, b"ok\n")

    def reply(self, code, body):
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    servers = []
    for mode in ("sleep", "garbage", "endless", "error", "sink"):
        s = Server(("127.0.0.1", 0), Handler)
        s.mode = mode
        servers.append(s)
        threading.Thread(target=s.serve_forever, daemon=True).start()
    for s in servers:
        print(s.mode, s.server_address[1], flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    sys.exit(main())
