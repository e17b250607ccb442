"""A local stub of a Slack incoming webhook: it records every post and answers as the script
says, including the ways real ones fail (a 5xx, a rate limit with Retry-After, a revoked hook's
404 "no_service", a proxy's HTML page, an answer cut off mid-body, an answer that never comes)."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Answer:
    status: int = 200
    body: str = "ok"
    content_type: str = "text/plain"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    cut_off: bool = False  # promise a longer body than is sent, then hang up


OK = Answer()
SERVER_ERROR = Answer(500, "internal_error")
RATE_LIMITED = Answer(429, "rate_limited", headers={"Retry-After": "7"})
REVOKED = Answer(404, "no_service")
PROXY_PAGE = Answer(200, "<html><body>Sign in to the proxy</body></html>", "text/html")
CUT_OFF = Answer(200, "o", cut_off=True)


class StubSlack:
    """``answers`` are used in turn; the last one repeats."""

    def __init__(self, *answers: Answer) -> None:
        self.answers = list(answers) or [OK]
        self.posts: list[dict] = []
        self.paths: list[str] = []
        self._lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with stub._lock:
                    stub.posts.append(body)
                    stub.paths.append(self.path)
                    answer = stub.answers[min(len(stub.posts), len(stub.answers)) - 1]
                time.sleep(answer.delay)
                data = answer.body.encode()
                self.send_response(answer.status)
                self.send_header("Content-Type", answer.content_type)
                self.send_header("Content-Length", str(len(data) + (50 if answer.cut_off else 0)))
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)
                if answer.cut_off:
                    self.wfile.flush()
                    self.close_connection = True

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> StubSlack:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def url(self, name: str = "T000/B000/secret") -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/services/{name}"

    @property
    def texts(self) -> list[str]:
        return [post["text"] for post in self.posts]
