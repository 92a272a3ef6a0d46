"""A folder of signed checkpoints, meant to be copied to write-once storage.

Each checkpoint is one JSON file, written whole (to a temporary name, then renamed) and made
read-only; names sort by log position, so the latest is the last.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from application.audit import Checkpoint

log = logging.getLogger("mediation.integrity")


class CheckpointFolder:
    """The folder where checkpoints are written, and read back from."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._cached: tuple[str, float, Checkpoint] | None = None

    def write(self, checkpoint: Checkpoint) -> str:
        self.path.mkdir(parents=True, exist_ok=True)
        name = (
            f"checkpoint-{checkpoint.log_position:012d}-"
            f"{checkpoint.created_at:%Y%m%dT%H%M%S%fZ}.json"
        )
        target = self.path / name
        temporary = self.path / f".{name}.partial"
        temporary.write_text(json.dumps(checkpoint.to_json(), indent=1, sort_keys=True) + "\n")
        os.chmod(temporary, 0o444)
        temporary.rename(target)
        return str(target)

    def latest(self) -> Checkpoint | None:
        """The newest checkpoint in the folder, or None; re-read only when a newer one lands."""
        if not self.path.is_dir():
            return None
        names = sorted(p.name for p in self.path.glob("checkpoint-*.json"))
        if not names:
            return None
        newest = self.path / names[-1]
        stamp = newest.stat().st_mtime
        if self._cached and self._cached[:2] == (newest.name, stamp):
            return self._cached[2]
        checkpoint = read_checkpoint(newest)
        self._cached = (newest.name, stamp, checkpoint)
        return checkpoint


def read_checkpoint(path: Path) -> Checkpoint:
    try:
        return Checkpoint.from_json(json.loads(path.read_text()))
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ValueError(f"{path} is not a readable checkpoint ({error})") from None
