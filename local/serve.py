"""The one way the local stack runs a server: a WSGI app (werkzeug, which moto already brings) on
127.0.0.1 in a daemon thread (`Server`), or a whole server program as a child process that says
when it is ready (`Child`).

    server = Server(app, port=0)     # the port is bound at once, so `server.url` is known now
    server.start()
    ...
    server.stop()

    child = Child([sys.executable, "-m", "local.stack", ...])   # returns once it prints `ready ...`
    child.ready                      # that line, after `ready `
    child.stop()

Only loopback: the local stack trusts what it is sent and serves control endpoints with no
authentication, which is fine on 127.0.0.1 and nowhere else.
"""

from __future__ import annotations

import collections
import logging
import os
import subprocess
import threading
import time
from pathlib import Path

from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wsgi import LimitedStream

HOST = "127.0.0.1"
ROOT = Path(__file__).resolve().parent.parent

# WSGI environ keys by which KeepAliveHandler lets an app time a request as its client sees it
# (the SageMaker stand-in's injected latency, local/sagemaker_standin.py InjectedLatency):
ARRIVED = "local.serve.arrived"  # time.monotonic() when the request's first byte could be read
ANSWER_AT = "local.serve.answer_at"  # set by the app: write the answer no earlier than this
ON_WRITTEN = "local.serve.on_written"  # set by the app: called with the time the answer was written


class QuietHandler(WSGIRequestHandler):
    """Werkzeug's handler without its access log (request lines carry tokens and codes: never log
    them) and with TCP_NODELAY: headers and body go out in separate writes, and without it a client
    can wait 40 ms for the body (Nagle's algorithm against the peer's delayed ACK). A request line
    that does not parse gets http.server's 400 answer, with a status line: http.server would take
    it for HTTP/0.9 and send the error page bare. With no logging nothing can raise on it."""

    disable_nagle_algorithm = True
    default_request_version = "HTTP/1.0"

    def log_request(self, *args, **kwargs):
        pass

    def log_error(self, *args, **kwargs):
        pass

    def log_message(self, *args, **kwargs):
        pass


class KeepAliveHandler(QuietHandler):
    """QuietHandler with HTTP/1.1 persistent connections. Werkzeug's own server closes every
    connection after one answer and then lingers 10 ms reading what is left, so a client that
    reuses its connection pays a new connection and a new thread for every request: through the
    Lambda Runtime API that tripled the invocation floor the benchmark measures (0.19 -> 0.6 ms
    p50, 0.6 -> 4.7 ms p99 with the panic_probe function); with this handler it is 0.22 ms p50 and
    0.33 ms p99, as with the http.server one it replaced. The answer is buffered, so its length is
    known and it goes out in one write; the request body the app left unread is skipped before the
    next request is read.

    It also times each request from its first byte to its answer written (`ARRIVED`,
    `ANSWER_AT`, `ON_WRITTEN`): what a client measures, with the server's own parsing, dispatch
    and answer building inside the app's reach and only the one write after its deadline."""

    protocol_version = "HTTP/1.1"

    def handle_one_request(self):
        # Block until the next request's first byte is here (the connection idles in between),
        # so the clock starts before http.server reads and parses the request line and headers.
        try:
            self.rfile.peek(1)
        except OSError:
            pass  # the read that follows meets the same error and ends the connection
        self.arrived = time.monotonic()
        return super().handle_one_request()

    def run_wsgi(self):
        environ = self.make_environ()
        environ[ARRIVED] = self.arrived
        if not environ.get("wsgi.input_terminated"):
            environ["wsgi.input"] = LimitedStream(self.rfile, int(environ.get("CONTENT_LENGTH") or 0))
            environ["wsgi.input_terminated"] = True
        answer: list = []

        def start_response(status, headers, exc_info=None):
            answer[:] = [status, headers]

        try:
            chunks = self.server.app(environ, start_response)
            try:
                body = b"".join(chunks)
            finally:
                getattr(chunks, "close", lambda: None)()
        except Exception:  # a bug in the app: a 500, as werkzeug answers, and a fresh connection next
            self.close_connection = True
            answer[:], body = ["500 Internal Server Error", []], b""
        environ["wsgi.input"].read()  # what the app did not read, so the next request parses
        status, headers = answer
        length = len(body) if self.command != "HEAD" else next(
            (v for k, v in headers if k.lower() == "content-length"), "0")
        # An app may date its answer itself (the SageMaker stand-in, by its own clock).
        date = next((v for k, v in headers if k.lower() == "date"), None) or self.date_time_string()
        head = [f"{self.protocol_version} {status}", f"Date: {date}",
                *(f"{k}: {v}" for k, v in headers if k.lower() not in ("content-length", "date")),
                f"Content-Length: {length}"]
        data = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + (body if self.command != "HEAD" else b"")
        # The answer is ready to go: any wait the app asked for is taken here, so that only the
        # one write below is left between the deadline and the client having it.
        answer_at = environ.get(ANSWER_AT)
        if answer_at is not None:
            time.sleep(max(0.0, answer_at - time.monotonic()))
        on_written = environ.get(ON_WRITTEN)
        if on_written is not None:
            # At once, then exactly after the write: a client that has the answer may ask about
            # the request before this thread runs again.
            on_written(time.monotonic())
        # One write for the whole answer: one system call, and nothing for Nagle to hold back.
        self.wfile.write(data)
        if on_written is not None:
            on_written(time.monotonic())


class Server:
    """`app` served on 127.0.0.1:`port` (0: a free one) from a daemon thread; `keep_alive` for a
    client that reuses its connections and where each request's latency counts."""

    def __init__(self, app, port: int = 0, keep_alive: bool = False):
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self.app = app
        handler = KeepAliveHandler if keep_alive else QuietHandler
        self._server = make_server(HOST, port, self._dispatch, threaded=True, request_handler=handler)
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


class Child:
    """A server program run as a child process (`argv`, from the repository root), started once it
    prints a line beginning `ready`. Its output is read from then on, so it never blocks on a full
    pipe; the last lines are kept in `output` for a failing test to show."""

    def __init__(self, argv: list[str], *, env: dict | None = None, timeout: float = 90, keep: int = 2000):
        self.process = subprocess.Popen(
            argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, **(env or {})},
        )
        self.output: collections.deque[str] = collections.deque(maxlen=keep)
        self.ready = self._wait_for_ready(timeout)
        threading.Thread(target=self._drain, daemon=True).start()

    def _wait_for_ready(self, timeout: float) -> str:
        # readline() blocks: a timer ends a child that hangs before it is ready, which ends the read.
        timer = threading.Timer(timeout, self.process.kill)
        timer.start()
        try:
            for line in self.process.stdout:
                self.output.append(line)
                if line.startswith("ready"):
                    return line[len("ready"):].strip()
        finally:
            timer.cancel()
        self.stop()
        raise RuntimeError(f"{' '.join(self.process.args)} did not start:\n" + "".join(self.output))

    def _drain(self):
        for line in self.process.stdout:
            self.output.append(line)

    def text(self) -> str:
        return "".join(self.output)

    def stop(self, timeout: float = 20):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

