"""Where recordings live: a data directory outside the source tree, unguessable names.

A recording's id is `uuid4().hex` (32 lowercase hex digits), made here and never taken
from a user; the file is `<directory>/<id>.mp4`. `recording_path` is what a download or
delete handler uses to turn an id (from the database or a URL) back into a path: it accepts
only the exact id shape, so `../`, slashes, NUL bytes or absolute paths can never reach the
file system, and it checks the result is still inside the directory.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path

SUFFIX = ".mp4"
_ID = re.compile(r"[0-9a-f]{32}")
SOURCE_ROOT = Path(__file__).resolve().parent.parent


class StorageError(ValueError):
    """A refused directory or recording id."""


def data_directory(directory: str | Path) -> Path:
    """Resolve and create the recordings directory (mode 0700); refuse the source tree."""
    path = Path(directory).expanduser().resolve()
    if path == SOURCE_ROOT or SOURCE_ROOT in path.parents:
        raise StorageError(f"recordings must not be stored inside the source tree: {path}")
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def new_recording_id() -> str:
    return uuid.uuid4().hex


def is_recording_id(value: object) -> bool:
    return isinstance(value, str) and _ID.fullmatch(value) is not None


def recording_path(directory: Path, recording_id: str) -> Path:
    """The file of `recording_id` inside `directory` (which `data_directory` resolved)."""
    if not is_recording_id(recording_id):
        raise StorageError("not a recording id")
    path = directory / f"{recording_id}{SUFFIX}"
    if path.parent != directory:  # cannot happen with the id shape above; kept as a guard
        raise StorageError("recording path escapes its directory")
    return path
