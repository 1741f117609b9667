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

import hashlib
import os
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zipfile import ZipInfo

import pandas as pd

from xltool.batch import few_collections, few_collections_for_life
from xltool.codes import (
    FILE_CORRUPT_ZIP,
    FILE_EMPTY,
    FILE_ENCRYPTED,
    FILE_MACROS,
    FILE_NOT_WORKBOOK,
    FILE_NOT_WORKBOOK_ZIP,
    FILE_ODS,
    FILE_TOO_LARGE,
    FILE_UNCHANGED_TEMPLATE,
    FILE_UNREADABLE,
    FILE_XLS,
    FILE_XLSB,
    SKIPPED_OWN_OUTPUT,
    Problem,
    Skip,
)
from xltool.collect.archive import FileKind, sniff_entries
from xltool.collect.feedback import refuse_clobbering_inputs, write_feedback
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
from xltool.collect.returns import FormMap, ReadReturn, identify_form, read_return
from xltool.collect.rules import check_return, is_placeholder
from xltool.defaults import DEFAULT_STORE
from xltool.errors import NotOurs, Unreadable
from xltool.findings import Finding
from xltool.limits import DEFAULT_LIMITS, MB, Limits
from xltool.names import OUTPUT_PROPERTY
from xltool.store import (
    ReceivedFile,
    Status,
    Store,
    StoreError,
    exclusive,
    open_store,
)
from xltool.targets import Targets, new_indicator
from xltool.text import file_name_bytes, shown_file_name, shown_path

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
        return 0 if all(f.standing != Status.REJECTED for f in self.files) else 1

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
            progress: Progress | None = None,
            on_wait: Callable[[str], None] | None = None) -> CollectRun:
    """Collect the returns among PATHS (files, folders, globs) into the store."""
    store_path = Path(store)
    inputs = find_inputs(paths, exclude=store_path)
    files = inputs.files
    if not store_path.exists():
        raise StoreError(f"{store_path}: 没有这个存储文件（先用 xltool template 下发模板）")
    if feedback is not None:
        refuse_clobbering_inputs(Path(feedback), files, store_path)
    with exclusive(store_path, on_wait), open_store(store_path, create=False) as opened:
        remove_stale_drafts(store_path)
        outcomes, opened_skips = _collect_files(opened, files, inputs.found, jobs, limits,
                                                progress)
        departments = department_status(opened)
        written: tuple[Path, ...] = ()
        if feedback is not None:
            written = tuple(write_feedback(outcomes, opened, Path(feedback)))
    skipped = dict(sorted({**inputs.skipped, **opened_skips}.items()))
    return CollectRun(tuple(outcomes), departments, store_path, written, skipped)


def _collect_files(store: Store, files: list[Path], found: frozenset[Path], jobs: int,
                   limits: Limits, progress: Progress | None
                   ) -> tuple[list[FileOutcome], dict[Path, Skip]]:
    """Each file's outcome, and the files FOUND in folders that were left out once opened."""
    outcomes: list[FileOutcome] = []
    skipped: dict[Path, Skip] = {}
    seen = store.received_hashes()  # no other run writes meanwhile: the store is locked
    with few_collections(), Keeper() as copies:
        processed = _process_all(store, [(p, p in found) for p in files], jobs, limits, copies)
        for done, ready in enumerate(_when_kept(processed, copies.flush), start=1):
            if ready.skipped is not None:
                skipped[ready.outcome.path] = ready.skipped
            else:
                outcomes.append(_record(store, ready, seen))
            if progress:
                progress(done, len(files))
    superseded = _superseded_in_run(store, outcomes)
    return [replace(o, status=Status.SUPERSEDED) if o.sha256 in superseded else o
            for o in outcomes], skipped


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


def _record(store: Store, processed: _Processed, seen: set[str]) -> FileOutcome:
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
        return _duplicate(store, outcome)
    seen.add(outcome.sha256)
    store.record_received(processed.received, outcome.findings, processed.accepted)
    return outcome


def _duplicate(store: Store, outcome: FileOutcome) -> FileOutcome:
    """The same bytes again: nothing changes, and the file reports what they were found to be
    when first received (a resent rejected file is still rejected)."""
    first = store.received(outcome.sha256)
    if first is None:
        return replace(outcome, status=Status.DUPLICATE, findings=())
    return replace(outcome, status=Status.DUPLICATE, earlier=Status(first.status),
                   findings=tuple(store.findings(outcome.sha256)))


def _superseded_in_run(store: Store, outcomes: list[FileOutcome]) -> set[str]:
    accepted = {o.sha256 for o in outcomes if o.status == Status.ACCEPTED}
    current = {r.sha256 for r in store.current_returns()}
    return accepted - current


# -- one file ------------------------------------------------------------------------------


_Input = tuple[Path, bool]
"""A file to examine, and whether it was found in a folder (or by a glob), not named."""


