"""Where the office's review leaves a department: the return it reviews, and what it sends back.

The return under review is the department's return in force, or a return of its template in
force rejected after it (its latest word). A standing decision (a project's latest of the
year) that returns a project (中, 差) holds while the return it graded is still the one the
department stands on: the return in force, or a rejected one sent after it. A newer
accepted return ends it (the new return awaits review); a newer rejected one does not — the
department answered, but with errors: the project is then 有错误待修改, else
审核退回修改. The status board and the reminders read it here, and only here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from xltool.states import REVIEW_RETURNED, TO_FIX
from xltool.store import ChainEntry, IssuedTemplate, ReceivedFile, Status, Store
from xltool.store.reviews import ReviewRecord

_READ = (Status.ACCEPTED, Status.SUPERSEDED, Status.REJECTED)


@dataclass(frozen=True)
class SentBack:
    """A project the office's standing decision returns for revision."""

    decision: ReviewRecord
    reviewed: ReceivedFile
    """The return the decision graded."""
    rejected_since: ReceivedFile | None
    """The department's answer since, when it is a rejected return (None: no answer yet)."""

    @property
    def state(self) -> str:
        return TO_FIX if self.rejected_since is not None else REVIEW_RETURNED


def standing_returns(chain: Sequence[ChainEntry], template_id: str) -> list[ChainEntry]:
    """The returns of TEMPLATE_ID the department stands on, oldest first: the return in
    force (if any), then each return rejected after it. The last is the one under review."""
    read = [e for e in chain if e.file.template_id == template_id and e.file.status in _READ]
    in_force = next((e for e in read if e.in_force), None)
    after = read[read.index(in_force) + 1:] if in_force else read
    return [*([in_force] if in_force else []),
            *(e for e in after if e.file.status == Status.REJECTED)]


def under_review(chain: Sequence[ChainEntry], template_id: str) -> ChainEntry | None:
    """Of a department's chain, the return the office reviews: the return in force, or a
    rejected return of the template in force received after it."""
    standing = standing_returns(chain, template_id)
    return standing[-1] if standing else None


def sent_back(chain: Sequence[ChainEntry], template_id: str,
              decisions: Sequence[ReviewRecord]) -> dict[str, SentBack]:
    """Per project, the office's standing decision of the year returning it (DECISIONS: the
    department's of the year, in the order made), while the return it graded stands."""
    standing = standing_returns(chain, template_id)
    files = {e.file.sha256: e.file for e in standing}
    latest = {d.project_code: d for d in decisions}
    answer = standing[-1].file if standing else None
    return {project: SentBack(d, files[d.sha256],
                              answer if answer and answer.sha256 != d.sha256 else None)
            for project, d in latest.items() if not d.approves and d.sha256 in files}


def sent_back_of(store: Store, template: IssuedTemplate) -> dict[str, SentBack]:
    """`sent_back` for the department of TEMPLATE (its template in force), from the store."""
    code = template.department_code
    return sent_back(store.chain(code), template.template_id,
                     [r for r in store.reviews(code) if r.year == template.year])


__all__ = ["SentBack", "sent_back", "sent_back_of", "standing_returns", "under_review"]
