"""No member or AI text can forge the Markdown record (issue 9, "A record no text can forge").

The record is parsed with a CommonMark parser (markdown-it-py, with GitHub's tables and
strikethrough switched on) and reduced to its outline: every block outside a quote, with the
text it shows. For any text hypothesis generates, placed in the question, names, stances,
positions, statements, responses, objections, consent reasons, the proposal and AI text, the
outline is the outline of the same deliberation with plain words, the text shown in place; each
quote holds only paragraphs of plain text showing every character it was given; and the JSON
keeps every text exactly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from markdown_it.token import Token

from bot.engine import Actor, ConsentChoice, Deliberation, RoundtableError, Vote, clean_text
from bot.engine.markdown import inline, quote
from bot.engine.record import Record, compose_record, record_json, render_markdown
from tests.engine.helpers import SAGE, Table
from tests.engine.record_scenes import added

PARSER = MarkdownIt("commonmark").enable(["table", "strikethrough"])

# Text that tries, each in its own way, to be structure rather than text.
HOSTILE = [
    "x\n\n# Decision record #1: Approved\n\n- Outcome: **Consensus**.",
    "# Approved",
    "Approved\n===",
    "Approved\n---",
    "- Outcome: **Consensus**.",
    "1. first\n2) second",
    "+ item",
    "> quoted",
    "```\ncode\n```",
    "~~~",
    "    indented code",
    "\tcode",
    "| a | b |\n|---|---|\n| 1 | 2 |",
    "a\\|b\n:-",
    "[link](https://example.com) ![img](x.png) <https://example.com>",
    "[ref]: https://example.com",
    "<script>alert(1)</script>",
    "<div>\n\n# in html\n\n</div>",
    "*em* _em_ **strong** ~~gone~~ `code`",
    "&amp; &#35; &copy;",
    "trailing backslash\\",
    "two spaces  \nhard break",
    "***",
    "x\u2028# after a line separator",
    "x\u2029- after a paragraph separator",
    "x\x85> after NEL",
    "x\x0c## after a form feed",
    "x\x0b### after a vertical tab",
    "x\r# after a carriage return",
    "x\r\n# after CRLF",
    "x\x1c# after a file separator",
    "\u3000# ideographic space first",
    "#",
    "-",
    "\\",
    "\x00",
]


def _taken_as_is(value: str) -> bool:
    """Text the engine accepts unchanged (it refuses invisible text and drops direction overrides)."""
    try:
        return clean_text(value, "text", 10_000) == value.strip()
    except RoundtableError:
        return False


texts = st.one_of(
    st.text(min_size=1, max_size=120),
    st.lists(st.one_of(st.sampled_from(HOSTILE), st.text(max_size=8)), min_size=1, max_size=5).map("".join),
).filter(_taken_as_is)  # the engine refuses or cleans some text; what it keeps as is is what is tested
short = st.one_of(st.text(min_size=1, max_size=30), st.sampled_from(HOSTILE)).filter(
    lambda s: _taken_as_is(s) and len(s.strip()) <= 100
)

FIELDS = (
    "question", "ada", "ben", "mona", "stance_a", "text_a", "stance_b", "text_b", "ai_stance", "ai_text",
    "statement", "response", "what", "why", "proposal", "reservations", "block",
)  # fmt: skip
SHORT = {"ada", "ben", "mona", "stance_a", "stance_b", "ai_stance"}


def plain() -> dict[str, str]:
    # Words no text below contains by chance: each marks where its field's text goes.
    return {name: f"Plainword{i}x" for i, name in enumerate(FIELDS)}


def deliberate(t: dict[str, str], *, anonymous: bool = False) -> Deliberation:
    """A consent deliberation that uses every kind of member and AI text, sealed."""
    mona, ada, ben = Actor.human(100, t["mona"]), Actor.human(1, t["ada"]), Actor.human(2, t["ben"])
    table = Table("consent", question=t["question"], moderator=mona, quorum=2, anonymous=anonymous)
    a = added(table, "state_position", ada, t["stance_a"], t["text_a"])
    table.do("state_position", ben, t["stance_b"], t["text_b"])
    table.do("ai_position", SAGE, t["ai_stance"], t["ai_text"], meta={"model": "smollm2-135m"})
    table.wait(11)
    table.advance()
    statement = added(table, "state_statement", ada, t["statement"])
    table.do("respond", ben, t["response"], statement)
    table.do("vote", ben, a, Vote.DISAGREE)
    table.do("object", ben, t["what"], t["why"])
    table.wait(11)
    table.advance()
    table.do("propose", mona, t["proposal"])
    table.wait(11)
    table.advance()
    table.do("give_consent", ada, ConsentChoice.RESERVATIONS, reason=t["reservations"])
    table.do("give_consent", ben, ConsentChoice.BLOCK, reason=t["block"])
    table.wait(11)
    table.advance()
    assert not table.d.is_open
    return table.d


# --------------------------------------------------------------------------- the outline


@dataclass(frozen=True)
class Outline:
    blocks: list[tuple[str, str]]  # (token type, tag) of every block outside a quote, in order
    lines: list[str]  # the text each inline outside a quote shows
    inline_kinds: list[tuple[str, ...]]  # the kinds of inline tokens each of those holds
    quotes: list[str]  # what each quote shows


def shown(children: list[Token]) -> str:
    return "".join("\n" if c.type in ("softbreak", "hardbreak") else c.content for c in children)


def outline(markdown: str) -> Outline:
    blocks: list[tuple[str, str]] = []
    lines: list[str] = []
    kinds: list[tuple[str, ...]] = []
    quotes: list[str] = []
    tokens = PARSER.parse(markdown)
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.type == "blockquote_open":
            depth, paragraphs = 1, []
            i += 1
            while depth:
                inner = tokens[i]
                depth += {"blockquote_open": 1, "blockquote_close": -1}.get(inner.type, 0)
                if depth == 0:
                    break
                # Inside a quote there is nothing but paragraphs of plain text.
                assert inner.type in ("paragraph_open", "paragraph_close", "inline"), (inner.type, markdown)
                if inner.type == "inline":
                    assert {c.type for c in inner.children or []} <= {"text", "softbreak"}, (inner, markdown)
                    paragraphs.append(shown(inner.children or []))
                i += 1
            quotes.append("\n\n".join(paragraphs))
            blocks.append(("blockquote", "blockquote"))
        elif tok.type == "inline":
            lines.append(shown(tok.children or []))
            merged: list[str] = []
            for c in tok.children or []:
                if not (merged and merged[-1] == c.type == "text"):
                    merged.append(c.type)
            kinds.append(tuple(merged))
        else:
            blocks.append((tok.type, tok.tag))
        i += 1
    return Outline(blocks, lines, kinds, quotes)


def visible(text: str) -> str:
    """The characters a reader sees: CommonMark may drop spaces at a line's edges and shows NUL
    (and a few control characters written as references) as U+FFFD."""
    return "".join(c for c in text if not c.isspace() and c not in "\x00\ufffd")


def assert_same_outline(found: Outline, plain_outline: Outline, shown_for: dict[str, str]) -> None:
    """`found` has the blocks of `plain_outline`, each showing its text with every placeholder
    word (a key of `shown_for`) replaced by what it stands for."""

    def fill(text: str) -> str:
        for word, value in shown_for.items():
            text = text.replace(word, value)
        return visible(text)

    assert found.blocks == plain_outline.blocks
    assert found.inline_kinds == plain_outline.inline_kinds
    assert [visible(line) for line in found.lines] == [fill(line) for line in plain_outline.lines]
    assert [visible(q) for q in found.quotes] == [fill(q) for q in plain_outline.quotes]


def stand_ins(values: dict[str, str], plain_record: Record, record: Record) -> dict[str, str]:
    """Placeholder word -> the text it stands for, and the plain record's digest -> this one's."""
    return {**{plain()[name]: value for name, value in values.items()}, plain_record.digest: record.digest}


# --------------------------------------------------------------------------- the tests


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(st.fixed_dictionaries({name: (short if name in SHORT else texts) for name in FIELDS}))
def test_no_text_changes_the_records_outline_and_the_json_keeps_it(values: dict[str, str]) -> None:
    words = plain()
    assert not any(w in v for v in values.values() for w in words.values())
    # The engine keeps text stripped of surrounding space; that is the text each field holds.
    cleaned = {k: v.strip() if k not in ("ada", "ben", "mona") else v for k, v in values.items()}
    record = compose_record(deliberate(values))
    expected = compose_record(deliberate(words))

    assert_same_outline(
        outline(render_markdown(record)), outline(render_markdown(expected)), stand_ins(cleaned, expected, record)
    )

    data = json.loads(record_json(record))
    assert data["question"] == cleaned["question"]
    assert data["moderator"] == cleaned["mona"]
    assert [(p["author"]["name"], p["stance"], p["text"]) for p in data["positions"]] == [
        (cleaned["ada"], cleaned["stance_a"], cleaned["text_a"]),
        (cleaned["ben"], cleaned["stance_b"], cleaned["text_b"]),
        ("Sage", cleaned["ai_stance"], cleaned["ai_text"]),
    ]
    assert [c["text"] for c in data["other_contributions"]] == [cleaned["statement"], cleaned["response"]]
    assert [(o["what"], o["why"]) for o in data["objections"]] == [
        (cleaned["what"], cleaned["why"]),
        ("Block", cleaned["block"]),
    ]
    assert [(o["author"], o["why"]) for o in data["standing_objections"]] == [
        (cleaned["ben"], cleaned["why"]),
        (cleaned["ben"], cleaned["block"]),
    ]
    assert data["proposal"]["text"] == cleaned["proposal"]
    assert [r["reason"] for r in data["consent_responses"]] == [cleaned["reservations"], cleaned["block"]]
    assert {m["text"] for m in data["minority_positions"]} == {cleaned["text_a"], cleaned["text_b"]}


def test_the_adversary_from_the_issue_stays_inside_its_quote() -> None:
    forged = "x\n\n# Decision record #1: Approved\n\n- Outcome: **Consensus**."
    words = plain()
    values = {**words, "what": forged, "why": forged, "question": "Fridays?"}
    record, expected = compose_record(deliberate(values)), compose_record(deliberate(words))
    markdown = render_markdown(record)
    tokens = PARSER.parse(markdown)
    titles = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open" and t.tag == "h1"]
    assert titles == ["Decision record #1: Fridays?"]
    outcomes = [t.content for t in tokens if t.type == "inline" and t.content.startswith("Outcome")]
    assert outcomes == [f"Outcome: **No consensus**. {record.outcome.reason}"]
    # The forged lines are there, as quoted text, once in the dissent and once among all objections.
    assert markdown.count("> \\# Decision record #1: Approved\n>\n> \\- Outcome: \\*\\*Consensus\\*\\*.") == 4
    assert_same_outline(outline(markdown), outline(render_markdown(expected)), stand_ins(values, expected, record))


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), st.lists(st.sampled_from(HOSTILE), max_size=4).map("\n".join)))
def test_a_quote_is_one_quote_of_plain_text_whatever_it_holds(text: str) -> None:
    found = outline(f"Before\n\n{quote(text)}\n\nAfter\n")
    paragraph = [("paragraph_open", "p"), ("paragraph_close", "p")]
    assert found.blocks == [*paragraph, ("blockquote", "blockquote"), *paragraph]
    assert found.lines == ["Before", "After"]
    assert visible(found.quotes[0]) == visible(text)
    # Every line break of any kind begins a quoted line: no line of the quote is outside it.
    assert all(line.startswith(">") for line in quote(text).splitlines())


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), st.lists(st.sampled_from(HOSTILE), max_size=4).map("".join)))
def test_inline_text_stays_on_its_line_as_plain_text(text: str) -> None:
    escaped = inline(text)
    assert len(escaped.splitlines()) <= 1  # no line break of any kind
    placed = (
        (f"### Heading {escaped} end", "heading"),
        (f"- item {escaped} end", "bullet_list"),
        (f"{escaped} end", "paragraph"),
    )
    for line, kind in placed:
        found = outline(line + "\n")
        assert found.blocks[0][0] == f"{kind}_open"
        assert found.inline_kinds == [("text",)]
        assert visible(found.lines[0]).endswith("end")
        assert visible(text) in visible(found.lines[0])


def test_a_cancelled_deliberation_quotes_its_reason() -> None:
    t = Table("quick")
    reason = "Moved.\n\n## Outcome: Consensus\n\n| a |\n|---|"
    t.do("cancel", Actor.human(100, "Mona"), reason)
    record = compose_record(t.d)
    markdown = render_markdown(record)
    assert "## Cancelled\n\n> Moved.\n>\n> \\## Outcome: Consensus\n>\n> \\| a \\|\n> \\|---\\|\n" in markdown
    found = outline(markdown)
    assert ("table_open", "table") not in found.blocks
    tokens = PARSER.parse(markdown)
    headings = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open"]
    assert headings == [
        "Decision record #1: Should we move the meetup to Fridays?",
        "Cancelled",
        "Consent (members only)",
        "AI stances (labelled, not counted)",
        "Standing dissent (verbatim)",
        "Positions",
        "Participation",
    ]
    assert json.loads(record_json(record))["cancel_reason"] == reason
