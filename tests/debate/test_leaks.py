"""The leak suite: logged in as the judge, through a whole debate and a whole consultancy, every
URL the app serves and every message pushed over every WebSocket the judge can open is checked
for hidden material: any 40-character window of the story outside the quotes revealed so far,
a marker of the correct answer before the end, a speech of an unfinished round, and the name of
anyone holding another seat."""

from __future__ import annotations

import html
import json

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.urls import URLPattern, get_resolver

from config.asgi import application
from debate.models import Quote, Session
from debate.protocol import Role
from debate.quotes import merge_spans
from debate.visibility import view_for
from tests.factories import judge, make_consultancy, make_debate, make_user, quote, speak
from tests.leak_detector import letters, story_windows

pytestmark = pytest.mark.django_db(transaction=True)

WINDOW = 40
HEADERS = [(b"origin", b"http://testserver"), (b"host", b"testserver")]
CORRECT_MARKERS = ("The correct answer was", "tag correct", '"correct_position": 0')


def readable(body: str) -> str:
    """What a person (or a program) reads in a body: a JSON body's strings, an HTML body with its
    character references decoded, so that escaping cannot hide story text from the check."""
    try:
        data = json.loads(body)
    except ValueError:
        return html.unescape(body)
    strings: list[str] = []

    def walk(value) -> None:
        if isinstance(value, str):
            strings.append(html.unescape(value))  # a JSON string may carry an HTML fragment
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(data)
    return "\n".join(strings)


def leaks(
    body: str, passage: str, revealed: list[tuple[int, int]], names: list[str], finished: bool
) -> list[str]:
    found = []
    for start in range(len(passage) - WINDOW + 1):
        inside = any(s <= start and start + WINDOW <= e for s, e in revealed)
        if not inside and passage[start : start + WINDOW] in body:
            found.append(f"story text at {start}: {passage[start : start + WINDOW]!r}")
            break
    # The independent detector: windows of 40 letters and digits, whatever the spacing, case,
    # punctuation or escaping, each allowed only inside a span revealed by a certified quote.
    allowed = [letters(passage[s:e]) for s, e in revealed]
    outside = [
        w for w in story_windows(readable(body), passage) if not any(w in a for a in allowed)
    ]
    if outside:
        found.append(f"story text (normalised): {outside[0]!r}")
    found += [f"name {name!r}" for name in names if name in body]
    if not finished:
        found += [f"marker {m!r}" for m in CORRECT_MARKERS if m in body]
    return found


def judge_urls(session_id: int) -> list[tuple[str, str]]:
    """Every URL pattern of the app, filled in for this session, with the method it takes."""
    urls = [("GET", "/"), ("GET", "/accounts/login/")]
    for module in ("debate.urls", "judging.urls", "llm_agents.urls"):
        for pattern in get_resolver(module).url_patterns:
            assert isinstance(pattern, URLPattern)
            route = (
                str(pattern.pattern)
                .replace("<int:session_id>", str(session_id))
                .replace("<str:name>", "accuracy")
                .replace("<str:batch_id>", "any")
            )
            urls.append(("GET", "/" + route))
            urls.append(("POST", "/" + route))
    return urls


