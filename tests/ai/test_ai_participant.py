"""The AI participant's logic against a spec'd fake endpoint: retries, breaker, validation."""

from __future__ import annotations

import asyncio
import json

import pytest
from ai_fakes import (
    FakeClock,
    Script,
    Sleeps,
    completion,
    connection_error,
    make_participant,
    reply,
    status_error,
    timeout_error,
)

from bot.ai import prompts
from bot.ai.participant import CircuitBreaker, ask_all, filter_ids, load_json_object
from bot.ai.types import AIRejected, AIRequest, AIResult, AIUnavailable, QuotedContribution

QUESTION = "Should the project move its weekly meeting to Thursday?"
CONTRIBUTIONS = (
    QuotedContribution(1, "position", "Member 1", "for", "Mondays clash with the release."),
    QuotedContribution(2, "position", "Member 2", "against", "Thursday is our support day."),
    QuotedContribution(3, "objection", "Member 3", None, "Nobody asked the volunteers."),
)
POSITION = AIRequest(QUESTION, "position", CONTRIBUTIONS, left_out_count=2)
DRAFT = AIRequest(QUESTION, "draft", CONTRIBUTIONS, left_out_count=0)
GOOD_POSITION = {
    "stance": "mixed",
    "claims": [{"text": "Both days have costs for different people.", "quotes": ["1.1", "2.1"]}],
    "missing": "How the time zones of members fall.",
}


def _word(i: int) -> str:
    """A distinct made-up word per number (a long text that never repeats itself)."""
    letters = ""
    while True:
        i, r = divmod(i, 26)
        letters += chr(97 + r)
        if not i:
            return "w" + letters


def _claim(text: str, *quotes: object) -> dict[str, object]:
    return {"text": text, "quotes": list(quotes)}


async def test_position_result_carries_provenance() -> None:
    script = Script(reply(**GOOD_POSITION))
    result = await make_participant(script).respond(POSITION)

    assert isinstance(result, AIResult)
    assert (result.participant, result.model) == ("alpha", "SmolLM2-135M-Instruct")
    assert result.endpoint_host == "fake.test"
    assert (result.stance, result.text, result.missing) == (
        "mixed",
        "Both days have costs for different people.",
        "How the time zones of members fall.",
    )
    # The sentence numbers became checked citations: contribution id and the exact sentence.
    assert [c.to_dict() for c in result.claims] == [
        {
            "text": "Both days have costs for different people.",
            "cites": [
                {"id": 1, "quote": "Mondays clash with the release."},
                {"id": 2, "quote": "Thursday is our support day."},
            ],
        }
    ]
    assert result.given_ids == (1, 2, 3)
    assert result.answers == ()
    assert result.left_out_count == 2
    assert (result.prompt_tokens, result.completion_tokens) == (11, 7)
    assert result.latency_ms >= 0
    sent = script.calls[0]["messages"]
    assert result.prompt_sha256 == prompts.prompt_sha256([sent])
    assert script.formats == ["json_schema"]
    assert script.calls[0]["response_format"]["json_schema"]["name"] == "position"


async def test_transport_failures_are_retried_with_exponential_backoff() -> None:
    sleeps = Sleeps()
    script = Script(timeout_error(), status_error(503), reply(**GOOD_POSITION))
    result = await make_participant(script, sleeps=sleeps, max_retries=2).respond(POSITION)

    assert isinstance(result, AIResult)
    assert len(script.calls) == 3
    assert sleeps.delays == [0.5, 1.0]


async def test_exhausted_retries_end_as_unavailable() -> None:
    sleeps = Sleeps()
    script = Script(default=connection_error())
    result = await make_participant(script, sleeps=sleeps, max_retries=3).respond(POSITION)

    assert isinstance(result, AIUnavailable)
    assert result.participant == "alpha"
    assert "connection failed" in result.reason
    assert result.notice == "AI participant alpha is unavailable"
    assert len(script.calls) == 4
    assert sleeps.delays == [0.5, 1.0, 2.0]


async def test_backoff_is_capped() -> None:
    sleeps = Sleeps()
    script = Script(default=status_error(429))
    await make_participant(script, sleeps=sleeps, max_retries=6).respond(POSITION)
    assert sleeps.delays == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]


async def test_a_refused_request_is_not_retried() -> None:
    script = Script(default=status_error(401))
    result = await make_participant(script, max_retries=3).respond(POSITION)
    assert isinstance(result, AIUnavailable)
    assert "401" in result.reason
    assert len(script.calls) == 1


