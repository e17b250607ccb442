"""An agent's speech cut to the rules: quotes over the budget are dropped whole (never turned into
plain story text), story text outside quotes is taken out, whole sentences go first; whatever
the reply, the result passes the check every speech passes, and no story window reaches the
judge outside a certified quote."""

from __future__ import annotations

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from debate import protocol
from debate.protocol import RoundKind, RoundSpec
from debate.quotes import Quote, Text
from llm_agents.speech_fitting import ELIDED, agent_segments, fit_speech
from tests.leak_detector import story_windows

STORY = (
    "The lighthouse keeper counted the ships every evening, standing at the gallery rail with a "
    "brass telescope that had belonged to his grandfather. In the spring of that year seven ships "
    "passed the point, and none of them stopped, though the third flew a signal he did not know. "
    "Marta, his daughter, kept a second count in a blue notebook that she hid under the loose "
    "board by the stove. Her count was always one higher, because she counted the ferry that her "
    "father refused to call a ship, saying a ship was a thing that went somewhere new. When the "
    "inspector came in June he read both counts by the lamp, asked for tea, and at last chose the "
    "daughter's, since the law named every vessel that carried passengers for hire."
)
SPEC = RoundSpec(RoundKind.SEQUENTIAL, 1500, 500)


def plain_text(markup: str) -> str:
    """What the judge reads outside certified quotes."""
    return " ".join(
        s.text for s in agent_segments(markup, STORY) if not (isinstance(s, Quote) and s.verified)
    )


def test_an_over_budget_quote_is_dropped_whole_never_unwrapped():
    # The crawl's reproduction: three 200-character quotes, a 500-character budget.
    s = STORY
    markup = (
        f"Look: <quote>{s[0:200]}</quote> and <quote>{s[200:400]}</quote> and "
        f"<quote>{s[400:600]}</quote> done"
    )
    fitted = fit_speech(markup, s, SPEC)
    segments = agent_segments(fitted, s)
    quotes = [x for x in segments if isinstance(x, Quote)]
    assert [q.text for q in quotes] == [s[0:200], s[200:400]] and all(q.verified for q in quotes)
    assert "</quote> and <quote>" not in plain_text(fitted)
    assert not story_windows(plain_text(fitted), s)
    assert fitted.startswith("Look: <quote>") and fitted.endswith("done")


def test_story_text_written_as_plain_text_is_taken_out():
    copied = STORY[100:260]
    fitted = fit_speech(f"As the story says, {copied} So A is right.", STORY, SPEC)
    assert ELIDED in fitted and "So A is right." in fitted
    assert not story_windows(plain_text(fitted), STORY)


def test_a_quote_with_a_word_changed_is_plain_text_and_taken_out_too():
    near = STORY[300:520].replace("notebook", "book")
    fitted = fit_speech(f"<quote>{near}</quote> proves it.", STORY, SPEC)
    assert "proves it." in fitted and "blue book" not in fitted


def test_sentences_go_from_the_end_and_a_quote_at_the_end_goes_whole():
    spec = RoundSpec(RoundKind.SEQUENTIAL, 40, 20)
    assert fit_speech("First point here. Second point is long. Third.", STORY, spec) == (
        "First point here. Second point is long."
    )
    fitted = fit_speech("Yes. <quote>seven ships passed the point</quote>", STORY, spec)
    assert fitted == "Yes. " or fitted == "Yes."


def test_a_speech_with_nothing_left_says_so():
    spec = RoundSpec(RoundKind.SEQUENTIAL, 200, 10)
    fitted = fit_speech("<quote>seven ships passed the point</quote>", STORY, spec)
    assert fitted == "I have nothing to add in this round."


pieces = st.one_of(
    st.tuples(st.integers(0, len(STORY) - 1), st.integers(1, 300)).map(
        lambda p: ("quote", STORY[p[0] : p[0] + p[1]])
    ),
    st.tuples(st.integers(0, len(STORY) - 1), st.integers(1, 300)).map(
        lambda p: ("plain", STORY[p[0] : p[0] + p[1]])
    ),
    st.text(st.sampled_from("abc xyz.!?<>/\"'"), min_size=0, max_size=60).map(lambda t: ("own", t)),
    st.sampled_from(["<quote>", "</quote>", '<quote start="3" end="900000">', ". "]).map(
        lambda t: ("tag", t)
    ),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    parts=st.lists(pieces, max_size=12),
    char_limit=st.integers(60, 1500),
    quote_limit=st.integers(0, 500),
)
# An unverified quote whose story run is cut out is found in the story once read again, and then
# counts against a quote limit of 0 (hypothesis found it).
@example(
    parts=[("tag", "<quote>"), ("plain", "T" + STORY[:47]), ("tag", "</quote>")],
    char_limit=60,
    quote_limit=0,
)
def test_whatever_the_reply_the_fitted_speech_keeps_every_rule(parts, char_limit, quote_limit):
    markup = "".join(f"<quote>{t}</quote>" if kind == "quote" else t for kind, t in parts)
    spec = RoundSpec(RoundKind.SEQUENTIAL, char_limit, quote_limit)
    structure = protocol.Structure(opening=(spec,), repeating=())
    fitted = fit_speech(markup, STORY, spec, structure)
    segments = agent_segments(fitted, STORY)
    assert protocol.check_speech(segments, spec, structure, STORY) == []
    assert not story_windows(plain_text(fitted), STORY)
    assert sum(len(s.text) for s in segments) <= char_limit
    assert all(isinstance(s, Text | Quote) for s in segments)
