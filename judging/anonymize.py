"""How people are named in exports: as they are, or by stable pseudonyms (the same person gets
the same one in every export made with this SECRET_KEY); names met in free text replaced, and
free-text survey answers that name anyone dropped."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable
from typing import Any

from django.conf import settings

from debate.records import SeatRecord, SessionRecord


class Names:
    """Participant names as exported: as they are, or stable pseudonyms."""

    def __init__(self, *, anonymize: bool, known: Iterable[str] = ()) -> None:
        self.anonymize = anonymize
        self.known = sorted({n for n in known if len(n) >= 3}, key=len, reverse=True)
        self._pattern = (
            re.compile(r"\b(" + "|".join(re.escape(n) for n in self.known) + r")\b", re.IGNORECASE)
            if self.known
            else None
        )

    def of(self, seat: SeatRecord) -> str:
        """Who holds a seat."""
        return self.person(seat.holder, seat.is_ai)

    def person(self, name: str, is_ai: bool = False) -> str:
        """A person's (or an agent's) name as exported; agents keep their names."""
        if is_ai or not self.anonymize:
            return name
        return self.pseudonym(name)

    def pseudonym(self, name: str) -> str:
        digest = hmac.new(
            settings.SECRET_KEY.encode(), name.casefold().encode(), hashlib.sha256
        ).hexdigest()
        return f"participant-{digest[:10]}"

    def scrub(self, text: str) -> str:
        """Names in free text replaced by their pseudonyms (when anonymising)."""
        if not self.anonymize or self._pattern is None:
            return text
        return self._pattern.sub(lambda m: self.pseudonym(m.group(0)), text)

    def names_anyone(self, text: str) -> bool:
        return bool(self.anonymize and self._pattern and self._pattern.search(text))

    def survey(self, answers: dict[str, Any] | None) -> dict[str, Any]:
        """Survey answers as exported: free text that names anyone dropped when anonymising."""
        return {
            key: value
            for key, value in (answers or {}).items()
            if not (isinstance(value, str) and self.names_anyone(value))
        }


def names_for(records: list[SessionRecord], *, anonymize: bool) -> Names:
    people = {s.holder for r in records for s in r.seats if not s.is_ai}
    people |= {
        by
        for r in records
        for rnd in r.rounds
        for by in (
            *(x.by for x in rnd.speeches),
            *(x.by for x in rnd.judgments),
            *(x.by for x in rnd.votes),
        )
        if by
    }
    return Names(anonymize=anonymize, known=people)
