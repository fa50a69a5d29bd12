"""The decision record: what was agreed, who disagreed and why (verbatim), which words were an AI's.

The record is composed from the deliberation's state alone, so composing it again from the
stored events gives the same record: `python -m bot verify` relies on that.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from datetime import datetime
from typing import Any

from bot.engine.deliberation import Deliberation
from bot.engine.events import DeliberationSealed, Event
from bot.engine.model import (
    CONSENT_LABELS,
    ActorKind,
    ConsentChoice,
    Contribution,
    ContributionKind,
    DeliberationStatus,
    ObjectionStatus,
    ProposalSource,
    Vote,
    ai_label,
)
from bot.engine.outcome import Outcome, decide_outcome

# Bumped whenever `compose_record` or `render_markdown` changes what they produce. A record keeps
# the format it was sealed in; `verify` recomposes and re-renders only records of this format
# (older ones are still checked against their digest and their chain head).
RECORD_FORMAT = 1


def outcome_of(d: Deliberation) -> Outcome:
    """The outcome from the members' latest consent responses; AI never answers, so never counts."""
    human = [r.choice for key, r in d.consent.items() if key.startswith(ActorKind.HUMAN.value + ":")]
    return decide_outcome(
        human,
        d.settings.quorum,
        decides=d.decides,
        cancelled=d.status is DeliberationStatus.CANCELLED,
    )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _author(d: Deliberation, key: str) -> dict[str, Any]:
    p = d.participants.get(key)
    if p is not None and p.kind is ActorKind.AI:
        return {"kind": "ai", "name": p.name, "model": p.model, "label": ai_label(p.name, p.model)}
    return {"kind": "human", "name": d.display_name(key)}


def _provenance(c: Contribution) -> dict[str, Any]:
    """Where an AI contribution came from: model, endpoint host, prompt hash, what it was shown."""
    return {"provenance": dict(c.ai_meta)} if c.by_ai and c.ai_meta else {}


def _provenance_line(item: dict[str, Any]) -> str:
    p = item.get("provenance")
    if not p:
        return ""
    shown = ", ".join(f"#{i}" for i in p.get("given_ids", [])) or "nothing"
    return (
        f"Provenance: {p.get('model', '?')} at {p.get('endpoint_host', '?')}; prompt sha256 "
        f"{str(p.get('prompt_sha256', '?'))[:16]}…; shown {shown}; {p.get('left_out', 0)} member(s) left out "
        f"(opted out of AI processing); {p.get('latency_ms', '?')} ms."
    )


def _authorship(d: Deliberation) -> dict[str, Any]:
    proposal = d.proposal
    assert proposal is not None
    by = d.display_name(proposal.by)
    result: dict[str, Any] = {"source": proposal.source.value, "put_by": by}
    if proposal.source is ProposalSource.MOTION:
        result["summary"] = f"The question as asked, put to the group by {by}."
    elif proposal.source is ProposalSource.HUMAN:
        result["summary"] = f"Written by {by}."
    else:
        draft = d.contributions[proposal.draft_id] if proposal.draft_id else None
        assert draft is not None
        author = _author(d, draft.author)
        drafted = (
            f"Drafted by AI participant {author['name']} ({author['model']})"
            if author["kind"] == "ai"
            else f"Drafted by {author['name']}"
        )
        how = "adopted as is" if proposal.source is ProposalSource.ADOPTED else "adopted with amendments"
        result.update(
            summary=f"{drafted}, {how} by {by}.",
            draft_id=draft.id,
            drafted_by=author,
            draft_text=draft.text,
        )
    return result


def _minority_positions(d: Deliberation) -> list[dict[str, Any]]:
    """Human positions the group did not carry, quoted verbatim, each with why it is listed.

    A position is in the minority when its author did not endorse at the consent check, or
    when more members disagreed with it than agreed.
    """
    minority = []
    for c in d.positions():
        if c.by_ai:
            continue
        reasons = []
        response = d.consent.get(c.author)
        if d.decides and response is not None and response.choice is not ConsentChoice.ENDORSE:
            reasons.append(f"its author answered: {CONSENT_LABELS[response.choice]}")
        votes = d.tally(c.id)
        if votes[Vote.DISAGREE] > votes[Vote.AGREE]:
            reasons.append(f"{votes[Vote.DISAGREE]} disagreed, {votes[Vote.AGREE]} agreed")
        if reasons:
            minority.append(
                {
                    "id": c.id,
                    "author": d.display_name(c.author),
                    "stance": c.stance,
                    "text": c.text,
                    "why_listed": reasons,
                }
            )
    return minority