async def test_breaker_opens_after_consecutive_failures_and_half_opens_after_cooldown() -> None:
    clock = FakeClock()
    script = Script(default=connection_error())
    participant = make_participant(script, clock=clock, failures=3, cooldown=60, max_retries=0)

    for _ in range(3):
        assert isinstance(await participant.respond(POSITION), AIUnavailable)
    assert participant.breaker.state == "open"
    calls = len(script.calls)

    skipped = await participant.respond(POSITION)
    assert isinstance(skipped, AIUnavailable)
    assert "circuit open" in skipped.reason
    assert len(script.calls) == calls  # no request reached the dead endpoint

    clock.now += 59.9
    assert participant.breaker.state == "open"
    clock.now += 0.1
    assert participant.breaker.state == "half-open"

    # The trial fails: open again for a full cool-down.
    assert isinstance(await participant.respond(POSITION), AIUnavailable)
    assert len(script.calls) == calls + 1
    assert participant.breaker.state == "open"

    clock.now += 60
    script.default = reply(**GOOD_POSITION)
    assert isinstance(await participant.respond(POSITION), AIResult)
    assert participant.breaker.state == "closed"


def test_half_open_breaker_lets_exactly_one_trial_through() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(2, 10, clock)
    breaker.record_failure()
    assert breaker.state == "closed"
    breaker.record_failure()
    assert not breaker.allow()
    clock.now += 10
    assert breaker.allow()
    assert not breaker.allow()  # a second caller waits for the trial's verdict
    breaker.release()  # the trial was cancelled
    assert breaker.allow()
    breaker.record_success()
    assert breaker.state == "closed"
    assert breaker.allow()


async def test_success_resets_the_failure_count() -> None:
    clock = FakeClock()
    script = Script(connection_error(), connection_error(), reply(**GOOD_POSITION), connection_error())
    participant = make_participant(script, clock=clock, failures=3, max_retries=0)
    for _ in range(4):
        await participant.respond(POSITION)
    assert participant.breaker.state == "closed"


async def test_invalid_output_falls_back_to_json_object_and_retries_once() -> None:
    script = Script(completion("I think Thursday is fine."), reply(**GOOD_POSITION))
    result = await make_participant(script).respond(POSITION)

    assert isinstance(result, AIResult)
    assert script.formats == ["json_schema", "json_object"]
    assert (result.prompt_tokens, result.completion_tokens) == (22, 14)  # both attempts cost


async def test_invalid_output_twice_is_unavailable() -> None:
    script = Script(completion("not json"), reply(stance="for"), default=reply(**GOOD_POSITION))
    result = await make_participant(script).respond(POSITION)

    assert isinstance(result, AIRejected)
    assert result.reason.startswith("gave no usable contribution (did not follow the reply format")
    assert script.formats == ["json_schema", "json_object"]


@pytest.mark.parametrize(
    "content",
    [None, "", "[1, 2]", '{"claims": 42}', '{"claims": [{"text": "\\u0000\\u0007", "quotes": ["1.1"]}]}', "{broken"],
)
async def test_garbage_is_never_accepted(content: str | None) -> None:
    script = Script(completion(content), completion(content))
    result = await make_participant(script).respond(POSITION)
    assert isinstance(result, AIUnavailable)


async def test_endpoint_without_json_schema_support_gets_json_object() -> None:
    rejected = status_error(400, "Unsupported response_format type: json_schema")
    script = Script(rejected, reply(**GOOD_POSITION), reply(**GOOD_POSITION))
    participant = make_participant(script)
    assert isinstance(await participant.respond(POSITION), AIResult)
    assert isinstance(await participant.respond(POSITION), AIResult)
    assert script.formats == ["json_schema", "json_object", "json_object"]


def test_lenient_parsing_strips_chatter_and_fences() -> None:
    assert load_json_object('Sure!\n```json\n{"a": "b"}\n```') == {"a": "b"}


async def test_draft_answers_are_filtered_to_given_ids() -> None:
    claims = [_claim("Meet on Thursdays, and ask the volunteers first.", "3.1")]
    script = Script(reply(claims=claims, answers=[3, 99, "1", 3, True, -1, 2.0]))
    result = await make_participant(script).respond(DRAFT)

    assert isinstance(result, AIResult)
    assert result.answers == (3, 1)
    assert set(result.answers) <= set(result.given_ids)
    schema = script.calls[0]["response_format"]["json_schema"]["schema"]
    assert schema["properties"]["answers"]["items"]["enum"] == [1, 2, 3]
    # A draft lists the objections first: they are what a proposal must answer.
    assert schema["properties"]["claims"]["items"]["properties"]["quotes"]["items"]["enum"] == ["3.1", "1.1", "2.1"]
    assert result.text == "- Meet on Thursdays, and ask the volunteers first."


