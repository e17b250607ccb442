"""The audit trail: moves, staff edits (with the row before and after) and undos are recorded and
never overwritten; a participant takes back a speech only while no one else can have seen it."""

from __future__ import annotations

import pytest

from debate.models import AuditEvent, Speech
from debate.protocol import Role
from debate.services import MoveRejected, move_undo
from debate.visibility import view_for
from tests.factories import judge, make_consultancy, make_debate, make_user, seat, speak

pytestmark = pytest.mark.django_db


def test_every_move_is_recorded_with_who_and_what():
    session = make_debate()
    judge(session, (0.5, 0.5))
    speak(session, Role.DEBATER_A, "Mine.")
    events = list(AuditEvent.objects.filter(session=session).order_by("id"))
    assert [e.action for e in events] == ["judgment", "speech"]
    assert events[0].actor == seat(session, Role.JUDGE).user
    assert events[1].after["text"] == "Mine." and events[1].target_type == "debate.Speech"


def test_a_speech_cannot_be_edited_in_the_admin_and_its_move_keeps_its_event(client):
    session = make_debate()
    judge(session, (0.5, 0.5))
    speech = speak(session, Role.DEBATER_A, "Original words.")
    staff = make_user("ops", is_staff=True, is_superuser=True)
    client.force_login(staff)
    url = f"/admin/debate/speech/{speech.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200 and "Original words." in page.content.decode()
    assert 'name="_save"' not in page.content.decode()  # shown, not editable
    form = {"round": speech.round_id, "seat": speech.seat_id, "text": "Corrected words."}
    assert client.post(url, form).status_code == 403
    speech.refresh_from_db()
    assert speech.text == "Original words."
    assert not AuditEvent.objects.filter(action="admin_change").exists()
    # The original move's event is still there, unchanged.
    assert AuditEvent.objects.get(action="speech", target_id=str(speech.pk)).after["text"] == (
        "Original words."
    )


def test_the_trail_cannot_be_edited_in_the_admin(client):
    make_debate()
    client.force_login(make_user("ops", is_staff=True, is_superuser=True))
    event = AuditEvent.objects.first() or AuditEvent.objects.create(action="x")
    assert client.get(f"/admin/debate/auditevent/{event.pk}/delete/").status_code == 403
    assert client.get("/admin/debate/auditevent/add/").status_code == 403


def test_a_simultaneous_speech_is_taken_back_before_the_other_debater_speaks():
    session = make_debate()
    judge(session, (0.5, 0.5))
    speak(session, Role.DEBATER_A, "Too hasty.")
    a = seat(session, Role.DEBATER_A)
    assert view_for(a, session).may_undo
    move_undo(session=session, seat=a, user=a.user)
    assert not Speech.objects.filter(seat=a).exists()
    event = AuditEvent.objects.get(action="move_undone")
    assert event.before["text"] == "Too hasty." and event.actor == a.user
    speak(session, Role.DEBATER_A, "Considered.")  # the seat may speak again
    assert Speech.objects.get(seat=a).text == "Considered."


def test_nothing_is_taken_back_once_someone_else_can_see_it():
    session = make_debate()
    judge(session, (0.5, 0.5))
    speak(session, Role.DEBATER_A, "One.")
    speak(session, Role.DEBATER_B, "Two.")  # the round is complete: the judge sees both
    a = seat(session, Role.DEBATER_A)
    assert not view_for(a, session).may_undo
    with pytest.raises(MoveRejected, match="no longer be taken back"):
        move_undo(session=session, seat=a, user=a.user)
    consultancy = make_consultancy()
    judge(consultancy, (0.5, 0.5))
    speak(consultancy, Role.CONSULTANT, "Seen at once.")  # completes the round for the judge
    consultant = seat(consultancy, Role.CONSULTANT)
    with pytest.raises(MoveRejected):
        move_undo(session=consultancy, seat=consultant, user=consultant.user)


def test_only_the_speaker_takes_back_their_own_speech(client):
    session = make_debate()
    judge(session, (0.5, 0.5))
    speak(session, Role.DEBATER_A, "Mine.")
    b = seat(session, Role.DEBATER_B)
    with pytest.raises(MoveRejected):
        move_undo(session=session, seat=b, user=b.user)  # B has nothing to take back
    client.force_login(make_user("stranger"))
    assert client.post(f"/sessions/{session.pk}/undo").status_code == 404
    client.force_login(seat(session, Role.DEBATER_A).user)
    page = client.get(f"/sessions/{session.pk}/").content.decode()
    assert "Take back my speech" in page
    assert client.post(f"/sessions/{session.pk}/undo").status_code == 302
    assert not Speech.objects.filter(round__session=session).exists()
