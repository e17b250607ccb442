"""The rooms, the lobby and the move endpoints over HTTP, as a browser uses them: what each user
gets, and a clear message, a 4xx status and nothing saved twice for every bad input."""

from __future__ import annotations

import pytest
from django.test import Client

from debate.models import Judgment, Scratchpad, Session, Speech
from debate.protocol import Role
from tests.factories import judge, make_debate, make_question, make_user, quote, speak

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


@pytest.fixture
def people():
    return {r: make_user(f"v-{r}") for r in ("judge", "debater_a", "debater_b")}


@pytest.fixture
def session(people):
    return make_debate(**people)


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- the lobby -----------------------------------------------------------------------------------


def test_lobby_groups_sessions_by_whose_turn_it_is(people, session):
    other = make_debate(judge=make_user(), debater_a=people["debater_a"], debater_b=make_user())
    judge(other)
    page = client_for(people["debater_a"]).get("/").content.decode()
    turn, waiting = page.split('id="turn-heading"')[1].split('id="waiting-heading"')
    assert f"/sessions/{other.pk}/" in turn and f"/sessions/{session.pk}/" in waiting
    assert "you are debater A" in page
    assert "v-judge" not in page  # no other seat's holder
    assert "<title>(1) Debate platform</title>" in page


def test_finished_sessions_are_listed_as_finished(people, session):
    judge(session)
    speak(session, Role.DEBATER_A, "a")
    speak(session, Role.DEBATER_B, "b")
    judge(session, [0.7, 0.3], end=True)
    page = client_for(people["judge"]).get("/").content.decode()
    assert f"/sessions/{session.pk}/" in page.split('id="finished-heading"')[1]


def test_staff_see_all_sessions_and_can_create_one(people, session, staff_user):
    client = client_for(staff_user)
    assert f"/sessions/{session.pk}/" in client.get("/").content.decode()
    question = make_question()
    response = client.post(
        "/sessions/new/",
        {
            "question": question.pk,
            "protocol": "consultancy",
            "judge": people["judge"].pk,
            "consultant": people["debater_a"].pk,
            "consultant_honest": "on",
        },
    )
    created = Session.objects.get(question=question)
    assert response.status_code == 302 and response.url == f"/sessions/{created.pk}/"
    consultant = created.seats.get(role=Role.CONSULTANT)
    assert consultant.answer_position == created.correct_position
    assert created.rules.name == "paper-consultancy"  # no rules chosen: the protocol's paper rules


def test_session_creation_refuses_a_person_in_two_seats(people, session, staff_user):
    response = client_for(staff_user).post(
        "/sessions/new/",
        {
            "question": make_question().pk,
            "protocol": "debate",
            "rules": session.rules.pk,
            "judge": people["judge"].pk,
            "debater_a": people["judge"].pk,
            "debater_b": people["debater_b"].pk,
        },
    )
    assert response.status_code == 422
    assert "One person cannot hold two seats" in response.content.decode()


def test_non_staff_cannot_create_sessions_and_get_the_sites_own_403(people):
    response = client_for(people["judge"]).get("/sessions/new/")
    assert response.status_code == 403
    assert "This page is for study staff" in response.content.decode()
    for page in ("/analysis/", "/batches/", "/sessions/schedule/"):
        assert client_for(people["judge"]).get(page).status_code == 403
    from django.test import Client

    anonymous = Client().get("/sessions/new/")
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous.url