def compose_record(d: Deliberation) -> dict[str, Any]:
    """The record as plain data (JSON-ready). Callers add the chain head that seals it."""
    outcome = outcome_of(d)
    humans = d.humans(include_observers=True)
    positions = []
    for c in d.positions():
        votes = d.tally(c.id)
        positions.append(
            {
                "id": c.id,
                "author": _author(d, c.author),
                "stance": c.stance,
                "text": c.text,
                "edits": len(c.history),
                "votes": {v.value: votes[v] for v in Vote},
                **_provenance(c),
            }
        )
    objections = [
        {
            "id": o.id,
            "author": d.display_name(o.author),
            "what": o.what,
            "why": o.why,
            "status": o.status.value,
            "from_block": o.from_block,
        }
        for o in d.objections.values()
    ]
    other = [
        {
            "id": c.id,
            "kind": c.kind.value,
            "author": _author(d, c.author),
            "text": c.text,
            "reply_to": c.reply_to,
            "answers": list(c.answers),
            **_provenance(c),
            **(
                {"votes": {v.value: n for v, n in d.tally(c.id).items()}, "moderated_out": c.id in d.moderated_out}
                if c.kind is ContributionKind.STATEMENT
                else {}
            ),
        }
        for c in d.contributions.values()
        if c.kind is not ContributionKind.POSITION
    ]
    responses = [
        {"member": d.display_name(key), "answer": r.choice.value, "reason": r.reason} for key, r in d.consent.items()
    ]
    ai_stances = [
        {
            "name": seat.name,
            "model": seat.model,
            "label": ai_label(seat.name, seat.model),
            "stance": pos.stance if (pos := d.position_of(f"ai:{seat.name}")) else None,
            "counted": False,
        }
        for seat in d.ai_seats.values()
    ]
    rounds = []
    for r in d.rounds:
        minutes = (r.closed_at - r.opened_at).total_seconds() / 60 if r.opened_at and r.closed_at else None
        rounds.append(
            {
                "kind": r.kind.value,
                "opened_at": _iso(r.opened_at),
                "closed_at": _iso(r.closed_at),
                "minutes": round(minutes, 1) if minutes is not None else None,
                "forced": r.forced,
            }
        )
    return {
        "format": RECORD_FORMAT,
        "deliberation_id": d.id,
        "guild_id": d.guild_id,
        "question": d.question,
        "template": d.template,
        "status": d.status.value,
        "opened_at": _iso(d.created_at),
        "closed_at": _iso(d.closed_at),
        "moderator": d.participants[d.moderator].name if d.moderator in d.participants else "",
        "anonymous": d.settings.anonymous,
        "quorum": d.settings.quorum,
        "participants": {
            "humans": [{"name": d.display_name(p.key), "role": p.role.value} for p in humans],
            "ai": [
                {"name": s.name, "model": s.model, "endpoint_host": s.endpoint_host, "label": ai_label(s.name, s.model)}
                for s in d.ai_seats.values()
            ],
        },
        "proposal": {"text": d.proposal.text, **_authorship(d)} if d.proposal else None,
        "outcome": {
            "kind": outcome.kind.value,
            "label": outcome.label,
            "reason": outcome.reason,
            "responded": outcome.responded,
            "quorum_met": outcome.quorum_met,
        },
        "tally": {choice.value: outcome.tally[choice] for choice in ConsentChoice},
        "consent_responses": responses,
        "ai_stances": ai_stances,
        "standing_objections": [o for o in objections if o["status"] == ObjectionStatus.STANDING.value],
        "minority_positions": _minority_positions(d),
        "positions": positions,
        "objections": objections,
        "other_contributions": other,
        "participation": {
            "spoke": [d.display_name(p.key) for p in d.humans() if d.spoke(p.key)],
            "silent": [d.display_name(p.key) for p in d.silent_humans()],
            "rounds": rounds,
        },
        "ai_unavailable": [{"name": name, "reason": reason} for name, reason, _, _ in d.ai_unavailable],
        "cancel_reason": d.cancel_reason or None,
    }


def canonical_json(data: Any) -> str:
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def record_digest(record: dict[str, Any]) -> str:
    """SHA-256 of the record's content, without the chain head that seals it."""
    body = {k: v for k, v in record.items() if k != "chain_head"}
    return hashlib.sha256(canonical_json(body).encode()).hexdigest()


def seal_with(event: Event, record: dict[str, Any]) -> Event:
    """The sealing event, carrying the digest of the record it seals.

    The event is hash-chained, so the record's content is as tamper-evident as the events,
    and stays verifiable after `compose_record` changes (old records are checked against the
    digest their own chain holds, not recomposed by newer code). Applying the event ignores
    these fields, so replay is unchanged.
    """
    return replace(event, payload=DeliberationSealed(RECORD_FORMAT, record_digest(record)))


