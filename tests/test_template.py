"""`xltool template`: open every written workbook and check cells, protection, guidance, names."""

from __future__ import annotations

import json
import re
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import Cell
from openpyxl.workbook.defined_name import DefinedName

from tests.conftest import SAMPLES, ledger_row, write_ledger
from xltool.cli import main
from xltool.store import open_store
from xltool.targets import Indicator, Targets, read_targets, write_targets
from xltool.template import issue_templates
from xltool.template.plan import sheet_name
from xltool.template.writer import LISTS_SHEET

PROJECT_NAME = re.compile(r"^XT_P\d\d_")


def _open(path: Path) -> Workbook:
    return load_workbook(path)


def _cell(workbook: Workbook, name: str) -> Cell:
    defined: DefinedName = workbook.defined_names[name]
    sheet, ref = next(iter(defined.destinations))
    return workbook[sheet][ref.replace("$", "")]


def _names(workbook: Workbook, suffix: str = "") -> list[str]:
    return [n for n in workbook.defined_names if PROJECT_NAME.match(n) and n.endswith(suffix)]


def test_one_workbook_per_department_one_sheet_per_project(small_ledger: Path,
                                                           tmp_path: Path) -> None:
    run = issue_templates(small_ledger, tmp_path / "out", store=tmp_path / "x.db")
    assert [w.department_code for w in run.workbooks] == ["001", "002"]
    first, second = (_open(w.path) for w in run.workbooks)
    assert first.sheetnames == ["填报说明", "01 办公经费", "02 =1+1", LISTS_SHEET]
    assert len(second.sheetnames) == 3
    assert run.workbooks[0].path.name == "2024年_001_示例局_绩效目标表.xlsx"
    assert first[LISTS_SHEET].sheet_state == "hidden"


def test_ledger_values_are_locked_and_input_cells_open(small_ledger: Path, tmp_path: Path) -> None:
    run = issue_templates(small_ledger, tmp_path / "out", store=tmp_path / "x.db")
    workbook = _open(run.workbooks[0].path)
    with open_store(tmp_path / "x.db") as store:
        cells = store.issued_form(run.workbooks[0].template_id).cells()
    assert cells, "the store records every cell of the issued forms"
    for record in cells:
        cell = workbook[record.sheet][record.cell]
        assert cell.protection.locked is record.locked, f"{record.sheet}!{record.cell}"
        if record.locked and record.value and record.field.startswith("funding."):
            assert Decimal(str(cell.value)) == Decimal(record.value)
        elif record.locked and record.value and record.field != "weight.total":
            assert cell.value == record.value
    kinds = {(r.field, r.locked) for r in cells}
    assert ("funding.total", True) in kinds and ("header.project_name", True) in kinds
    assert ("goal", False) in kinds and ("name", False) in kinds and ("value", False) in kinds
    sheet = workbook["01 办公经费"]
    amount = next(r for r in cells if r.field == "funding.total" and r.sheet == sheet.title)
    assert sheet[amount.cell].value == 10


def test_every_sheet_is_protected_and_the_password_is_not_in_the_file(
        small_ledger: Path, tmp_path: Path) -> None:
    run = issue_templates(small_ledger, tmp_path / "out", store=tmp_path / "x.db",
                          password="S3cret-pw")
    workbook = _open(run.workbooks[0].path)
    for sheet in workbook.worksheets:
        assert sheet.protection.sheet, sheet.title
        assert sheet.protection.password, sheet.title
        # In OOXML a true flag means the action is forbidden.
        assert sheet.protection.insertRows and sheet.protection.deleteRows
        assert sheet.protection.insertColumns and sheet.protection.formatCells
    with zipfile.ZipFile(run.workbooks[0].path) as archive:
        for info in archive.infolist():
            assert b"S3cret-pw" not in archive.read(info)


