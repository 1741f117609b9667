"""The xlsxwriter wrapper: checked return codes, and the formula short-cut changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from xlsxwriter.worksheet import Worksheet

from xltool.errors import XlsxWriteError
from xltool.xlsxout import _Worksheet, check, new_workbook

FORMULAS = [
    '=IF(COUNTA(\'01 项目\'!C14:D16)=0,"数量指标 ","")',
    '=AND(LEN(D14)>0,SUMPRODUCT(--ISNUMBER(FIND({"0","1","９"},D14)))=0)',
    "=SUM(E14:E30)",
    '=OR(D20="",ISNUMBER(FIND("%",D20)))',
    "=XLOOKUP(A1,B1:B9,C1:C9)",  # a newer function: xlsxwriter's own code must run
    "={1,2}",
    "{=SUM(A1:A3)}",
    "=STDEV.S(A1:A9)",
]


@pytest.mark.parametrize("formula", FORMULAS)
@pytest.mark.parametrize("expand", [False, True])
def test_the_short_cut_gives_what_xlsxwriter_gives(formula: str, expand: bool,
                                                    tmp_path: Path) -> None:
    workbook = new_workbook(tmp_path / "x.xlsx")
    ours = workbook.add_worksheet("a")
    theirs = workbook.add_worksheet("b", worksheet_class=Worksheet)
    assert isinstance(ours, _Worksheet) and not isinstance(theirs, _Worksheet)
    assert ours._prepare_formula(formula, expand) == theirs._prepare_formula(formula, expand)
    workbook.close()


def test_a_refused_call_raises() -> None:
    check(0, "fine")
    with pytest.raises(XlsxWriteError, match="validation"):
        check(-2, "validation")


def test_xlsxwriter_warnings_are_errors(tmp_path: Path) -> None:
    from xltool.xlsxout import strict

    workbook = new_workbook(tmp_path / "x.xlsx")
    workbook.add_worksheet()
    with pytest.raises(XlsxWriteError, match="warned"), strict():
        workbook.define_name("1 bad name", "=1")  # xlsxwriter warns and drops the name
    workbook.close()


NAMES = [
    [("XT_P01_GOAL", "='01 项目'!$C$9"), ("XT_P01_CODE", '="001-01"')],
    [("XT_P02_C01_R01_NAME", "='02 A&B<c>'!$C$12")],  # a reference that needs escaping
    [("Local_name", "=Sheet1!$A$1"), ("XT_OK", "=Sheet1!$B$2")],  # one name not plain
    [("ABC1", "=Sheet1!$A$1")],  # looks like a cell: refused either way
    [("XT_V", '="_x0041_"')],  # text xlsxwriter escapes
]


@pytest.mark.parametrize("names", NAMES)
def test_fast_names_give_what_xlsxwriter_gives(names: list[tuple[str, str]],
                                               tmp_path: Path) -> None:
    import zipfile

    import xlsxwriter

    from xltool.xlsxout import define_names, strict

    def workbook_xml(path: Path) -> bytes:
        with zipfile.ZipFile(path) as archive:
            return archive.read("xl/workbook.xml")

    results = []
    for fast in (True, False):
        path = tmp_path / f"{fast}.xlsx"
        workbook = new_workbook(path) if fast else xlsxwriter.Workbook(str(path))
        workbook.set_properties({"created": None})
        workbook.add_worksheet()
        try:
            with strict():
                if fast:
                    define_names(workbook, names)
                else:
                    for name, ref in names:
                        check(workbook.define_name(name, ref), name)
        except XlsxWriteError as refused:
            results.append(f"refused: {refused}")
        workbook.close()
        results.append(workbook_xml(path))
    assert results[:len(results) // 2] == results[len(results) // 2:]


def test_app_properties_list_the_sheets_and_print_titles_not_every_name(tmp_path: Path) -> None:
    import zipfile

    from xltool.xlsxout import define_names

    path = tmp_path / "names.xlsx"
    workbook = new_workbook(path)
    sheet = workbook.add_worksheet("01 项目")
    sheet.repeat_rows(0, 1)
    define_names(workbook, [("XT_P01_GOAL", "='01 项目'!$C$12"), ("XT_TEMPLATE_ID", '="T1"')])
    workbook.close()
    with zipfile.ZipFile(path) as archive:
        app = archive.read("docProps/app.xml").decode()
        names = archive.read("xl/workbook.xml").decode()
    assert "<vt:lpstr>01 项目</vt:lpstr>" in app
    assert "Print_Titles</vt:lpstr>" in app
    assert "XT_" not in app
    assert '<definedName name="XT_P01_GOAL">' in names


def test_a_workbook_that_cannot_be_saved_says_which_and_why(tmp_path: Path) -> None:
    from xltool.atomic import draft_path
    from xltool.errors import WorkbookNotSaved

    workbook = new_workbook(draft_path(tmp_path / "no such folder" / "反馈表.xlsx"))
    workbook.add_worksheet()
    with pytest.raises(WorkbookNotSaved, match=r"无法写入“反馈表\.xlsx”：No such file"):
        workbook.close()
