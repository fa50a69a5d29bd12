"""Build the static archive: an index with client-side search and one page per sealed record.

Every page is rendered from the record as it was sealed (the stored JSON), so the site says
what the record says and nothing else: anonymous deliberations show the aliases the record
holds. The opinion map is the one thing drawn from the events, and it shows groups and
statement numbers, never names.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2

from bot.engine.deliberation import Deliberation
from bot.engine.model import CONSENT_LABELS, ConsentChoice
from bot.engine.record import record_digest
from bot.store import Store, StoredRecord

log = logging.getLogger(__name__)

ASSETS = ("archive.css", "archive.js")
ASSET_DIR = "assets"
CHART_DIR = "charts"

OUTCOME_CLASSES = {
    "consensus": "good",
    "consent": "fair",
    "no_consensus": "bad",
    "advice": "neutral",
    "cancelled": "neutral",
}
STATUS_LABELS = {"open": "Open", "addressed": "Addressed", "withdrawn": "Withdrawn", "standing": "Standing"}
# An objection's status changes (record format 3), as the Markdown record words them.
STEP_LABELS = {
    "raised": "Raised",
    "addressed": "Marked addressed",
    "reopened": "Reopened",
    "withdrawn": "Withdrawn",
    "lifted": "Lifted",
    "standing": "Left standing when the record was sealed",
}
KIND_LABELS = {
    "statement": "Statement",
    "response": "Response",
    "critique": "Critique",
    "draft": "Proposal draft",
}
# Directional formatting characters: shown as visible marks so that a right-to-left override in
# member text cannot disguise what it says (the text itself is kept verbatim beside them).
_BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


class UnknownGuild(LookupError):
    """The database holds no deliberation (nor settings) for this guild."""

    def __init__(self, guild_id: int, known: Sequence[int]) -> None:
        super().__init__(guild_id)
        self.guild_id = guild_id
        self.known = list(known)

    def __str__(self) -> str:
        held = ", ".join(str(g) for g in self.known) if self.known else "none"
        return f"The database holds nothing for guild {self.guild_id}. Guild ids it holds: {held}."


@dataclass(frozen=True)
class Charts:
    """Chart files (relative to the site) for one record, and what could not be drawn."""

    consent: str | None = None
    opinion_map: str | None = None
    opinion_caption: str | None = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class BuildReport:
    out: Path
    guild_id: int
    records: int
    pages: list[Path] = field(default_factory=list)


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("bot.archive", "templates"),
        # Member text must never become markup: every value is escaped unless a template says
        # otherwise, and none does.
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["day"] = _day
    env.filters["when"] = _when
    env.filters["consent_label"] = lambda value: CONSENT_LABELS[ConsentChoice(value)]
    env.filters["bidi_marks"] = _has_bidi
    env.globals["OUTCOME_CLASSES"] = OUTCOME_CLASSES
    env.globals["STATUS_LABELS"] = STATUS_LABELS
    env.globals["STEP_LABELS"] = STEP_LABELS
    env.globals["KIND_LABELS"] = KIND_LABELS
    return env


def _has_bidi(text: str | None) -> bool:
    return bool(text and _BIDI.search(text))


def _parse(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _day(value: str | None) -> str:
    parsed = _parse(value)
    return parsed.astimezone(UTC).strftime("%Y-%m-%d") if parsed else ""


def _when(value: str | None) -> str:
    parsed = _parse(value)
    return parsed.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if parsed else "—"


def page_name(deliberation_id: int) -> str:
    return f"decision-{deliberation_id}.html"


def _searchable(record: dict[str, Any]) -> str:
    """All the words of a record a reader may search for, lower-cased and NFKC-normalised."""
    parts: list[str] = [record["question"], record["outcome"]["label"], record["template"]]
    if record.get("proposal"):
        parts += [record["proposal"]["text"], record["proposal"].get("summary", "")]
    for o in record["objections"]:
        parts += [o["what"], o["why"], o["author"]]
    for p in record["positions"]:
        parts += [p["stance"] or "", p["text"], p["author"]["name"]]
    for c in record["other_contributions"]:
        parts += [c["text"], c["author"]["name"]]
    for r in record["consent_responses"]:
        parts += [r["member"], r.get("reason") or ""]
    for m in record["minority_positions"]:
        parts += [m["text"], m["stance"] or ""]
    text = " ".join(p for p in parts if p)
    return unicodedata.normalize("NFKC", text).casefold()


def _responses_by_target(record: dict[str, Any]) -> dict[int, list[dict[str, Any]]]:
    """Responses and critiques under what they answer (a position, objection, statement or draft)."""
    targets: dict[int, list[dict[str, Any]]] = {}
    for c in record["other_contributions"]:
        if c["kind"] in ("response", "critique") and c.get("reply_to") is not None:
            targets.setdefault(int(c["reply_to"]), []).append(c)
    return targets


def _ai_contributions(record: dict[str, Any]) -> list[dict[str, Any]]:
    items = [{**p, "kind": "position"} for p in record["positions"] if p["author"]["kind"] == "ai"]
    items += [c for c in record["other_contributions"] if c["author"]["kind"] == "ai"]
    return sorted(items, key=lambda c: c["id"])


def _citations(provenance: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Citations in whatever shape the provenance holds them: {id, quote} items or plain text."""
    if not provenance:
        return []
    found = provenance.get("citations") or []
    out = []
    for item in found if isinstance(found, list) else []:
        if isinstance(item, dict):
            target = item.get("contribution_id", item.get("id", item.get("cites")))
            out.append({"target": target, "quote": str(item.get("quote", item.get("text", "")))})
        else:
            out.append({"target": None, "quote": str(item)})
    return out


