"""Where the team's shared data lives (beside the repository, never in it), and the mark that
skips a test, saying why, when it is not there."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# The paper's 413 debates (../shared/data/nyu-debate-2023 from the repository root); NYU_DEBATES
# points elsewhere, e.g. at a copy of the whole published pub/ folder.
SHARED = Path(
    os.environ.get("NYU_DEBATES")
    or Path(__file__).resolve().parents[2] / "shared" / "data" / "nyu-debate-2023"
)

needs_shared = pytest.mark.skipif(
    not (SHARED / "debates").is_dir(),
    reason=f"the NYU debate dataset is not at {SHARED} (see ../shared/data/nyu-debate-2023)",
)