def test_a_random_password_is_recorded_in_the_store(small_ledger: Path, tmp_path: Path) -> None:
    run = issue_templates(small_ledger, tmp_path / "out", store=tmp_path / "x.db")
    with open_store(tmp_path / "x.db") as store:
        passwords = [store.issued_form(w.template_id).template.password  # type: ignore[union-attr]
                     for w in run.workbooks]
    assert len(set(passwords)) == 2 and all(len(p) >= 12 for p in passwords)
    assert (tmp_path / "x.db").stat().st_mode & 0o777 == 0o600


def test_text_that_looks_like_a_formula_stays_text(small_ledger: Path, tmp_path: Path) -> None:
    run = issue_templates(small_ledger, tmp_path / "out", store=tmp_path / "x.db")
    sheet = _open(run.workbooks[0].path)["02 =1+1"]
    found = [c for row in sheet.iter_rows() for c in row if c.value == "=1+1"]
    assert found and all(c.data_type == "s" for c in found)


def test_sheet_names_follow_excel_rules() -> None:
    used: set[str] = set()
    long = sheet_name(1, "信息化建设[一期]/运维:测试*?经费超长名称用于检验工作表名称截断", used)
    assert len(long) <= 31 and not set("[]:*?/\\") & set(long) and long.startswith("01 信息化建设")
    assert sheet_name(2, "同名", used) != sheet_name(2, "同名", used)
    assert sheet_name(3, "'", set()) == "03 项目"


def test_identity_in_properties_and_names_matches_the_store(small_ledger: Path,
                                                            tmp_path: Path) -> None:
    run = issue_templates(small_ledger, tmp_path / "out", store=tmp_path / "x.db")
    issued = run.workbooks[0]
    workbook = _open(issued.path)
    properties = {p.name: p.value for p in workbook.custom_doc_props.props}
    assert properties["xltool.template_id"] == issued.template_id
    assert workbook.defined_names["XT_TEMPLATE_ID"].attr_text == f'"{issued.template_id}"'
    for key in ("year", "profile", "profile_version", "department", "project_count"):
        name = f"XT_{key.upper()}"
        assert workbook.defined_names[name].attr_text == f'"{properties[f"xltool.{key}"]}"'
    assert properties["xltool.year"] == "2024" and properties["xltool.department"] == "001"
    assert workbook.defined_names["XT_P02_CODE"].attr_text == '"001-02"'
    with open_store(tmp_path / "x.db") as store:
        template = store.issued_form(issued.template_id).template
        projects = store.template_projects(issued.template_id)
    assert template is not None and template.profile == "ningxia-2021"
    assert [p.project_code for p in projects] == ["001-01", "001-02"]
    assert projects[1].total == Decimal("5.5")


def test_every_input_cell_has_a_name_an_input_message_and_is_unlocked(
        small_ledger: Path, tmp_path: Path) -> None:
    run = issue_templates(small_ledger, tmp_path / "out", store=tmp_path / "x.db")
    workbook = _open(run.workbooks[0].path)
    with open_store(tmp_path / "x.db") as store:
        form = store.issued_form(run.workbooks[0].template_id)
        inputs = [c for c in form.cells() if not c.locked]  # type: ignore[union-attr]
    assert {c.name for c in inputs} == set(_names(workbook)) - set(_names(workbook, "_CODE"))
    for record in inputs:
        cell = _cell(workbook, record.name)
        assert (cell.parent.title, cell.coordinate) == (record.sheet, record.cell)
        assert cell.protection.locked is False
        rules = [v for v in cell.parent.data_validations.dataValidation if cell.coordinate in v]
        assert len(rules) == 1, record.name
        assert rules[0].prompt and len(rules[0].prompt) <= 255 and rules[0].showInputMessage


