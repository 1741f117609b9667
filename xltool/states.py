"""What a department's round stands at, in one vocabulary for every reader: the collect
summary and feedback, the reconcile report's messages and the console.

A department's state follows from the files it sent (`Status` in `xltool.store.records`):

* 已通过审核 — the office's latest review of its return approved it (优 or 良);
* 审核退回修改 — the office's latest review of its return sent it back (中 or 差); it
  stays so until it sends a new return (one accepted: 已接受, awaiting review; one
  rejected: 有错误待修改; `xltool.review.standing`);
* 已接受 — an accepted return is in force (and not yet reviewed);
* 有错误待修改 — it sent a return, but none is accepted: rejected, or of a template
  re-issued since (stale). A department that returned a file is never 未报送;
* 未报送 — it sent nothing but, at most, the issued template itself back untouched
  (unchanged: never read as a return);
* 未下发 — no template of this year was issued to it.
"""

from __future__ import annotations

from collections.abc import Iterable

APPROVED = "已通过审核"
REVIEW_RETURNED = "审核退回修改"
ACCEPTED = "已接受"
TO_FIX = "有错误待修改"
NOT_RETURNED = "未报送"
NOT_ISSUED = "未下发"

DEPARTMENT_STATES = (ACCEPTED, TO_FIX, NOT_RETURNED)
"""The states of a department issued a template, in the order the summary counts them."""

# Statuses of files that are not a department's return: the issued template come back.
_NOT_A_RETURN = frozenset({"unchanged"})


def sent_a_return(statuses: Iterable[str]) -> bool:
    """Whether any of a department's files (by status) is a return it sent."""
    return any(status not in _NOT_A_RETURN for status in statuses)


def department_state(*, accepted: bool, statuses: Iterable[str], review: str = "") -> str:
    """The state of a department issued a template, from whether a return of it is in force
    (ACCEPTED) and the statuses of every file received from it; REVIEW, the state the
    office's review of its latest return gives (APPROVED or REVIEW_RETURNED), decides
    where there is one."""
    if review:
        return review
    if accepted:
        return ACCEPTED
    return TO_FIX if sent_a_return(statuses) else NOT_RETURNED
