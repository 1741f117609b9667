"""PDF through LibreOffice: `soffice --headless --convert-to pdf`, when it is installed.

Each conversion gets a private user profile in a temporary folder, so it never
touches (or waits for) the user's running LibreOffice, and runs in its own
process group with a timeout, so a hung soffice is ended with all its children.
The PDF is produced in the temporary folder and moved into place complete.
Without a Chinese font LibreOffice draws every Chinese character as an empty box
and still reports success, so a PDF is refused up front where no such font is
found (`require_cjk_font`).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from xltool.errors import PdfFailed, PdfUnavailable

TIMEOUT = 300.0
FONT_TIMEOUT = 30.0  # fc-list may first have to build fontconfig's cache
INSTALL_HINT = ("安装 LibreOffice 后重试（Windows：从 libreoffice.org 下载安装；Debian/Ubuntu："
                "apt-get install -y libreoffice-calc-nogui），或去掉 --pdf 只生成工作簿")
FONT_HINT = ("安装中文字体后重试（Debian/Ubuntu：apt-get install -y fonts-noto-cjk，"
             "或 apt-get install -y fonts-wqy-zenhei），或去掉 --pdf 只生成工作簿")


def find_soffice() -> str | None:
    """soffice on the PATH, or where LibreOffice's installers put it (on Windows and macOS
    it is not put on the PATH)."""
    found = shutil.which("soffice") or shutil.which("libreoffice")
    if found:
        return found
    return next((str(place) for place in _install_places() if place.is_file()), None)


def _install_places() -> list[Path]:
    places = [Path(os.environ[variable]) / "LibreOffice" / "program" / "soffice.exe"
              for variable in ("ProgramFiles", "ProgramW6432", "ProgramFiles(x86)")
              if os.environ.get(variable)]
    return [*places, Path("/Applications/LibreOffice.app/Contents/MacOS/soffice")]


def require_soffice() -> str:
    soffice = find_soffice()
    if soffice is None:
        raise PdfUnavailable(f"未找到 LibreOffice（soffice），无法生成 PDF：{INSTALL_HINT}")
    return soffice


def require_cjk_font(timeout: float = FONT_TIMEOUT) -> None:
    """Refuse when fontconfig, which LibreOffice uses for fonts, lists no Chinese font.

    Windows and macOS always ship a Chinese font, so they are not checked. Nothing is
    refused either where the check cannot be made: fc-list is absent, fails or hangs.
    """
    if _fc_list_finds_no_chinese(timeout):
        raise PdfUnavailable("未找到中文字体，LibreOffice 生成的 PDF 中的中文会显示为空白方框："
                             f"{FONT_HINT}")


def _fc_list_finds_no_chinese(timeout: float) -> bool:
    fc_list = shutil.which("fc-list")
    if sys.platform in ("win32", "darwin") or fc_list is None:
        return False
    try:
        done = subprocess.run([fc_list, ":lang=zh", "family"], stdin=subprocess.DEVNULL,
                              capture_output=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    # fc-list exits 0 when nothing matches: only an empty answer means no font
    return done.returncode == 0 and not done.stdout.strip()


def convert_to_pdf(source: Path, target: Path, *, soffice: str,
                   timeout: float = TIMEOUT) -> Path:
    """Convert SOURCE (an .xlsx) to the PDF TARGET."""
    with tempfile.TemporaryDirectory(prefix="xltool-pdf-", ignore_cleanup_errors=True) as tmp:
        folder = Path(tmp)
        command = [soffice, f"-env:UserInstallation={(folder / 'profile').as_uri()}",
                   "--headless", "--norestore", "--nolockcheck", "--convert-to", "pdf",
                   "--outdir", str(folder / "out"), str(source)]
        output = _run(command, timeout)
        produced = folder / "out" / f"{source.stem}.pdf"
        if not produced.is_file():
            raise PdfFailed(f"LibreOffice 未能把 {source.name} 转成 PDF：{output.strip()[-500:]}")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(produced, target)
    return target


def _run(command: list[str], timeout: float) -> str:
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired as error:
        _end_group(process)
        raise PdfFailed(f"LibreOffice 转换 PDF 超过 {timeout:.0f} 秒未完成，已终止") from error
    return output or ""


def _end_group(process: subprocess.Popen[str]) -> None:
    """soffice starts soffice.bin as a child: end the whole group it was started in."""
    if os.name == "nt":  # pragma: no cover - no process groups there: end the tree
        subprocess.run(["taskkill", "/F", "/T", "/PID", str(process.pid)],
                       capture_output=True, check=False)
        process.communicate(timeout=10)
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
            process.communicate(timeout=10)
            return
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            continue
