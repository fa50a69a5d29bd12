"""`python -m bot polis …` commands that need only the analysis (no Discord, no database).

The main CLI calls `add_commands(subparsers)`; `polis` gets its own sub-commands so that
`polis import` (which needs the deliberation engine) can be added beside `analyze`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def add_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `polis` and its `analyze` sub-command."""
    polis = subparsers.add_parser("polis", help="work with Polis conversation exports")
    polis_commands = polis.add_subparsers(dest="polis_command", metavar="COMMAND", required=True)
    polis.set_defaults(polis_subparsers=polis_commands)
    analyze_cmd = polis_commands.add_parser(
        "analyze", help="opinion groups, consensus and division of a Polis export, as JSON"
    )
    analyze_cmd.add_argument("directory", type=Path, help="export directory (comments.csv, votes.csv)")
    analyze_cmd.add_argument(
        "--in-group",
        choices=("polis", "export"),
        default="polis",
        help="who is clustered: today's Polis rule, or the rule that reproduces the "
        "export's own group ids (older Polis versions differ)",
    )
    analyze_cmd.add_argument("--top", type=int, default=10, help="statements to list (default 10)")
    analyze_cmd.set_defaults(func=run_analyze)


def run_analyze(args: argparse.Namespace) -> int:
    """Print the analysis of one export as JSON; exit 2 if the directory is not an export."""
    # Imported here: numpy and scikit-learn would slow every `python -m bot --help`.
    from bot.analysis.groups import POLIS_RULE
    from bot.analysis.opinions import analyze
    from bot.analysis.polis_export import infer_in_group_rule, read_polis_export

    directory: Path = args.directory
    if not (directory / "votes.csv").is_file() or not (directory / "comments.csv").is_file():
        print(f"error: {directory} has no comments.csv and votes.csv", file=sys.stderr)
        return 2
    export = read_polis_export(directory)
    rule = infer_in_group_rule(export).rule if args.in_group == "export" else POLIS_RULE
    result = analyze(export.votes, export.moderated_out, rule=rule)
    top = max(args.top, 0)
    report = {
        "k": result.k,
        "reason": result.reason,
        "in_group_rule": rule.describe(),
        "groups": {str(pid): group for pid, group in result.assignments.items()},
        "consensus": list(result.consensus[:top]),
        "divisive": list(result.divisive[:top]),
        "left_out": {str(pid): why for pid, why in result.left_out.items()},
    }
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0
