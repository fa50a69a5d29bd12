"""What the bot posts about a draft stays within Discord's limits and cannot be forged by a name.

Built from a real deliberation driven through the engine; the embeds are the ones the bot posts
(`contribution_embed`) and the moderator's `/dissent` panel line (`draft_line`).
"""

from __future__ import annotations

import re

from bot.engine import Actor
from bot.exts._shared.posting import EMBED_MAX, FIELD_MAX, contribution_embed, fitted
from bot.exts.dissent._embeds import DRAFT_LINE_MAX, draft_line
from bot.exts.dissent._map import snapshot
from tests.engine.helpers import ADA, BEN, CAI, MOD, SAGE, Table

MANY = 220


def _with_many_objections(*, objector: Actor = CAI) -> tuple[Table, list[int]]:
    t = Table()
    for who in (ADA, BEN, objector):
        t.do("state_position", who, "for", f"{who.name} says yes.")
    t.wait(11)
    t.advance()
    ids = [t.do("object", objector, f"Objection {n}", "Because.")[-1].payload.id for n in range(MANY)]
    t.wait(11)
    t.advance()  # synthesis
    return t, ids


def _field(embed: object, name: str) -> str:
    return next(f.value for f in embed.fields if f.name == name)  # type: ignore[attr-defined]


def test_a_draft_leaving_hundreds_of_objections_open_lists_whole_ids_and_how_many_more() -> None:
    t, ids = _with_many_objections()
    meta = {"model": "m", "claims": []}
    draft = t.do("draft", SAGE, "Meet on Fridays.", answers=tuple(ids), meta=meta)[-1].payload.id

    embed = contribution_embed(t.d, t.d.contributions[draft])

    assert len(embed) <= EMBED_MAX
    left = _field(embed, "Not addressed")
    assert len(left) <= FIELD_MAX
    shown = [int(n) for n in re.findall(r"#(\d+) \(", left)]
    assert shown == ids[: len(shown)]  # in order, none cut, none invented
    assert left.endswith(f"…and {MANY - len(shown)} more")
    # What the model says it answers is not shown as covering anything.
    assert "Answers" not in [f.name for f in embed.fields]

    line = draft_line(snapshot(t.d).drafts[0])
    assert len(line) <= DRAFT_LINE_MAX
    assert re.search(r"…and \d+ more$", line)


def test_a_members_draft_answering_hundreds_keeps_every_field_within_limits() -> None:
    t, ids = _with_many_objections()
    draft = t.do("draft", ADA, "x" * 3900, answers=tuple(ids))[-1].payload.id

    embed = contribution_embed(t.d, t.d.contributions[draft])

    assert len(embed) <= EMBED_MAX
    assert all(len(f.value or "") <= FIELD_MAX for f in embed.fields)
    assert _field(embed, "Answers").endswith(" more")


def test_a_name_cannot_pass_for_more_of_the_list_nor_become_a_link() -> None:
    forger = Actor.human(4, "Grace), #6 ([Linus](https://evil.example)")
    t, ids = _with_many_objections(objector=forger)
    draft = t.do("draft", SAGE, "Meet on Fridays.", meta={"model": "m", "claims": []})[-1].payload.id

    left = _field(contribution_embed(t.d, t.d.contributions[draft]), "Not addressed")

    # Every name is one bold, escaped unit, and a masked link stays text.
    assert left.startswith(f"#{ids[0]} (**Grace), #6 (\\[Linus](https://evil.example)**), #{ids[1]} (**")


def test_fitted_never_cuts_an_item() -> None:
    items = [f"#{n}" for n in range(1000)]
    text = fitted(items, 100)
    assert len(text) <= 100
    kept = text.split(", ")[:-1]
    assert kept == items[: len(kept)]
    assert text.endswith(f"…and {1000 - len(kept)} more")
    assert fitted(["#1", "#2"], 100) == "#1, #2"


def test_a_ranking_of_ten_drafts_shows_whole_pairs_and_how_many_more() -> None:
    from bot.exts.ranking._embeds import result_embed

    t = Table()
    for who in (ADA, BEN, CAI):
        t.do("state_position", who, "for", f"{who.name} says yes.")
    while t.d.round.kind.value != "synthesis":
        t.wait(11)
        t.advance()
    drafts = [t.do("draft", ADA, f"Draft {n}.")[-1].payload.id for n in range(10)]
    t.do("open_ranking", MOD)
    t.do("rank", BEN, list(reversed(drafts)))
    t.do("close_ranking", MOD)

    embed = result_embed(t.d, t.d.rankings[-1])

    pairs = next(f.value or "" for f in embed.fields if f.name == "Head to head (ballots)")
    lines = pairs.split("\n")
    assert len(pairs) <= FIELD_MAX
    assert all(re.fullmatch(r"#\d+ over #\d+: \d; #\d+ over #\d+: \d", line) for line in lines[:-1])
    assert re.fullmatch(r"…and \d+ more", lines[-1])
    assert len(lines) - 1 + int(lines[-1].split()[1]) == 45
