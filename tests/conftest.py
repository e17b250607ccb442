"""Shared fixtures: real database rows built through the real services."""

from __future__ import annotations

import pytest

from tests.factories import make_consultancy, make_debate, make_question, make_user


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
