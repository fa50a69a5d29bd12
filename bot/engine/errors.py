"""Typed refusals. Each says, in words fit to show a member, why nothing changed."""

from __future__ import annotations


class RoundtableError(Exception):
    """Base of every refusal the engine makes. `str(error)` is the user-facing message."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.user_message = message


class NotFound(RoundtableError):
    """An id that does not exist in this guild (another guild's id looks the same)."""


class PermissionDenied(RoundtableError):
    """The actor's role does not allow this action."""


class ObserverCannotAct(PermissionDenied):
    """Observers only read."""


class NotForAI(PermissionDenied):
    """Only humans may do this: consent, vote, object, adopt, advance, count."""


class NotYourContribution(PermissionDenied):
    """Members edit or withdraw only what they wrote."""


class EmptyText(RoundtableError):
    """Text that is empty or only whitespace."""


class TextTooLong(RoundtableError):
    """Text over its limit."""


class InvalidValue(RoundtableError):
    """A setting, choice or number outside what is allowed."""


class WrongRound(RoundtableError):
    """The current round does not accept this kind of input."""


class DeliberationClosed(RoundtableError):
    """The deliberation is closed or cancelled."""


class RoundTooYoung(RoundtableError):
    """A round cannot close before its minimum duration unless forced."""


class AlreadyRecorded(RoundtableError):
    """The same action again (a double click): nothing new to store."""


class BlockNeedsReason(RoundtableError):
    """A block must say why."""


class InvalidTransition(RoundtableError):
    """An objection cannot move from its status to the one asked for."""


class AINotDue(RoundtableError):
    """An AI participant may not speak yet (humans first), unless the moderator asks."""


class NeedsConfirmation(RoundtableError):
    """The action skips something people have not done yet; it happens only once confirmed.

    `token` is what the confirmation must carry (the round it closes), so a confirmation that
    arrives after the process moved on closes nothing else.
    """

    def __init__(self, message: str, token: int) -> None:
        super().__init__(message)
        self.token = token


class RankingNotOpen(RoundtableError):
    """A ballot for a ranking that is closed (or a close of one that is not open)."""


class DatabaseBusy(RoundtableError):
    """The database did not take the action in time (another writer holds the deliberation, or the
    server is overloaded), or did not write what it was told: nothing was stored; try again."""


class ChangedMeanwhile(RoundtableError):
    """Another writer (a second bot process) appended to the same chain first: nothing was stored.

    The store refuses an append whose chain head moved since the deliberation was loaded
    (compare-and-set), so a chain never forks; the service reloads and decides again.
    """


class StorageUnavailable(RoundtableError):
    """The database cannot be reached or cannot take writes right now (the server went away, the
    connection dropped, the disk failed or is full or read-only): nothing was stored.

    Unlike `DatabaseBusy` (reachable but contended), this lasts until an operator or the server
    fixes it; the bot keeps running and the same action works again once storage is back.
    `uncertain` is set when the connection dropped while the database was committing: the action
    may or may not be stored, and the member is told so rather than "nothing was recorded".
    """

    def __init__(self, message: str = "", *, uncertain: bool = False) -> None:
        if not message:
            message = STORAGE_UNCERTAIN if uncertain else STORAGE_UNAVAILABLE
        super().__init__(message)
        self.uncertain = uncertain


STORAGE_UNAVAILABLE = "Storage is unavailable, nothing was recorded. Try again in a moment."
STORAGE_UNCERTAIN = (
    "Storage became unavailable while saving this, so it may or may not have been recorded. "
    "Check in a moment before trying again."
)
