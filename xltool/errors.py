"""One exception hierarchy for everything xltool refuses to do.

Every error xltool raises is an `XltoolError` and carries the exit code the
command line ends with; the command line turns each into its message in one
place (`xltool.cli.XltoolGroup`), and so every `OSError` (a file open in Excel,
a full disk: the machine's, not xltool's). Anything else escaping the library
is a bug.

Exit codes: 0 done and all good, 1 done and problems found — a result the
commands report, never an exception — and 2, the command could not run as
asked, which is every error below.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # this module is imported by the command line's first line: keep it light
    from xltool.codes import Problem
    from xltool.findings import Finding


class XltoolError(Exception):
    """Base class: a condition the user can fix, with a message that says how."""

    exit_code = 2


# -- what was given cannot be used ---------------------------------------------------------


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


class LedgerHasErrors(XltoolError):
    """Templates are not issued, nor a disclosure published, from a ledger with errors: they
    would carry wrong amounts."""


class LedgerOtherYear(XltoolError):
    """`publish --ledger`: the ledger is of another year than the returns published."""


class UnknownDepartment(XltoolError):
    """A department asked for is not in the ledger."""


class TargetsUnreadable(XltoolError):
    """The file is not a targets workbook xltool can read."""


class NotAnInputCell(XltoolError):
    """The name is not one of the template's input cells."""


class NoInput(XltoolError):
    """Nothing to collect: the paths given hold no file."""


class BadLimit(XltoolError, ValueError):
    """A `--limit KEY=VALUE` setting with an unknown key (`known` lists the keys) or a value
    that is no positive number."""

    def __init__(self, setting: str, key: str, *, known: tuple[str, ...]) -> None:
        self.setting, self.key, self.known = setting, key, known
        self.unknown_key = key not in known
        super().__init__(f"未知的上限“{key}”（可用：{'、'.join(known)}）" if self.unknown_key
                         else f"上限“{setting}”须写成 {key}=正数")


class SamplesMissing(XltoolError):
    """The bundled samples cannot be found (a broken installation)."""


class StoreError(XltoolError):
    """The store file cannot be used: not a store, corrupt, locked or from a newer xltool."""


class MailboxUnavailable(XltoolError):
    """`mail fetch`: a mailbox cannot be read — the server cannot be reached, refuses the
    login, times out or shows a certificate that does not verify; a Maildir, mbox or .eml
    that is not there. The message names the server or the path."""


class _Issued(Protocol):  # an issued template, as the store records it
    @property
    def template_id(self) -> str: ...
    @property
    def department(self) -> str: ...
    @property
    def profile(self) -> str: ...
    @property
    def profile_version(self) -> int: ...


class ProfileNotKept(StoreError):
    """The store does not hold the profile a template was issued with (see
    `xltool.store.schema.m007_profiles_as_issued`)."""

    def __init__(self, template: _Issued, *, then: str) -> None:
        super().__init__(
            f"存储中没有模板 {template.template_id}（{template.department}）下发时使用的表式"
            f"“{template.profile}”第{template.profile_version}版，{then}")


class StoreIncomplete(XltoolError):
    """An accepted return refers to a template the store does not hold."""


class UnknownReturn(XltoolError):
    """No received file, or more than one, has the hash (or the beginning of one) given."""


class CannotReinstate(XltoolError):
    """The file named cannot be put back in force: it was never accepted, or its template
    has been issued again since."""


class NothingToPublish(XltoolError):
    """The store holds no accepted return for the departments asked for."""


# -- a received file refused: a finding, not a failure -------------------------------------


class ReturnRefused(XltoolError):
    """A received file that cannot be taken as a return. Raised and caught inside `collect`,
    which records `finding()` for that file and goes on with the batch: it never ends a run.
    PROBLEM, worded from FACTS (the message cut to CUT characters, if given), says why."""

    def __init__(self, problem: Problem, facts: Mapping[str, object] | None = None,
                 department: str = "", *, cut: int | None = None) -> None:
        message, fix = problem.text(facts or {})
        super().__init__(message[:cut])
        self.problem, self.department = problem, department
        self.code, self.message, self.fix = problem.code, message[:cut], fix

    def finding(self) -> Finding:
        from xltool.findings import Finding

        return Finding(code=self.code, severity=self.problem.severity, message=self.message,
                       fix=self.fix, department=self.department)


class Unreadable(ReturnRefused):
    """The file cannot be read as a workbook, or not within the limits."""


class NotOurs(ReturnRefused):
    """The file is no template issued from this store, or its identity disagrees."""


# -- what was asked for cannot be written --------------------------------------------------


class WorkbookNotSaved(XltoolError):
    """The workbook could not be written where it was to go."""


class ReportUnwritable(XltoolError):
    """The report workbook cannot be written where asked."""


class BadOutput(XltoolError):
    """An output cannot go where it was asked to: see the two kinds below."""


class OutputClobbers(BadOutput):
    """A file to be written is a file the command reads or the store keeps (the same file,
    whatever its name), another output, or lies in the store's copies folder. Raised by
    `xltool.outputs.refuse_clobbering` before anything is written."""

    def __init__(self, output: Path, what: str, kept: Path, kept_what: str, *,
                 inside: bool = False) -> None:
        self.output, self.what, self.kept, self.kept_what = output, what, kept, kept_what
        if inside:
            where = f"位于{kept_what}“{kept}”之中，写在那里会覆盖或混入其中保存的文件"
        else:  # a link or a second name says why two names are one file
            named = "" if str(output) == str(kept) else "（经由链接或另一个名字，是同一个文件）"
            where = f"就是{kept_what}“{kept}”{named}，写出会覆盖它"
        super().__init__(f"{what}“{output}”{where}。未做任何改动：请为{what}另选一个位置后"
                         "重新运行。")


class NotADemoFolder(BadOutput):
    """`xltool demo` writes only into an empty folder or one an earlier demo marked."""

    def __init__(self, folder: Path, entries: Sequence[str]) -> None:
        """ENTRIES: what the folder holds; none when FOLDER is a file."""
        self.folder, self.entries = folder, tuple(entries)
        shown = "、".join(self.entries[:5]) + ("……" if len(self.entries) > 5 else "")
        why = (f"不是空的（有 {shown}），也不是 xltool 示例生成的文件夹" if entries
               else "是一个文件，不是文件夹")
        super().__init__(f"“{folder}”{why}，示例不会写入，以免覆盖其中的文件。未做任何改动："
                         "请指定一个新的或空的文件夹，例如 xltool demo demo-示例。")


class PdfUnavailable(XltoolError):
    """LibreOffice (soffice) or a Chinese font for it is missing, so no PDF can be made."""


class PdfFailed(XltoolError):
    """LibreOffice ran but produced no PDF."""


# -- xltool's own limits -------------------------------------------------------------------


class XlsxWriteError(XltoolError):
    """xlsxwriter refused a call: a bug in xltool or an input beyond Excel's limits."""


class FrameMismatch(XlsxWriteError):
    """Stamping: the prototype cannot be framed, or a sheet does not fit its frame. The writer
    catches it and writes that sheet through xlsxwriter's API; it never reaches the user."""
