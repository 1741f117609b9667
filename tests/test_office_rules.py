"""The office's review criteria (审核口径): a rules file read strictly, its settings changing
the verdicts of real returns, recorded in the store, and the practice's rules switched on."""

from __future__ import annotations

import csv
import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from tests.conftest import SAMPLES, complete_values, issue_two_departments
from tests.fill import fill_with_openpyxl
from xltool.cli import main
from xltool.collect import collect
from xltool.collect.rules import names_an_input
from xltool.findings import Severity
from xltool.officerules import DEFAULT_RULES, OfficeRulesError, load_rules, rules_in_force
from xltool.store import open_store
from xltool.template import IssuedWorkbook

FLOOR_AND_SEVERITY = """\
# 本局 2024 年审核口径
[all]
satisfaction_floor = "≥85%"

[all.severity]
"rule.not_quantitative" = "warning"
"""


@pytest.fixture
def issued(tmp_path: Path) -> list[IssuedWorkbook]:
    return issue_two_departments(tmp_path)


def _return(issued: IssuedWorkbook, tmp_path: Path, name: str, **changes: object) -> Path:
    values = {**complete_values(tmp_path / "x.db", issued.template_id), **changes}
    return fill_with_openpyxl(issued.path, values, tmp_path / name)


def _rules(tmp_path: Path, text: str, name: str = "rules.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _codes(findings: object) -> set[str]:
    return {f.code for f in findings}  # type: ignore[attr-defined]


# -- strict loading ------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "key", "says"), [
    ("[everything]\nmin_indicators = 3\n", "everything", "未知的设置"),
    ("[all]\nmin_indicator = 3\n", "all.min_indicator", "未知的设置"),
    ("[all]\nmin_indicators = \"3\"\n", "all.min_indicators", "整数"),
    ("[all]\nmin_indicators = -1\n", "all.min_indicators", "整数"),
    ("[all]\nmin_per_category = 0\n", "all.min_per_category", "不小于 1"),
    ("[all.severity]\n\"rule.no_such_rule\" = \"off\"\n", "all.severity.rule.no_such_rule",
     "没有这个问题代码"),
    ("[all.severity]\n\"file.corrupt\" = \"warning\"\n", "all.severity.file.corrupt",
     "不能调整"),
    ("[all.severity]\n\"rule.placeholder\" = \"ignore\"\n", "all.severity.rule.placeholder",
     "\"off\""),
    ("[all]\nsatisfaction_floor = \"≤85%\"\n", "all.satisfaction_floor", "百分比"),
    ("[all]\nsatisfaction_floor = 120\n", "all.satisfaction_floor", "百分比"),
    ("[all]\nsatisfaction_floor = nan\n", "all.satisfaction_floor", "百分比"),
    ("[all]\nsatisfaction_floor = inf\n", "all.satisfaction_floor", "百分比"),
    ("[all]\nsatisfaction_floor = \"nan\"\n", "all.satisfaction_floor", "百分比"),
    # a share written as a fraction would be a floor of 0.85 %: told how to write 85 %
    ("[all]\nsatisfaction_floor = 0.85\n", "all.satisfaction_floor", '请写 85 或 "≥85%"'),
    ("[all]\nsatisfaction_floor = \"0.9\"\n", "all.satisfaction_floor", '请写 90 或 "≥90%"'),
    ("[all]\nquantitative = [\"数量指标\", \"产量指标\"]\n", "all.quantitative", "产量指标"),
    ("[profile.\"ningxia-2099\"]\nmin_indicators = 3\n", 'profile."ningxia-2099"', "没有这个表式"),
    ("[profile.\"national-2021\"]\nquantitative = [\"成本指标\"]\n",
     'profile."national-2021".quantitative', "成本指标"),
    ("[all]\ncalculation_method = true\n", "all.calculation_method", "计算方法"),
    ("[all]\ncalculation_method = \"yes\"\n", "all.calculation_method", "true 或 false"),
    ("[all\n", "文件", "TOML"),
])
def test_a_rules_file_is_read_strictly(tmp_path: Path, text: str, key: str, says: str) -> None:
    path = _rules(tmp_path, text, "本局口径.toml")
    with pytest.raises(OfficeRulesError) as raised:
        load_rules(path)
    assert raised.value.key == key
    assert str(raised.value).startswith(f"本局口径.toml：{key}：")
    assert says in raised.value.problem


