"""Write a random development SECRET_KEY to the data directory once.

Run by ``make run`` before Django starts. The key file lives in SOLARMON_DATA_DIR, outside
git, and is never overwritten, so sessions survive restarts.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def ensure_dev_key(data_dir: Path) -> Path:
    """Create ``data_dir/secret_key`` with a random key unless it exists; return its path."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "secret_key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(50))
    return path


if __name__ == "__main__":
    base = Path(__file__).resolve().parent.parent
    print(ensure_dev_key(Path(os.environ.get("SOLARMON_DATA_DIR", base / "var")).resolve()))
