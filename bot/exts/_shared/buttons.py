"""Every persistent button: its custom id and its look, each in one class.

A button's class builds its id from the ids it carries and parses the same id back (its
`template`), so buttons survive a restart. Posting a button is `VoteButton(d, s, vote)`; what a
click does is the feature's: it subclasses the button with `run` and registers the subclass
(`bot.add_dynamic_items`), whose template is the same (`answers(...)`). This module knows no
feature, so any of them can post any button.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, Self

import discord

from bot.engine.model import ConsentChoice, ObjectionStatus, Vote
from bot.engine.ranking import ordinal
from bot.exts._shared.components import HandledDynamicItem

Button = discord.ui.Button[Any]


class PersistentButton(HandledDynamicItem, discord.ui.DynamicItem[Button], template=r"rt:\0"):
    """A button carrying the deliberation's id. Subclasses set `template` and build the look."""

    deliberation_id: int

    @classmethod
    def answers(cls) -> re.Pattern[str]:
        """The template a feature's subclass registers under (the same as this button's)."""
        return cls.__discord_ui_compiled_template__


class _DeliberationButton(PersistentButton, template=r"rt:\0"):
    """A button whose id is its prefix and the deliberation, e.g. `rt:pos:12`."""

    PREFIX = ""
    LABEL = ""
    STYLE = discord.ButtonStyle.secondary

    def __init__(self, deliberation_id: int) -> None:
        super().__init__(
            discord.ui.Button(label=self.LABEL, style=self.STYLE, custom_id=f"rt:{self.PREFIX}:{deliberation_id}")
        )
        self.deliberation_id = deliberation_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str]
    ) -> Self:
        return cls(int(match["deliberation"]))


class StatePositionButton(_DeliberationButton, template=r"rt:pos:(?P<deliberation>[0-9]+)"):
    PREFIX, LABEL, STYLE = "pos", "State position", discord.ButtonStyle.primary


class RaiseObjectionButton(_DeliberationButton, template=r"rt:raise:(?P<deliberation>[0-9]+)"):
    PREFIX, LABEL, STYLE = "raise", "Raise objection", discord.ButtonStyle.danger


class AddStatementButton(_DeliberationButton, template=r"rt:stmt:(?P<deliberation>[0-9]+)"):
    PREFIX, LABEL, STYLE = "stmt", "Add statement", discord.ButtonStyle.secondary


class RemindButton(_DeliberationButton, template=r"rt:remind:(?P<deliberation>[0-9]+)"):
    """Each member's own switch: a mention when a round opens, or none."""

    PREFIX, LABEL, STYLE = "remind", "Remind me", discord.ButtonStyle.secondary


class ConfirmAdvanceButton(
    PersistentButton, template=r"rt:adv:(?P<deliberation>[0-9]+):(?P<round>[0-9]+):(?P<force>[01])"
):
    """The moderator's confirmation that a round closes early although members have not answered.

    It names the round it closes, so pressed late (or twice) it closes nothing else.
    """

    def __init__(self, deliberation_id: int, round_index: int, force: bool) -> None:
        custom_id = f"rt:adv:{deliberation_id}:{round_index}:{int(force)}"
        super().__init__(
            discord.ui.Button(label="Close it anyway", style=discord.ButtonStyle.danger, custom_id=custom_id)
        )
        self.deliberation_id = deliberation_id
        self.round_index = round_index
        self.force = force

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str]
    ) -> Self:
        return cls(int(match["deliberation"]), int(match["round"]), match["force"] == "1")


class RespondButton(PersistentButton, template=r"rt:resp:(?P<deliberation>[0-9]+):(?P<target>[0-9]+)"):
    """Respond to a position, statement or objection; the response is posted under it."""

    def __init__(self, deliberation_id: int, target: int) -> None:
        custom_id = f"rt:resp:{deliberation_id}:{target}"
        super().__init__(discord.ui.Button(label="Respond", style=discord.ButtonStyle.secondary, custom_id=custom_id))
        self.deliberation_id = deliberation_id
        self.target = target

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str]
    ) -> Self:
        return cls(int(match["deliberation"]), int(match["target"]))


