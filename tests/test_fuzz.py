"""Fuzzing: a mutated return ends with findings or acceptance, never an exception.

Hypothesis mutates a valid return four ways — bytes inside its zip entries (re-zipped),
bytes of the file itself, cell values written through openpyxl, and XML attributes —
and every result is collected into a store: the file is recorded with a status that
agrees with its findings, every message is short and the feedback written is inert.

The suite runs a fixed set of examples (about 20 s); for a campaign, fresh examples each
run, set XLTOOL_FUZZ_EXAMPLES (per test):

    XLTOOL_FUZZ_EXAMPLES=20000 python -m pytest tests/test_fuzz.py -p no:cacheprovider
"""

from __future__ import annotations

import io
import itertools
import os
import re
import shutil
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, MergedCell

from tests.corpus import HOSTILE_TEXTS, assert_inert_workbook, good_return, issue, parts
from xltool.collect import collect
from xltool.collect.reader import open_xlsx
from xltool.findings import Severity
from xltool.store import IssuedCell, open_store

CAMPAIGN = int(os.environ.get("XLTOOL_FUZZ_EXAMPLES", "0"))


def fuzz(examples: int) -> settings:
    """EXAMPLES in the suite, the same every run; a campaign's number, fresh each run."""
    return settings(max_examples=CAMPAIGN or examples, deadline=None, derandomize=not CAMPAIGN,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow, HealthCheck.data_too_large])

STATUSES = {"accepted", "rejected", "duplicate", "superseded"}
SECONDS = 10.0  # for one file: generous, but a pass per tag over a flood of tags is hours


@dataclass(frozen=True)
class Seed:
    """A valid return to mutate and the store it was issued from (nothing collected yet)."""

    store: Path
    good: Path
    entries: dict[str, bytes]
    cells: tuple[IssuedCell, ...]
    folder: Path


@pytest.fixture(scope="module")
def seed(tmp_path_factory: pytest.TempPathFactory) -> Seed:
    root = tmp_path_factory.mktemp("fuzz")
    workbook = issue(root)["001"]
    good = good_return(root / "x.db", workbook, root / "good.xlsx")
    with open_store(root / "x.db") as store:
        cells = tuple(store.issued_form(workbook.template_id).cells())
    (root / "examples").mkdir()
    return Seed(root / "x.db", good, {i.filename: d for i, d in parts(good)}, cells,
                root / "examples")


_numbers = itertools.count()


def collected(seed: Seed, data: bytes, *, feedback: bool = False) -> None:
    """Collect DATA into a fresh copy of the issued store: the file must be recorded, in
    seconds, with a status that agrees with its findings, short messages, and inert
    feedback."""
    work = seed.folder / f"{next(_numbers):06d}"
    work.mkdir()
    try:
        store = Path(shutil.copyfile(seed.store, work / "x.db"))
        path = work / "return.xlsx"
        path.write_bytes(data)
        began = time.monotonic()
        run = collect([path], store=store, feedback=work / "feedback" if feedback else None)
        assert time.monotonic() - began < SECONDS
        [outcome] = run.files
        event(f"{outcome.status} {' '.join(sorted({f.code for f in outcome.findings}))}")
        assert outcome.status in STATUSES
        errors = [f for f in outcome.findings if f.severity is Severity.ERROR]
        assert bool(errors) == (outcome.status == "rejected")
        for finding in outcome.findings:
            assert finding.code and finding.message and finding.fix
            assert len(finding.message) <= 300 and len(finding.value) <= 300, finding.code
        with open_store(store) as opened:
            [kept] = opened.received_files()
            assert kept.status == outcome.status and kept.sha256 == outcome.sha256
        for written in run.feedback:
            assert_inert_workbook(written)
    finally:
        shutil.rmtree(work)


# -- byte mutations ------------------------------------------------------------------------------

TOKENS = [b"<", b">", b"/>", b'"', b"'", b"&", b"&amp;", b"&#0;", b"&#x1B;", b"\x00", b"\xff\xfe",
          b"<!DOCTYPE x>", b"<!ENTITY a 'b'>", b'<c r="XFD1048576"><v>1</v></c>', b' t="s"',
          b" t=\"b\"", b"<v>99999</v>", b"<v>abc</v>", b"<f>1+1</f>", b' r="A0"', b' r="zz9"',
          b'<row r="0">', b"<si><t>x</t></si>", b"_x001B_", b"PK\x03\x04", b"PK\x01\x02",
          b"\xe4\xb8\xad", b"9" * 40, b" " * 300]

Mutation = Callable[[bytes], bytes]


@st.composite
def mutation(draw: st.DrawFn, size: int) -> Mutation:
    """One edit at a drawn place of a SIZE-byte string."""
    at = draw(st.integers(0, max(size, 1)))
    kind = draw(st.sampled_from(["flip", "set", "insert", "delete", "repeat", "flood",
                                 "truncate"]))
    if kind == "flip":
        bit = draw(st.integers(0, 7))
        return lambda b: b[:at] + bytes([b[at] ^ (1 << bit)]) + b[at + 1:] if at < len(b) else b
    if kind == "set":
        value = draw(st.integers(0, 255))
        return lambda b: b[:at] + bytes([value]) + b[at + 1:]
    if kind == "insert":
        extra = draw(st.one_of(st.sampled_from(TOKENS), st.binary(min_size=1, max_size=16)))
        return lambda b: b[:at] + extra + b[at:]
    if kind == "flood":  # a few bytes many times over: `<c <c <c …` costs one pass, or it hangs
        length, times = draw(st.integers(1, 8)), draw(st.integers(1_000, 60_000))
        return lambda b: b[:at] + b[at:at + length] * times + b[at:]
    length = draw(st.integers(1, 64))
    if kind == "delete":
        return lambda b: b[:at] + b[at + length:]
    if kind == "repeat":
        times = draw(st.integers(2, 200))
        return lambda b: b[:at] + b[at:at + length] * times + b[at + length:]
    return lambda b: b[:at]


