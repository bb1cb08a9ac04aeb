"""The one way the local stack serves HTTP: a WSGI app (werkzeug, which moto already brings) on
127.0.0.1, in a daemon thread, started and stopped the same way everywhere.

    server = Server(app, port=0)     # the port is bound at once, so `server.url` is known now
    server.start()
    ...
    server.stop()

Only loopback: the local stack trusts headers (the stand-in's source address, say) and serves
control endpoints with no authentication, which is fine on 127.0.0.1 and nowhere else.
"""

from __future__ import annotations

import logging
import threading

from werkzeug.serving import WSGIRequestHandler, make_server

HOST = "127.0.0.1"


class QuietHandler(WSGIRequestHandler):
    """Werkzeug's handler without its access log (request lines carry tokens: never log them) and
    with TCP_NODELAY: werkzeug writes headers and body apart, and without it a kept-alive client
    can wait 40 ms for the body (Nagle's algorithm against the peer's delayed ACK)."""

    disable_nagle_algorithm = True

    def log_request(self, *args, **kwargs):
        pass

    def log_error(self, *args, **kwargs):
        pass


class Server:
    """`app` served on 127.0.0.1:`port` (0: a free one) from a daemon thread."""

    def __init__(self, app, port: int = 0):
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self.app = app
        self._server = make_server(HOST, port, self._dispatch, threaded=True, request_handler=QuietHandler)
        self._server.daemon_threads = True
        self.port = self._server.server_port
        self.url = f"http://{HOST}:{self.port}"
        self._thread: threading.Thread | None = None

    def _dispatch(self, environ, start_response):
        # Looked up on each request, so an app can be swapped in after the port is bound.
        return self.app(environ, start_response)

    def start(self) -> "Server":
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._thread is not None:
            self._server.shutdown()
            self._thread = None
        self._server.server_close()
