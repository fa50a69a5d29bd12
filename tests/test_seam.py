"""The seam between the engine and everything else holds (docs/dev/seam.md).

Outside `bot/engine/` nothing reads an event's stored form (a kind string, a payload key); the
Discord layer reaches storage only through the service; and no two modules import each other.
These read the source, so a change that breaks the seam fails here before it is reviewed.
"""

from __future__ import annotations

import ast
from pathlib import Path

import grimp
import pytest

from bot.engine.events import EventKind

BOT = Path(__file__).resolve().parent.parent / "bot"
KIND_STRINGS = {kind.value for kind in EventKind}


def _modules(*, outside: str | None = None, under: tuple[str, ...] = ()) -> list[Path]:
    paths = sorted(BOT.rglob("*.py"))
    if outside is not None:
        paths = [p for p in paths if not p.is_relative_to(BOT / outside)]
    if under:
        paths = [p for p in paths if any(p.is_relative_to(BOT / u) for u in under)]
    return paths


def _payload_reads(tree: ast.AST) -> list[int]:
    """Lines that read a payload as a dict: `x.payload[...]` or `x.payload.get(...)`."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute) and node.value.attr == "payload":
            lines.append(node.lineno)
        if (
            isinstance(node, ast.Attribute)
            and node.attr == "get"
            and isinstance(node.value, ast.Attribute)
            and node.value.attr == "payload"
        ):
            lines.append(node.lineno)
    return lines


def _kind_strings(tree: ast.AST) -> list[tuple[int, str]]:
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in KIND_STRINGS
    ]


def test_nothing_outside_the_engine_reads_a_kind_string_or_a_payload_key() -> None:
    offences = []
    for path in _modules(outside="engine"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        offences += [f"{path.relative_to(BOT)}:{line}: payload read as a dict" for line in _payload_reads(tree)]
        offences += [f"{path.relative_to(BOT)}:{line}: kind string {text!r}" for line, text in _kind_strings(tree)]
    assert offences == []


def test_the_checks_above_would_catch_an_offence() -> None:
    tree = ast.parse('if e.kind == "vote.cast":\n    x = e.payload["statement"]\n    y = e.payload.get("vote")\n')
    assert _kind_strings(tree) == [(1, "vote.cast")]
    assert _payload_reads(tree) == [2, 3]


def test_the_discord_layer_never_touches_the_store() -> None:
    offences = []
    for path in _modules(under=("exts", "app.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr == "store":
                offences.append(f"{path.relative_to(BOT)}:{node.lineno}")
    assert offences == []


@pytest.mark.parametrize("type_checking_too", [True, False])
def test_no_two_modules_import_each_other(type_checking_too: bool) -> None:
    graph = grimp.build_graph("bot", exclude_type_checking_imports=not type_checking_too)
    circles = sorted(
        {
            tuple(sorted((module, imported)))
            for module in graph.modules
            for imported in graph.find_modules_directly_imported_by(module)
            if graph.chain_exists(importer=imported, imported=module)
        }
    )
    assert circles == []