@st.composite
def mutated(draw: st.DrawFn, data: bytes) -> bytes:
    for edit in draw(st.lists(mutation(len(data)), min_size=1, max_size=6)):
        data = edit(data)
    return data


def zipped(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return out.getvalue()


@fuzz(150)
@given(st.data())
def test_mutated_zip_entries(seed: Seed, data: st.DataObject) -> None:
    """Bytes changed inside one or two entries (re-zipped, so the zip itself is sound)."""
    entries = dict(seed.entries)
    for name in data.draw(st.lists(st.sampled_from(sorted(entries)), min_size=1, max_size=2,
                                   unique=True)):
        entries[name] = data.draw(mutated(entries[name]))
    collected(seed, zipped(entries))


@fuzz(150)
@given(st.data())
def test_mutated_file_bytes(seed: Seed, data: st.DataObject) -> None:
    """Bytes changed anywhere in the file: headers, central directory, compressed data."""
    collected(seed, data.draw(mutated(seed.good.read_bytes())))


# -- cell values ------------------------------------------------------------------------------

SAFE_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=60).map(
    lambda text: ILLEGAL_CHARACTERS_RE.sub("", text))
ODD_TEXTS = [*HOSTILE_TEXTS, "≥９５％", "1e999999999", "NaN", "-0", "本指标不适用", "指标1：",
             "_x001B_[2J", "=1+1", "９" * 3000, "≤" * 2500]
VALUES = st.one_of(
    SAFE_TEXT, st.sampled_from(ODD_TEXTS),
    st.integers(-(10**30), 10**30), st.floats(allow_nan=False, allow_infinity=False),
    st.decimals(allow_nan=False, allow_infinity=False, places=4), st.none())


@fuzz(40)
@given(st.data())
def test_random_cell_values(seed: Seed, data: st.DataObject) -> None:
    """Values written through openpyxl into input cells, locked cells and cells anywhere,
    as text, numbers, or (text starting with `=`) formulas without a cached value; the
    feedback workbooks written for them must be inert."""
    workbook = load_workbook(seed.good)
    sheets = [c.sheet for c in seed.cells]
    writes = data.draw(st.lists(st.tuples(
        st.one_of(st.sampled_from(seed.cells).map(lambda c: (c.sheet, c.cell)),
                  st.tuples(st.sampled_from(sheets), st.from_regex(r"[A-Z]{1,2}[1-9][0-9]?",
                                                                   fullmatch=True))),
        VALUES), min_size=1, max_size=8))
    for (sheet, cell), value in writes:
        target = workbook[sheet][cell]
        if not isinstance(target, MergedCell):  # openpyxl writes a merged range's first cell
            target.value = value
    path = seed.folder / "values.xlsx"
    try:
        workbook.save(path)
    except (ValueError, TypeError, OverflowError):
        assume(False)  # openpyxl cannot write it: no return could hold it either
    collected(seed, path.read_bytes(), feedback=True)


# -- XML attributes -----------------------------------------------------------------------------

ATTRIBUTE = re.compile(rb'(\s)([\w:.-]+)="([^"]*)"')
ATTRIBUTE_VALUES = [b"", b"0", b"-1", b"1048576", b"XFD1048576", b"A0", b"a1", b"zz9",
                    b"99999999999999999999", b"../../x", b"/xl/worksheets/sheet1.xml",
                    b"worksheets/sheet9.xml", b"hidden", b"veryHidden", b"true", b"&amp;",
                    b"&#x0;", b"&lt;", b"x" * 1000, b"rId99", b"2022", b"ningxia-2099", b"s",
                    b"str", b"inlineStr", b"e", b"1:16384"]


@fuzz(150)
@given(st.data())
def test_tweaked_xml_attributes(seed: Seed, data: st.DataObject) -> None:
    """An attribute of a structural part or a sheet given another value, removed,
    doubled or renamed."""
    entries = dict(seed.entries)
    name = data.draw(st.sampled_from(sorted(n for n in entries if n.endswith((".xml", ".rels")))))
    found = list(ATTRIBUTE.finditer(entries[name]))
    assume(found)
    for _ in range(data.draw(st.integers(1, 3))):
        match = data.draw(st.sampled_from(found))
        key, value = match[2], data.draw(st.sampled_from(ATTRIBUTE_VALUES))
        edit = data.draw(st.sampled_from(["value", "remove", "double", "rename"]))
        new = {"value": b'%s%s="%s"' % (match[1], key, value), "remove": b"",
               "double": match[0] + b' %s="%s"' % (key, value),
               "rename": b'%sx%s="%s"' % (match[1], key, match[3])}[edit]
        xml = entries[name]
        entries[name] = xml[:match.start()] + new + xml[match.end():]
        found = list(ATTRIBUTE.finditer(entries[name]))
        if not found:
            break
    collected(seed, zipped(entries))


def test_the_seed_is_a_valid_return(seed: Seed) -> None:
    """The fuzz starts from a return that is accepted as it stands."""
    assert open_xlsx(seed.good.read_bytes()).sheets
    store = Path(shutil.copyfile(seed.store, seed.folder.parent / "valid.db"))
    [outcome] = collect([seed.good], store=store).files
    assert outcome.status == "accepted", outcome.findings