def test_settings_of_a_profile_win_over_all(tmp_path: Path) -> None:
    rules = load_rules(_rules(tmp_path, """\
[all]
min_indicators = 3
satisfaction_floor = 85
[all.severity]
"rule.placeholder" = "off"
"review.no_comparator" = "warning"
[profile."ningxia-2021"]
satisfaction_floor = "90%"
calculation_method = false
[profile."ningxia-2021".severity]
"rule.placeholder" = "error"
"""))
    ningxia, weighted = rules.criteria("ningxia-2021"), rules.criteria("weighted")
    assert (ningxia.min_indicators, str(ningxia.satisfaction_floor)) == (3, "90")
    assert str(weighted.satisfaction_floor) == "85"
    assert ningxia.severity["rule.placeholder"] is Severity.ERROR
    assert weighted.severity["rule.placeholder"] is None and not weighted.is_on("rule.placeholder")
    assert ningxia.is_on("review.no_comparator") and "review.no_comparator" not in ningxia.severity
    assert not ningxia.is_on("review.input_as_output")  # off until switched on


def test_the_default_rules_file_lies_beside_the_store(tmp_path: Path) -> None:
    assert rules_in_force(tmp_path / "x.db") is DEFAULT_RULES and DEFAULT_RULES.digest is None
    _rules(tmp_path, "[all]\nmin_indicators = 2\n", "xltool.toml")
    assert rules_in_force(tmp_path / "x.db").criteria("weighted").min_indicators == 2
    given = _rules(tmp_path, "[all]\nmin_indicators = 5\n")
    assert rules_in_force(tmp_path / "x.db", given).criteria("weighted").min_indicators == 5


# -- the rules change verdicts -------------------------------------------------------------


def test_a_floor_and_a_severity_change_the_verdicts(issued: list[IssuedWorkbook],
                                                    tmp_path: Path) -> None:
    low = _return(issued[0], tmp_path, "low.xlsx", XT_P01_C09_R01_VALUE="≥80%")
    vague = _return(issued[1], tmp_path, "vague.xlsx", XT_P01_C01_R01_VALUE="较多")
    store = tmp_path / "x.db"
    before = collect([low, vague], store=store)
    assert [f.status for f in before.files] == ["accepted", "rejected"]

    # The same returns, resent under the office's rules: the verdicts turn.
    rules = _rules(tmp_path, FLOOR_AND_SEVERITY)
    low2 = _return(issued[0], tmp_path, "low2.xlsx", XT_P01_C09_R01_VALUE="≥80%",
                   XT_P01_GOAL="目标：办公经费保障。")
    vague2 = _return(issued[1], tmp_path, "vague2.xlsx", XT_P01_C01_R01_VALUE="较多",
                     XT_P01_GOAL="目标：运维经费保障。")
    after = collect([low2, vague2], store=store, rules=rules, feedback=tmp_path / "fb")
    low_outcome, vague_outcome = after.files
    assert (low_outcome.status, vague_outcome.status) == ("rejected", "accepted")
    [floor] = low_outcome.findings
    assert (floor.code, floor.severity, floor.cell) == ("rule.satisfaction_range",
                                                        Severity.ERROR, "D29")
    assert "低于本局审核口径要求的 85%" in floor.message
    [downgraded] = vague_outcome.findings
    assert (downgraded.code, downgraded.severity) == ("rule.not_quantitative", Severity.WARNING)
    assert "按提醒处理" in downgraded.fix
    with open_store(store) as opened:
        assert [(f.code, f.severity) for f in opened.findings(low_outcome.sha256)] == [
            ("rule.satisfaction_range", Severity.ERROR)]
        in_force = {r.department_code: r.sha256 for r in opened.current_returns()}
    # 001's earlier return stays in force: a rejected one never replaces it
    assert in_force == {"001": before.files[0].sha256, "002": vague_outcome.sha256}
    texts = {str(cell.value) for path in after.feedback for sheet in load_workbook(path)
             for row in sheet.iter_rows() for cell in row if cell.value}
    assert any("低于本局审核口径要求的 85%" in text for text in texts)
    assert any("按提醒处理" in text for text in texts)


def test_the_rules_in_force_are_recorded_with_each_file(issued: list[IssuedWorkbook],
                                                        tmp_path: Path) -> None:
    rules = _rules(tmp_path, FLOOR_AND_SEVERITY, "xltool.toml")  # beside the store
    run = collect([_return(issued[0], tmp_path, "r.xlsx")], store=tmp_path / "x.db")
    digest = load_rules(rules).digest
    with sqlite3.connect(tmp_path / "x.db") as db:
        recorded = db.execute("SELECT digest, source, text FROM office_rules").fetchall()
        [used] = db.execute("SELECT examined_with FROM received_files WHERE sha256 = ?",
                            (run.files[0].sha256,)).fetchone()
    assert recorded == [(digest, str(rules), FLOOR_AND_SEVERITY)]
    assert json.loads(used)["rules"] == digest


