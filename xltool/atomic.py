"""Files written whole or not at all.

Every file xltool writes for people (templates, feedback, reports, the
disclosure) is written under a draft name beside its place and renamed into
place once complete: a reader, an email client or a crash never meets half a
file, and a file that could not be replaced keeps what it held.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


def draft_path(path: Path) -> Path:
    """Where PATH is written before it is complete: hidden, with the writer's process id, and
    its own suffix (writers that look at the suffix see the real one)."""
    return path.with_name(f".{path.stem}.{os.getpid()}.part{path.suffix}")


_DRAFT = re.compile(r"\.(.+)\.[0-9]+\.part(\.[^.]*)?")


def is_draft(path: Path) -> bool:
    """Whether PATH is named as `draft_path` names a draft (one a killed run left)."""
    return _DRAFT.fullmatch(path.name) is not None


def shown_name(path: Path) -> str:
    """The name to tell a clerk: the file's own, for a draft."""
    found = _DRAFT.fullmatch(path.name)
    return f"{found.group(1)}{found.group(2) or ''}" if found else path.name


def written_whole(path: Path, write: Callable[[Path], T]) -> T:
    """WRITE the file at a draft of PATH, then rename it into place; what WRITE returns."""
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = draft_path(path)
    try:
        result = write(draft)
        os.replace(draft, path)
    finally:
        draft.unlink(missing_ok=True)
    return result


STALE_AFTER = 3600.0  # seconds: where a writer's liveness cannot be asked (Windows), its age


def remove_stale_drafts(folder: Path) -> list[Path]:
    """Drafts a killed run left in FOLDER, removed: those whose writer is gone. Returns them."""
    removed = []
    if folder.is_dir():
        for entry in folder.iterdir():
            found = _DRAFT.fullmatch(entry.name)
            if found and entry.is_file() and _writer_gone(entry):
                entry.unlink(missing_ok=True)
                removed.append(entry)
    return removed


def _writer_gone(draft: Path) -> bool:
    pid = int(draft.name.rsplit(".part", 1)[0].rsplit(".", 1)[1])
    if pid == os.getpid():
        return False
    if os.name == "nt":  # os.kill would end the process there: go by age instead
        import time

        return time.time() - draft.stat().st_mtime > STALE_AFTER
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False
