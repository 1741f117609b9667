"""The collect stage: every return read back, checked, kept, and each department told.

- `run`: the orchestrator, `collect()`: files in, outcomes and the store's records out;
  `examine_again()`: a few rejected files examined again from their kept copies;
- `inputs`: what the paths given yield: files named, and the spreadsheets in folders (the
  rest listed with its reason);
- `outcome`: what became of one file (`FileOutcome`, `Status`);
- `reader`: a workbook opened within limits, its structure read and its values on demand;
- `archive`: the zip guard — what a file is from its bytes, each part inflated within limits;
- `scans`: the regular-expression scans over raw parts, and what the value reader will build;
- `cells`: a cell's address as a position, and its value as a clerk sees it;
- `returns`: a workbook read by the store's record of its template;
- `rules`: the profile's checks of what a department wrote;
- `keep`: every received file's copy, kept beside the store under its hash;
- `feedback`: the workbooks that tell each department what to fix;
- `chain`: a department's submission chain (`history`), and the office putting an earlier
  return back in force (`reinstate`);
- `verify`: every kept copy checked against its hash.
"""

from xltool.collect.outcome import FileOutcome
from xltool.collect.run import CollectRun, collect, examine_again
from xltool.errors import NoInput
from xltool.store import Status

__all__ = ["CollectRun", "FileOutcome", "NoInput", "Status", "collect", "examine_again"]
