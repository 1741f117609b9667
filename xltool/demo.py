"""`run_demo`: the whole year on the bundled samples, every output left in one folder.

The samples are three real published target tables transcribed into a ledger
and a targets workbook. The demo plays the year as it goes:

1. the office checks its ledger and issues one template per department,
   prefilled with the departments' targets;
2. the departments send the forms back as they are — the seeds' own mistakes
   included — and collect tells each one what to fix (round 1);
3. two departments correct their forms by cell name, as recorded in
   `samples/data/corrections.csv`, the third sends the same file again (round 2);
4. the office reconciles the returns with the ledger and publishes what was accepted.

With `mail`, round 1 goes by email instead of a folder (`xltool.demo_mail`): the templates
are drafted as messages, the departments answer by mail into a Maildir, `mail fetch`
collects the returns, and the feedback and reminders are drafted as replies.
"""

from __future__ import annotations

import csv
import shutil
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from xltool.collect import CollectRun, collect
from xltool.defaults import DEFAULT_STORE
from xltool.demo_mail import MAILBOX, OUTBOX, MailRound, play_mail_round
from xltool.errors import NotADemoFolder, SamplesMissing
from xltool.ledger import load_ledger
from xltool.mail.fetch import inbox_folder
from xltool.outputs import copies_folder, refuse_clobbering, store_files
from xltool.publish import Publication, publish
from xltool.reconcile import Reconciliation, reconcile
from xltool.template import TemplateRun, issue_templates
from xltool.template.fill import fill_by_name

ISSUER = "示例市财政局"
DEADLINE = "2023年3月31日"
CONTACT = "预算科 0951-0000000"

# Everything the demo writes, and so everything it may clear before running again.
OUTPUTS = ("templates", "returns-1", "feedback-1", "returns-2", "feedback-2",
           *(str(path) for path, _ in store_files(DEFAULT_STORE)),
           "reconcile.xlsx", "disclosure.xlsx", "targets-out.xlsx", "说明.txt",
           OUTBOX, MAILBOX, inbox_folder(Path(DEFAULT_STORE)).name)
# Written first into the folder a demo makes its own: the demo clears and writes only an
# empty folder or one holding this, never an office's working folder that has files of
# the same names (an xltool.db, templates/).
MARKER = ".xltool-demo"
MARKER_TEXT = "本文件夹由 xltool demo 生成；再次运行 xltool demo 会替换其中的示例文件。\n"
# What the demo reads of the samples: none of it may be one of its outputs.
SAMPLES = ("ledger.xlsx", "targets.xlsx", "data/corrections.csv")


@dataclass(frozen=True)
class DemoResult:
    folder: Path
    templates: TemplateRun
    rounds: tuple[CollectRun, CollectRun]
    reconciliation: Reconciliation
    publication: Publication
    files: tuple[tuple[str, str], ...]
    """(path relative to the folder, what it is), in the order they were made."""
    mail: MailRound | None = None
    """Round 1 by email, when the demo was asked to play it."""


def samples_dir() -> Path:
    """The bundled samples: inside the installed package, or `samples/` in a checkout."""
    for folder in (Path(__file__).resolve().parent / "samples",
                   Path(__file__).resolve().parent.parent / "samples"):
        if (folder / "ledger.xlsx").is_file():
            return folder
    raise SamplesMissing("找不到示例数据（samples/ledger.xlsx），请重新安装 xltool")