def test_recheck_examines_rejected_returns_again_under_changed_rules(
        issued: list[IssuedWorkbook], tmp_path: Path) -> None:
    store = tmp_path / "x.db"
    vague = _return(issued[1], tmp_path, "vague.xlsx", XT_P01_C01_R01_VALUE="较多")
    [first] = collect([vague], store=store).files
    assert first.status == "rejected"
    rules = _rules(tmp_path, FLOOR_AND_SEVERITY)
    result = CliRunner().invoke(main, ["collect", "--recheck", "--rules", str(rules),
                                       "--store", str(store), "--json"])
    assert result.exit_code == 0, result.output
    [again] = json.loads(result.output)["files"]
    assert (again["status"], again["sha256"]) == ("accepted", first.sha256)
    with open_store(store) as opened:
        [(_, status, used, _found)] = opened.examinations(first.sha256)
        assert [r.sha256 for r in opened.current_returns()] == [first.sha256]
    assert status == "rejected" and json.loads(used or "{}").get("rules") is None


def test_a_rejected_file_sent_again_under_other_rules_is_examined_again(
        issued: list[IssuedWorkbook], tmp_path: Path) -> None:
    store = tmp_path / "x.db"
    vague = _return(issued[1], tmp_path, "vague.xlsx", XT_P01_C01_R01_VALUE="较多")
    assert collect([vague], store=store).files[0].status == "rejected"
    assert collect([vague], store=store).files[0].status == "duplicate"
    again = collect([vague], store=store, rules=_rules(tmp_path, FLOOR_AND_SEVERITY))
    assert again.files[0].status == "accepted"


def test_a_category_made_quantitative_and_more_indicators_per_category(
        issued: list[IssuedWorkbook], tmp_path: Path) -> None:
    rules = _rules(tmp_path, """\
[profile."ningxia-2021"]
quantitative = ["数量指标", "成本指标", "服务对象满意度指标", "质量指标"]
min_per_category = 2
""")
    run = collect([_return(issued[0], tmp_path, "r.xlsx")], store=tmp_path / "x.db", rules=rules)
    findings = run.files[0].findings
    assert ("rule.not_quantitative", "D17") in {(f.code, f.cell) for f in findings}  # 质量 明显
    few = [f for f in findings if f.code == "rule.required_empty"]
    assert len(few) == 7 and "只填写了 1 条指标" in few[0].message  # every required category


# -- the practice's rules, each off until the office switches it on ------------------------


PRACTICE = """\
[all]
min_indicators = 8
[all.severity]
"review.input_as_output" = "warning"
"review.no_comparator" = "warning"
"review.date_outside_year" = "warning"
"""

# A return the practice's rules all find fault with, each in one cell (template year 2024).
FAULTY = {"XT_P01_C01_R01_NAME": "购置办公设备", "XT_P01_C01_R01_VALUE": "10台",
          "XT_P01_C03_R01_NAME": "完成时间", "XT_P01_C03_R01_VALUE": "2023年12月底前"}
# The same cells as the practice wants them.
FINE = {"XT_P01_C01_R01_NAME": "资金到位率", "XT_P01_C01_R01_VALUE": "=100%",
        "XT_P01_C03_R01_NAME": "完成时间", "XT_P01_C03_R01_VALUE": "2024年12月底前",
        "XT_P01_C02_R02_NAME": "经费支出合规性", "XT_P01_C02_R02_VALUE": "100%"}


def test_the_practice_rules_are_off_by_default(issued: list[IssuedWorkbook],
                                               tmp_path: Path) -> None:
    run = collect([_return(issued[0], tmp_path, "r.xlsx", **FAULTY)], store=tmp_path / "x.db")
    assert run.files[0].status == "accepted" and run.files[0].findings == ()


def test_each_practice_rule_finds_its_fault(issued: list[IssuedWorkbook],
                                            tmp_path: Path) -> None:
    rules = _rules(tmp_path, PRACTICE)
    run = collect([_return(issued[0], tmp_path, "r.xlsx", **FAULTY)], store=tmp_path / "x.db",
                  rules=rules)
    [outcome] = run.files
    assert outcome.status == "accepted"  # warnings, as declared
    found = {(f.code, f.project, f.cell) for f in outcome.findings}
    assert found == {
        ("review.too_few_indicators", "001-01", ""),
        ("review.input_as_output", "001-01", "C14"),
        ("review.no_comparator", "001-01", "D14"),
        ("review.date_outside_year", "001-01", "D19"),
    }
    dates = next(f for f in outcome.findings if f.code == "review.date_outside_year")
    assert "2023 年" in dates.message and "2024 年" in dates.message
    assert all(f.severity is Severity.WARNING for f in outcome.findings)