class JudgeWatch:
    """Everything the judge can fetch or receive, checked after every move."""

    def __init__(self, session, judge_user, others):
        self.session = session
        self.client = Client()
        self.client.force_login(judge_user)
        self.names = [u.username for u in others]
        self.passage = session.question.passage.text
        self.sockets: list[WebsocketCommunicator] = []
        self.checked = 0
        self.prompts_checked = 0
        self.pending: set[str] = set()  # text of speeches whose round is not complete
        self.never: set[str] = set()  # other seats' unsent drafts: never the judge's

    async def open_sockets(self, judge_user) -> None:
        for path in (
            f"/ws/sessions/{self.session.pk}/",
            f"/ws/sessions/{self.session.pk}/room/",
            "/ws/lobby/",
        ):
            socket = WebsocketCommunicator(application, path, headers=HEADERS)
            socket.scope["user"] = judge_user
            connected, _ = await socket.connect()
            assert connected, path
            self.sockets.append(socket)

    async def check(self, finished: bool = False) -> None:
        revealed = await database_sync_to_async(self.revealed)()
        for socket in self.sockets:
            while not await socket.receive_nothing(timeout=0.3):
                message = await socket.receive_from()
                self.assert_clean(message, revealed, finished, "a push")
        await database_sync_to_async(self.check_urls)(revealed, finished)
        await database_sync_to_async(self.check_judge_prompts)(revealed, finished)

    def check_judge_prompts(self, revealed, finished: bool) -> None:
        """What an LLM in the judge's seat would be sent now, in every prompt version."""
        from llm_agents.prompts import PROMPTS, build_request

        seat = self.session.seats.get(role=Role.JUDGE)
        view = view_for(seat, Session.objects.get(pk=self.session.pk))
        for version in sorted(p.name for p in PROMPTS.iterdir() if p.is_dir()):
            request = build_request(view, version)
            body = "\n".join([request.system, *(m["content"] for m in request.messages)])
            self.assert_clean(body, revealed, finished, f"the judge's {version} prompt")
            self.prompts_checked += 1

    def revealed(self) -> list[tuple[int, int]]:
        spans = Quote.objects.filter(
            speech__round__session=self.session,
            verified=True,
            speech__round__completed_at__isnull=False,
        ).values_list("start", "end")
        return merge_spans(spans)

    def check_urls(self, revealed, finished: bool) -> None:
        for method, url in judge_urls(self.session.pk):
            for htmx in (False, True):
                headers = {"HX-Request": "true"} if htmx else {}
                data = {"text": "x", "p0": "50", "p1": "50", "scratchpad": "notes"}
                if method == "GET":
                    response = self.client.get(url, {"p0": "50", "p1": "50"}, headers=headers)
                elif url.endswith("/judgment"):
                    response = self.client.post(url, {"p0": "abc"}, headers=headers)  # refused
                else:
                    response = self.client.post(url, data, headers=headers)
                assert response.status_code < 500, (method, url, response.status_code)
                self.assert_clean(response.content.decode(), revealed, finished, f"{method} {url}")

    def assert_clean(self, body: str, revealed, finished: bool, where: str) -> None:
        self.checked += 1
        problems = leaks(body, self.passage, revealed, self.names, finished)
        problems += [f"unfinished round's speech {p!r}" for p in self.pending if p in body]
        problems += [f"another seat's draft {p!r}" for p in self.never if p in body]
        assert not problems, f"{where} leaks {problems}"

    async def close(self) -> None:
        for socket in self.sockets:
            await socket.disconnect()


def draft(session, role, text: str) -> None:
    from debate.services import draft_save

    draft_save(seat=session.seats.get(role=role), kind="speech", text=text)


@database_sync_to_async
def debate_setup():
    people = {r: make_user(f"leaky-{r}-name") for r in ("judge", "debater_a", "debater_b")}
    session = make_debate(order=[3, 0], **people)  # the correct answer is shown second
    return session, people


async def test_judge_sees_nothing_hidden_through_a_whole_debate():
    session, people = await debate_setup()
    watch = await database_sync_to_async(JudgeWatch)(
        session, people["judge"], [people["debater_a"], people["debater_b"]]
    )
    await watch.open_sockets(people["judge"])
    move = database_sync_to_async
    await watch.check()
    await move(judge)(session, [0.5, 0.5])
    await watch.check()
    await move(draft)(session, Role.DEBATER_B, "B-DRAFT-SENTINEL not sent yet")
    watch.never = {"B-DRAFT-SENTINEL"}
    await move(lambda: speak(session, Role.DEBATER_A, "A-OPENING " + quote(session, "the law")))()
    watch.pending = {"A-OPENING"}
    await watch.check()  # A's opening is pending: the judge must not see it
    await move(lambda: speak(session, Role.DEBATER_B, "B: " + quote(session, "seven ships")))()
    watch.pending = set()  # the round is complete: the judge may now read A's opening
    await watch.check()
    await move(judge)(session, [0.4, 0.6], "Go on.")
    await move(speak)(session, Role.DEBATER_A, "A-SECOND unquoted: Marta kept a second count")
    watch.pending = {"A-SECOND"}
    await watch.check()
    await move(speak)(session, Role.DEBATER_B, "B again.")
    watch.pending = set()
    await watch.check()
    await move(judge)(session, [0.3, 0.7], "Done.", end=True)
    await watch.check(finished=True)
    await watch.close()
    assert watch.checked > 100
    assert watch.prompts_checked >= 7


