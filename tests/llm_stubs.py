"""Local stub servers that speak the OpenAI chat-completions and Anthropic messages HTTP APIs, so
the real SDKs are exercised with no network. A script decides each reply: text, HTTP status,
delay, or a malformed body (a proxy's HTML page, a cut-off body, a reply without usage), a refusal
(OpenAI's `message.refusal` with null content, Anthropic's `stop_reason: "refusal"`) or an empty
reply. Replies and errors have the real APIs' field names and shapes, and the Anthropic stub
refuses what the Messages API refuses: a message with empty content (400). A reply may carry
headers (`retry-after-ms`, rate-limit headers) and prompt-cache usage; the stub counts the
requests it is serving at once (`max_in_flight`) and when each arrived (`arrivals`)."""

from __future__ import annotations

import json
import math
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Reply:
    text: str | None = ""  # None: OpenAI's content is null (Anthropic: no content blocks)
    status: int = 200
    delay: float = 0.0
    raw: str | None = None  # a body sent as it is (malformed replies)
    content_type: str = "application/json"
    refusal: str | None = None  # the model declines, in these words (its text is then ignored)
    usage: bool = True  # False: the reply has no `usage`
    cut: bool = False  # the real body cut off halfway (Content-Length says the cut length)
    stop_reason: str | None = None  # finish_reason / stop_reason, if not the usual one
    headers: dict[str, str] | None = None  # extra response headers (rate limits, retry-after)
    cached_tokens: int = 0  # input tokens read from the prompt cache
    cache_write_tokens: int = 0  # input tokens written to it (Anthropic only)
    # OpenAI: the first token's top alternatives {token: probability}, sent as
    # `choices[0].logprobs.content[0].top_logprobs` when the request asks `logprobs: true` (the
    # most likely one is the token itself); None: the reply's first word at probability 1.
    top_probabilities: dict[str, float] | None = None
    no_logprobs: bool = False  # send `logprobs: null` even when asked (a server without them)


PROXY_PAGE = (
    "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>"
    "<body><h1>Bad Gateway</h1><p>The upstream server sent an invalid response.</p></body></html>"
)


def proxy_page() -> Reply:
    """What a misconfigured proxy or captive portal sends: a 200 with an HTML page."""
    return Reply(raw=PROXY_PAGE, content_type="text/html; charset=utf-8")


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
        self.arrivals: list[float] = []  # time.monotonic() of each request's arrival
        self.in_flight = 0
        self.max_in_flight = 0
        self._count_lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                with stub._count_lock:
                    stub.in_flight += 1
                    stub.max_in_flight = max(stub.max_in_flight, stub.in_flight)
                    stub.arrivals.append(time.monotonic())
                try:
                    self._answer()
                finally:
                    with stub._count_lock:
                        stub.in_flight -= 1

            def _answer(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                stub.requests.append((self.path, body))
                is_openai = self.path.endswith("/chat/completions")
                refused = None if is_openai else _anthropic_request_refused(body)
                reply = Reply(status=400) if refused else stub.script(body)
                time.sleep(reply.delay)
                if reply.raw is not None:
                    payload = reply.raw
                elif reply.status != 200:
                    message = refused or f"stub {reply.status}"
                    payload = json.dumps(
                        _openai_error(reply.status, message)
                        if is_openai
                        else _anthropic_error(reply.status, message)
                    )
                elif is_openai:
                    payload = json.dumps(_openai(body, reply))
                else:
                    payload = json.dumps(_anthropic(body, reply))
                if reply.cut:
                    payload = payload[: len(payload) // 2]
                data = payload.encode()
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(data)))
                for name, value in (reply.headers or {}).items():
                    self.send_header(name, value)
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
        system = body["system"]
        if isinstance(system, list):  # Anthropic's text blocks (e.g. marked for caching)
            return "".join(block.get("text", "") for block in system)
        return system if isinstance(system, str) else json.dumps(system)
    return next((m["content"] for m in body["messages"] if m["role"] == "system"), "")


def _openai(body: dict, reply: Reply) -> dict:
    """A chat completion as the API sends it; a refusal has null content and `refusal` set."""
    completion: dict = {
        "id": "chatcmpl-stub",
        "object": "chat.completion",
        "created": 0,
        "model": body["model"],
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": None if reply.refusal is not None else reply.text,
                    "refusal": reply.refusal,
                    "annotations": [],
                },
                "logprobs": _logprobs(body, reply),
                "finish_reason": reply.stop_reason or "stop",
            }
        ],
        "usage": {
            "prompt_tokens": 1000,
            "completion_tokens": 100,
            "total_tokens": 1100,
            "prompt_tokens_details": {"cached_tokens": reply.cached_tokens, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
        },
        "service_tier": "default",
        "system_fingerprint": "fp_stub",
    }
    if not reply.usage:
        del completion["usage"]
    return completion


