"""Leaderboards: the standings and the rating model (`standings.py`, pure), selectors, views."""