def test_filter_ids_ignores_non_lists() -> None:
    assert filter_ids("1, 2", [1, 2]) == ()
    assert filter_ids(None, [1]) == ()


async def test_output_is_cleaned_and_clipped() -> None:
    script = Script(
        reply(
            stance="mixed",
            claims=[
                _claim("Hey @here and @everyone, the release week matters more than the weekday.", "1.1"),
                _claim("Ask <@123456789012345678> in <#42>: " + " ".join(_word(i) for i in range(500)) + ".", "2.1"),
            ],
            missing="# HEADING about the members who were not asked.",
        )
    )
    participant = make_participant(script, max_output_chars=300)
    result = await participant.respond(POSITION)

    assert isinstance(result, AIResult)
    assert len(result.text) <= 300
    for raw in ("@everyone", "@here", "<@1", "<#4"):
        assert raw not in result.text + (result.stance or "")
    # The over-long claim was clipped to its bound and ends on "…", never mid-word.
    assert len(result.claims) == 2
    assert len(result.claims[1].text) <= participant.claim_chars
    assert result.missing is not None
    assert not result.missing.startswith("#")


async def test_critique_sends_the_target_as_quoted_data() -> None:
    request = AIRequest(QUESTION, "critique", CONTRIBUTIONS, 0, target_text="Meet Thursdays.")
    script = Script(
        reply(
            stance="supports it with changes",
            claims=[_claim("It does not say who asks the volunteers.", "3.1")],
            missing="What the support team thinks.",
        )
    )
    result = await make_participant(script).respond(request)

    assert isinstance(result, AIResult)
    assert result.text == "It does not say who asks the volunteers."
    assert result.stance == "supports it with changes"
    user = script.calls[0]["messages"][1]["content"]
    assert '<<<DATA draft\n"Meet Thursdays."\nDATA>>>' in user


def test_a_critique_needs_a_target() -> None:
    with pytest.raises(ValueError, match="target_text"):
        AIRequest(QUESTION, "critique", CONTRIBUTIONS, 0)


async def test_ask_all_isolates_a_failing_and_a_slow_participant() -> None:
    async def slow(_: dict[str, object]) -> object:
        await asyncio.sleep(0.05)
        return reply(**GOOD_POSITION)

    good = make_participant(Script(reply(**GOOD_POSITION)), name="good")
    dead = make_participant(Script(default=connection_error()), name="dead", max_retries=1)
    late = make_participant(Script(slow), name="late")

    results = await ask_all([good, dead, late], POSITION)

    assert [type(r) for r in results] == [AIResult, AIUnavailable, AIResult]
    assert [r.participant for r in results] == ["good", "dead", "late"]


async def test_a_participant_bug_becomes_unavailable() -> None:
    def broken(_: dict[str, object]) -> object:
        raise KeyError("surprise")

    result = await make_participant(Script(broken)).respond(POSITION)
    assert isinstance(result, AIUnavailable)
    assert "KeyError" in result.reason


async def test_hung_transport_is_cut_by_the_guard_timeout() -> None:
    async def hang(_: dict[str, object]) -> object:
        await asyncio.sleep(30)
        raise AssertionError("not reached")

    participant = make_participant(Script(hang), timeout_seconds=0.01, max_retries=0)
    result = await asyncio.wait_for(participant.respond(POSITION), 5)
    assert isinstance(result, AIUnavailable)
    assert "timed out" in result.reason


