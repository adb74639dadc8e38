"""Where the public reference data (DSN corpus, webhook samples) lives: read in place, never copied."""

import os
from pathlib import Path

_REPO_ROOT = Path(__file__).resolve().parents[3]


def shared_dir() -> Path:
    """The shared reference folder, from ``SEEVEE_SHARED_DIR`` or the sibling ``../shared`` of the repo."""
    configured = os.environ.get("SEEVEE_SHARED_DIR")
    return Path(configured) if configured else _REPO_ROOT.parent / "shared"
