"""A database with several sealed records, made through the service as the bot would make them.

Consent (with an AI participant's position and adopted draft, a standing objection in hostile
text, a response, statements and votes), quick with a block, advice, and an anonymous one
whose members appear nowhere else (so a leak of their names is detectable).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.ai.panel import AIPanel
from bot.config import Settings
from bot.engine import Actor, ConsentChoice, Vote
from bot.engine.model import ObjectionStatus
from bot.service import Roundtable
from tests.conftest import ManualClock
from tests.fake_ai import fake_panel

GUILD = 4242
OTHER_GUILD = 77
MOD = Actor.human(10, "Mona")
ADA, BEN, CLEO, DAN = (Actor.human(11, "Ada"), Actor.human(12, "Ben"), Actor.human(13, "Cleo"), Actor.human(14, "Dan"))
# Members of the anonymous deliberation only: their names must appear on no page.
SECRET_MEMBERS = (Actor.human(21, "Quintessa"), Actor.human(22, "Rowanberry"))

HOSTILE_WHAT = (
    "<script>window.__pwned = 1</script> **not bold** @everyone <img src=http://evil.example/x.png> "
    "\u202ereversed\u202c the zeppelin budget"
)
HOSTILE_WHY = "# not a heading\n[a link](http://evil.example) & <b>not bold</b> <@123> @here\nsecond line"
BLOCK_REASON = "Shift work: I am on the night rota every Friday (marmalade)."
AI_DRAFT = "Meet on Fridays at six, online for those on shifts."
AI_POSITION = "Either day works if shift workers can join online."


@dataclass(frozen=True)
class Archive:
    consent: int
    quick_block: int
    advice: int
    anonymous: int
    other_guild: int


def panel_for(settings: Settings) -> AIPanel:
    def answer(request: object) -> tuple[str | None, str]:
        task = getattr(request, "task", "position")
        return ("Either", AI_POSITION) if task == "position" else (None, AI_DRAFT)

    panel: AIPanel = fake_panel(settings.ai, answer)
    return panel


async def _advance(rt: Roundtable, clock: ManualClock, guild: int, did: int) -> None:
    clock.advance(15)
    # The moderator confirms closing a consent round on members who have not answered.
    await rt.act(guild, did, lambda d, at: d.advance(MOD, at, confirmed=d.current))


async def populate(rt: Roundtable, clock: ManualClock) -> Archive:
    # 1. The default consent process, end to end, with an AI participant.
    d = (await rt.start(GUILD, 5, MOD, "Should the meetup move to Fridays?", template="consent", quorum=3)).deliberation
    ids = {}
    for who, stance, text in (
        (ADA, "Yes", "Fridays free the weekend."),
        (BEN, "No", "I work late on Fridays."),
        (CLEO, "Yes", "More people can come."),
        (DAN, "Unsure", "Depends on the room."),
    ):
        change = await rt.act(GUILD, d.id, lambda d, at, w=who, s=stance, t=text: d.state_position(w, s, t, at))
        ids[who.name] = change.added()[0]
    turn = await rt.ai_turn(GUILD, d.id, "position")
    assert turn.changes, "the AI participant should have stated a position"
    await _advance(rt, clock, GUILD, d.id)
    objection = await rt.act(GUILD, d.id, lambda d, at: d.object(BEN, HOSTILE_WHAT, HOSTILE_WHY, at))
    oid = max((await rt.get(GUILD, d.id)).objections)
    assert objection.events
    await rt.act(GUILD, d.id, lambda d, at: d.respond(CLEO, "We could stream it for you.", oid, at))
    await rt.act(GUILD, d.id, lambda d, at: d.object(DAN, "The room costs more on Fridays", "Budget", at))
    dan_oid = max((await rt.get(GUILD, d.id)).objections)
    statement = await rt.act(GUILD, d.id, lambda d, at: d.state_statement(ADA, "Evenings suit most of us.", at))
    sid = statement.added()[0]
    for voter, votes in (
        (ADA, (Vote.AGREE, Vote.DISAGREE, Vote.AGREE, Vote.PASS, Vote.AGREE)),
        (BEN, (Vote.DISAGREE, Vote.AGREE, Vote.DISAGREE, Vote.AGREE, Vote.DISAGREE)),
        (CLEO, (Vote.AGREE, Vote.DISAGREE, Vote.AGREE, Vote.PASS, Vote.AGREE)),
        (DAN, (Vote.PASS, Vote.AGREE, Vote.AGREE, Vote.DISAGREE, Vote.PASS)),
    ):
        targets = [ids["Ada"], ids["Ben"], ids["Cleo"], ids["Dan"], sid]
        for target, vote in zip(targets, votes, strict=True):
            if (voter.name == "Ada" and target in (ids["Ada"], sid)) or target == ids.get(voter.name):
                continue  # nobody votes on their own words
            await rt.act(GUILD, d.id, lambda d, at, v=voter, t=target, c=vote: d.vote(v, t, c, at))
    addressed = ObjectionStatus.ADDRESSED
    await rt.act(GUILD, d.id, lambda d, at: d.move_objection(MOD, dan_oid, addressed, at, reason="Room 2 is booked."))
    await _advance(rt, clock, GUILD, d.id)
    drafted = await rt.ai_turn(GUILD, d.id, "draft")
    assert drafted.changes, "the AI participant should have drafted"
    draft_id = max(c.id for c in (await rt.get(GUILD, d.id)).drafts())
    # A member's own draft that answers nothing: the record lists the dissent it leaves open.
    await rt.act(GUILD, d.id, lambda d, at: d.draft(CLEO, "Meet on Fridays, streamed.", at))
    await rt.act(GUILD, d.id, lambda d, at: d.critique(DAN, "Say which room.", draft_id, at))
    await rt.act(GUILD, d.id, lambda d, at: d.adopt(MOD, draft_id, at))
    await _advance(rt, clock, GUILD, d.id)
    for who, choice, reason in (
        (ADA, ConsentChoice.ENDORSE, ""),
        (BEN, ConsentChoice.STAND_ASIDE, "I will stream in."),
        (CLEO, ConsentChoice.RESERVATIONS, "Only if the stream works."),
    ):
        await rt.act(GUILD, d.id, lambda d, at, w=who, c=choice, r=reason: d.give_consent(w, c, at, reason=r))
    await _advance(rt, clock, GUILD, d.id)
    consent_id = d.id

    # 2. Quick, with a block.
    clock.advance(60 * 24 * 3)
    q = (await rt.start(GUILD, 5, MOD, "Start at nine instead of ten?", template="quick", quorum=2)).deliberation
    await rt.act(GUILD, q.id, lambda d, at: d.state_position(ADA, "Yes", "Earlier is calmer.", at))
    await rt.act(GUILD, q.id, lambda d, at: d.state_position(BEN, "No", "Trains.", at))
    await _advance(rt, clock, GUILD, q.id)
    await rt.act(GUILD, q.id, lambda d, at: d.give_consent(ADA, ConsentChoice.ENDORSE, at))
    await rt.act(GUILD, q.id, lambda d, at: d.give_consent(BEN, ConsentChoice.BLOCK, at, reason=BLOCK_REASON))
    await _advance(rt, clock, GUILD, q.id)

    # 3. Advice: positions and synthesis, no decision.
    clock.advance(60 * 24 * 30)
    a = (
        await rt.start(GUILD, 5, MOD, "What should the next workshop cover?", template="advice", ai=False)
    ).deliberation
    await rt.act(GUILD, a.id, lambda d, at: d.state_position(CLEO, "Testing", "Property-based testing.", at))
    await rt.act(GUILD, a.id, lambda d, at: d.state_position(DAN, "Docs", "Writing good docs.", at))
    await _advance(rt, clock, GUILD, a.id)
    await rt.act(GUILD, a.id, lambda d, at: d.propose(MOD, "Testing first, docs next time.", at))
    await _advance(rt, clock, GUILD, a.id)

    # 4. Anonymous, with members who take part nowhere else.
    clock.advance(60 * 24)
    n = (
        await rt.start(GUILD, 5, MOD, "Raise the membership fee?", template="quick", anonymous=True, quorum=2, ai=False)
    ).deliberation
    first, second = SECRET_MEMBERS
    await rt.act(GUILD, n.id, lambda d, at: d.state_position(first, "No", "Keep it affordable.", at))
    await rt.act(GUILD, n.id, lambda d, at: d.state_position(second, "Yes", "Costs went up.", at))
    await rt.act(GUILD, n.id, lambda d, at: d.vote(first, _position(d, second), Vote.DISAGREE, at))
    await _advance(rt, clock, GUILD, n.id)
    await rt.act(GUILD, n.id, lambda d, at: d.give_consent(first, ConsentChoice.STAND_ASIDE, at, reason="Fine."))
    await rt.act(GUILD, n.id, lambda d, at: d.give_consent(second, ConsentChoice.ENDORSE, at))
    await _advance(rt, clock, GUILD, n.id)

    # 5. Another guild's record, which must never appear in this guild's archive.
    o = (
        await rt.start(OTHER_GUILD, 6, MOD, "Another server's secret question?", template="quick", quorum=1)
    ).deliberation
    await rt.act(OTHER_GUILD, o.id, lambda d, at: d.state_position(ADA, "Yes", "Elsewhere.", at))
    await _advance(rt, clock, OTHER_GUILD, o.id)
    await rt.act(OTHER_GUILD, o.id, lambda d, at: d.give_consent(ADA, ConsentChoice.ENDORSE, at))
    await _advance(rt, clock, OTHER_GUILD, o.id)
    return Archive(consent_id, q.id, a.id, n.id, o.id)


def _position(d: object, actor: Actor) -> int:
    position = d.position_of(actor.key)  # type: ignore[attr-defined]
    assert position is not None
    return int(position.id)