def test_create_a_session_refuses_a_judge_who_read_the_story_and_says_why(people, staff_user):
    from debate.models import PassageReading
    from llm_agents.models import Agent

    question = make_question()
    reader = make_user("reader")
    PassageReading.objects.create(user=reader, passage=question.passage)
    client = client_for(staff_user)
    form = {"question": question.pk, "protocol": "debate", "debater_a": people["debater_a"].pk,
            "debater_b": people["debater_b"].pk}  # fmt: skip
    refused = client.post("/sessions/new/", {**form, "judge": reader.pk})
    assert refused.status_code == 422
    assert "reader has read" in refused.content.decode()
    assert not Session.objects.filter(question=question).exists()
    judges = client.get(f"/sessions/new/judges?question={question.pk}").content.decode()
    assert "1 person is not offered" in judges and "reader</b>: reader has read" in judges
    assert f'value="user:{reader.pk}"' not in judges
    agent = Agent.objects.create(name="gpt-judge", provider="openai", model="gpt-4o")
    client.post("/sessions/new/", {**form, "judge": f"agent:{agent.pk}"})
    judge_seat = Session.objects.get(question=question).seats.get(role="judge")
    assert judge_seat.ai_player == "gpt-judge" and judge_seat.agent_link.agent == agent


# --- who may open what ---------------------------------------------------------------------------


def test_each_seat_gets_its_own_room_and_strangers_get_404(people, session):
    judge_page = client_for(people["judge"]).get(f"/sessions/{session.pk}/").content.decode()
    assert 'id="judge-form"' in judge_page and 'id="passage"' not in judge_page
    debater_page = client_for(people["debater_a"]).get(f"/sessions/{session.pk}/").content.decode()
    assert 'id="passage"' in debater_page and 'id="speech-form"' in debater_page
    stranger = client_for(make_user("stranger"))
    for url in ("", "view.json"):
        assert stranger.get(f"/sessions/{session.pk}/{url}").status_code == 404
    for url in ("speech", "score", "draft", "note-draft", "vote"):
        assert stranger.post(f"/sessions/{session.pk}/{url}", {"text": "x"}).status_code == 404
    assert client_for(people["judge"]).get("/sessions/999999/").status_code == 404


def test_a_judge_cannot_post_a_speech_nor_a_debater_a_judgment(people, session):
    assert (
        client_for(people["judge"])
        .post(f"/sessions/{session.pk}/speech", {"text": "x"})
        .status_code
        == 404
    )
    assert (
        client_for(people["debater_a"])
        .post(f"/sessions/{session.pk}/judgment", {"p0": "50", "p1": "50"})
        .status_code
        == 404
    )
    assert (
        client_for(people["judge"])
        .post(f"/sessions/{session.pk}/draft", {"text": "<quote>x</quote>"})
        .status_code
        == 404
    )  # a judge can never probe the story through the draft preview


def test_htmx_partials_vary_on_hx_request(people, session):
    response = client_for(people["judge"]).get(f"/sessions/{session.pk}/", headers=HTMX)
    assert "HX-Request" in response["Vary"]
    assert "<html" not in response.content.decode()


# --- moves and bad input -------------------------------------------------------------------------


def test_judgment_through_the_form(people, session):
    client = client_for(people["judge"])
    response = client.post(
        f"/sessions/{session.pk}/judgment",
        {"p0": "70", "p1": "30", "text": "Prior.", "action": "continue"},
        headers=HTMX,
    )
    assert response.status_code == 200
    assert Judgment.objects.get().probabilities == [0.7, 0.3]


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"p0": "-10", "p1": "110"}, "between 0% and 100%"),
        ({"p0": "abc", "p1": "50"}, "must be numbers"),
        ({"p0": "60", "p1": "60"}, "must sum to 100%"),
        ({"p0": "nan", "p1": "50"}, "must be numbers"),
        ({"p0": "50"}, "must be numbers"),
    ],
)
def test_bad_probabilities_get_a_clear_message_and_save_nothing(people, session, fields, message):
    response = client_for(people["judge"]).post(
        f"/sessions/{session.pk}/judgment", fields, headers=HTMX
    )
    assert response.status_code == 422
    assert message in response.content.decode()
    assert not Judgment.objects.exists()


def test_over_limit_speech_is_refused_and_the_draft_kept(people, session):
    judge(session)
    text = "y" * 800
    response = client_for(people["debater_a"]).post(
        f"/sessions/{session.pk}/speech", {"text": text}, headers=HTMX
    )
    assert response.status_code == 422
    body = response.content.decode()
    assert "The speech has 800 characters; the limit is 750." in body
    assert text in body  # nothing the user wrote is lost
    assert not Speech.objects.exists()


