"""Bad input anywhere gives a clear 4xx and saves nothing, never a 500: every URL the platform
serves, posted and fetched with each class of bad input, as a participant and as staff. Run on
SQLite by `make test` and on PostgreSQL by CI (where a NUL byte used to fail in the database)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import URLPattern, get_resolver

from debate.models import Draft, Judgment, Scratchpad, Speech
from debate.protocol import RejectionCode, Role
from debate.services import MoveRejected, draft_save, scratchpad_save
from judging.models import SurveyResponse
from tests.factories import judge, make_debate, make_user, play_to_end, seat, speak

pytestmark = pytest.mark.django_db

BAD_CHARACTERS = {
    "NUL": "\x00",
    "right-to-left override": "\u202e",
    "left-to-right isolate": "\u2066",
}


def every_url(session_id: int) -> list[str]:
    urls = []
    for module in ("debate.urls", "judging.urls", "llm_agents.urls"):
        for pattern in get_resolver(module).url_patterns:
            assert isinstance(pattern, URLPattern)
            urls.append(
                "/"
                + str(pattern.pattern)
                .replace("<int:session_id>", str(session_id))
                .replace("<int:user_id>", "1")
                .replace("<str:name>", "accuracy")
                .replace("<str:batch_id>", "any")
            )
    return urls


FIELDS = ("text", "scratchpad", "p0", "p1", "username", "url", "q", "note", "status", "vote")


def saved() -> tuple[int, ...]:
    return (
        Speech.objects.count(),
        Judgment.objects.count(),
        Draft.objects.count(),
        Scratchpad.objects.count(),
        SurveyResponse.objects.count(),
    )


@pytest.fixture
def running():
    session = make_debate()
    judge(session, (0.5, 0.5))
    return session


@pytest.mark.parametrize("name", BAD_CHARACTERS)
def test_a_bad_character_in_any_field_of_any_route_is_a_400_naming_the_field(running, name):
    bad = BAD_CHARACTERS[name]
    before = saved()
    checked = 0
    for user in (seat(running, Role.DEBATER_A).user, make_user("boss", is_staff=True)):
        client = Client()
        client.force_login(user)
        for url in every_url(running.pk):
            for field in FIELDS:
                data = (
                    {field: f"ab{bad}cd", "p0": "50", "p1": "50"}
                    if field[0] != "p"
                    else {field: f"5{bad}0"}
                )
                for response in (client.post(url, data), client.get(url, {field: f"x{bad}"})):
                    checked += 1
                    assert response.status_code == 400, (url, field, response.status_code)
                    assert f"The field “{field}”" in response.content.decode()
    assert saved() == before and checked > 500


def test_a_body_that_is_not_a_form_is_415_and_saves_nothing(client, running):
    client.force_login(seat(running, Role.DEBATER_A).user)
    for url in every_url(running.pk):
        response = client.post(url, '{"text": "hello"}', content_type="application/json")
        assert response.status_code == 415, url
        assert "This page takes a form" in response.content.decode()
    assert not Speech.objects.exists()


@pytest.mark.parametrize(
    ("data", "reason"),
    [({}, "Your speech is empty"), ({"text": "   \n\t "}, "Your speech is empty")],
    ids=["no text field", "whitespace only"],
)
def test_a_missing_or_blank_speech_is_refused(client, running, data, reason):
    client.force_login(seat(running, Role.DEBATER_A).user)
    response = client.post(f"/sessions/{running.pk}/speech", data, headers={"HX-Request": "true"})
    assert response.status_code == 422 and reason in response.content.decode()
    assert not Speech.objects.exists()


@pytest.mark.parametrize("name", BAD_CHARACTERS)
def test_the_services_refuse_a_bad_character_too(running, name):
    bad = BAD_CHARACTERS[name]
    debater = seat(running, Role.DEBATER_A)
    for call in (
        lambda: speak(running, Role.DEBATER_A, f"Mine{bad}."),
        lambda: draft_save(seat=debater, kind="speech", text=f"x{bad}"),
        lambda: scratchpad_save(seat=debater, text=f"x{bad}"),
    ):
        with pytest.raises(MoveRejected) as error:
            call()
        assert error.value.rejections[0].code == RejectionCode.BAD_TEXT
        assert f"U+{ord(bad):04X}" in error.value.message
    session = play_to_end(make_debate())
    from judging.services import survey_submit

    judge_seat = seat(session, Role.JUDGE)
    with pytest.raises(ValueError, match=r"U\+"):
        survey_submit(
            seat=judge_seat,
            answers={"reason for outcome": f"because{bad}"},
            user=judge_seat.user,
        )
    assert saved()[0] == 2 and not SurveyResponse.objects.exists()


def test_a_judge_note_with_a_bad_character_is_refused(running):
    speak(running, Role.DEBATER_A, "Mine.")
    speak(running, Role.DEBATER_B, "Not yours.")
    with pytest.raises(MoveRejected) as error:
        judge(running, (0.5, 0.5), text="fine\x00")
    assert error.value.rejections[0].code == RejectionCode.BAD_TEXT


def test_per_seat_pages_and_json_are_never_stored(client, running):
    client.force_login(seat(running, Role.DEBATER_A).user)
    for url in (
        f"/sessions/{running.pk}/",
        f"/sessions/{running.pk}/view.json",
        "/",
        "/me/",
        "/me/notifications/",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        control = response["Cache-Control"]
        assert "private" in control and "no-store" in control, (url, control)
    partial = client.post(f"/sessions/{running.pk}/draft", {"text": "typing"})
    assert "no-store" in partial["Cache-Control"]
