"""Form profiles: the layout of a performance-target form, as data.

A profile is a TOML file in `templates/` (shipped inside the wheel as
`xltool/templates`). It declares what the form asks for — header fields,
funding rows, the goal, the indicator tree, weights — and every later step
(template writer, return reader, rules, publisher) reads the form through it,
so no layout or label is hard-coded anywhere else.

Loading is strict: an unknown key, a wrong type, a duplicate category or a
required category with no input rows is refused with the file and the key,
because a typo in a profile would otherwise silently change a year's forms.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from xltool.errors import ProfileError, UnknownProfile

HeaderKey = Literal[
    "project_name",
    "project_code",
    "department",
    "department_code",
    "department_with_code",
    "unit",
    "attribute",
    "period",
    "supervisor",
]
FundingKey = Literal["total", "fiscal", "other", "carryover"]
CategoryRole = Literal["cost", "satisfaction"]

HEADER_KEYS: tuple[str, ...] = HeaderKey.__args__  # type: ignore[attr-defined]
FUNDING_KEYS: tuple[str, ...] = FundingKey.__args__  # type: ignore[attr-defined]
CATEGORY_ROLES: tuple[str, ...] = CategoryRole.__args__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class HeaderField:
    key: HeaderKey
    label: str
    source: Literal["ledger", "department"] = "ledger"
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class FundingRow:
    key: FundingKey
    label: str


@dataclass(frozen=True)
class Category:
    """A 二级指标 under its 一级指标, with how the form treats it."""

    level1: str
    level2: str
    required: bool
    rows: int
    quantitative: bool = False
    role: CategoryRole | None = None
    marker: str = ""
    help: str = ""
    examples: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """The 二级 label with its 必填/选填 marker, as printed when markers are shown."""
        return f"{self.level2}（{self.marker}）" if self.marker else self.level2


@dataclass(frozen=True)
class Weights:
    label: str
    total: Decimal
    not_applicable: str

    @property
    def range_text(self) -> str:
        """What one weight may be, as the form and the findings say it: `0–100`."""
        return f"0–{self.total}"

    @property
    def total_number(self) -> int | float:
        """The total as a spreadsheet number (an int when whole: `100`, not `100.0`)."""
        return int(self.total) if self.total == int(self.total) else float(self.total)


@dataclass(frozen=True)
class FormProfile:
    name: str
    version: int
    title: str
    description: str
    path: Path
    accepts: tuple[int, ...]
    header: tuple[HeaderField, ...]
    funding_label: str
    funding: tuple[FundingRow, ...]
    goal_label: str
    goal_help: str
    level1_label: str
    level2_label: str
    name_label: str
    value_label: str
    units: tuple[str, ...]
    categories: tuple[Category, ...]
    value_field: bool
    show_markers: bool
    review_row: bool
    review_label: str
    review_choices: tuple[str, ...]
    weights: Weights | None

    @property
    def level1_names(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c.level1 for c in self.categories))

    def category(self, level1: str, level2: str) -> Category | None:
        return next(
            (c for c in self.categories if c.level1 == level1 and c.level2 == level2), None
        )

    def category_by_level2(self, level2: str) -> Category | None:
        """The category a 二级 name belongs to (unique within a profile by construction)."""
        return next((c for c in self.categories if c.level2 == level2), None)

    def header_field(self, key: str) -> HeaderField | None:
        return next((h for h in self.header if h.key == key), None)

    def accepts_version(self, version: int) -> bool:
        """Returns of templates issued under these profile versions are still read."""
        return version in self.accepts

    def title_for(self, year: int | None) -> str:
        return self.title.format(year=year if year is not None else "")


# -- the schema: one spec per table, checked key by key ------------------------------------

Check = Callable[[Any], bool]


@dataclass(frozen=True)
class _Key:
    check: Check
    expected: str
    required: bool = False


def _is_str(value: Any) -> bool:
    return isinstance(value, str)


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and value.strip() != ""


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool)


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_positive(value: Any) -> bool:
    return _is_count(value) and value > 0


def _is_str_list(value: Any) -> bool:
    return isinstance(value, list) and all(_is_text(v) for v in value)


def _one_of(*options: str) -> Check:
    return lambda value: value in options


def _is_table(value: Any) -> bool:
    return isinstance(value, dict)


def _is_table_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, dict) for v in value)


_TEXT = _Key(_is_text, "non-empty text", required=True)
_OPTIONAL_TEXT = _Key(_is_str, "text")
_FLAG = _Key(_is_bool, "true or false")
_WORDS = _Key(_is_str_list, "a list of non-empty texts")

_SCHEMA: dict[str, dict[str, _Key]] = {
    "": {
        "profile": _Key(_is_table, "a table", required=True),
        "layout": _Key(_is_table, "a table", required=True),
        "header": _Key(_is_table_list, "an array of tables [[header]]", required=True),
        "funding": _Key(_is_table, "a table", required=True),
        "goal": _Key(_is_table, "a table", required=True),
        "indicators": _Key(_is_table, "a table", required=True),
        "weights": _Key(_is_table, "a table"),
        "category": _Key(_is_table_list, "an array of tables [[category]]", required=True),
    },
    "profile": {
        "name": _TEXT,
        "version": _Key(_is_positive, "a whole number ≥ 1", required=True),
        "title": _TEXT,
        "description": _OPTIONAL_TEXT,
        "accepts": _Key(lambda v: isinstance(v, list) and all(_is_positive(x) for x in v),
                        "a list of versions (whole numbers ≥ 1)"),
    },
    "layout": {
        "value_field": _Key(_is_bool, "true or false", required=True),
        "show_markers": _FLAG,
        "review_row": _FLAG,
        "review_label": _OPTIONAL_TEXT,
        "review_choices": _WORDS,
    },
    "header": {
        "key": _Key(_one_of(*HEADER_KEYS), f"one of {', '.join(HEADER_KEYS)}", required=True),
        "label": _TEXT,
        "source": _Key(_one_of("ledger", "department"), "ledger or department"),
        "choices": _WORDS,
    },
    "funding": {
        "label": _TEXT,
        "row": _Key(_is_table_list, "an array of tables [[funding.row]]", required=True),
    },
    "funding.row": {
        "key": _Key(_one_of(*FUNDING_KEYS), f"one of {', '.join(FUNDING_KEYS)}", required=True),
        "label": _TEXT,
    },
    "goal": {"label": _TEXT, "help": _OPTIONAL_TEXT},
    "indicators": {
        "level1_label": _TEXT,
        "level2_label": _TEXT,
        "name_label": _TEXT,
        "value_label": _OPTIONAL_TEXT,
        "units": _WORDS,
    },
    "weights": {
        "label": _TEXT,
        "total": _Key(_is_positive, "a whole number > 0", required=True),
        "not_applicable": _TEXT,
    },
    "category": {
        "level1": _TEXT,
        "level2": _TEXT,
        "required": _Key(_is_bool, "true or false", required=True),
        "rows": _Key(_is_count, "a whole number ≥ 0", required=True),
        "quantitative": _FLAG,
        "role": _Key(_one_of(*CATEGORY_ROLES), f"one of {', '.join(CATEGORY_ROLES)}"),
        "marker": _OPTIONAL_TEXT,
        "help": _OPTIONAL_TEXT,
        "examples": _WORDS,
    },
}


def _checked(path: Path, table: Mapping[str, Any], spec_name: str, where: str) -> dict[str, Any]:
    """The table with every key known and well-typed, or a ProfileError naming the key."""
    spec = _SCHEMA[spec_name]
    for key, value in table.items():
        if key not in spec:
            raise ProfileError(path, f"{where}{key}", f"unknown key (known: {', '.join(spec)})")
        if not spec[key].check(value):
            raise ProfileError(path, f"{where}{key}", f"must be {spec[key].expected}")
    for key, rule in spec.items():
        if rule.required and key not in table:
            raise ProfileError(path, f"{where}{key}", "missing")
    return dict(table)


def _each(path: Path, tables: list[dict[str, Any]], spec: str, name: str) -> list[dict[str, Any]]:
    return [_checked(path, t, spec, f"{name}[{i + 1}].") for i, t in enumerate(tables)]


# -- building the profile from checked tables ----------------------------------------------


def _header(path: Path, tables: list[dict[str, Any]]) -> tuple[HeaderField, ...]:
    fields = [
        HeaderField(
            key=t["key"],
            label=t["label"],
            source=t.get("source", "ledger"),
            choices=tuple(t.get("choices", ())),
        )
        for t in _each(path, tables, "header", "header")
    ]
    _refuse_duplicates(path, "header", [f.key for f in fields])
    if not any(f.key == "project_name" for f in fields):
        raise ProfileError(path, "header", "must include the project_name field")
    return tuple(fields)


def _funding(path: Path, table: dict[str, Any]) -> tuple[str, tuple[FundingRow, ...]]:
    funding = _checked(path, table, "funding", "funding.")
    rows = [
        FundingRow(key=t["key"], label=t["label"])
        for t in _each(path, funding["row"], "funding.row", "funding.row")
    ]
    _refuse_duplicates(path, "funding.row", [r.key for r in rows])
    if not rows or rows[0].key != "total":
        raise ProfileError(path, "funding.row[1].key", "the first funding row must be total")
    return funding["label"], tuple(rows)


def _categories(path: Path, tables: list[dict[str, Any]]) -> tuple[Category, ...]:
    categories = []
    for i, t in enumerate(_each(path, tables, "category", "category")):
        where = f"category[{i + 1}]"
        if t["required"] and t["rows"] == 0:
            raise ProfileError(path, f"{where}.rows", "a required category needs at least 1 row")
        categories.append(
            Category(
                level1=t["level1"],
                level2=t["level2"],
                required=t["required"],
                rows=t["rows"],
                quantitative=t.get("quantitative", False),
                role=t.get("role"),
                marker=t.get("marker", ""),
                help=t.get("help", ""),
                examples=tuple(t.get("examples", ())),
            )
        )
    if not categories:
        raise ProfileError(path, "category", "at least one category is needed")
    _refuse_duplicates(path, "category", [c.level2 for c in categories])
    _refuse_split_level1(path, categories)
    return tuple(categories)


def _refuse_duplicates(path: Path, where: str, keys: list[str]) -> None:
    seen: set[str] = set()
    for i, key in enumerate(keys):
        if key in seen:
            raise ProfileError(path, f"{where}[{i + 1}]", f"duplicate {key!r}")
        seen.add(key)


def _refuse_split_level1(path: Path, categories: list[Category]) -> None:
    """A 一级 category's rows are merged into one cell, so its 二级 entries must be adjacent."""
    closed: set[str] = set()
    for i, category in enumerate(categories):
        previous = categories[i - 1].level1 if i else None
        if category.level1 != previous:
            if category.level1 in closed:
                raise ProfileError(
                    path, f"category[{i + 1}].level1", f"{category.level1!r} is split by another"
                )
            if previous is not None:
                closed.add(previous)