def _process_all(store: Store, files: list[_Input], jobs: int, limits: Limits,
                 copies: Keeper) -> Iterator[_Processed]:
    """Each file examined, in order, its kept copy handed to COPIES to be made durable in a
    group: as its bytes when examined here, as a draft a worker wrote with JOBS workers
    (workers never wait on the disk, and no bytes travel between processes)."""
    if jobs <= 1 or len(files) <= 1:
        cache: dict[str, Any] = {}
        for path, found in files:
            processed, data = _examine(store, path, limits, cache, found=found)
            target = _copy_target(processed, data)
            yield processed if target is None else \
                replace(processed, copying=copies.submit(target, data))
        return
    for processed, draft in _in_workers(store, files, jobs, limits):
        yield processed if draft is None else \
            replace(processed, copying=copies.submit_draft(draft))


# Files a worker examines at a time, and chunks done or under way ahead of the records per
# worker: enough to keep the workers busy, few enough to hold little.
WORKER_CHUNK = 32
CHUNKS_AHEAD_PER_JOB = 2


def _in_workers(store: Store, files: list[_Input], jobs: int,
                limits: Limits) -> Iterator[tuple[_Processed, Draft | None]]:
    size = max(1, min(WORKER_CHUNK, len(files) // (jobs * 8)))
    chunks = [files[i:i + size] for i in range(0, len(files), size)]
    with ProcessPoolExecutor(max_workers=jobs, initializer=_worker_init,
                             initargs=(str(store.path), limits)) as pool:
        pending: deque[Future[list[tuple[_Processed, Draft | None]]]] = deque()
        for chunk in chunks:
            pending.append(pool.submit(_worker_examine, chunk))
            if len(pending) > jobs * CHUNKS_AHEAD_PER_JOB:
                yield from pending.popleft().result()
        while pending:
            yield from pending.popleft().result()


_WORKER: dict[str, Any] = {}


def _worker_init(store_path: str, limits: Limits) -> None:
    few_collections_for_life()
    context = open_store(store_path, create=False)
    _WORKER.update(store=context.__enter__(), context=context, limits=limits, cache={})


def _worker_examine(files: list[_Input]) -> list[tuple[_Processed, Draft | None]]:
    """Each file's outcome and the draft of its kept copy (none when it was not read)."""
    examined = []
    for path, found in files:
        processed, data = _examine(_WORKER["store"], path, _WORKER["limits"], _WORKER["cache"],
                                   found=found)
        target = _copy_target(processed, data)
        examined.append((processed, None if target is None else write_draft(target, data)))
    return examined


def _copy_target(processed: _Processed, data: bytes) -> Path | None:
    """Where the file's copy is kept; None when it was not even read (a re-run tries again)."""
    received = processed.received
    return Path(received.stored_path) if received is not None and data else None


def _examine(store: Store, path: Path, limits: Limits, cache: dict[str, Any], *,
             found: bool = False) -> tuple[_Processed, bytes]:
    """The outcome of one file, and its bytes to keep (none when it was not read). A file
    FOUND in a folder that xltool wrote is left out (`_Processed.skipped`)."""
    try:
        size, read = _read(path, limits.max_file_bytes, follow=not found)
    except OSError as error:
        finding = FILE_UNREADABLE.finding(
            {"reason": error.strerror or type(error).__name__}, file=shown_file_name(path.name))
        return _Processed(FileOutcome(path=path, sha256="", status=Status.REJECTED,
                                      kind=FileKind.UNKNOWN.value, findings=(finding,))), b""
    if read is None:
        return _too_large(store, path, size, limits), b""
    data = read
    kind, entries = sniff_entries(data)
    base = FileOutcome(path=path, sha256=hashlib.sha256(data).hexdigest(), status=Status.REJECTED,
                       kind=kind.value, size=len(data))
    if kind not in (FileKind.XLSX, FileKind.XLSM):
        return _rejected(store, path, base, data, _KIND_PROBLEMS[kind].finding()), data
    try:
        return _process_workbook(store, path, data, entries, base, limits, cache,
                                 found=found), data
    except Unreadable as problem:
        if found and custom_properties_alone(data, entries, limits).get(OUTPUT_PROPERTY):
            return _Processed(base, skipped=SKIPPED_OWN_OUTPUT), b""  # a disclosure too large
        return _rejected(store, path, base, data, problem.finding()), data
    except NotOurs as verdict:
        return _rejected(store, path, replace(base, department=verdict.department), data,
                         verdict.finding()), data


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
                      base: FileOutcome, limits: Limits, cache: dict[str, Any], *,
                      found: bool) -> _Processed:
    content = open_xlsx(data, limits, entries)
    try:
        if found and content.properties.get(OUTPUT_PROPERTY):
            return _Processed(base, skipped=SKIPPED_OWN_OUTPUT)
        form_map, profile, identity_findings = identify_form(content, store, _form_maps(cache))
        read = read_return(content, form_map, profile, limits)
    finally:
        content.close()
    template = form_map.template
    findings = [*identity_findings, *read.findings, *check_return(read)]
    if base.kind == FileKind.XLSM.value:
        findings.insert(0, FILE_MACROS.finding())
    if base.sha256 == template.sha256:
        findings.insert(0, _UNCHANGED)
    name = shown_file_name(path.name)
    findings = [replace(f, file=name, department=template.department_code) for f in findings]
    has_errors = any(f.is_error for f in findings)
    outcome = replace(base, status=Status.REJECTED if has_errors else Status.ACCEPTED,
                      department=template.department_code, template_id=template.template_id,
                      findings=tuple(findings))
    accepted = None if has_errors else accepted_targets(read)
    return _Processed(outcome, _received(store, path, data, outcome, template.year), accepted)


# The very file that was sent out: a department that forwarded it untouched, or the
# office's own folder of templates collected by mistake.
_UNCHANGED = FILE_UNCHANGED_TEMPLATE.finding()


def _form_maps(cache: dict[str, Any]) -> dict[str, FormMap]:
    """The form maps made so far, by template: a batch often holds several files of one
    template, and its map is made once."""
    maps: dict[str, FormMap] = cache.setdefault("maps", {})
    if len(maps) > 256:
        maps.clear()
    return maps


def _rejected(store: Store, path: Path, base: FileOutcome, data: bytes,
              finding: Finding) -> _Processed:
    """FINDING, an error that refuses the file, located in it."""
    outcome = replace(base, findings=(replace(finding, file=shown_file_name(path.name),
                                              department=base.department),))
    return _Processed(outcome, _received(store, path, data, outcome, None))


def _too_large(store: Store, path: Path, size: int, limits: Limits) -> _Processed:
    """A file over the size limit is never read, not even to hash it: it is recorded by
    name, size and time, under an identity that says so (`unread:…`), and not kept."""
    seen = f"{path.name}\0{size}\0{path.stat().st_mtime_ns}".encode("utf-8", "surrogateescape")
    identity = "unread:" + hashlib.sha256(seen).hexdigest()[:57]
    base = FileOutcome(path=path, sha256=identity, status=Status.REJECTED,
                       kind=FileKind.UNKNOWN.value, size=size)
    facts = {"mb": size // MB, "limit": limits.max_file_bytes // MB}
    return _rejected(store, path, base, b"", FILE_TOO_LARGE.finding(facts))


def accepted_targets(read: ReadReturn) -> Targets:
    """The accepted data: goals and real indicators (placeholders and empty rows left out)."""
    goals = {p.code: p.goal for p in read.projects}
    # An indicator with a value is no placeholder, and one without a weight has none to
    # parse: most are both, and a return has seventy-odd, so neither question is asked then.
    indicators = tuple([
        new_indicator(i.project_code, category.level1, category.level2, i.name, i.value,
                      i.weight if i.weight_text else None)
        for p in read.projects for i in p.indicators if i.value or not is_placeholder(i)
        for category in (i.category,)])
    return Targets(goals=goals, indicators=indicators)


# -- the record of a file ---------------------------------------------------------------


def _received(store: Store, path: Path, data: bytes, outcome: FileOutcome,
              year: int | None) -> ReceivedFile:
    """The file's record: its name as shown, and exactly (its bytes) when it is not text;
    its copy named by its hash and the shown name's suffix (a copy's name is text)."""
    name = shown_file_name(path.name)
    suffix = Path(name).suffix.lower()[:10] or ".bin"
    kept = copy_path(store.path, outcome.sha256, suffix) if data else Path("")
    return ReceivedFile(
        sha256=outcome.sha256, original_name=name, size=outcome.size,
        received_at=datetime.now(UTC).isoformat(timespec="seconds"), kind=outcome.kind,
        status=outcome.status, template_id=outcome.template_id,
        department_code=outcome.department, year=year, stored_path=str(kept),
        original_name_bytes=file_name_bytes(path.name))


# -- the office-wide picture ---------------------------------------------------------------


def department_status(store: Store) -> pd.DataFrame:
    """Per department issued a template: received, accepted, with errors, missing."""
    rows: dict[str, dict[str, Any]] = {}
    for template in store.templates():
        rows.setdefault(template.department_code, {
            "主管部门编码": template.department_code, "主管部门": template.department,
            "已收到": 0, "已接受": 0, "有错误": 0, "最近收到": ""})
    for received in store.received_files():
        row = rows.get(received.department_code)
        if row is None:
            continue
        row["已收到"] += 1
        row["已接受"] += received.status in (Status.ACCEPTED, Status.SUPERSEDED)
        row["有错误"] += received.status == Status.REJECTED
        row["最近收到"] = max(row["最近收到"], received.received_at)
    columns = ["主管部门编码", "主管部门", "已收到", "已接受", "有错误", "最近收到"]
    frame = pd.DataFrame(list(rows.values()), columns=columns)
    frame["未报送"] = frame["已收到"] == 0
    return frame