def test_the_name_scheme(small_ledger: Path, tmp_path: Path) -> None:
    run = issue_templates(small_ledger, tmp_path / "out", store=tmp_path / "x.db")
    workbook = _open(run.workbooks[0].path)
    sheet = workbook["01 办公经费"]
    assert _cell(workbook, "XT_P01_GOAL").parent is sheet
    first_quantity = _cell(workbook, "XT_P01_C01_R01_NAME")
    assert sheet.cell(first_quantity.row, 2).value == "数量指标" or any(
        first_quantity.coordinate in r and sheet[r.coord].value == "数量指标"
        for r in [m.start_cell for m in sheet.merged_cells.ranges])
    assert _cell(workbook, "XT_P01_C01_R01_VALUE").column == first_quantity.column + 1
    assert _cell(workbook, "XT_P01_C01_R03_NAME").row == first_quantity.row + 2
    assert "XT_P01_C01_R04_NAME" not in workbook.defined_names  # the profile gives 3 rows


def _validation_for(cell: Cell):  # type: ignore[no-untyped-def]
    return next(v for v in cell.parent.data_validations.dataValidation if cell.coordinate in v)


def test_weighted_profile_validates_weights_and_has_no_value_column(tmp_path: Path) -> None:
    ledger = write_ledger(tmp_path / "l.csv", [ledger_row("A1", "督查经费", 项目属性="")])
    run = issue_templates(ledger, tmp_path / "out", store=tmp_path / "x.db", profile="weighted")
    workbook = _open(run.workbooks[0].path)
    assert not _names(workbook, "_VALUE")
    weight = _validation_for(_cell(workbook, "XT_P01_C01_R01_WEIGHT"))
    assert (weight.type, weight.formula1, weight.formula2) == ("decimal", "0", "100")
    assert weight.operator in (None, "between")  # between is the default, left out of the XML
    attribute = _validation_for(_cell(workbook, "XT_P01_ATTRIBUTE"))
    assert attribute.type == "list" and LISTS_SHEET in attribute.formula1
    lists = workbook[LISTS_SHEET]
    assert lists["A2"].value == "0101-一年期项目"
    supervisor = _cell(workbook, "XT_P01_SUPERVISOR")
    assert supervisor.protection.locked is False
    sheet = supervisor.parent
    total = [c for row in sheet.iter_rows() for c in row
             if isinstance(c.value, str) and c.value.startswith("=SUM(")]
    assert len(total) == 1


def test_weights_follow_the_profiles_total_and_label(tmp_path: Path) -> None:
    """A profile whose weights sum to 10 and are called 权重: the form says so everywhere."""
    custom = tmp_path / "ten.toml"
    text = (SAMPLES.parent / "templates" / "weighted.toml").read_text(encoding="utf-8")
    custom.write_text(text.replace('label = "绩效值"', 'label = "权重"')
                      .replace("total = 100", "total = 10"), encoding="utf-8")
    ledger = write_ledger(tmp_path / "l.csv", [ledger_row("A1", "督查经费", 项目属性="")])
    run = issue_templates(ledger, tmp_path / "out", store=tmp_path / "x.db", profile=custom)
    workbook = _open(run.workbooks[0].path)
    cell = _cell(workbook, "XT_P01_C01_R01_WEIGHT")
    weight = _validation_for(cell)
    assert (weight.formula1, weight.formula2) == ("0", "10")
    assert weight.error == "权重应为0到10之间的数字。" and "（0–10）" in weight.prompt
    [total_rule] = [rule for rules in cell.parent.conditional_formatting
                    for rule in rules.rules if rule.type == "cellIs"]
    assert total_rule.formula == ["10"]


def test_satisfaction_values_are_checked_for_a_percentage(small_ledger: Path,
                                                          tmp_path: Path) -> None:
    run = issue_templates(small_ledger, tmp_path / "out", store=tmp_path / "x.db")
    workbook = _open(run.workbooks[0].path)
    satisfaction = _cell(workbook, "XT_P01_C09_R01_VALUE")
    rule = _validation_for(satisfaction)
    assert rule.type == "custom" and "%" in rule.formula1 and rule.errorStyle == "warning"
    formats = satisfaction.parent.conditional_formatting
    assert any(satisfaction.coordinate in r.sqref for r in formats)