def _weights(path: Path, table: dict[str, Any] | None) -> Weights | None:
    if table is None:
        return None
    t = _checked(path, table, "weights", "weights.")
    return Weights(label=t["label"], total=Decimal(t["total"]), not_applicable=t["not_applicable"])


def profile_from_data(data: Mapping[str, Any], path: Path) -> FormProfile:
    """Build and check a profile from parsed TOML; `path` names it in error messages."""
    top = _checked(path, data, "", "")
    meta = _checked(path, top["profile"], "profile", "profile.")
    layout = _checked(path, top["layout"], "layout", "layout.")
    goal = _checked(path, top["goal"], "goal", "goal.")
    indicators = _checked(path, top["indicators"], "indicators", "indicators.")
    value_field = layout["value_field"]
    if value_field and not indicators.get("value_label"):
        raise ProfileError(path, "indicators.value_label", "needed when layout.value_field is true")
    funding_label, funding = _funding(path, top["funding"])
    if "accepts" in meta and meta["version"] not in meta["accepts"]:
        raise ProfileError(path, "profile.accepts", "must include the profile's own version")
    return FormProfile(
        name=meta["name"],
        version=meta["version"],
        title=meta["title"],
        description=meta.get("description", ""),
        path=path,
        accepts=tuple(meta.get("accepts", [meta["version"]])),
        header=_header(path, top["header"]),
        funding_label=funding_label,
        funding=funding,
        goal_label=goal["label"],
        goal_help=goal.get("help", ""),
        level1_label=indicators["level1_label"],
        level2_label=indicators["level2_label"],
        name_label=indicators["name_label"],
        value_label=indicators.get("value_label", ""),
        units=tuple(indicators.get("units", ())),
        categories=_categories(path, top["category"]),
        value_field=value_field,
        show_markers=layout.get("show_markers", False),
        review_row=layout.get("review_row", False),
        review_label=layout.get("review_label", "综合评定等级"),
        review_choices=tuple(layout.get("review_choices", ("优", "良", "中", "差"))),
        weights=_weights(path, top.get("weights")),
    )


