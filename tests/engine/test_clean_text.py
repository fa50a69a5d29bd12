"""Members' text as the engine takes it: storable, visible, and read as it is written."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.engine import errors
from bot.engine.deliberation import BIDI_CONTROLS, clean_text

LIMIT = 200
INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff\u00ad\u200e\u200f\u034f\ufe0f\u180e\u3164\u2800 \t\n\u3000\u202e\u2066"
BIDI = "".join(map(chr, BIDI_CONTROLS))


@given(st.text(max_size=300))
def test_whatever_is_accepted_is_storable_visible_stripped_unreversed_and_bounded(value: str) -> None:
    try:
        text = clean_text(value, "reason", LIMIT)
    except (errors.EmptyText, errors.TextTooLong, errors.InvalidValue) as refusal:
        message = refusal.user_message
    else:
        message = ""
    if message:
        assert message.startswith("The reason ")
        return
    text.encode("utf-8")  # never raises: what is accepted can be stored and sent
    assert text == text.strip()
    assert not set(text) & set(BIDI)
    assert 0 < len(text) <= LIMIT
    assert any(unicodedata.category(ch) not in ("Cf", "Cc", "Mn", "Me", "Zs", "Zl", "Zp") for ch in text)


@given(st.text(alphabet=INVISIBLE, max_size=50))
def test_text_made_only_of_invisible_characters_is_empty(value: str) -> None:
    with pytest.raises(errors.EmptyText):
        clean_text(value, "block's reason", LIMIT)


@given(st.text(alphabet=INVISIBLE, max_size=5), st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF))
def test_a_lone_surrogate_is_refused_with_words_not_a_crash(padding: str, surrogate: str) -> None:
    with pytest.raises(errors.InvalidValue, match="cannot be stored"):
        clean_text(f"Fine by me{padding}{surrogate}", "objection", LIMIT)


@given(
    # Letters and digits that show (the Hangul fillers are letters that render as nothing).
    st.text(
        alphabet=st.characters(categories=["L", "N"], exclude_characters="\u115f\u1160\u3164\uffa0"),
        min_size=1,
        max_size=40,
    ),
    st.text(alphabet=INVISIBLE + BIDI, max_size=10),
)
def test_visible_words_survive_and_direction_overrides_go(words: str, noise: str) -> None:
    text = clean_text(f"{noise}{words}{noise}", "statement", LIMIT)
    assert words in text.translate(dict.fromkeys(map(ord, INVISIBLE)))
    assert not set(text) & set(BIDI)


def test_a_right_to_left_override_no_longer_reverses_the_text() -> None:
    # "I agree \u202etnemeerga on\u202c" reads as "I agree no agreement" on screen.
    assert clean_text("I agree \u202etnemeerga on\u202c", "stance", LIMIT) == "I agree tnemeerga on"
