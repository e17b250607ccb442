"""Who sees what: the one place that decides the complete view of a seat (DESIGN.md section 4).

Every route out of the server to a seat (pages, partials, WebSocket pushes, JSON, LLM prompts,
exports made "as the judge") renders a `SeatView` from this module and nothing else. The rules:

- a judge (live or offline) sees the question, the shown answers, the speeches of completed rounds,
  the verified quote text in them, its own judgments; never the passage outside quoted spans, which
  answer is correct before its judging is over, a speech of an unfinished round, or who holds the
  other seats;
- a debater or consultant sees the passage, the question, the answers, which is its own and which
  is correct, all completed rounds, the current round's speeches in a sequential round, only its
  own in a simultaneous round, and the judge's probabilities and text; no identities;
- under rules with judge questions on (interactive debate), the live judge's questions are part of
  its judgment: both experts see both questions, as they see its notes, and each is shown the
  one addressed to it above its speech box until it has spoken; the live judge sees its own;
  an offline judge sees none (it never sees the live judge's judgments);
- staff see everything.

`build_view` is pure (plain snapshot in, plain view out) so its rules are property-tested without a
database; `view_for` loads the snapshot of a stored session and calls it.

The package: `rules.py` (the pure rules, the JSON form of a view, a speaker's draft preview),
`snapshots.py` (loading and caching a stored session's snapshot; the view of a stored seat),
`lobby.py` (a user's lobby and staff's lists). The snapshot's records are `debate/records.py`'s,
the one family of session records (the analysis reads it too). Import from the package:
`debate.visibility`.
"""

from debate.protocol import LETTERS
from debate.records import (
    JudgmentRecord,
    RoundRecord,
    SeatRecord,
    SessionSnapshot,
    SpeechRecord,
    VoteRecord,
    speech_segments,
)
from debate.visibility.lobby import (
    LOBBY_FINISHED_SHOWN,
    LOBBY_STAFF_SHOWN,
    ROLE_PHRASES,
    HolderView,
    Lobby,
    LobbyEntry,
    lobby_for,
    overdue_session_entries,
    role_phrase,
    roles_phrase,
    staff_session_entries,
)
from debate.visibility.rules import (
    ROLE_LABELS,
    STAFF,
    AnswerLine,
    DraftView,
    QuoteView,
    RoundView,
    SeatView,
    SpeechView,
    Viewer,
    build_view,
    offline_step,
    played_rounds,
    revealed_spans,
    speech_draft_view,
    undo_allowed,
    view_to_dict,
)
from debate.visibility.snapshots import (
    SeatLost,
    session_snapshot,
    sessions_hiding_names_from,
    view_for,
    view_for_seat_at,
    view_for_staff,
)

__all__ = [
    "LETTERS",
    "LOBBY_FINISHED_SHOWN",
    "LOBBY_STAFF_SHOWN",
    "ROLE_LABELS",
    "ROLE_PHRASES",
    "STAFF",
    "AnswerLine",
    "DraftView",
    "HolderView",
    "JudgmentRecord",
    "Lobby",
    "LobbyEntry",
    "QuoteView",
    "RoundRecord",
    "RoundView",
    "SeatLost",
    "SeatRecord",
    "SeatView",
    "SessionSnapshot",
    "SpeechRecord",
    "SpeechView",
    "Viewer",
    "VoteRecord",
    "build_view",
    "lobby_for",
    "offline_step",
    "overdue_session_entries",
    "played_rounds",
    "revealed_spans",
    "role_phrase",
    "roles_phrase",
    "session_snapshot",
    "sessions_hiding_names_from",
    "speech_draft_view",
    "speech_segments",
    "staff_session_entries",
    "undo_allowed",
    "view_for",
    "view_for_seat_at",
    "view_for_staff",
    "view_to_dict",
]
