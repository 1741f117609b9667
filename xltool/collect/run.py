"""`collect`: read every return, check it, keep it safe, and say what became of each file.

Per file: hash it, keep a copy beside the store (content-addressed, so
nothing received is ever lost), decide what it is from its bytes, find the
issued template it belongs to, read it by the store's map, run the rules, and
record the outcome — findings, and the targets if it is accepted — in one
transaction. A killed run leaves every file either fully recorded or not at
all; running again completes the job, and a file already received changes
nothing.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections import deque
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any
from zipfile import ZipInfo

import pandas as pd

from xltool.batch import few_collections, few_collections_for_life
from xltool.codes import (
    EXAMINED_AGAIN,
    FILE_CORRUPT_ZIP,
    FILE_EMPTY,
    FILE_ENCRYPTED,
    FILE_MACROS,
    FILE_NOT_WORKBOOK,
    FILE_NOT_WORKBOOK_ZIP,
    FILE_ODS,
    FILE_STALE_TEMPLATE,
    FILE_TOO_LARGE,
    FILE_UNCHANGED_TEMPLATE,
    FILE_UNREADABLE,
    FILE_XLS,
    FILE_XLSB,
    SKIPPED_COPY_CHANGED,
    SKIPPED_COPY_MISSING,
    SKIPPED_OWN_OUTPUT,
    Problem,
    Skip,
)
from xltool.collect.archive import FileKind, sniff_entries
from xltool.collect.feedback import refuse_clobbering_inputs, write_feedback
from xltool.collect.foreign import foreign_properties
from xltool.collect.inputs import find_inputs
from xltool.collect.keep import (
    GROUP_FILES,
    Draft,
    Keeper,
    copy_path,
    remove_stale_drafts,
    write_draft,
)
from xltool.collect.outcome import FileOutcome
from xltool.collect.reader import custom_properties_alone, open_xlsx
from xltool.collect.returns import (
    IDENTITY_PROPERTY,
    FormMap,
    ReadReturn,
    identify_form,
    read_return,
)
from xltool.collect.rules import as_seen, check_against_previous, check_return, is_placeholder
from xltool.collect.verify import kept_copy
from xltool.defaults import DEFAULT_STORE
from xltool.errors import NotOurs, Unreadable
from xltool.findings import Finding
from xltool.limits import DEFAULT_LIMITS, MB, Limits
from xltool.names import OUTPUT_PROPERTY
from xltool.officerules import DEFAULT_RULES, OfficeRules, rules_in_force
from xltool.states import department_state
from xltool.store import (
    IssuedFile,
    IssuedTemplate,
    ReceivedFile,
    Status,
    Store,
    StoreError,
    exclusive,
    open_store,
)
from xltool.store.rules import record_rules
from xltool.targets import Targets, new_indicator, read_targets
from xltool.text import file_name_bytes, shown_file_name, shown_path, shown_time

Progress = Callable[[int, int], None]

_KIND_PROBLEMS: dict[FileKind, Problem] = {
    FileKind.EMPTY: FILE_EMPTY,
    FileKind.ENCRYPTED: FILE_ENCRYPTED,
    FileKind.XLS: FILE_XLS,
    FileKind.XLSB: FILE_XLSB,
    FileKind.ODS: FILE_ODS,
    FileKind.ZIP: FILE_NOT_WORKBOOK_ZIP,
    FileKind.BROKEN_ZIP: FILE_CORRUPT_ZIP,
    FileKind.UNKNOWN: FILE_NOT_WORKBOOK,
}


@dataclass(frozen=True)
class CollectRun:
    files: tuple[FileOutcome, ...]
    departments: pd.DataFrame
    store: Path
    feedback: tuple[Path, ...] = ()
    skipped: Mapping[Path, Skip] = field(default_factory=dict)
    """What the folders and globs given held that was not collected, by path (in order),
    with the reason (`xltool.collect.inputs`; xltool's own outputs once opened)."""

    @property
    def exit_code(self) -> int:
        """0 when every file was accepted (or is a copy of one), 1 when any was not."""
        return 0 if all(f.standing not in _NOT_TAKEN for f in self.files) else 1

    def summary(self) -> dict[str, Any]:
        counts = {s.value: sum(f.status == s for f in self.files) for s in Status}
        missing = self.departments.loc[self.departments["已接受"] == 0, "主管部门编码"]
        return {"files": len(self.files), **counts, "missing_departments": list(missing),
                "skipped_files": [shown_path(p) for p in self.skipped]}

    def to_dict(self) -> dict[str, Any]:
        return {"files": [f.to_dict() for f in self.files],
                "skipped": [{"path": shown_path(p), "reason": reason.code}
                            for p, reason in self.skipped.items()],
                "summary": self.summary()}


_NOT_TAKEN = (Status.REJECTED, Status.STALE, Status.UNCHANGED)


@dataclass(frozen=True)
class _Processed:
    outcome: FileOutcome
    received: ReceivedFile | None = None
    accepted: Targets | None = None
    copying: Future[Path] | None = None
    """The kept copy being made durable in the background: recorded only once done."""
    skipped: Skip | None = None
    """Why the file is left out once opened (xltool's own output): neither kept nor
    recorded."""

    def copied(self) -> None:
        """Wait until the kept copy is durable (raising what stopped it)."""
        if self.copying is not None:
            self.copying.result()

    def kept(self) -> bool:
        """Whether the kept copy is done with (made durable, or failed)."""
        return self.copying is None or self.copying.done()


def collect(paths: Sequence[Path | str], *, store: Path | str = DEFAULT_STORE,
            feedback: Path | str | None = None, jobs: int = 1, limits: Limits = DEFAULT_LIMITS,
            recheck: bool = False, received_at: Mapping[Path, datetime] | None = None,
            progress: Progress | None = None,
            on_wait: Callable[[str], None] | None = None,
            rules: OfficeRules | Path | str | None = None,
            previous: Path | str | None = None) -> CollectRun:
    """Collect the returns among PATHS (files, folders, globs) into the store.

    RECHECK: then examine again every rejected file the store holds, from its kept copy,
    under LIMITS and today's rules (PATHS may then be empty). RECEIVED_AT: when the office
    received a file, by its path, where that is known (a mail's date): the submission chain
    orders returns by it (`xltool.store.chain`); other files count as received when
    collected. RULES: the office's review criteria, or the rules file to read them from
    (default: `xltool.toml` beside the store, if there is one; `xltool.officerules`), recorded
    in the store. PREVIOUS: last year's targets workbook, each return compared with it
    (`xltool.previous`).
    """
    store_path = Path(store)
    office = rules if isinstance(rules, OfficeRules) else rules_in_force(store_path, rules)
    inputs = find_inputs(paths, exclude=store_path) if paths or not recheck else None
    files = inputs.files if inputs else []
    if not store_path.exists():
        raise StoreError(f"{store_path}: 没有这个存储文件（先用 xltool template 下发模板）")
    if feedback is not None:
        refuse_clobbering_inputs(Path(feedback), files, store_path)
    context = _Context(limits, _mail_dates(received_at), office,
                       read_targets(previous) if previous is not None else None)
    with exclusive(store_path, on_wait), open_store(store_path, create=False) as opened:
        remove_stale_drafts(store_path)
        if office.digest is not None:
            record_rules(opened, office.digest, office.source, office.text)
        outcomes, opened_skips = _collect_files(
            opened, files, inputs.found if inputs else frozenset(), jobs, context, progress)
        if recheck:
            rechecked, unchecked = _recheck(opened, context, progress)
            outcomes, opened_skips = [*outcomes, *rechecked], {**opened_skips, **unchecked}
        departments = department_status(opened)
        written: tuple[Path, ...] = ()
        if feedback is not None:
            written = tuple(write_feedback(outcomes, opened, Path(feedback)))
    skipped = dict(sorted({**(inputs.skipped if inputs else {}), **opened_skips}.items()))
    return CollectRun(tuple(outcomes), departments, store_path, written, skipped)


@dataclass
class _Context:
    """What examining a file depends on beyond the file and the store: the limits, when the
    office received each file (where known), the office's rules and last year's targets
    (where given), and what the store holds that a run reads once (issued copies,
    templates, the template in force per department)."""

    limits: Limits
    mailed: Mapping[Path, str] = field(default_factory=dict)
    rules: OfficeRules = DEFAULT_RULES
    previous: Targets | None = None
    cache: dict[str, Any] = field(default_factory=dict)

    def examined_with(self) -> str:
        """The release, limits and office rules (their digest in the store; none: the
        defaults) outcomes are found with now, and when (JSON)."""
        return json.dumps({"xltool": _release(), "limits": asdict(self.limits),
                           "rules": self.rules.digest,
                           "at": datetime.now(UTC).isoformat(timespec="seconds")})

    def issued_copy(self, store: Store, sha256: str) -> IssuedFile | None:
        if "issued" not in self.cache:
            self.cache["issued"] = {copy.sha256: copy for copy in store.issued_files()}
        copies: dict[str, IssuedFile] = self.cache["issued"]
        return copies.get(sha256)

    def template(self, store: Store, template_id: str) -> IssuedTemplate:
        if "templates" not in self.cache:
            self.cache["templates"] = {t.template_id: t for t in store.templates()}
        templates: dict[str, IssuedTemplate] = self.cache["templates"]
        return templates[template_id]

    def known_template(self, store: Store, template_id: str) -> IssuedTemplate | None:
        """The template of that number, if the store issued it."""
        try:
            return self.template(store, template_id) if template_id else None
        except KeyError:
            return None

    def received(self, path: Path) -> str:
        """When the office received the file PATH: the mail's date, or now."""
        return self.mailed.get(path) or datetime.now(UTC).isoformat(timespec="seconds")

    def newer_template(self, store: Store, template: IssuedTemplate,
                       received: str) -> IssuedTemplate | None:
        """The template in force for TEMPLATE's department when the office RECEIVED a return
        of it, if that is another, issued since: the return is then stale. (One received
        before the new template was issued answered the template in force at the time.)"""
        if "issued_by_department" not in self.cache:
            issued: dict[tuple[str, int | None], list[IssuedTemplate]] = {}
            for each in store.templates():  # by year, department, then when issued
                issued.setdefault((each.department_code, each.year), []).append(each)
            self.cache["issued_by_department"] = issued
        then: list[IssuedTemplate] = [t for t in self.cache["issued_by_department"].get(
                    (template.department_code, template.year), ()) if t.issued_at <= received]
        if template not in then or then[-1] == template:  # (not in: a mail dated before it)
            return None
        return then[-1]


def _mail_dates(received_at: Mapping[Path, datetime] | None) -> dict[Path, str]:
    """Each date as the store writes times (UTC, to the second); a date without a zone is
    taken as this computer's local time."""
    return {Path(path): when.astimezone(UTC).isoformat(timespec="seconds")
            for path, when in (received_at or {}).items()}


@functools.cache
def _release() -> str:
    try:
        return version("xltool")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


def _collect_files(store: Store, files: list[Path], found: frozenset[Path], jobs: int,
                   context: _Context, progress: Progress | None
                   ) -> tuple[list[FileOutcome], dict[Path, Skip]]:
    """Each file's outcome, and the files FOUND in folders that were left out once opened."""
    outcomes: list[FileOutcome] = []
    skipped: dict[Path, Skip] = {}
    seen = store.received_hashes()  # no other run writes meanwhile: the store is locked
    with few_collections(), Keeper() as copies:
        processed = _process_all(store, [(p, p in found) for p in files], jobs, context, copies)
        for done, ready in enumerate(_when_kept(processed, copies.flush), start=1):
            if ready.skipped is not None:
                skipped[ready.outcome.path] = ready.skipped
            else:
                outcomes.append(_record(store, ready, seen, context))
            if progress:
                progress(done, len(files))
    return _as_settled(store, outcomes), skipped


# Files read ahead of their records while their copies are made durable: enough for the
# copies to be synced many at a time (`Keeper` takes GROUP_FILES together), few enough
# that a slow disk holds the reading back.
AHEAD_FILES = 2 * GROUP_FILES


def _when_kept(processed: Iterator[_Processed],
               read_all: Callable[[], None]) -> Iterator[_Processed]:
    """The files in order, each once its kept copy is durable, or once too many are waiting.

    While copies are being synced the next files are read; their copies then wait
    together and are synced as one group. READ_ALL says no more are coming.
    """
    waiting: deque[_Processed] = deque()
    for current in processed:
        waiting.append(current)
        while waiting and (waiting[0].kept() or len(waiting) > AHEAD_FILES):
            yield waiting.popleft()
    read_all()
    yield from waiting


def _record(store: Store, processed: _Processed, seen: set[str],
            context: _Context) -> FileOutcome:
    """Record one file in its own transaction, never before its kept copy is durable.

    SEEN holds the hashes of every file received before and in this run.

    The copy is written to a draft, synced, renamed into place and its folder synced
    (`xltool.collect.keep`) before the transaction that names it begins. The store runs in WAL mode
    with synchronous=NORMAL: a commit is not synced at once, and its WAL pages may reach
    the disk at any moment after it (at a checkpoint, or whenever the system writes them
    back). Since the copy was durable before the commit was even written, whenever the
    record becomes durable the copy it names already is; a power cut can lose the last
    records, never the copies they name, and a re-run records those files again.
    """
    outcome = processed.outcome
    if processed.received is None:  # not even readable: nothing to keep, a re-run tries again
        return outcome
    processed.copied()
    if outcome.sha256 in seen:
        return _again(store, processed, context)
    seen.add(outcome.sha256)
    store.record_received(processed.received, outcome.findings, processed.accepted)
    return outcome


def _again(store: Store, processed: _Processed, context: _Context) -> FileOutcome:
    """The same bytes again. A file a limit or the reader rejected, examined before under
    other limits or by another release, or any rejected file examined under other office
    rules, takes its new outcome (the earlier one stays in its history); otherwise nothing
    changes, and the file reports what it was found to be (a resent rejected file is still
    rejected)."""
    outcome = processed.outcome
    first = store.received(outcome.sha256)
    if first is None:
        return replace(outcome, status=Status.DUPLICATE, findings=())
    earlier = tuple(store.findings(outcome.sha256))
    if _worth_examining_again(first, earlier, context) and processed.received is not None:
        store.record_examined_again(processed.received, outcome.findings, processed.accepted)
        return outcome
    return replace(outcome, status=Status.DUPLICATE, earlier=Status(first.status),
                   findings=earlier)


def _worth_examining_again(first: ReceivedFile, findings: Sequence[Finding],
                           context: _Context) -> bool:
    """A rejected file, rejected under other office rules, or by a limit or the reader under
    other limits or another release."""
    if first.status != Status.REJECTED:
        return False
    used = json.loads(first.examined_with) if first.examined_with else {}
    if used.get("rules") != context.rules.digest:
        return True
    if not any(f.code in EXAMINED_AGAIN for f in findings):
        return False
    if not used:
        return True  # examined before the release and limits were recorded
    return bool(used.get("xltool") != _release() or used.get("limits") != asdict(context.limits))


def _as_settled(store: Store, outcomes: list[FileOutcome]) -> list[FileOutcome]:
    """OUTCOMES, an accepted file that is not in force now marked superseded: a later one of
    the run took its place, or one the office received later was collected before it."""
    accepted = {o.sha256 for o in outcomes if o.status == Status.ACCEPTED}
    if not accepted:
        return outcomes
    superseded = accepted - {r.sha256 for r in store.current_returns()}
    return [replace(o, status=Status.SUPERSEDED) if o.sha256 in superseded else o
            for o in outcomes]


# -- one file ------------------------------------------------------------------------------


_Input = tuple[Path, bool]
"""A file to examine, and whether it was found in a folder (or by a glob), not named."""


def _process_all(store: Store, files: list[_Input], jobs: int, context: _Context,
                 copies: Keeper) -> Iterator[_Processed]:
    """Each file examined, in order, its kept copy handed to COPIES to be made durable in a
    group: as its bytes when examined here, as a draft a worker wrote with JOBS workers
    (workers never wait on the disk, and no bytes travel between processes)."""
    if jobs <= 1 or len(files) <= 1:
        for path, found in files:
            processed, data = _examine(store, path, context, found=found)
            target = _copy_target(processed, data)
            yield processed if target is None else \
                replace(processed, copying=copies.submit(target, data))
        return
    for processed, draft in _in_workers(store, files, jobs, context):
        yield processed if draft is None else \
            replace(processed, copying=copies.submit_draft(draft))


# Files a worker examines at a time, and chunks done or under way ahead of the records per
# worker: enough to keep the workers busy, few enough to hold little.
WORKER_CHUNK = 32
CHUNKS_AHEAD_PER_JOB = 2


def _in_workers(store: Store, files: list[_Input], jobs: int,
                context: _Context) -> Iterator[tuple[_Processed, Draft | None]]:
    size = max(1, min(WORKER_CHUNK, len(files) // (jobs * 8)))
    chunks = [files[i:i + size] for i in range(0, len(files), size)]
    with ProcessPoolExecutor(max_workers=jobs, initializer=_worker_init,
                             initargs=(str(store.path), context.limits,
                                       dict(context.mailed), context.rules,
                                       context.previous)) as pool:
        pending: deque[Future[list[tuple[_Processed, Draft | None]]]] = deque()
        for chunk in chunks:
            pending.append(pool.submit(_worker_examine, chunk))
            if len(pending) > jobs * CHUNKS_AHEAD_PER_JOB:
                yield from pending.popleft().result()
        while pending:
            yield from pending.popleft().result()


_WORKER: dict[str, Any] = {}


def _worker_init(store_path: str, limits: Limits, mailed: dict[Path, str], rules: OfficeRules,
                 previous: Targets | None) -> None:
    few_collections_for_life()
    opened = open_store(store_path, create=False)
    _WORKER.update(store=opened.__enter__(), opened=opened,
                   context=_Context(limits, mailed, rules, previous))


def _worker_examine(files: list[_Input]) -> list[tuple[_Processed, Draft | None]]:
    """Each file's outcome and the draft of its kept copy (none when it was not read)."""
    examined = []
    for path, found in files:
        processed, data = _examine(_WORKER["store"], path, _WORKER["context"], found=found)
        target = _copy_target(processed, data)
        examined.append((processed, None if target is None else write_draft(target, data)))
    return examined


def _copy_target(processed: _Processed, data: bytes) -> Path | None:
    """Where the file's copy is kept; None when it was not even read (a re-run tries again)."""
    received = processed.received
    return Path(received.stored_path) if received is not None and data else None


def _examine(store: Store, path: Path, context: _Context, *,
             found: bool = False) -> tuple[_Processed, bytes]:
    """The outcome of one file, and its bytes to keep (none when it was not read). A file
    FOUND in a folder that xltool wrote is left out (`_Processed.skipped`)."""
    try:
        size, read = _read(path, context.limits.max_file_bytes, follow=not found)
    except OSError as error:
        finding = FILE_UNREADABLE.finding(
            {"reason": error.strerror or type(error).__name__}, file=shown_file_name(path.name))
        return _Processed(FileOutcome(path=path, sha256="", status=Status.REJECTED,
                                      kind=FileKind.UNKNOWN.value, findings=(finding,))), b""
    if read is None:
        return _too_large(store, path, size, context), b""
    return _examine_bytes(store, path, read, context, found=found), read


def _examine_bytes(store: Store, path: Path, data: bytes, context: _Context, *,
                   found: bool = False, received: str | None = None) -> _Processed:
    """The outcome of the file PATH whose bytes are DATA (read now, or its kept copy, then
    RECEIVED as recorded)."""
    kind, entries = sniff_entries(data)
    base = FileOutcome(path=path, sha256=hashlib.sha256(data).hexdigest(), status=Status.REJECTED,
                       kind=kind.value, size=len(data))
    issued = context.issued_copy(store, base.sha256)
    if issued is not None:
        return _unchanged(store, path, data, base, context, issued)
    if kind not in (FileKind.XLSX, FileKind.XLSM):
        return _refused_kind(store, path, base, data, kind, entries, context)
    try:
        return _process_workbook(store, path, data, entries, base, context, found=found,
                                 received=received or context.received(path))
    except Unreadable as problem:
        if found and custom_properties_alone(data, entries, context.limits).get(OUTPUT_PROPERTY):
            return _Processed(base, skipped=SKIPPED_OWN_OUTPUT)  # a disclosure too large
        return _rejected(store, path, base, data, problem.finding(), context)
    except NotOurs as verdict:
        return _rejected(store, path, replace(base, department=verdict.department), data,
                         verdict.finding(), context)


# A file found in a folder is opened never through a link: one put in its place since the
# folder was listed is refused (ELOOP, reported as unreadable), never read and kept.
_NO_FOLLOW = getattr(os, "O_NOFOLLOW", 0)
_BINARY = getattr(os, "O_BINARY", 0)


def _read(path: Path, limit: int, *, follow: bool) -> tuple[int, bytes | None]:
    """The file's size and its bytes; no bytes when it is over LIMIT (it is never read).
    A file named itself is read as named, a link followed: the clerk asked for it."""
    if follow:
        size = path.stat().st_size
        return size, None if size > limit else path.read_bytes()
    with open(os.open(path, os.O_RDONLY | _BINARY | _NO_FOLLOW), "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        return size, None if size > limit else handle.read()


def _process_workbook(store: Store, path: Path, data: bytes, entries: list[ZipInfo],
                      base: FileOutcome, context: _Context, *, found: bool,
                      received: str) -> _Processed:
    content = open_xlsx(data, context.limits, entries)
    try:
        if found and content.properties.get(OUTPUT_PROPERTY):
            return _Processed(base, skipped=SKIPPED_OWN_OUTPUT)
        form_map, profile, identity_findings = identify_form(
            content, store, _form_maps(context.cache))
        read = read_return(content, form_map, profile, context.limits)
    finally:
        content.close()
    template = form_map.template
    criteria = context.rules.criteria(profile.name)
    findings = [*identity_findings, *read.findings, *check_return(read, criteria)]
    if context.previous is not None:
        findings += check_against_previous(read, accepted_targets(read), context.previous,
                                           criteria)
    if base.kind == FileKind.XLSM.value:
        findings.insert(0, FILE_MACROS.finding())
    newer = context.newer_template(store, template, received)
    if newer is not None:
        findings.insert(0, _stale(template, newer))
    name = shown_file_name(path.name)
    findings = [replace(f, file=name, department=template.department_code) for f in findings]
    has_errors = not store.errors_all_waived(template.department_code, template.year, findings)
    status = Status.STALE if newer else Status.REJECTED if has_errors else Status.ACCEPTED
    outcome = replace(base, status=status, department=template.department_code,
                      template_id=template.template_id, findings=tuple(findings))
    accepted = accepted_targets(read) if status == Status.ACCEPTED else None
    return _Processed(outcome, _received(store, path, data, outcome, template.year, context),
                      accepted)


def _stale(template: IssuedTemplate, newer: IssuedTemplate) -> Finding:
    """A return of TEMPLATE, issued again since as NEWER: it never displaces a return of it."""
    return FILE_STALE_TEMPLATE.finding({
        "claimed": template.template_id, "reissued": shown_time(newer.issued_at),
        "newer": newer.template_id, "newer_file": newer.file_name})


def _unchanged(store: Store, path: Path, data: bytes, base: FileOutcome, context: _Context,
               issued: IssuedFile) -> _Processed:
    """The very file that was sent out: a department that forwarded it untouched, or the
    office's own folder of templates collected by mistake. Kept and recorded, never read
    as a return, never accepted."""
    template = context.template(store, issued.template_id)
    finding = FILE_UNCHANGED_TEMPLATE.finding(
        file=shown_file_name(path.name), department=template.department_code,
        value=issued.file_name)
    outcome = replace(base, status=Status.UNCHANGED, department=template.department_code,
                      template_id=template.template_id, findings=(finding,))
    return _Processed(outcome, _received(store, path, data, outcome, template.year, context))


def _form_maps(cache: dict[str, Any]) -> dict[str, FormMap]:
    """The form maps made so far, by template: a batch often holds several files of one
    template, and its map is made once."""
    maps: dict[str, FormMap] = cache.setdefault("maps", {})
    if len(maps) > 256:
        maps.clear()
    return maps


def _rejected(store: Store, path: Path, base: FileOutcome, data: bytes,
              finding: Finding, context: _Context, year: int | None = None) -> _Processed:
    """FINDING, an error that refuses the file, located in it."""
    outcome = replace(base, findings=(replace(finding, file=shown_file_name(path.name),
                                              department=base.department),))
    return _Processed(outcome, _received(store, path, data, outcome, year, context))


def _refused_kind(store: Store, path: Path, base: FileOutcome, data: bytes, kind: FileKind,
                  entries: list[ZipInfo], context: _Context) -> _Processed:
    """A file of a kind xltool does not read. An .xls, .ods or .xlsb saved from one of our
    templates still names it in its properties: when the store issued that template, the
    file is its department's (told what to do in its feedback, and counted as received),
    though refused all the same. The store decides whose it is, as for any return: a
    department named in the file alone is only a claim."""
    finding = _KIND_PROBLEMS[kind].finding()
    claimed = foreign_properties(kind, data, entries, context.limits).get(IDENTITY_PROPERTY, "")
    template = context.known_template(store, claimed.strip())
    if template is None:
        return _rejected(store, path, base, data, finding, context)
    base = replace(base, department=template.department_code, template_id=template.template_id)
    return _rejected(store, path, base, data, replace(finding, value=template.template_id),
                     context, template.year)


def _too_large(store: Store, path: Path, size: int, context: _Context) -> _Processed:
    """A file over the size limit is never read, not even to hash it: it is recorded by
    name, size and time, under an identity that says so (`unread:…`), and not kept."""
    seen = f"{path.name}\0{size}\0{path.stat().st_mtime_ns}".encode("utf-8", "surrogateescape")
    identity = "unread:" + hashlib.sha256(seen).hexdigest()[:57]
    base = FileOutcome(path=path, sha256=identity, status=Status.REJECTED,
                       kind=FileKind.UNKNOWN.value, size=size)
    facts = {"mb": size // MB, "limit": context.limits.max_file_bytes // MB}
    return _rejected(store, path, base, b"", FILE_TOO_LARGE.finding(facts), context)


def accepted_targets(read: ReadReturn) -> Targets:
    """The accepted data: goals and real indicators (placeholders and empty rows left out),
    as the rules saw them (`as_seen`: a row of invisible characters only is an empty row)."""
    projects = tuple(map(as_seen, read.projects))
    goals = {p.code: p.goal for p in projects}
    # An indicator with a value is no placeholder, and one without a weight has none to
    # parse: most are both, and a return has seventy-odd, so neither question is asked then.
    indicators = tuple([
        new_indicator(i.project_code, category.level1, category.level2, i.name, i.value,
                      i.weight if i.weight_text else None, i.raw)
        for p in projects for i in p.indicators if i.value or not is_placeholder(i)
        for category in (i.category,)])
    return Targets(goals=goals, indicators=indicators)


# -- the record of a file ---------------------------------------------------------------


def _received(store: Store, path: Path, data: bytes, outcome: FileOutcome,
              year: int | None, context: _Context) -> ReceivedFile:
    """The file's record: its name as shown, and exactly (its bytes) when it is not text;
    when the office received it, where known; its copy named by its hash and the shown
    name's suffix (a copy's name is text), or where the same bytes were kept before (so a
    lost or changed copy is written again there)."""
    name = shown_file_name(path.name)
    suffix = Path(name).suffix.lower()[:10] or ".bin"
    kept = copy_path(store.path, outcome.sha256, suffix) if data else Path("")
    earlier = store.received(outcome.sha256) if data else None
    if earlier is not None and earlier.stored_path not in ("", "."):
        kept = Path(earlier.stored_path)
    return ReceivedFile(
        sha256=outcome.sha256, original_name=name, size=outcome.size,
        received_at=datetime.now(UTC).isoformat(timespec="seconds"), kind=outcome.kind,
        status=outcome.status, template_id=outcome.template_id,
        department_code=outcome.department, year=year, stored_path=str(kept),
        original_name_bytes=file_name_bytes(path.name), mailed_at=context.mailed.get(path),
        examined_with=context.examined_with())


# -- the store's rejected files, examined again ------------------------------------------


def examine_again(sha256s: Collection[str], *, store: Path | str = DEFAULT_STORE,
                  limits: Limits = DEFAULT_LIMITS,
                  rules: OfficeRules | Path | str | None = None) -> CollectRun:
    """`collect --recheck` for the rejected files SHA256S only (the others given are left as
    they are): what a review runs once its waivers cover every error of the return it
    reviewed, so that no other return, of any department or year, is examined meanwhile.
    RULES as `collect`'s (default: `xltool.toml` beside the store, if there is one)."""
    store_path = Path(store)
    office = rules if isinstance(rules, OfficeRules) else rules_in_force(store_path, rules)
    context = _Context(limits, rules=office)
    with exclusive(store_path), open_store(store_path, create=False) as opened:
        if office.digest is not None:
            record_rules(opened, office.digest, office.source, office.text)
        outcomes, unchecked = _recheck(opened, context, None, frozenset(sha256s))
        departments = department_status(opened)
    return CollectRun(tuple(outcomes), departments, store_path, skipped=unchecked)


def _recheck(store: Store, context: _Context, progress: Progress | None,
             only: frozenset[str] | None = None
             ) -> tuple[list[FileOutcome], dict[Path, Skip]]:
    """Every rejected file the store holds (of ONLY, if given), examined again from its kept
    copy: its newest outcome is recorded, the earlier one kept in its history. A copy that
    is gone or no longer the file received is left, and listed."""
    # a file never kept (over file-mb) was never read: collected again, it is read anew
    rejected = [r for r in store.received_files()
                if r.status == Status.REJECTED and r.stored_path not in ("", ".")
                and (only is None or r.sha256 in only)]
    outcomes: list[FileOutcome] = []
    unchecked: dict[Path, Skip] = {}
    for done, received in enumerate(rejected, start=1):
        data = _kept_bytes(store.path, received)
        shown = Path(received.original_name)
        if isinstance(data, Skip):
            unchecked[shown] = data
        else:
            processed = _examine_bytes(store, shown, data, context, received=received.received)
            assert processed.received is not None  # a file with bytes always has a record
            store.record_examined_again(processed.received, processed.outcome.findings,
                                        processed.accepted)
            outcomes.append(processed.outcome)
        if progress:
            progress(done, len(rejected))
    return _as_settled(store, outcomes), unchecked


def _kept_bytes(store_path: Path, received: ReceivedFile) -> bytes | Skip:
    """The kept copy's bytes (found as `verify` finds it), or why there are none to trust."""
    found = kept_copy(store_path, received)
    try:
        data = found.read_bytes() if found is not None else None
    except OSError:  # gone or unreadable since it was found
        data = None
    if data is None:
        return SKIPPED_COPY_MISSING
    return data if hashlib.sha256(data).hexdigest() == received.sha256 else SKIPPED_COPY_CHANGED


# -- the office-wide picture ---------------------------------------------------------------


def department_status(store: Store) -> pd.DataFrame:
    """Per department issued a template: received, accepted, with errors, missing, and its
    state in the words of `xltool.states`."""
    rows: dict[str, dict[str, Any]] = {}
    for template in store.templates():
        rows.setdefault(template.department_code, {
            "主管部门编码": template.department_code, "主管部门": template.department,
            "已收到": 0, "已接受": 0, "有错误": 0, "最近收到": ""})
    statuses: dict[str, list[str]] = {code: [] for code in rows}
    for received in store.received_files():
        statuses.get(received.department_code, []).append(received.status)
        row = rows.get(received.department_code)
        if row is None or received.status == Status.UNCHANGED:  # not a file it sent
            continue
        row["已收到"] += 1
        row["已接受"] += received.status in (Status.ACCEPTED, Status.SUPERSEDED)
        row["有错误"] += received.status in (Status.REJECTED, Status.STALE)
        row["最近收到"] = max(row["最近收到"], received.received)
    columns = ["主管部门编码", "主管部门", "已收到", "已接受", "有错误", "最近收到"]
    frame = pd.DataFrame(list(rows.values()), columns=columns)
    frame["未报送"] = frame["已收到"] == 0
    in_force = {r.department_code for r in store.current_returns()}
    frame["状态"] = [department_state(accepted=code in in_force, statuses=statuses[code])
                   for code in frame["主管部门编码"]]
    return frame
