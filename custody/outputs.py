"""Output files written whole or not at all.

Invariant: ``write_atomically`` writes to a temporary file beside the output, syncs it, renames
it into place and syncs the folder; a failure or a kill leaves no output (at most a ``.NAME.partial-PID``
file, removed on failure), and an existing output is never overwritten halfway.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from custody.durability import fsync_path
from custody.errors import StoreError


def write_atomically(output: Path, write: Callable[[BinaryIO], None], *, what: str) -> None:
    """Write ``output`` through ``write`` (given the open temporary file), then rename it into place.

    Raises:
        StoreError: the file cannot be written (``what`` names it in the message).
    """
    tmp = output.with_name(f".{output.name}.partial-{os.getpid()}")
    try:
        with tmp.open("xb") as out:
            write(out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, output)
        fsync_path(output.parent)
    except OSError as exc:
        raise StoreError(f"cannot write {what} {output}: {exc.strerror or exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)
