"""One exception hierarchy for everything xltool refuses to do.

The CLI turns every `XltoolError` into a clean message and exit code, and so
every `OSError` (a file open in Excel, a full disk: the machine's, not xltool's);
anything else escaping the library is a bug.
"""

from __future__ import annotations

from pathlib import Path


class XltoolError(Exception):
    """Base class: a condition the user can fix, with a message that says how.

    `exit_code` is what the command line exits with: 2, the command could not run as
    asked (1 is kept for "done, and problems found", which is a result, not an error)."""

    exit_code = 2


class ProfileError(XltoolError):
    """A form profile file is missing, unreadable or inconsistent."""

    def __init__(self, path: Path | str, key: str, problem: str) -> None:
        self.path = Path(path)
        self.key = key
        self.problem = problem
        super().__init__(f"{self.path.name}: {key}: {problem}")


class UnknownProfile(XltoolError):
    """No profile of that name is shipped or found."""


class LedgerUnreadable(XltoolError):
    """The ledger file cannot be opened or decoded at all."""