def run_demo(folder: Path | str = "demo", *, mail: bool = False,
             say: Callable[[str], None] = lambda _: None) -> DemoResult:
    """The year in FOLDER; with MAIL, round 1 by email (drafts and a Maildir, no server)."""
    out = Path(folder)
    samples = samples_dir()
    _claim(out, samples)
    store = out / DEFAULT_STORE
    ledger = load_ledger(samples / "ledger.xlsx")
    say(f"预算台账：{len(ledger.projects)} 个项目，{len(ledger.departments)} 个主管部门")
    templates = issue_templates(samples / "ledger.xlsx", out / "templates", store=store,
                                prefill=samples / "targets.xlsx", issuer=ISSUER,
                                deadline=DEADLINE, contact=CONTACT, password="demo")
    say(f"已下发 {len(templates.workbooks)} 个模板")
    mailed = play_mail_round(store, out, out / "returns-1", out / "feedback-1",
                             say=say) if mail else None
    first = _first_round(templates, store, out, mailed)
    say(_round_line(1, first))
    corrected = _corrected(templates, samples / "data" / "corrections.csv", out / "returns-1",
                           out / "returns-2")
    second = collect([corrected], store=store, feedback=out / "feedback-2")
    say(_round_line(2, second))
    reconciliation = reconcile(ledger, store=store, output=out / "reconcile.xlsx")
    say(f"核对：{len(reconciliation.differences)} 处差异")
    publication = publish(store=store, output=out / "disclosure.xlsx",
                          targets_out=out / "targets-out.xlsx", issuer=ISSUER)
    say(f"公开：{publication.projects} 个项目，缺 {len(publication.missing)} 个")
    files = _describe(out, templates, first, second, reconciliation, publication, mailed)
    _write_guide(out, files)
    return DemoResult(out, templates, (first, second), reconciliation, publication, files,
                      mailed)


def _claim(out: Path, samples: Path) -> None:
    """Make OUT the demo's: refused, untouched, unless it is new, empty or marked as the
    demo's; then marked, and cleared of what an earlier demo wrote there."""
    if out.exists() and not out.is_dir():
        raise NotADemoFolder(out, ())
    entries = sorted(p.name for p in out.iterdir()) if out.is_dir() else []
    if entries and not (out / MARKER).is_file():
        raise NotADemoFolder(out, entries)
    refuse_clobbering(files=[(out / name, "示例输出") for name in OUTPUTS],
                      reads=[(samples / name, "示例数据") for name in SAMPLES])
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text(MARKER_TEXT, encoding="utf-8")
    for name in OUTPUTS:
        path = out / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def _first_round(templates: TemplateRun, store: Path, out: Path,
                 mailed: MailRound | None) -> CollectRun:
    """Round 1's collect run: the one `mail fetch` made, or one over the returns' folder."""
    if mailed is None:
        return collect([_returned_as_issued(templates, out / "returns-1")], store=store,
                       feedback=out / "feedback-1")
    if mailed.fetched.collected is None:  # every department answers: not reached
        raise RuntimeError("the demo's mailbox gave no return")
    return mailed.fetched.collected


def _returned_as_issued(templates: TemplateRun, folder: Path) -> Path:
    """Round 1: every department sends its prefilled form back unchanged — opened and saved
    again, as a department does, so not the very bytes that were sent out."""
    folder.mkdir()
    for workbook in templates.workbooks:
        fill_by_name(workbook.path, {}, folder / workbook.path.name)
    return folder


def _corrected(templates: TemplateRun, corrections: Path, first: Path, folder: Path) -> Path:
    """Round 2: the departments that read their feedback fix the cells it named; the others
    send their round-1 file (in FIRST) again."""
    folder.mkdir()
    fixes: dict[str, dict[str, str]] = defaultdict(dict)
    with corrections.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            fixes[row["主管部门编码"]][row["单元格名称"]] = row["内容"]
    for workbook in templates.workbooks:
        target = folder / workbook.path.name
        if workbook.department_code in fixes:
            fill_by_name(workbook.path, fixes[workbook.department_code], target)
        else:
            shutil.copyfile(first / workbook.path.name, target)
    return folder


def _round_line(number: int, run: CollectRun) -> str:
    summary = run.summary()
    return (f"第{number}轮收取：{summary['files']} 个文件，接受 {summary['accepted']}，"
            f"退回 {summary['rejected']}，重复 {summary['duplicate']}")


