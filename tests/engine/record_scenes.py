"""Deliberations that fill every part of a decision record, for the record's tests."""

from __future__ import annotations

from bot.engine import Actor, ConsentChoice, Deliberation, ObjectionStatus, Role, Vote
from tests.engine.helpers import ADA, BEN, CAI, OBS, SAGE, Table

DEE = Actor.human(4, "Dee")

PROVENANCE = {
    "model": "smollm2-135m",
    "endpoint_host": "embedded",
    "prompt_sha256": "ab" * 32,
    "given_ids": [1, 2],
    "left_out": 1,
    "latency_ms": 812.5,
}


def added(t: Table, method: str, *args: object, **kwargs: object) -> int:
    """Do an action that adds a contribution or an objection; its id (read from the state)."""
    t.do(method, *args, **kwargs)
    return max([*t.d.contributions, *t.d.objections])


def full_table(*, anonymous: bool = False, moderator: Actor | None = None) -> Table:
    """A consent deliberation with every kind of contribution, an AI at the table, and dissent.

    Positions (one edited, one by the AI with its provenance), statements (one moderated out),
    a response, votes, objections (one withdrawn, one addressed, one left standing), an AI draft
    adopted with amendments, a critique, an AI participant failing, a forced round, consent with
    reasons and a block, an observer and a member who never spoke.
    """
    t = Table("consent", quorum=2, anonymous=anonymous, **({"moderator": moderator} if moderator else {}))
    mod = t.moderator
    t.do("join", OBS, Role.OBSERVER)
    t.do("join", CAI, Role.PARTICIPANT)
    t.do("join", DEE, Role.PARTICIPANT)  # and never says a word
    a = added(t, "state_position", ADA, "Yes", "Fridays free\nthe weekend.")
    b = added(t, "state_position", BEN, "No", "I work *late* on Fridays.")
    t.do("edit_contribution", ADA, a, "Fridays free the weekend for families.", stance="Yes")
    t.do("request_ai", mod)
    t.do("ai_position", SAGE, "Unsure", "Consider Thursdays.", meta=dict(PROVENANCE))
    t.wait(11)
    t.advance()
    s1 = added(t, "state_statement", ADA, "Evenings suit most of us.")
    s2 = added(t, "state_statement", BEN, "Buy my product at example.com")
    t.do("moderate", mod, s2, True)
    t.do("respond", BEN, "Not the ones on shifts.", s1)
    t.do("vote", ADA, b, Vote.DISAGREE)
    t.do("vote", CAI, b, Vote.DISAGREE)
    t.do("vote", BEN, s1, Vote.PASS)
    kept = added(t, "object", BEN, "Excludes shift workers", "Half of us work Friday evenings.")
    gone = added(t, "object", ADA, "Too early", "Start at seven.")
    t.do("move_objection", ADA, gone, ObjectionStatus.WITHDRAWN)
    answered = added(t, "object", BEN, "No room", "The hall is booked.")
    t.do("move_objection", mod, answered, ObjectionStatus.ADDRESSED, reason="The hall is free on Fridays.")
    t.wait(3)
    t.advance(force=True)
    draft_id = added(t, "draft", SAGE, "Meet on Fridays; record sessions.", answers=[a, b, kept], meta=dict(PROVENANCE))
    t.do("critique", BEN, "Recordings are not the same.", draft_id)
    t.do("note_ai_unavailable", "Sage", "the model server did not answer")
    t.do("adopt", mod, draft_id, amended_text="Meet on Fridays; record every session.")
    t.wait(11)
    t.advance()
    t.do("give_consent", ADA, ConsentChoice.ENDORSE)
    t.do("give_consent", BEN, ConsentChoice.BLOCK, reason="Shift workers are shut out.")
    t.do("give_consent", CAI, ConsentChoice.RESERVATIONS, reason="Only if recorded.")
    t.wait(11)
    t.advance()
    assert not t.d.is_open
    return t


def full(**kwargs: object) -> Deliberation:
    return full_table(**kwargs).d  # type: ignore[arg-type]
