"""The collect stage: every return read back, checked, kept, and each department told.

- `run`: the orchestrator, `collect()`: files in, outcomes and the store's records out;
- `outcome`: what became of one file (`FileOutcome`, `Status`);
- `reader`: what a file is and what it holds, within limits (the zip guard, the XML
  scans, the cell values);
- `returns`: a workbook read by the store's record of its template;
- `rules`: the profile's checks of what a department wrote;
- `keep`: every received file's copy, kept beside the store under its hash;
- `feedback`: the workbooks that tell each department what to fix.
"""

from xltool.collect.outcome import FileOutcome, Status
from xltool.collect.run import CollectRun, collect
from xltool.errors import NoInput

__all__ = ["CollectRun", "FileOutcome", "NoInput", "Status", "collect"]
