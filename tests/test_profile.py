"""Form profiles: the shipped ones load with the promised shapes; mistakes are refused by key."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from xltool.errors import ProfileError, UnknownProfile
from xltool.profile import (
    available_profiles,
    load_profile,
    profile_dirs,
    profile_from_text,
    profile_path,
    read_profile,
)

SHIPPED = ["national-2021", "ningxia-2021", "ningxia-2023", "weighted"]


def test_every_shipped_profile_loads() -> None:
    assert available_profiles() == SHIPPED
    for name in SHIPPED:
        profile = load_profile(name)
        assert profile.name == name
        assert profile.version >= 1
        assert profile.header[0].key == "project_name"
        assert profile.funding[0].key == "total"


def test_ningxia_2021_is_the_plain_layout_with_carryover() -> None:
    profile = load_profile("ningxia-2021")
    assert [r.label for r in profile.funding] == [
        "年度资金总额", "其中：财政拨款", "结余结转", "其他资金"]
    assert profile.value_field and profile.value_label == "指标值"
    assert profile.weights is None and not profile.review_row and not profile.show_markers
    assert profile.level1_names == ("产出指标", "效益指标", "满意度指标")
    required = [c.level2 for c in profile.categories if c.required]
    assert required == ["数量指标", "质量指标", "时效指标", "成本指标", "社会效益指标",
                        "可持续影响指标", "服务对象满意度指标"]
    quantitative = [c.level2 for c in profile.categories if c.quantitative]
    assert quantitative == ["数量指标", "成本指标", "服务对象满意度指标"]
    assert profile.header_field("attribute").choices == (  # type: ignore[union-attr]
        "一次性项目", "经常性项目", "延续性项目", "新增项目")


def test_ningxia_2023_has_markers_and_the_review_row() -> None:
    profile = load_profile("ningxia-2023")
    assert profile.show_markers and profile.review_row
    assert profile.review_choices == ("优", "良", "中", "差")
    labels = {c.level2: c.label for c in profile.categories}
    assert labels["数量指标"] == "数量指标（必填硬性指标）"
    assert labels["经济效益指标"] == "经济效益指标（选填）"
    assert profile.header_field("department_with_code") is not None
    assert "carryover" not in [r.key for r in profile.funding]


def test_weighted_has_weights_and_no_value_field() -> None:
    profile = load_profile("weighted")
    assert profile.weights is not None
    assert profile.weights.label == "绩效值" and profile.weights.total == 100
    assert profile.weights.not_applicable == "本指标不适用"
    assert not profile.value_field
    assert [r.label for r in profile.funding] == ["项目年度金额"]
    assert profile.header_field("supervisor").label == "项目主管处室"  # type: ignore[union-attr]
    assert "0101-一年期项目" in profile.header_field("attribute").choices  # type: ignore[union-attr]


def test_national_2021_makes_cost_a_first_level_category() -> None:
    profile = load_profile("national-2021")
    assert profile.level1_names == ("产出指标", "成本指标", "效益指标", "满意度指标")
    cost = [c.level2 for c in profile.categories if c.level1 == "成本指标"]
    assert cost == ["经济成本指标", "社会成本指标", "生态环境成本指标"]
    assert profile.category_by_level2("经济成本指标").role == "cost"  # type: ignore[union-attr]


def _shipped_text(name: str = "ningxia-2021") -> str:
    return (profile_dirs()[0] / f"{name}.toml").read_text(encoding="utf-8")


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "broken.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("change", "key", "problem"),
    [
        (("rows = 3\nquantitative = true\nhelp = \"项目计划",
          "rowz = 3\nquantitative = true\nhelp = \"项目计划"), "category[1].rowz", "unknown key"),
        (("value_field = true", "value_field = true\ncolour = 1"), "layout.colour", "unknown key"),
        (("level2 = \"质量指标\"", "level2 = \"数量指标\""), "category[2]", "duplicate"),
        (("level2 = \"数量指标\"\nrequired = true\nrows = 3",
          "level2 = \"数量指标\"\nrequired = true\nrows = 0"), "category[1].rows", "at least 1"),
        (("rows = 3", "rows = \"3\""), "category[1].rows", "whole number"),
        (("role = \"cost\"", "role = \"money\""), "category[4].role", "one of"),
        (("version = 1\n", ""), "profile.version", "missing"),
        (("key = \"total\"", "key = \"grand_total\""), "funding.row[1].key", "one of"),
    ],
)
def test_a_profile_with_a_mistake_is_refused_naming_file_and_key(
    tmp_path: Path, change: tuple[str, str], key: str, problem: str
) -> None:
    text = _shipped_text()
    assert change[0] in text, "the test's anchor must exist in the shipped profile"
    path = _write(tmp_path, text.replace(change[0], change[1], 1))
    with pytest.raises(ProfileError) as raised:
        load_profile(path)
    assert raised.value.key == key
    assert "broken.toml" in str(raised.value) and key in str(raised.value)
    assert problem in str(raised.value)


def test_a_split_first_level_category_is_refused(tmp_path: Path) -> None:
    text = _shipped_text() + '\n[[category]]\nlevel1 = "产出指标"\nlevel2 = "额外指标"\n' \
        'required = false\nrows = 1\n'
    with pytest.raises(ProfileError, match="split"):
        load_profile(_write(tmp_path, text))


def test_a_syntax_error_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match=r"broken\.toml: \(syntax\)"):
        load_profile(_write(tmp_path, "[profile\nname ="))


def test_an_unknown_profile_lists_the_shipped_ones() -> None:
    with pytest.raises(UnknownProfile, match="ningxia-2021"):
        load_profile("guangdong-1999")


def test_profiles_command_lists_and_shows() -> None:
    import xltool.cli

    runner = CliRunner()
    listing = runner.invoke(xltool.cli.main, ["profiles"])
    assert listing.exit_code == 0, listing.output
    for name in SHIPPED:
        assert name in listing.output
    shown = runner.invoke(xltool.cli.main, ["profiles", "national-2021"])
    assert shown.exit_code == 0 and "经济成本指标" in shown.output
    missing = runner.invoke(xltool.cli.main, ["profiles", "nowhere"])
    assert missing.exit_code == 2 and "No profile 'nowhere'" in missing.output
    assert "Traceback" not in missing.output


def test_a_file_named_like_a_shipped_profile_in_the_working_folder_is_ignored(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An attachment saved as `ningxia-2021` into the inbox never replaces the shipped rules."""
    monkeypatch.chdir(tmp_path)
    Path("ningxia-2021").write_text("[profile\nnot a profile at all", encoding="utf-8")
    shipped = load_profile("ningxia-2021")
    assert shipped.path.parent in profile_dirs()
    assert profile_path("ningxia-2021") == shipped.path


def test_a_profile_file_is_read_only_when_given_as_a_path(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    text = _shipped_text().replace('name = "ningxia-2021"', 'name = "office-form"', 1)
    Path("office-form").write_text(text, encoding="utf-8")
    Path("office-form.toml").write_text(text, encoding="utf-8")
    with pytest.raises(UnknownProfile, match="shipped"):
        load_profile("office-form")  # a name: looked up among the shipped profiles only
    assert load_profile("./office-form").name == "office-form"
    assert load_profile("office-form.toml").name == "office-form"
    with pytest.raises(UnknownProfile, match="not found"):
        load_profile("missing.toml")


def test_a_profile_parsed_from_its_text_is_the_profile_its_file_gives() -> None:
    for name in SHIPPED:
        profile, text = read_profile(name)
        assert text == profile.path.read_text(encoding="utf-8")
        assert profile_from_text(text, path=profile.path) == profile
    with pytest.raises(ProfileError, match=r"kept\.toml: \(syntax\)"):
        profile_from_text("[profile\nname =", path=Path("kept.toml"))
