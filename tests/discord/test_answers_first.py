"""Follow-up work (posts, refreshes) yields to members waiting for an answer, never for long."""

from __future__ import annotations

import asyncio

import pytest

from bot.exts._shared import priority
from bot.exts._shared.priority import AnswersFirst


async def test_follow_up_work_waits_until_the_answers_under_way_are_sent() -> None:
    gate = AnswersFirst()
    order: list[str] = []

    async def follow_up() -> None:
        await gate.wait()
        order.append("posted")

    with gate.answering():
        with gate.answering():
            task = asyncio.create_task(follow_up())
            await asyncio.sleep(0.01)
            order.append("first answered")
        await asyncio.sleep(0.01)
        order.append("second answered")
    await task
    assert order == ["first answered", "second answered", "posted"]


async def test_follow_up_work_goes_at_once_when_nobody_waits_for_an_answer() -> None:
    gate = AnswersFirst()
    await asyncio.wait_for(gate.wait(), timeout=0.1)


async def test_an_answer_that_never_comes_delays_follow_up_work_only_so_long(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(priority, "MAX_WAIT", 0.05)
    gate = AnswersFirst()
    with gate.answering():  # a handler stuck before its answer
        await asyncio.wait_for(gate.wait(), timeout=1.0)


async def test_an_answer_that_fails_still_releases_follow_up_work() -> None:
    gate = AnswersFirst()

    async def answer_fails() -> None:
        with gate.answering():
            await asyncio.sleep(0.01)
            raise RuntimeError("Discord refused the answer")

    answer = asyncio.create_task(answer_fails())
    await asyncio.sleep(0)
    waiting = asyncio.create_task(gate.wait())
    await asyncio.wait({answer})
    await asyncio.wait_for(waiting, timeout=0.1)  # released by the failure, not by the time limit