def _record_view(stored: StoredRecord, charts: Charts) -> dict[str, Any]:
    record = stored.record
    targets = _responses_by_target(record)
    placed = {c["id"] for replies in targets.values() for c in replies}
    contributions = {c["id"]: c for c in record["other_contributions"]}
    statements = [c for c in record["other_contributions"] if c["kind"] == "statement"]
    drafts = [c for c in record["other_contributions"] if c["kind"] == "draft"]
    known_targets = (
        {p["id"] for p in record["positions"]}
        | {o["id"] for o in record["objections"]}
        | {c["id"] for c in statements + drafts}
    )
    # Replies whose target is not shown on the page (e.g. a reply to a reply) are listed apart.
    loose = [
        c
        for c in record["other_contributions"]
        if c["kind"] in ("response", "critique") and (c["id"] not in placed or c["reply_to"] not in known_targets)
    ]
    return {
        "r": record,
        "moderator": _moderator(record),
        "stored": stored,
        "digest": record_digest(record),
        "replies_to": targets,
        "contributions": contributions,
        "statements": statements,
        "drafts": drafts,
        # Format 3: each draft's lineage (what it revises, what revised it), by draft id.
        "lineage": {int(e["id"]): e for e in record.get("draft_lineage") or ()},
        "loose": loose,
        "ai_contributions": _ai_contributions(record),
        "citations": _citations,
        "charts": charts,
        "consent_rows": [(CONSENT_LABELS[c], record["tally"].get(c.value, 0)) for c in ConsentChoice],
        "json_name": f"decision-{stored.deliberation_id}.json",
        "markdown_name": f"decision-{stored.deliberation_id}.md",
    }


def _moderator(record: dict[str, Any]) -> str:
    """The moderator as the page shows them: in an anonymous record, their alias.

    The record's `moderator` field holds the moderator's name even when members are under
    aliases; the page keeps to the aliases (the JSON beside it is the record as sealed).
    """
    if not record.get("anonymous"):
        return str(record["moderator"])
    aliases = [h["name"] for h in record["participants"]["humans"] if h.get("role") == "moderator"]
    return aliases[0] if aliases else "the moderator"


def _index_entry(stored: StoredRecord) -> dict[str, Any]:
    r = stored.record
    return {
        "id": stored.deliberation_id,
        "question": r["question"],
        "outcome": r["outcome"]["kind"],
        "outcome_label": r["outcome"]["label"],
        "template": r["template"],
        "closed": _day(r.get("closed_at")),
        "standing": len(r["standing_objections"]),
        "minority": len(r["minority_positions"]),
        "anonymous": bool(r.get("anonymous")),
        "ai": bool(r["participants"]["ai"]),
        "page": page_name(stored.deliberation_id),
    }