def test_quote_span_outside_the_story_is_refused(people, session):
    judge(session)
    response = client_for(people["debater_a"]).post(
        f"/sessions/{session.pk}/speech",
        {"text": '<quote start="5" end="99999">x</quote>'},
        headers=HTMX,
    )
    assert response.status_code == 422
    assert "is not inside the story" in response.content.decode()


def test_out_of_turn_and_double_submit_get_409_and_save_once(people, session):
    client = client_for(people["debater_a"])
    early = client.post(f"/sessions/{session.pk}/speech", {"text": "early"}, headers=HTMX)
    assert early.status_code == 409 and "It is not your turn." in early.content.decode()
    judge(session)
    first = client.post(f"/sessions/{session.pk}/speech", {"text": "once"}, headers=HTMX)
    second = client.post(f"/sessions/{session.pk}/speech", {"text": "once"}, headers=HTMX)
    assert (first.status_code, second.status_code) == (200, 409)
    assert Speech.objects.count() == 1


def test_post_without_csrf_token_is_refused(people, session):
    client = Client(enforce_csrf_checks=True)
    client.force_login(people["judge"])
    response = client.post(f"/sessions/{session.pk}/judgment", {"p0": "50", "p1": "50"})
    assert response.status_code == 403
    assert not Judgment.objects.exists()


def test_without_htmx_a_refused_move_redirects_back_with_the_message(people, session):
    client = client_for(people["debater_a"])
    response = client.post(f"/sessions/{session.pk}/speech", {"text": "early"}, follow=True)
    assert "It is not your turn." in response.content.decode()


# --- previews and notes --------------------------------------------------------------------------


def test_draft_preview_counts_and_highlights_like_a_submission(people, session):
    judge(session)
    response = client_for(people["debater_a"]).post(
        f"/sessions/{session.pk}/draft",
        {"text": "See " + quote(session, "seven ships") + " and <quote>nowhere said</quote>"},
    )
    body = response.content.decode()
    assert '<mark class="quote">seven ships</mark>' in body
    assert 'class="quote unverified"' in body
    assert "32 / 750 characters" in body and "11 / 250 quoted" in body


def test_score_preview_shows_the_score_under_each_answer_and_the_expected_score(people, session):
    judge = client_for(people["judge"])
    body = judge.post(f"/sessions/{session.pk}/score", {"p0": "80", "p1": "20"}).content.decode()
    assert "-0.32" in body and "-2.32" in body  # log2(0.8), log2(0.2)
    assert "-0.37" in body  # after one more round: one more 0.05 penalty
    assert (
        "-0.72" in body and "-0.77" in body
    )  # expected: 0.8 log2 0.8 + 0.2 log2 0.2, then less 0.05
    assert "expected (your probabilities)" in body and "score (S_j)" in body
    assert judge.post(f"/sessions/{session.pk}/score", {"p0": "x", "p1": "20"}).status_code == 422
    assert judge.get(f"/sessions/{session.pk}/score?p0=80&p1=20").status_code == 405  # never a GET


def test_scratchpad_is_saved_and_private(people, session):
    client = client_for(people["debater_a"])
    assert client.post(f"/sessions/{session.pk}/scratchpad", {"scratchpad": "B lies"}).content
    assert Scratchpad.objects.get().text == "B lies"
    assert "B lies" in client.get(f"/sessions/{session.pk}/").content.decode()
    for other in ("judge", "debater_b"):
        page = client_for(people[other]).get(f"/sessions/{session.pk}/").content.decode()
        assert "B lies" not in page
    too_long = client.post(f"/sessions/{session.pk}/scratchpad", {"scratchpad": "x" * 20001})
    assert too_long.status_code == 422
    assert Scratchpad.objects.get().text == "B lies"


# --- drafts: nothing typed is lost ----------------------------------------------------------------


