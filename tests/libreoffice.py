"""LibreOffice as a real client: convert and re-save workbooks with `soffice --headless`."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")


def require_soffice() -> str:
    """In CI LibreOffice is installed by .ci/run, so its absence is a failure there, not a skip."""
    if SOFFICE is None:
        if os.environ.get("CI"):
            pytest.fail("LibreOffice (soffice) is missing: .ci/run must install it")
        pytest.skip("LibreOffice (soffice) is not installed")
    return SOFFICE


def convert(source: Path, target_format: str, outdir: Path, profile_dir: Path) -> Path:
    """`soffice --convert-to`; a private user profile lets conversions run side by side."""
    soffice = require_soffice()
    outdir.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [soffice, f"-env:UserInstallation={profile_dir.resolve().as_uri()}", "--headless",
         "--norestore", "--convert-to", target_format, "--outdir", str(outdir), str(source)],
        capture_output=True, text=True, timeout=180, check=False,
    )
    extension = target_format.split(":")[0]
    result = outdir / f"{source.stem}.{extension}"
    assert done.returncode == 0 and result.is_file(), done.stdout + done.stderr
    return result
