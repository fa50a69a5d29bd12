"""Through the service: a refused AI answer leaves a labelled notice and no stance; an accepted one
keeps its checked citations in the record; an opted-out member's words can never be cited.

The model endpoint is a spec'd fake (tests/ai/ai_fakes.py) behind the real participant, panel,
service, engine and SQLite file.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from ai_fakes import Script, make_participant, reply

from bot.ai.panel import AIPanel
from bot.config import Settings
from bot.engine import Actor, ConsentChoice, Role
from bot.engine.events import AIUnavailableNoted
from bot.service import Roundtable
from tests.conftest import ManualClock

GUILD = 7
MOD, ADA, BEN = Actor.human(10, "Mona"), Actor.human(11, "Ada"), Actor.human(12, "Ben")
ADA_SAYS = "Fridays suit the people who travel. The venue is free that day."
BEN_SAYS = "My evenings are private and I would rather not say more about them."
ECHO = {
    "stance": "for",
    "claims": [{"quotes": ["1.1"], "text": "One sentence on what you may be missing, in your own words."}],
    "missing": "Nothing.",
}


@pytest.fixture
def gate_settings(tmp_path: Path) -> Settings:
    return Settings.load(
        read_env=False,
        database={"path": tmp_path / "roundtable.sqlite3"},
        deliberation={"quorum": 2, "round_minutes": 60, "min_round_minutes": 10},
        # An endpoint of its own, so the panel needs no embedded server; its calls are scripted.
        ai={"participants": [{"name": "smollm", "base_url": "http://fake.test/v1"}]},
    )


@pytest.fixture
async def rt(gate_settings: Settings, clock: ManualClock) -> AsyncIterator[Roundtable]:
    service = await Roundtable.open(gate_settings, clock, ai=AIPanel(gate_settings.ai))
    await service.start_ai()
    yield service
    await service.close()


def _seat(rt: Roundtable, script: Script) -> None:
    rt.ai.participants = [make_participant(script, name="smollm")]


async def _both_spoke(rt: Roundtable) -> int:
    d = (await rt.start(GUILD, 1, MOD, "Fridays?", template="quick")).deliberation
    await rt.act(GUILD, d.id, lambda d, at: d.state_position(ADA, "Yes", ADA_SAYS, at))
    await rt.act(GUILD, d.id, lambda d, at: d.join(BEN, Role.PARTICIPANT, at, ai_opt_out=True))
    await rt.act(GUILD, d.id, lambda d, at: d.state_position(BEN, "No", BEN_SAYS, at))
    return d.id


async def _seal(rt: Roundtable, clock: ManualClock, deliberation_id: int) -> dict[str, Any]:
    clock.advance(15)
    await rt.act(GUILD, deliberation_id, lambda d, at: d.advance(MOD, at))
    await rt.act(GUILD, deliberation_id, lambda d, at: d.give_consent(ADA, ConsentChoice.ENDORSE, at))
    await rt.act(GUILD, deliberation_id, lambda d, at: d.give_consent(BEN, ConsentChoice.ENDORSE, at))
    clock.advance(15)
    sealed = await rt.act(GUILD, deliberation_id, lambda d, at: d.advance(MOD, at))
    assert sealed.record is not None
    return sealed.record.record


async def test_a_refused_answer_leaves_a_notice_and_no_stance(
    rt: Roundtable, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    _seat(rt, Script(reply(**ECHO), reply(**ECHO)))
    deliberation_id = await _both_spoke(rt)

    turn = await rt.ai_turn(GUILD, deliberation_id, "position")

    assert turn.changes == []
    (refused,) = turn.unavailable
    assert refused.notice == "AI participant smollm gave no usable contribution (echoes the prompt's instructions)"
    assert "AI participant smollm gave no usable contribution: echoes the prompt's instructions" in caplog.text
    d = await rt.get(GUILD, deliberation_id)
    assert d.position_of("ai:smollm") is None
    assert [c.author for c in d.contributions.values()] == ["human:11", "human:12"]
    events = await rt.store.load_events(GUILD, deliberation_id)
    (noted,) = [e for e in events if e.kind == "ai.unavailable"]
    assert noted.payload == AIUnavailableNoted(
        "gave no usable contribution (echoes the prompt's instructions)", number=0
    )

    record = await _seal(rt, clock, deliberation_id)
    assert record["ai_unavailable"] == [
        {"name": "smollm", "reason": "gave no usable contribution (echoes the prompt's instructions)"}
    ]
    assert [s["stance"] for s in record["ai_stances"]] in ([], [None])
    assert await rt.store.verify() == []


async def test_an_accepted_answer_keeps_its_checked_citations_in_the_record(rt: Roundtable, clock: ManualClock) -> None:
    good = reply(
        stance="mixed",
        claims=[{"quotes": ["1.2"], "text": "A free venue lowers the cost, which weighs for Fridays."}],
        missing="Those who opted out.",
    )
    _seat(rt, Script(good))
    deliberation_id = await _both_spoke(rt)

    (change,) = (await rt.ai_turn(GUILD, deliberation_id, "position")).changes
    (cid,) = change.added()
    contribution = change.deliberation.contributions[cid]
    assert contribution.ai_meta is not None
    assert contribution.ai_meta["claims"] == [
        {
            "text": "A free venue lowers the cost, which weighs for Fridays.",
            "cites": [{"id": 1, "quote": "The venue is free that day."}],
        }
    ]
    record = await _seal(rt, clock, deliberation_id)
    (ai_position,) = [p for p in record["positions"] if p["author"]["kind"] == "ai"]
    assert ai_position["provenance"]["claims"][0]["cites"] == [{"id": 1, "quote": "The venue is free that day."}]
    assert [s["stance"] for s in record["ai_stances"]] == ["mixed"]


async def test_an_opted_out_members_words_cannot_be_cited(rt: Roundtable) -> None:
    # The model "knows" Ben's words (from elsewhere) and cites them verbatim with his id.
    leak = {
        "stance": "against",
        "claims": [{"quotes": [{"id": 2, "quote": "My evenings are private"}], "text": "Evenings matter to some."}],
        "missing": "Nothing more.",
    }
    script = Script(reply(**leak), reply(**leak))
    _seat(rt, script)
    deliberation_id = await _both_spoke(rt)

    turn = await rt.ai_turn(GUILD, deliberation_id, "position")

    assert turn.changes == []
    assert (
        turn.unavailable[0].notice
        == "AI participant smollm gave no usable contribution (no claim backed by a verified quote)"
    )
    prompt = script.calls[0]["messages"][1]["content"]
    assert "evenings" not in prompt.casefold()
    assert "1 member opted out of AI processing" in prompt