# -- finding and loading profile files -----------------------------------------------------


def profile_dirs() -> list[Path]:
    """Where shipped profiles live: inside the installed package, or `templates/` in a checkout."""
    dirs = [Path(str(resources.files("xltool") / "templates"))]
    dirs.append(Path(__file__).resolve().parent.parent / "templates")
    return [d for d in dirs if d.is_dir()]


def available_profiles() -> list[str]:
    names = {p.stem for d in profile_dirs() for p in d.glob("*.toml")}
    return sorted(names)


def profile_path(name_or_path: str | Path) -> Path:
    """The file of a shipped profile NAME, or the profile file at a path; UnknownProfile if none.

    A name is looked up among the shipped profiles only: a file that happens to bear the
    name in the working folder (an attachment saved there) never replaces the shipped rules.
    A path is taken as one only when written as one (see `candidate_name`)."""
    if candidate_name(name_or_path) is None:
        candidate = Path(name_or_path)
        if not candidate.is_file():
            raise UnknownProfile(f"profile file not found: {candidate}")
        return candidate
    shipped = shipped_profile_path(str(name_or_path))
    if shipped is None:
        known = ", ".join(available_profiles()) or "none"
        raise UnknownProfile(f"unknown profile {str(name_or_path)!r} (shipped: {known})")
    return shipped