async def test_too_much_material_is_cut_to_fit_the_context_and_says_so() -> None:
    contributions = (
        *(
            QuotedContribution(i, "position", f"Member {i}", "for", f"Point {i} is this. " + "word " * 60 + ".")
            for i in range(1, 201)
        ),
        QuotedContribution(500, "objection", "Member 500", None, "Nobody asked the volunteers at all."),
    )
    request = AIRequest(QUESTION, "draft", contributions, left_out_count=5)
    script = Script(reply(claims=[_claim("Ask the volunteers before anything moves.", "500.1")], answers=[500, 1]))
    participant = make_participant(script, context_tokens=2048, max_output_tokens=256)
    result = await participant.respond(request)

    assert isinstance(result, AIResult)
    assert len(script.calls) == 1  # one call: no summaries of summaries to quote from
    call = script.calls[0]
    assert prompts.estimate_messages_tokens(call["messages"]) + call["max_tokens"] <= 2048
    user = call["messages"][1]["content"]
    assert "5 members opted out" in user
    shown = len(result.given_ids)
    assert 10 < shown < 201
    assert f"{201 - shown} more contributions are not shown, for lack of room." in user
    # The objection comes first, whatever its id.
    assert result.given_ids[0] == 500
    assert result.answers == (500, 1)
    assert result.claims[0].citations[0].quote == "Nobody asked the volunteers at all."
    assert result.prompt_sha256 == prompts.prompt_sha256([call["messages"]])


async def test_missing_api_key_env_is_unavailable_without_a_call(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bot.ai.config import AIParticipantConfig
    from bot.ai.participant import AIParticipant

    monkeypatch.delenv("RT_TEST_KEY", raising=False)
    participant = AIParticipant(
        AIParticipantConfig(name="remote", base_url="https://api.test/v1", api_key_env="RT_TEST_KEY"),
        base_url="https://api.test/v1",
    )
    result = await participant.respond(POSITION)
    assert isinstance(result, AIUnavailable)
    assert "RT_TEST_KEY" in result.reason


async def test_api_key_comes_from_the_named_env_var_and_never_from_openai_api_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bot.ai.config import AIParticipantConfig
    from bot.ai.participant import PLACEHOLDER_KEY, AIParticipant

    monkeypatch.setenv("OPENAI_API_KEY", "sk-should-not-leak")
    monkeypatch.setenv("RT_TEST_KEY", "sk-from-env")
    remote = AIParticipant(
        AIParticipantConfig(name="remote", base_url="https://api.test/v1", api_key_env="RT_TEST_KEY"),
        base_url="https://api.test/v1",
    )
    local = AIParticipant(AIParticipantConfig(name="local"), base_url="http://127.0.0.1:1/v1")
    try:
        assert remote._client is not None
        assert remote._client.api_key == "sk-from-env"
        assert local._client is not None
        assert local._client.api_key == PLACEHOLDER_KEY
        assert local._client.max_retries == 0
    finally:
        await remote.aclose()
        await local.aclose()


def test_result_is_plain_data() -> None:
    # The AI path hands back frozen data only; it holds no reference to any state to change.
    result = AIResult("a", "m", "h", None, "t", None, (), "0" * 64, (), 0, 1.0, None, None)
    with pytest.raises(AttributeError):
        result.text = "changed"  # type: ignore[misc]
    assert json.dumps(result.__slots__)  # slots only: no hidden attributes


def test_a_reply_cut_off_by_the_token_limit_is_repaired() -> None:
    assert load_json_object('{"note": "People agree on most of it, but') == {"note": "People agree on most of it, but"}
    assert load_json_object('{"proposal": "x", "answers": [1, 2') == {
        "proposal": "x",
        "answers": [1, 2],
    }


async def test_the_retry_after_invalid_output_is_sampled_warmer() -> None:
    script = Script(completion("nope"), reply(**GOOD_POSITION))
    result = await make_participant(script, temperature=0.0).respond(POSITION)
    assert isinstance(result, AIResult)
    assert [c["temperature"] for c in script.calls] == [0.0, 0.6]


async def test_a_prompt_too_long_does_not_switch_off_json_schema() -> None:
    script = Script(status_error(400, "request exceeds the available context size"))
    participant = make_participant(script)
    result = await participant.respond(POSITION)
    assert isinstance(result, AIUnavailable)
    assert "400" in result.reason
    assert script.formats == ["json_schema"]
    assert participant._json_schema_ok


async def test_the_whole_position_keeps_to_its_length_budget() -> None:
    """Claims fill the budget: the optional "what I may be missing" line is left out, not overflowed."""
    first = "The release week matters more than the weekday, " + " ".join(_word(i) for i in range(60)) + "."
    second = "Support days weigh on the rest, " + " ".join(_word(i) for i in range(100, 160)) + "."
    claims = [_claim(first, "1.1"), _claim(second, "2.1")]
    script = Script(reply(stance="mixed", claims=claims, missing="How the time zones of members fall."))
    participant = make_participant(script, max_output_chars=300)
    result = await participant.respond(POSITION)

    assert isinstance(result, AIResult)
    assert len(result.claims) == 2
    assert result.missing is None
    assert len(result.text) <= 300
