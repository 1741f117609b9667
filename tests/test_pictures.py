"""The README's pictures are the ones docs/pictures.py makes: a picture added to the README,
to docs/ or to the script alone cannot be forgotten by the other two. (Making them needs
LibreOffice and takes its time: that is the script's run, not this test's.)"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
IMAGE_LINK = re.compile(r"!\[[^\]]*\]\(docs/([^)/]+)\.png\)")


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("docs_pictures", DOCS / "pictures.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # dataclasses look their module up by name while the module is being made
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_the_script_the_docs_folder_and_the_readme_name_the_same_pictures() -> None:
    made = [picture.name for picture in _script().PICTURES]
    assert len(set(made)) == len(made), made
    in_docs = {png.stem for png in DOCS.glob("*.png")}
    shown = IMAGE_LINK.findall((ROOT / "README.md").read_text(encoding="utf-8"))
    assert set(made) == in_docs, "docs/pictures.py and docs/*.png differ"
    assert set(made) == set(shown), "docs/pictures.py and the README's pictures differ"


def test_the_readme_says_how_the_pictures_are_made() -> None:
    assert "python docs/pictures.py" in (ROOT / "README.md").read_text(encoding="utf-8")
