"""--jobs as Windows runs it: worker processes started fresh ("spawn"), not forked, so all
they are given must travel by pickling and all they use must be found by import."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import SAMPLES

SCRIPT = """
import json, multiprocessing, sys
from pathlib import Path

if __name__ == "__main__":
    multiprocessing.set_start_method("spawn", force=True)
    from xltool.collect import collect
    from xltool.template import issue_templates
    from xltool.template.fill import fill_by_name

    ledger, out = Path(sys.argv[1]), Path(sys.argv[2])
    issued = issue_templates(ledger, out / "templates", store=out / "x.db", jobs=2)
    for workbook in issued.workbooks:  # sent back saved, but not filled in
        fill_by_name(workbook.path, {}, out / "returns" / workbook.path.name)
    run = collect([out / "returns"], store=out / "x.db", jobs=2)
    print(json.dumps({"issued": len(issued.workbooks),
                      "statuses": [f.status for f in run.files],
                      "identified": sum(bool(f.template_id) for f in run.files)}))
"""


def test_jobs_work_with_spawned_workers(tmp_path: Path) -> None:
    script = tmp_path / "spawned.py"
    script.write_text(SCRIPT, encoding="utf-8")
    done = subprocess.run([sys.executable, str(script), str(SAMPLES / "ledger.xlsx"),
                           str(tmp_path / "out")], capture_output=True, text=True, check=False,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["issued"] == 3
    # the unfilled returns are read by the workers and found to be ours, then refused
    assert result["statuses"] == ["rejected"] * 3 and result["identified"] == 3
