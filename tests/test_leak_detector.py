"""The independent story detector the leak tests rely on is itself tested on a planted canary."""

from tests.leak_detector import story_windows

STORY = "The canary sang in the mine long before anyone else heard the gas creeping in."


def test_the_detector_finds_a_planted_canary():
    assert story_windows("He said: the canary sang in the mine long before anyone else.", STORY)
    assert story_windows("THE CANARY -- sang in the mine, long before anyone else heard!", STORY)


def test_the_detector_passes_a_paraphrase():
    assert not story_windows("A bird sang somewhere underground, early, before the gas.", STORY)