def test_a_return_as_the_practice_wants_it_passes_them(issued: list[IssuedWorkbook],
                                                       tmp_path: Path) -> None:
    rules = _rules(tmp_path, PRACTICE)
    run = collect([_return(issued[0], tmp_path, "r.xlsx", **FINE)], store=tmp_path / "x.db",
                  rules=rules)
    found = {(f.code, f.cell) for f in run.files[0].findings}
    # eight indicators now (one more under 质量): enough; `100%` of a 质量 indicator is no
    # quantitative category's value, and a cost (`10万元`) is an amount not to exceed: neither
    # needs a comparator
    assert found == set(), found


def test_an_error_severity_for_a_practice_rule_rejects(issued: list[IssuedWorkbook],
                                                       tmp_path: Path) -> None:
    rules = _rules(tmp_path, '[all.severity]\n"review.no_comparator" = "error"\n')
    run = collect([_return(issued[0], tmp_path, "r.xlsx", **FAULTY)], store=tmp_path / "x.db",
                  rules=rules)
    [outcome] = run.files
    assert outcome.status == "rejected"
    [finding] = outcome.findings
    assert finding.code == "review.no_comparator" and "按错误处理" in finding.fix


def test_the_input_words_on_the_samples_real_indicators() -> None:
    """The word list on the 193 published indicators of the samples (the seeds' text): it
    names the three that describe spending in a 时效 row, and no result about funds."""
    with (SAMPLES / "data" / "indicators.csv").open(encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle)
                if ("产出" in r["一级指标"] or "效益" in r["一级指标"])
                and "成本" not in r["二级指标"]]
    flagged = {r["三级指标"] for r in rows if names_an_input(r["三级指标"])}
    assert flagged == {"开展集中劝返等任务期间产生的车辆费用、差旅费用等", "印制宣传资料费用",
                       "督查督办期间产生的交通费、邮电费、资料印制等费用"}
    assert not names_an_input("指标3: 经费支出合规性")
    assert not names_an_input("资金到位率")
    assert names_an_input("购置办公设备")


def test_the_readme_example_is_a_rules_file_xltool_reads(tmp_path: Path) -> None:
    readme = (SAMPLES.parent / "README.md").read_text(encoding="utf-8")
    start = readme.index("```toml\n# xltool.toml") + len("```toml\n")
    example = readme[start:readme.index("```", start)]
    rules = load_rules(_rules(tmp_path, example, "xltool.toml"))
    weighted = rules.criteria("weighted")
    assert weighted.quantitative == {"数量指标", "服务对象满意度指标"}
    assert weighted.severity["rule.not_quantitative"] is Severity.WARNING
    assert str(weighted.satisfaction_floor) == "85" and weighted.min_indicators == 3
    assert weighted.is_on("review.date_outside_year")


def test_worker_processes_apply_the_same_rules(issued: list[IssuedWorkbook],
                                               tmp_path: Path) -> None:
    rules = _rules(tmp_path, FLOOR_AND_SEVERITY)
    files = [_return(issued[0], tmp_path, "low.xlsx", XT_P01_C09_R01_VALUE="≥80%"),
             _return(issued[1], tmp_path, "vague.xlsx", XT_P01_C01_R01_VALUE="较多")]
    run = collect(files, store=tmp_path / "x.db", rules=rules, jobs=2)
    assert [(f.status, sorted(_codes(f.findings))) for f in run.files] == [
        ("rejected", ["rule.satisfaction_range"]), ("accepted", ["rule.not_quantitative"])]


def test_the_rules_command_shows_the_rules_in_force(tmp_path: Path) -> None:
    store = ["--store", str(tmp_path / "x.db")]
    default = json.loads(CliRunner().invoke(main, ["rules", *store, "--json"]).output)
    assert default["source"] == "" and default["digest"] is None
    assert default["profiles"]["ningxia-2021"]["severity"]["review.no_comparator"] == "off"
    _rules(tmp_path, FLOOR_AND_SEVERITY, "xltool.toml")
    shown = json.loads(CliRunner().invoke(main, ["rules", *store, "--json"]).output)
    ningxia = shown["profiles"]["ningxia-2021"]
    assert (ningxia["satisfaction_floor"], ningxia["severity"]["rule.not_quantitative"]) == (
        "85", "warning")
    table = CliRunner().invoke(main, ["rules", *store], env={"COLUMNS": "200"})
    assert table.exit_code == 0 and "rule.not_quantitative：提醒" in table.output


def test_a_bad_rules_file_stops_collect_with_its_key(tmp_path: Path) -> None:
    bad = _rules(tmp_path, "[all]\nsatisfaction = 85\n")
    result = CliRunner().invoke(main, ["collect", "--recheck", "--rules", str(bad),
                                       "--store", str(tmp_path / "x.db")])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "rules.toml：all.satisfaction：未知的设置" in result.output