def shipped_profile_path(name: str) -> Path | None:
    return next((path for directory in profile_dirs()
                 if (path := directory / f"{name}.toml").is_file()), None)


def load_profile(name_or_path: str | Path) -> FormProfile:
    """A shipped profile by name (`ningxia-2021`) or any profile file by path."""
    return read_profile(name_or_path)[0]


def read_profile(name_or_path: str | Path) -> tuple[FormProfile, str]:
    """The profile, and the TOML text it was read from: the store keeps that text with each
    template issued with it, so later edits of the file change nothing for them."""
    path = profile_path(name_or_path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ProfileError(path, "(file)", f"cannot be read: {error}") from error
    profile = profile_from_text(text, path=path)
    if candidate_name(name_or_path) not in (profile.name, None):
        raise ProfileError(path, "profile.name",
                           f"is {profile.name!r}, the file name says otherwise")
    return profile, text


def profile_from_text(text: str, *, path: Path) -> FormProfile:
    """Parse and check a profile from its TOML TEXT; PATH names it in error messages."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ProfileError(path, "(syntax)", str(error)) from error
    return profile_from_data(data, path)


def shipped_profile_text(name: str, version: int) -> str | None:
    """The text of the shipped profile NAME when it is VERSION or still accepts it (what this
    release reads returns of that version with); None when no such profile ships."""
    if candidate_name(name) is None or shipped_profile_path(name) is None:
        return None
    try:
        profile, text = read_profile(name)
    except ProfileError:
        return None
    return text if profile.accepts_version(version) else None


def candidate_name(name_or_path: str | Path) -> str | None:
    """The name a shipped profile must declare; a profile given by path may name itself freely.

    A path is one written as a path: with a `/` or `\\` in it, or ending in `.toml`."""
    text = str(name_or_path)
    return None if text.endswith(".toml") or "/" in text or "\\" in text else text
