"""Local stub servers that speak the OpenAI chat-completions and Anthropic messages HTTP APIs, so
the real SDKs are exercised with no network. A script decides each reply: text, HTTP status,
delay, or a malformed body."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Reply:
    text: str = ""
    status: int = 200
    delay: float = 0.0
    raw: str | None = None  # a body sent as it is (malformed replies)


Script = Callable[[dict], Reply]


class _Server(ThreadingHTTPServer):
    # The default listen backlog of 5 drops connections when many turns call at once, and the
    # client's retried SYN then waits a whole second: the stub, not the platform, would be slow.
    request_queue_size = 256
    daemon_threads = True


class StubLLM:
    def __init__(self, script: Script) -> None:
        self.script = script
        self.requests: list[tuple[str, dict]] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                stub.requests.append((self.path, body))
                reply = stub.script(body)
                time.sleep(reply.delay)
                if reply.raw is not None:
                    payload = reply.raw
                elif reply.status != 200:
                    payload = json.dumps(
                        {"error": {"message": f"stub {reply.status}", "type": "stub_error"}}
                    )
                elif self.path.endswith("/chat/completions"):
                    payload = json.dumps(_openai(body, reply.text))
                else:
                    payload = json.dumps(_anthropic(body, reply.text))
                data = payload.encode()
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> StubLLM:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def systems(self) -> list[str]:
        return [_system(body) for _, body in self.requests]


def _system(body: dict) -> str:
    if "system" in body:
        return body["system"] if isinstance(body["system"], str) else json.dumps(body["system"])
    return next((m["content"] for m in body["messages"] if m["role"] == "system"), "")


def _openai(body: dict, text: str) -> dict:
    return {
        "id": "chatcmpl-stub",
        "object": "chat.completion",
        "created": 0,
        "model": body["model"],
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 1000, "completion_tokens": 100, "total_tokens": 1100},
    }


def _anthropic(body: dict, text: str) -> dict:
    return {
        "id": "msg_stub",
        "type": "message",
        "role": "assistant",
        "model": body["model"],
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 1000, "output_tokens": 100},
    }


def last_user(body: dict) -> str:
    return [m["content"] for m in body["messages"] if m["role"] == "user"][-1]


def playing_script(
    *, judge_rounds: int = 2, quote_words: int = 8, votes_to_go_on: int = 1
) -> Script:
    """A sensible player for every seat: debaters quote a sentence of the story (after hidden
    reasoning); the judge continues `judge_rounds` times, then ends; in a vote on ending, a
    speaker votes to go on `votes_to_go_on` times, then to end."""

    def script(body: dict) -> Reply:
        system = _system(body)
        if "VOTE: continue" in last_user(body):
            earlier = last_user(body).count("\nVotes on ending the debate:")
            return Reply(
                "<thinking>hm</thinking>VOTE: "
                + ("continue" if earlier < votes_to_go_on else "end")
            )
        if "You are the judge" in system:
            turns = last_user(body).count("\nJudge:")
            decision = "end" if turns >= judge_rounds else "continue"
            if "must be end" in last_user(body):
                decision = "end"
            return Reply(
                f"<thinking>weighing</thinking>PROBABILITIES: A=70%, B=30%\n"
                f"DECISION: {decision}\nNOTE: Tell me more, please."
            )
        story = re.search(r"<story>\n(.*?)\n</story>", system, re.DOTALL).group(1)
        sentence = " ".join(story.split()[:quote_words])
        return Reply(
            "<thinking>SECRET PLAN: bluff</thinking>The story settles it: "
            f"<quote>{sentence}</quote> That is my case."
        )

    return script


def main() -> None:
    """Serve `playing_script` in a process of its own (benchmarks: the provider is not the
    platform, so it must not share the platform's interpreter). Prints the URL, then serves until
    killed."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.5, help="seconds per reply")
    parser.add_argument("--judge-rounds", type=int, default=1)
    args = parser.parse_args()
    script = playing_script(judge_rounds=args.judge_rounds)

    def slow(body: dict) -> Reply:
        reply = script(body)
        reply.delay = args.latency
        return reply

    stub = StubLLM(slow)
    print(stub.url, flush=True)
    stub.server.serve_forever()


if __name__ == "__main__":
    main()
