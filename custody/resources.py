"""Locating the data shipped inside the distribution (templates/, sample_cases/)."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from custody.errors import NotFoundError


def _package_dir(package: str) -> Path:
    # Installed as regular files (never zipped), so the traversable is a real folder.
    return Path(str(files(package)))


def templates_dir() -> Path:
    return _package_dir("custody_templates")


def sample_case_dir(name: str) -> Path:
    path = _package_dir("custody_sample_cases") / name
    if not path.is_dir():
        raise NotFoundError(f"no sample case {name!r} shipped with custody ({path})")
    return path
