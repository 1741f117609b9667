"""The README's tables of codes are generated from the catalogue (xltool/codes.py) by cog:
they cannot drift from what xltool reports."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from xltool.codes import Section, markdown

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"


def test_the_readme_is_what_cog_writes_from_the_catalogue() -> None:
    done = subprocess.run([sys.executable, "-m", "cogapp", "--check", "--diff", str(README)],
                          cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, (
        f"README.md differs from xltool/codes.py: run `cog -r README.md`\n{done.stdout}"
        f"{done.stderr}")


@pytest.mark.parametrize("section", list(Section))
def test_every_table_of_codes_is_in_the_readme(section: Section) -> None:
    generated = f'cog.out(markdown("{section.value}")) ]]] -->\n{markdown(section)}<!-- [[[end'
    assert generated in README.read_text(encoding="utf-8")
