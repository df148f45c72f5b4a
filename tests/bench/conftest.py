"""``bench/`` is a top-level directory of the repository, not part of the installed package: make it
importable however pytest is started (``python -m pytest`` adds the cwd, ``.venv/bin/pytest`` does not)."""

import sys
from pathlib import Path

REPO_ROOT = str(Path(__file__).resolve().parents[2])
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)