class CritiqueButton(PersistentButton, template=r"rt:crit:(?P<deliberation>[0-9]+):(?P<draft>[0-9]+)"):
    """Critique a draft (an AI participant's or a member's); the critique is posted under it."""

    def __init__(self, deliberation_id: int, draft_id: int) -> None:
        custom_id = f"rt:crit:{deliberation_id}:{draft_id}"
        super().__init__(discord.ui.Button(label="Critique", style=discord.ButtonStyle.primary, custom_id=custom_id))
        self.deliberation_id = deliberation_id
        self.draft_id = draft_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str]
    ) -> Self:
        return cls(int(match["deliberation"]), int(match["draft"]))


class VoteButton(PersistentButton, template=r"rt:vote:(?P<deliberation>[0-9]+):(?P<statement>[0-9]+):(?P<vote>[adp])"):
    """Agree / Disagree / Pass on a position or statement."""

    CODES: ClassVar[dict[Vote, str]] = {Vote.AGREE: "a", Vote.DISAGREE: "d", Vote.PASS: "p"}
    STYLES: ClassVar[dict[Vote, discord.ButtonStyle]] = {
        Vote.AGREE: discord.ButtonStyle.success,
        Vote.DISAGREE: discord.ButtonStyle.danger,
        Vote.PASS: discord.ButtonStyle.secondary,
    }

    def __init__(self, deliberation_id: int, statement_id: int, vote: Vote) -> None:
        custom_id = f"rt:vote:{deliberation_id}:{statement_id}:{self.CODES[vote]}"
        super().__init__(discord.ui.Button(label=vote.value.capitalize(), style=self.STYLES[vote], custom_id=custom_id))
        self.deliberation_id = deliberation_id
        self.statement_id = statement_id
        self.vote = vote

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str]
    ) -> Self:
        vote = next(v for v, code in cls.CODES.items() if code == match["vote"])
        return cls(int(match["deliberation"]), int(match["statement"]), vote)


class ObjectionButton(
    PersistentButton, template=r"rt:obj:(?P<deliberation>[0-9]+):(?P<objection>[0-9]+):(?P<action>[war])"
):
    """Withdraw (the author), Mark addressed (the moderator), Reopen (the author)."""

    # code: (the status it moves to, label, style)
    ACTIONS: ClassVar[dict[str, tuple[ObjectionStatus, str, discord.ButtonStyle]]] = {
        "w": (ObjectionStatus.WITHDRAWN, "Withdraw", discord.ButtonStyle.secondary),
        "a": (ObjectionStatus.ADDRESSED, "Mark addressed", discord.ButtonStyle.success),
        "r": (ObjectionStatus.OPEN, "Reopen", discord.ButtonStyle.danger),
    }

    def __init__(self, deliberation_id: int, objection_id: int, action: str) -> None:
        status, label, style = self.ACTIONS[action]
        custom_id = f"rt:obj:{deliberation_id}:{objection_id}:{action}"
        super().__init__(discord.ui.Button(label=label, style=style, custom_id=custom_id))
        self.deliberation_id = deliberation_id
        self.objection_id = objection_id
        self.status = status

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str]
    ) -> Self:
        return cls(int(match["deliberation"]), int(match["objection"]), match["action"])


class ConsentButton(PersistentButton, template=r"rt:consent:(?P<deliberation>[0-9]+):(?P<choice>[ersb])"):
    """The consent scale; Block asks for the reason."""

    CODES: ClassVar[dict[ConsentChoice, str]] = {
        ConsentChoice.ENDORSE: "e",
        ConsentChoice.RESERVATIONS: "r",
        ConsentChoice.STAND_ASIDE: "s",
        ConsentChoice.BLOCK: "b",
    }
    LOOKS: ClassVar[dict[ConsentChoice, tuple[str, discord.ButtonStyle]]] = {
        ConsentChoice.ENDORSE: ("Endorse", discord.ButtonStyle.success),
        ConsentChoice.RESERVATIONS: ("Reservations", discord.ButtonStyle.primary),
        ConsentChoice.STAND_ASIDE: ("Stand aside", discord.ButtonStyle.secondary),
        ConsentChoice.BLOCK: ("Block", discord.ButtonStyle.danger),
    }

    def __init__(self, deliberation_id: int, choice: ConsentChoice) -> None:
        label, style = self.LOOKS[choice]
        custom_id = f"rt:consent:{deliberation_id}:{self.CODES[choice]}"
        super().__init__(discord.ui.Button(label=label, style=style, custom_id=custom_id))
        self.deliberation_id = deliberation_id
        self.choice = choice

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str]
    ) -> Self:
        choice = next(c for c, code in cls.CODES.items() if code == match["choice"])
        return cls(int(match["deliberation"]), choice)