def _targets(tmp_path: Path, indicators: list[Indicator], goals: dict[str, str]) -> Path:
    return write_targets(Targets(goals=goals, indicators=tuple(indicators)), tmp_path / "t.xlsx")


def test_prefill_writes_values_exactly_and_adds_rows(small_ledger: Path, tmp_path: Path) -> None:
    quantity = [Indicator("001-01", "产出指标", "数量指标", f"指标{i}", f"不少于 {i}0 次")
                for i in range(1, 6)]
    extra = [Indicator("001-01", "满意度指标", "服务对象满意度指标", "群众满意度", "≧95%"),
             Indicator("404", "产出指标", "数量指标", "无此项目", "1次"),
             Indicator("001-02", "产出指标", "不存在的指标", "错类", "1次")]
    targets = _targets(tmp_path, quantity + extra, {"001-01": "目标1：做好工作。\n目标2：=SUM(A1)"})
    run = issue_templates(small_ledger, tmp_path / "out", store=tmp_path / "x.db",
                          prefill=targets)
    workbook = _open(run.workbooks[0].path)
    assert _cell(workbook, "XT_P01_GOAL").value == "目标1：做好工作。\n目标2：=SUM(A1)"
    assert _cell(workbook, "XT_P01_GOAL").data_type == "s"
    for i in range(1, 6):
        assert _cell(workbook, f"XT_P01_C01_R{i:02d}_NAME").value == f"指标{i}"
        assert _cell(workbook, f"XT_P01_C01_R{i:02d}_VALUE").value == f"不少于 {i}0 次"
        assert _cell(workbook, f"XT_P01_C01_R{i:02d}_VALUE").protection.locked is False
    assert _cell(workbook, "XT_P01_C09_R01_VALUE").value == "≧95%"
    assert sorted(f.code for f in run.findings) == ["prefill.unknown_category",
                                                    "prefill.unknown_project"]
    cover = workbook["填报说明"]
    statuses = [c.value for c in cover["E"]
                if isinstance(c.value, str) and c.value.startswith("=IF")]
    assert len(statuses) == 2


def test_the_samples_prefill_without_losing_an_indicator(tmp_path: Path) -> None:
    run = issue_templates(SAMPLES / "ledger.xlsx", tmp_path / "out", store=tmp_path / "x.db",
                          prefill=SAMPLES / "targets.xlsx")
    assert run.findings == ()
    targets = read_targets(SAMPLES / "targets.xlsx")
    written: list[tuple[str, str, str]] = []
    for issued in run.workbooks:
        workbook = _open(issued.path)
        for position in range(1, issued.projects + 1):
            code = workbook.defined_names[f"XT_P{position:02d}_CODE"].attr_text.strip('"')
            for name in sorted(_names(workbook, "_NAME")):
                if name.startswith(f"XT_P{position:02d}_"):
                    value = _cell(workbook, name.replace("_NAME", "_VALUE")).value
                    label = _cell(workbook, name).value
                    if label or value:
                        written.append((code, label or "", value or ""))
    expected = sorted((i.project_code, i.name, i.value) for i in targets.indicators)
    assert sorted(written) == expected


def test_the_same_input_gives_the_same_bytes(small_ledger: Path, tmp_path: Path) -> None:
    first = issue_templates(small_ledger, tmp_path / "a", store=tmp_path / "x.db", password="pw")
    second = issue_templates(small_ledger, tmp_path / "b", store=tmp_path / "x.db", password="pw")
    for one, two in zip(first.workbooks, second.workbooks, strict=True):
        assert one.path.read_bytes() == two.path.read_bytes()
        assert one.template_id == two.template_id