def _logprobs(body: dict, reply: Reply) -> dict | None:
    """A chat completion's `logprobs`, as the API shapes it, for a request that asks for them."""
    if not body.get("logprobs") or reply.no_logprobs:
        return None
    text = reply.text or ""
    shown = reply.top_probabilities or {(text.split() or [""])[0]: 1.0}
    ranked = sorted(shown.items(), key=lambda item: -item[1])[: body.get("top_logprobs") or 1]
    top = [
        {
            "token": token,
            "logprob": math.log(p) if p > 0 else -9999.0,
            "bytes": list(token.encode()),
        }
        for token, p in ranked
    ]
    first = dict(top[0], top_logprobs=top)
    return {"content": [first], "refusal": None}


def _anthropic(body: dict, reply: Reply) -> dict:
    """A message as the API sends it: no content blocks for an empty reply; a refusal stops with
    `stop_reason: "refusal"` after whatever it had written."""
    text = reply.refusal if reply.refusal is not None else reply.text
    usual_stop = "refusal" if reply.refusal is not None else "end_turn"
    message: dict = {
        "id": "msg_stub",
        "type": "message",
        "role": "assistant",
        "model": body["model"],
        "content": [{"type": "text", "text": text}] if text else [],
        "stop_reason": reply.stop_reason or usual_stop,
        "stop_sequence": None,
        "usage": {
            "input_tokens": 1000,
            "cache_creation_input_tokens": reply.cache_write_tokens,
            "cache_read_input_tokens": reply.cached_tokens,
            "output_tokens": 100,
            "service_tier": "standard",
        },
    }
    if not reply.usage:
        del message["usage"]
    return message


def _openai_error(status: int, message: str) -> dict:
    kind = "rate_limit_exceeded" if status == 429 else "invalid_request_error"
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}


def _anthropic_error(status: int, message: str) -> dict:
    kinds = {400: "invalid_request_error", 429: "rate_limit_error", 529: "overloaded_error"}
    return {
        "type": "error",
        "error": {"type": kinds.get(status, "api_error"), "message": message},
        "request_id": "req_stub",
    }


def _anthropic_request_refused(body: dict) -> str | None:
    """What the Messages API answers (with a 400) to a request it does not accept, or None: every
    message but an optional final assistant one needs content, and text blocks need text."""
    messages = body.get("messages", [])
    for index, message in enumerate(messages):
        content = message.get("content")
        last_assistant = index == len(messages) - 1 and message.get("role") == "assistant"
        if not content and not last_assistant:
            return (
                f"messages.{index}: all messages must have non-empty content except for the "
                "optional final assistant message"
            )
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content or []
        for block in blocks:
            if block.get("type") == "text" and content and not block.get("text", "").strip():
                return "messages: text content blocks must contain non-whitespace text"
    return None


def last_user(body: dict) -> str:
    return [m["content"] for m in body["messages"] if m["role"] == "user"][-1]


def playing_script(
    *, judge_rounds: int = 2, quote_words: int = 8, votes_to_go_on: int = 1
) -> Script:
    """A sensible player for every seat: debaters quote a sentence of the story (after hidden
    reasoning), and under open rules choose answer B; the judge continues `judge_rounds` times,
    then ends (asking each expert a question when the rules let it); in a vote on ending, a
    speaker votes to go on `votes_to_go_on` times, then to end."""

    def script(body: dict) -> Reply:
        system = _system(body)
        asked = re.findall(r"^QUESTION TO ([A-Z]+):", last_user(body), re.MULTILINE)
        if asked:  # interactive rules: the judge who continues asks each expert a question
            return Reply(
                "\n".join(f"QUESTION TO {label}: Which line proves it?" for label in asked)
            )
        if "Which answer will you argue?" in last_user(body):  # open rules: the expert chooses
            return Reply("<thinking>B reads better</thinking>CHOICE: B")
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


def stub_agent(name: str, stub: StubLLM, provider: str = "openai", **fields: object):
    """An agent whose calls go to ``stub`` (OpenAI-compatible under /v1, Anthropic at the root),
    priced so that costs and budgets count."""
    from llm_agents.models import Agent

    return Agent.objects.create(
        name=name,
        provider=provider,
        model=f"{name}-model",
        base_url=stub.url + ("/v1" if provider != "anthropic" else ""),
        cost_input_per_mtok=2,
        cost_output_per_mtok=10,
        **fields,
    )


@contextmanager
def batch_provider(monkeypatch, prefix: str, questions: int = 6) -> Iterator[StubLLM]:
    """A stub playing whole consultancies and debates as every provider's default endpoint (the
    agents a batch makes from `openai:...` and `anthropic:...` specs call it), and ``questions``
    questions whose external ids start with ``prefix``."""
    from tests.factories import make_question

    with StubLLM(playing_script(judge_rounds=1)) as server:
        monkeypatch.setenv("OPENAI_API_KEY", "k")
        monkeypatch.setenv("ANTHROPIC_API_KEY", "k")
        monkeypatch.setenv("OPENAI_BASE_URL", server.url + "/v1")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", server.url)
        for i in range(questions):
            make_question(external_id=f"{prefix}{i}")
        yield server


def run_batch(*args: str) -> str:
    """`manage.py run_batch ARGS` in this process; what it printed."""
    import io

    from django.core.management import call_command

    out = io.StringIO()
    call_command("run_batch", *args, stdout=out)
    return out.getvalue()