async def test_judge_sees_nothing_hidden_through_a_whole_consultancy():
    people = await database_sync_to_async(
        lambda: {r: make_user(f"leaky-{r}-c") for r in ("judge", "consultant")}
    )()
    session = await database_sync_to_async(make_consultancy)(consultant_position=1, **people)
    watch = await database_sync_to_async(JudgeWatch)(
        session, people["judge"], [people["consultant"]]
    )
    await watch.open_sockets(people["judge"])
    move = database_sync_to_async
    await watch.check()
    await move(judge)(session, [0.5, 0.5])
    await move(lambda: speak(session, Role.CONSULTANT, "Trust: " + quote(session, "Marta, his")))()
    await watch.check()
    await move(judge)(session, [0.5, 0.5])
    await move(speak)(session, Role.CONSULTANT, "Nothing else.")
    await move(judge)(session, [0.9, 0.1], end=True)
    await watch.check(finished=True)
    await watch.close()


def test_the_leak_check_itself_finds_a_leak():
    passage = "x" * 10 + "The inspector read both counts and chose the daughter's." + "y" * 10
    body = "<p>he read both counts and chose the daughter's.</p>"
    assert leaks(body, passage, [], [], finished=False)
    assert not leaks(body, passage, [(0, len(passage))], [], finished=False)
    # A planted canary is found however it is escaped or spaced.
    canary = "The lighthouse keeper's ledger named the ship \u201cOrla\u201d twice, in red ink."
    story = "Some opening words. " + canary + " Some closing words."
    escaped = html.escape(canary).replace(" ", "\n   ")
    assert leaks(f"<li>{escaped}</li>", story, [], [], finished=False)
    assert leaks(json.dumps({"view": {"note": canary.upper()}}), story, [], [], finished=False)
    assert leaks(json.dumps({"html": f"<p>{escaped}</p>"}), story, [], [], finished=False)
    start = story.index(canary)
    revealed = [(start, start + len(canary))]
    assert not leaks(json.dumps({"html": f"<p>{escaped}</p>"}), story, revealed, [], False)
    assert leaks("hello leaky-judge", passage, [], ["leaky-judge"], finished=True)
    assert leaks("The correct answer was A", passage, [], [], finished=False)


async def test_judge_sees_nothing_hidden_through_an_open_consultancy():
    """Open rules (issue 16): before the consultant's choice and after it, nothing the judge can
    fetch or receive holds the story, the correct answer or who holds the seats."""
    from debate.protocol import Protocol
    from debate.services import choice_submit
    from tests.debate.test_open_rules import open_session

    people = await database_sync_to_async(
        lambda: {r: make_user(f"leaky-{r}-open") for r in ("judge", "consultant")}
    )()
    session = await database_sync_to_async(open_session)(Protocol.CONSULTANCY, **people)
    watch = await database_sync_to_async(JudgeWatch)(
        session, people["judge"], [people["consultant"]]
    )
    await watch.open_sockets(people["judge"])
    move = database_sync_to_async
    await watch.check()
    consultant = await move(lambda: session.seats.get(role=Role.CONSULTANT))()
    await move(choice_submit)(session=session, seat=consultant, position=1)
    await watch.check()
    await move(judge)(session, [0.5, 0.5])
    await move(lambda: speak(session, Role.CONSULTANT, "Trust: " + quote(session, "Marta, his")))()
    await watch.check()
    await move(judge)(session, [0.9, 0.1], end=True)
    await watch.check(finished=True)
    await watch.close()