# ---------------------------------------------------------------------- ranking drafts

Select = discord.ui.Select[Any]


def _ballot_part(chosen: tuple[int, ...]) -> str:
    return ".".join(map(str, chosen))


class RankDraftsButton(PersistentButton, template=r"rt:rank:(?P<deliberation>[0-9]+):(?P<ranking>[0-9]+)"):
    """Opens a member's private menu to rank the drafts of one ranking (it names the ranking, so a
    button left from a closed ranking ranks nothing)."""

    def __init__(self, deliberation_id: int, ranking: int) -> None:
        custom_id = f"rt:rank:{deliberation_id}:{ranking}"
        super().__init__(
            discord.ui.Button(label="Rank the drafts", style=discord.ButtonStyle.primary, custom_id=custom_id)
        )
        self.deliberation_id = deliberation_id
        self.ranking = ranking

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str]
    ) -> Self:
        return cls(int(match["deliberation"]), int(match["ranking"]))


class RankPlaceMenu(
    HandledDynamicItem,
    discord.ui.DynamicItem[Select],
    template=r"rt:rankp:(?P<deliberation>[0-9]+):(?P<ranking>[0-9]+):(?P<chosen>[0-9.]{0,80})",
):
    """One place of a member's ballot: the drafts ranked so far ride in the id (`3.5`), the menu
    offers the rest for the next place. Nothing is stored until the ballot is complete or kept."""

    deliberation_id: int

    def __init__(
        self, deliberation_id: int, ranking: int, chosen: str, options: list[discord.SelectOption] | None = None
    ) -> None:
        place = len([p for p in chosen.split(".") if p]) + 1
        super().__init__(
            discord.ui.Select(
                custom_id=f"rt:rankp:{deliberation_id}:{ranking}:{chosen}",
                placeholder=f"Your {ordinal(place)} choice",
                options=options or [],
            )
        )
        self.deliberation_id = deliberation_id
        self.ranking = ranking
        self.chosen = chosen  # as the id carries it; parsed (and checked) when used

    @classmethod
    def of(
        cls, deliberation_id: int, ranking: int, chosen: tuple[int, ...], options: list[discord.SelectOption]
    ) -> Self:
        return cls(deliberation_id, ranking, _ballot_part(chosen), options)

    @classmethod
    def answers(cls) -> re.Pattern[str]:
        return cls.__discord_ui_compiled_template__

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str]
    ) -> Self:
        return cls(int(match["deliberation"]), int(match["ranking"]), match["chosen"])


class KeepBallotButton(
    PersistentButton, template=r"rt:rankb:(?P<deliberation>[0-9]+):(?P<ranking>[0-9]+):(?P<chosen>[0-9.]{1,80})"
):
    """Store the drafts ranked so far as the ballot; the ones left out rank below them."""

    def __init__(self, deliberation_id: int, ranking: int, chosen: str) -> None:
        custom_id = f"rt:rankb:{deliberation_id}:{ranking}:{chosen}"
        super().__init__(
            discord.ui.Button(label="Keep this ranking", style=discord.ButtonStyle.success, custom_id=custom_id)
        )
        self.deliberation_id = deliberation_id
        self.ranking = ranking
        self.chosen = chosen

    @classmethod
    def of(cls, deliberation_id: int, ranking: int, chosen: tuple[int, ...]) -> Self:
        return cls(deliberation_id, ranking, _ballot_part(chosen))

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str]
    ) -> Self:
        return cls(int(match["deliberation"]), int(match["ranking"]), match["chosen"])


def components(items: list[PersistentButton]) -> discord.ui.View | None:
    """A view carrying only these buttons: the registered subclasses answer the clicks.

    Stopped before sending so discord.py does not also store it (a stopped view is not kept),
    which would dispatch each click twice.
    """
    if not items:
        return None
    view = discord.ui.View(timeout=None)
    for item in items:
        view.add_item(item)
    view.stop()
    return view


__all__ = [
    "AddStatementButton",
    "ConfirmAdvanceButton",
    "ConsentButton",
    "CritiqueButton",
    "KeepBallotButton",
    "ObjectionButton",
    "PersistentButton",
    "RaiseObjectionButton",
    "RankDraftsButton",
    "RankPlaceMenu",
    "RemindButton",
    "RespondButton",
    "StatePositionButton",
    "VoteButton",
    "components",
]