def _quote(text: str) -> str:
    return "\n".join("> " + line if line else ">" for line in text.splitlines())


def render_markdown(record: dict[str, Any]) -> str:
    """A human-readable record. Member and AI text is quoted verbatim, never paraphrased."""
    out = [f"# Decision record #{record['deliberation_id']}: {record['question']}", ""]
    out.append(f"- Outcome: **{record['outcome']['label']}**. {record['outcome']['reason']}")
    out.append(f"- Process: {record['template']}; moderator: {record['moderator']}")
    out.append(f"- Opened {record['opened_at']}, closed {record['closed_at']}")
    if record["anonymous"]:
        out.append("- Anonymous: members appear under aliases.")
    out.append("")
    if record["proposal"]:
        out += ["## Proposal", "", _quote(record["proposal"]["text"]), "", record["proposal"]["summary"], ""]
    out += ["## Consent (members only)", ""]
    out += [f"- {CONSENT_LABELS[choice]}: {record['tally'][choice.value]}" for choice in ConsentChoice]
    for r in record["consent_responses"]:
        if r["reason"]:
            out += ["", f"{r['member']} ({CONSENT_LABELS[ConsentChoice(r['answer'])]}):", _quote(r["reason"])]
    out.append("")
    if record["ai_stances"]:
        out += ["## AI stances (labelled, not counted)", ""]
        out += [f"- {s['label']}: {s['stance'] or 'no position'}" for s in record["ai_stances"]]
        out.append("")
    out += ["## Standing dissent (verbatim)", ""]
    if not record["standing_objections"] and not record["minority_positions"]:
        out += ["None.", ""]
    for o in record["standing_objections"]:
        kind = "Block" if o["from_block"] else "Objection"
        out += [f"### {kind} #{o['id']} by {o['author']}", "", _quote(o["what"]), "", "Why:", "", _quote(o["why"]), ""]
    for p in record["minority_positions"]:
        out += [f"### Minority position #{p['id']} by {p['author']}: {p['stance']}", ""]
        out += [_quote(p["text"]), "", f"Listed because {'; '.join(p['why_listed'])}.", ""]
    out += ["## Positions", ""]
    for p in record["positions"]:
        who = p["author"]["label"] if p["author"]["kind"] == "ai" else p["author"]["name"]
        votes = p["votes"]
        out += [
            f"### #{p['id']} {who}: {p['stance']}",
            "",
            _quote(p["text"]),
            "",
            f"Agree {votes['agree']}, disagree {votes['disagree']}, pass {votes['pass']}"
            + (f"; edited {p['edits']} time(s)" if p["edits"] else ""),
            "",
        ]
        if p.get("provenance"):
            out += [_provenance_line(p), ""]
    if record["other_contributions"]:
        out += ["## Statements, responses, drafts and critiques", ""]
        for c in record["other_contributions"]:
            who = c["author"]["label"] if c["author"]["kind"] == "ai" else c["author"]["name"]
            about = f" (on #{c['reply_to']})" if c.get("reply_to") else ""
            out += [f"### #{c['id']} {c['kind']}{about} by {who}", "", _quote(c["text"]), ""]
            if "votes" in c:
                v = c["votes"]
                moderated = "; moderated out" if c.get("moderated_out") else ""
                out += [f"Agree {v['agree']}, disagree {v['disagree']}, pass {v['pass']}{moderated}", ""]
            if c.get("provenance"):
                out += [_provenance_line(c), ""]
    if record["objections"]:
        out += ["## All objections", ""]
        out += [f"- #{o['id']} ({o['status']}) {o['author']}: {o['what']}" for o in record["objections"]]
        out.append("")
    part = record["participation"]
    out += ["## Participation", ""]
    out.append(f"- Took part: {', '.join(part['spoke']) or 'nobody'}")
    out.append(f"- Did not take part: {', '.join(part['silent']) or 'nobody'}")
    for r in part["rounds"]:
        forced = " (closed early by the moderator)" if r["forced"] else ""
        out.append(f"- {r['kind']} round: {r['minutes'] if r['minutes'] is not None else '-'} minutes{forced}")
    if record["participants"]["ai"]:
        out += ["", "AI participants at the table:"]
        out += [f"- {a['label']}" for a in record["participants"]["ai"]]
    for a in record["ai_unavailable"]:
        out.append(f"- AI participant {a['name']} was unavailable: {a['reason']}")
    out.append("")
    if record.get("chain_head"):
        out += ["---", f"Sealed by event-chain head `{record['chain_head']}`.", ""]
    return "\n".join(out)