def test_jobs_write_the_same_workbooks(small_ledger: Path, tmp_path: Path) -> None:
    serial = issue_templates(small_ledger, tmp_path / "a", store=tmp_path / "x.db", password="p")
    parallel = issue_templates(small_ledger, tmp_path / "b", store=tmp_path / "y.db", password="p",
                               jobs=2)
    assert [w.sha256 for w in serial.workbooks] == [w.sha256 for w in parallel.workbooks]


def test_cli_writes_and_reports_json(small_ledger: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["template", str(small_ledger), "-o", str(tmp_path / "out"),
                                       "--store", str(tmp_path / "x.db"), "--department", "002",
                                       "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [w["department_code"] for w in data["workbooks"]] == ["002"]
    assert Path(data["workbooks"][0]["path"]).is_file()
    assert data["findings"] == []


def test_cli_refuses_a_ledger_with_errors(tmp_path: Path) -> None:
    ledger = write_ledger(tmp_path / "l.csv", [ledger_row("A", "甲"), ledger_row("A", "乙")])
    result = CliRunner().invoke(main, ["template", str(ledger), "-o", str(tmp_path / "out"),
                                       "--store", str(tmp_path / "x.db")])
    assert result.exit_code == 2
    assert "未生成模板" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_a_template_that_cannot_be_written_is_named_without_a_traceback(
        small_ledger: Path, tmp_path: Path) -> None:
    """As when the clerk still has last run's template open in Excel (here: a folder stands
    where the file must go, which even an administrator cannot replace with a file)."""
    out = tmp_path / "out"
    [first, *_] = issue_templates(small_ledger, out, store=tmp_path / "x.db").workbooks
    first.path.unlink()
    first.path.mkdir()
    result = CliRunner().invoke(main, ["template", str(small_ledger), "-o", str(out),
                                       "--store", str(tmp_path / "x.db")])
    assert result.exit_code == 2 and not isinstance(result.exception, Exception), result.output
    assert "无法读写" in result.output and "Traceback" not in result.output
    assert first.path.name in result.output and ".part" not in result.output
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == []  # no draft left


def test_a_template_is_written_whole_or_not_at_all(small_ledger: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import xltool.template.writer as writer

    out = tmp_path / "out"
    [first, *_] = issue_templates(small_ledger, out, store=tmp_path / "x.db").workbooks
    before = first.path.read_bytes()

    def disk_full(self: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(writer, "_write_identity", lambda workbook, plan: disk_full(workbook))
    with pytest.raises(OSError, match="No space"):
        issue_templates(small_ledger, out, store=tmp_path / "x.db")
    assert first.path.read_bytes() == before  # not replaced by a half-written one
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == []


def test_cli_refuses_an_unknown_department(small_ledger: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["template", str(small_ledger), "-o", str(tmp_path / "o"),
                                       "--store", str(tmp_path / "x.db"), "--department", "999"])
    assert result.exit_code == 2 and "999" in result.output


@pytest.mark.parametrize("profile", ["ningxia-2021", "ningxia-2023", "weighted", "national-2021"])
def test_every_profile_writes_a_complete_form(small_ledger: Path, tmp_path: Path,
                                              profile: str) -> None:
    run = issue_templates(small_ledger, tmp_path / "out", store=tmp_path / "x.db", profile=profile)
    workbook = _open(run.workbooks[0].path)
    sheet = workbook["01 办公经费"]
    texts = {c.value for row in sheet.iter_rows() for c in row if isinstance(c.value, str)}
    from xltool.profile import load_profile

    loaded = load_profile(profile)
    for category in loaded.categories:
        assert (category.label if loaded.show_markers else category.level2) in texts
    assert ("综合评定等级" in texts) is loaded.review_row
    assert sheet.page_setup.paperSize == 9 and sheet.sheet_properties.pageSetUpPr.fitToPage
    assert sheet.page_setup.fitToHeight == 0 and sheet.page_setup.fitToWidth in (None, 1)
    assert "第 &P 页" in sheet.oddFooter.center.text