def _write(path: Path, data: bytes) -> None:
    """Write through a temporary file and rename: a reader of a served site never sees half a page."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def render_site(
    records: Sequence[StoredRecord],
    charts: dict[int, Charts],
    out: Path,
    *,
    guild_id: int,
    generated_at: datetime,
) -> list[Path]:
    """Write every page, the record files and the assets into `out`; returns the pages written."""
    env = _environment()
    out.mkdir(parents=True, exist_ok=True)
    for asset in ASSETS:
        _write(out / ASSET_DIR / asset, resources.files("bot.archive").joinpath("static", asset).read_bytes())
    common = {"guild_id": guild_id, "generated_at": generated_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")}
    entries = [_index_entry(s) for s in records]
    outcomes = sorted({(e["outcome"], e["outcome_label"]) for e in entries})
    search = {str(s.deliberation_id): _searchable(s.record) for s in records}
    pages = []
    index = out / "index.html"
    _write(
        index,
        env.get_template("index.html")
        .render(entries=list(reversed(entries)), outcomes=outcomes, search=search, **common)
        .encode(),
    )
    pages.append(index)
    for stored in records:
        view = _record_view(stored, charts.get(stored.deliberation_id, Charts()))
        page = out / page_name(stored.deliberation_id)
        _write(page, env.get_template("record.html").render(**view, **common).encode())
        pages.append(page)
        sealed = {**stored.record, "chain_head": stored.chain_head}
        _write(out / view["json_name"], (json.dumps(sealed, indent=2, ensure_ascii=False) + "\n").encode())
        _write(out / view["markdown_name"], stored.markdown.encode())
    return pages


# ---------------------------------------------------------------------- charts


def _chart_name(stored: StoredRecord, kind: str) -> str:
    # Named by the chain head: a sealed record never changes, so an existing file is reusable.
    return f"{CHART_DIR}/decision-{stored.deliberation_id}-{stored.chain_head[:12]}-{kind}.png"


def draw_charts(stored: StoredRecord, deliberation: Deliberation | None, out: Path) -> Charts:
    """The consent chart (from the record) and the opinion map (from the replayed events).

    CPU work: call it on a worker thread. matplotlib and scikit-learn load only here.
    """
    from bot.analysis import analyze
    from bot.analysis.charts import consent_chart_png, opinion_map_png
    from bot.votes import moderated_out, statement_votes

    record = stored.record
    notes: list[str] = []
    consent: str | None = None
    if record["outcome"]["kind"] in ("consensus", "consent", "no_consensus"):
        consent = _chart_name(stored, "consent")
        if not (out / consent).exists():
            stances = [(f"{s['name']} ({s['model']})", s["stance"] or "no position") for s in record["ai_stances"]]
            _write(out / consent, consent_chart_png(record["tally"], stances))
    opinion: str | None = None
    caption: str | None = None
    if deliberation is None:
        notes.append("The opinion map could not be drawn: the events of this deliberation are not in this database.")
    else:
        votes = statement_votes(deliberation)
        if not votes:
            notes.append("No opinion map: nobody voted on positions or statements.")
        else:
            try:
                result = analyze(votes, moderated_out(deliberation))
            except Exception:  # one record's analysis must not take the archive down
                log.exception("Opinion analysis failed for record %s", stored.deliberation_id)
                notes.append("The opinion analysis failed for this record; the vote counts below still stand.")
            else:
                opinion = _chart_name(stored, "opinions")
                if not (out / opinion).exists():
                    _write(out / opinion, opinion_map_png(result))
                voters = len({v.participant_id for v in votes})
                groups = len(result.groups)
                caption = (
                    f"{voters} member(s) voted; {groups} opinion group(s)."
                    if result.reason is None
                    else f"{voters} member(s) voted. {result.reason}"
                )
    return Charts(consent=consent, opinion_map=opinion, opinion_caption=caption, notes=tuple(notes))


def _manifest(stored: StoredRecord, out: Path) -> Path:
    return out / CHART_DIR / f"decision-{stored.deliberation_id}-{stored.chain_head[:12]}.json"


def _cached_charts(stored: StoredRecord, out: Path) -> Charts | None:
    """The charts an earlier build drew for this very record (same chain head), if all still there."""
    try:
        data = json.loads(_manifest(stored, out).read_text(encoding="utf-8"))
        charts = Charts(
            consent=data["consent"],
            opinion_map=data["opinion_map"],
            opinion_caption=data["opinion_caption"],
            notes=tuple(data["notes"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
    files = [f for f in (charts.consent, charts.opinion_map) if f]
    return charts if all((out / f).is_file() for f in files) else None


def _draw_and_remember(stored: StoredRecord, deliberation: Deliberation | None, out: Path) -> Charts:
    charts = draw_charts(stored, deliberation, out)
    manifest = {
        "consent": charts.consent,
        "opinion_map": charts.opinion_map,
        "opinion_caption": charts.opinion_caption,
        "notes": list(charts.notes),
    }
    _write(_manifest(stored, out), json.dumps(manifest).encode())
    return charts


# ---------------------------------------------------------------------- from the store


async def build_archive(
    store: Store,
    guild_id: int,
    out: Path,
    *,
    charts: bool = True,
    now: datetime | None = None,
) -> BuildReport:
    """Write the guild's archive into `out`. Raises `UnknownGuild` (changing nothing) if the
    database holds nothing for it."""
    known = await store.guild_ids()
    if guild_id not in known:
        raise UnknownGuild(guild_id, known)
    records = [stored async for stored in store.all_records(guild_id)]
    drawn: dict[int, Charts] = {}
    if charts:
        for stored in records:
            cached = _cached_charts(stored, out)
            if cached is None:
                events = await store.load_events(guild_id, stored.deliberation_id)
                deliberation = Deliberation.from_events(stored.deliberation_id, guild_id, events) if events else None
                cached = await asyncio.to_thread(_draw_and_remember, stored, deliberation, out)
            drawn[stored.deliberation_id] = cached
    else:
        drawn = {s.deliberation_id: Charts(notes=("Charts were not drawn for this build.",)) for s in records}
    pages = await asyncio.to_thread(
        render_site, records, drawn, out, guild_id=guild_id, generated_at=now or datetime.now(UTC)
    )
    return BuildReport(out=out, guild_id=guild_id, records=len(records), pages=pages)


__all__ = [
    "BuildReport",
    "Charts",
    "UnknownGuild",
    "build_archive",
    "draw_charts",
    "page_name",
    "render_site",
]