def _describe(out: Path, templates: TemplateRun, first: CollectRun, second: CollectRun,
              reconciliation: Reconciliation, publication: Publication,
              mailed: MailRound | None) -> tuple[tuple[str, str], ...]:
    files = [(f"templates/{w.path.name}",
              f"下发给{w.department}的模板（{w.projects} 个项目，已预填）")
             for w in templates.workbooks]
    files.append((DEFAULT_STORE, "存储：下发记录、收到的文件、检查结果和已接受的目标，"
                  "以及收发的每封邮件" if mailed else
                  "存储：下发记录、收到的文件、检查结果和已接受的目标"))
    files.append((f"{copies_folder(Path(DEFAULT_STORE)).name}/",
                  "存储保存的每个收到文件的副本（按内容的哈希命名），请与存储一起保留"))
    if mailed is not None:
        files += _mail_files(out, mailed)
    for number, run in ((1, first), (2, second)):
        files.append((f"returns-{number}/", "第1轮各部门从模板邮件中取出、原样发回的文件"
                      if mailed and number == 1 else f"第{number}轮各部门报送的文件"))
        files += [(f"feedback-{number}/{p.name}",
                   "反馈表" if "反馈表" in p.name else "收取情况汇总") for p in run.feedback]
    differences = len(reconciliation.differences)
    files.append(("reconcile.xlsx", f"与预算台账的核对报告（{differences} 处差异）"))
    files.append(("disclosure.xlsx", f"公开用的绩效目标汇总表（{publication.projects} 个项目）"))
    files.append(("targets-out.xlsx", "已接受的绩效目标（可用于明年模板预填 --prefill）"))
    files += _store_leftovers(out)
    files.append((MARKER, "标记本文件夹为示例输出：再次运行 xltool demo 只替换这里的示例文件"))
    files.append(("说明.txt", "本说明"))
    return tuple(files)


_DRAFTS = {"template": "发给{}的模板邮件草稿（附模板）",
           "feedback": "给{}的反馈邮件草稿：回复其报送邮件，附反馈表",
           "reminder": "给{}的催报邮件草稿：尚无被接受的报送"}


def _mail_files(out: Path, mailed: MailRound) -> list[tuple[str, str]]:
    """Round 1's mail: the drafts, the departments' answers, the workbooks taken out."""
    files = [(f"{OUTBOX}/", "草稿箱：财政部门要发出的邮件（.eml，可用邮件客户端打开后发送）")]
    for run in (mailed.templates, mailed.feedback, mailed.reminders):
        files += [(_relative(out, Path(d.response)), _DRAFTS[run.kind].format(d.department))
                  for d in run.deliveries if d.outcome == "drafted"]
    files.append((f"{MAILBOX}/", "演示用的收件箱（Maildir：new/ 中每个文件是一封邮件），"
                  "xltool mail fetch 从这里收取"))
    files += [(_relative(out, a.path), f"{a.department}的回复邮件（{a.client}）")
              for a in mailed.answers]
    inbox = inbox_folder(out / DEFAULT_STORE)
    files.append((f"{inbox.name}/", "mail fetch 从邮件中取出的报送文件"))
    files += [(_relative(out, f.path), f"从 {f.message.sender} 的邮件中取出的报送文件"
               + (f"（在{f.within}中）" if f.within else "")) for f in mailed.fetched.files]
    return files


def _relative(out: Path, path: Path) -> str:
    return path.relative_to(out).as_posix()


# What SQLite and the store's lock leave beside the store, said for a clerk who finds them.
_LEFTOVERS = {
    ".lock": "存储的锁文件：防止两个 xltool 同时写入存储；可以保留，也可在没有 xltool 运行时删除",
    "-wal": "存储的日志文件（SQLite），与存储一起保留",
    "-shm": "存储的日志索引文件（SQLite），与存储一起保留",
    "-journal": "存储的回滚日志文件（SQLite），与存储一起保留",
}


def _store_leftovers(out: Path) -> list[tuple[str, str]]:
    """The files the store left beside it in OUT that the demo did not write itself: the guide
    lists every file the folder holds, so none of them puzzles the reader."""
    return [(DEFAULT_STORE + suffix, what) for suffix, what in _LEFTOVERS.items()
            if (out / (DEFAULT_STORE + suffix)).exists()]


def _write_guide(out: Path, files: tuple[tuple[str, str], ...]) -> None:
    lines = ["xltool 示例：用三份公开的绩效目标表走完一年的流程。", ""]
    if any(path.startswith(f"{OUTBOX}/") for path, _ in files):
        lines[1:1] = ["第1轮通过邮件往来：不连接邮件服务器，发出的邮件存为草稿（outbox/），"
                      "各部门的回复投递到演示用的收件箱（mailbox/）。"]
    lines += [f"{path}\t{what}" for path, what in files]
    (out / "说明.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
