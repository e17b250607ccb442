"""Shared fixtures: real database rows built through the real services."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings

from tests.factories import make_consultancy, make_debate, make_question, make_user

# Property tests judge behaviour, never speed: no per-example deadline (a loaded CI machine once
# failed one for taking 259 ms), and examples that build database rows may be slow.
settings.register_profile("platform", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("platform")


@pytest.fixture
def question(db):
    return make_question()


@pytest.fixture
def debate(db, question):
    return make_debate(question=question)


@pytest.fixture
def consultancy(db, question):
    return make_consultancy(question=question)


@pytest.fixture
def staff_user(db):
    return make_user("staffer", is_staff=True)


from tests.live_server import live_server_url  # noqa: E402, F401  (a fixture for every test)