def test_a_speech_draft_is_saved_as_typed_comes_back_and_is_cleared_by_the_submission(
    people, session
):
    a = client_for(people["debater_a"])
    judge(session)  # the openings are due
    preview = a.post(f"/sessions/{session.pk}/draft", {"text": "DRAFT-OF-A half written"})
    assert preview.status_code == 200
    for reload in (a, client_for(people["debater_a"])):  # a reload, a second tab or device
        page = reload.get(f"/sessions/{session.pk}/").content.decode()
        assert "DRAFT-OF-A half written" in page
    assert reload.get(f"/sessions/{session.pk}/view.json").json()["drafts"] == {
        "speech": "DRAFT-OF-A half written"
    }
    for other in ("judge", "debater_b"):  # a draft is its author's alone
        assert (
            "DRAFT-OF-A"
            not in client_for(people[other]).get(f"/sessions/{session.pk}/").content.decode()
        )
        assert client_for(people[other]).get(f"/sessions/{session.pk}/view.json").json()[
            "drafts"
        ] in ({}, {"speech": ""})
    staff = make_user("ops", is_staff=True)
    assert "DRAFT-OF-A" not in client_for(staff).get(f"/sessions/{session.pk}/").content.decode()
    a.post(f"/sessions/{session.pk}/speech", {"text": "The sent speech."}, HTTP_HX_REQUEST="true")
    assert "DRAFT-OF-A" not in a.get(f"/sessions/{session.pk}/").content.decode()
    assert a.get(f"/sessions/{session.pk}/view.json").json()["drafts"] == {}


def test_a_judges_note_draft_is_kept_until_the_judgment_and_a_taken_back_speech_returns(
    people, session
):
    j = client_for(people["judge"])
    assert (
        j.post(f"/sessions/{session.pk}/note-draft", {"text": "NOTE-DRAFT to say"}).content
        == b"Draft saved."
    )
    assert "NOTE-DRAFT to say" in j.get(f"/sessions/{session.pk}/").content.decode()
    refused = j.post(
        f"/sessions/{session.pk}/judgment",
        {"p0": "70", "p1": "20", "text": "NOTE-DRAFT to say", "action": "continue"},
        HTTP_HX_REQUEST="true",
    )
    body = refused.content.decode()
    assert refused.status_code == 422 and "sum to 100%" in body
    assert 'value="70"' in body and "NOTE-DRAFT to say" in body  # what was typed is kept
    j.post(
        f"/sessions/{session.pk}/judgment",
        {"p0": "60", "p1": "40", "text": "Sent.", "action": "continue"},
    )
    assert "NOTE-DRAFT" not in j.get(f"/sessions/{session.pk}/").content.decode()

    a = client_for(people["debater_a"])
    passage = session.question.passage.text
    start = passage.index("seven ships")
    markup = f'Look: <quote start="{start}" end="{start + 11}">seven ships</quote>'
    a.post(f"/sessions/{session.pk}/speech", {"text": markup})
    undone = a.post(f"/sessions/{session.pk}/undo", HTTP_HX_REQUEST="true")
    assert undone.status_code == 204 and undone["HX-Refresh"] == "true"
    page = a.get(f"/sessions/{session.pk}/").content.decode()
    assert "it is in your draft again" in page
    assert (
        f"Look: &lt;quote start=&quot;{start}&quot; end=&quot;{start + 11}&quot;&gt;seven ships"
        in page
    )


def test_an_empty_speech_is_refused_with_the_reason_and_nothing_saved(people, session):
    judge(session)
    a = client_for(people["debater_a"])
    for text in ("", "   \n  "):
        refused = a.post(f"/sessions/{session.pk}/speech", {"text": text}, HTTP_HX_REQUEST="true")
        assert refused.status_code == 422
        assert "Your speech is empty" in refused.content.decode()
    missing = a.post(f"/sessions/{session.pk}/speech", {}, HTTP_HX_REQUEST="true")
    assert missing.status_code == 422
    assert not Speech.objects.exists()
