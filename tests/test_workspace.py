"""Workspace creation and discovery."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from custody.errors import FormatError, PolicyError, WorkspaceNotFoundError
from custody.workspace import Workspace, find_workspace_root
from tests.conftest import passphrase_callback


def test_init_creates_the_layout(tmp_path: Path) -> None:
    with Workspace.init(tmp_path / "ws", passphrase_callback=passphrase_callback) as ws:
        assert (ws.custody_dir / "config.json").is_file()
        assert (ws.custody_dir / "custody.db").is_file()
        assert (ws.custody_dir / "blobs" / "sha256").is_dir()
        assert ws.keys_dir.stat().st_mode & 0o077 == 0
        config = json.loads(ws.config_path.read_text())
        assert config["format"] == "custody-workspace"
        assert config["default_actor"] is None


def test_init_refuses_an_existing_workspace(tmp_path: Path) -> None:
    Workspace.init(tmp_path, passphrase_callback=passphrase_callback).close()
    with pytest.raises(PolicyError, match="already holds a custody workspace"):
        Workspace.init(tmp_path, passphrase_callback=passphrase_callback)


def test_found_from_a_subfolder_like_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CUSTODY_WORKSPACE", raising=False)
    Workspace.init(tmp_path, passphrase_callback=passphrase_callback).close()
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    assert find_workspace_root(deep) == tmp_path.resolve()
    monkeypatch.chdir(deep)
    with Workspace.open() as ws:
        assert ws.root == tmp_path.resolve()


def test_environment_variable_names_the_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    Workspace.init(tmp_path / "ws", passphrase_callback=passphrase_callback).close()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CUSTODY_WORKSPACE", str(tmp_path / "ws"))
    assert find_workspace_root() == (tmp_path / "ws").resolve()
    monkeypatch.setenv("CUSTODY_WORKSPACE", str(tmp_path))
    with pytest.raises(WorkspaceNotFoundError, match="is not a custody workspace"):
        find_workspace_root()


def test_no_workspace_anywhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CUSTODY_WORKSPACE", raising=False)
    with pytest.raises(WorkspaceNotFoundError, match="no custody workspace"):
        find_workspace_root(tmp_path)


def test_malformed_config_is_a_format_error(tmp_path: Path) -> None:
    Workspace.init(tmp_path, passphrase_callback=passphrase_callback).close()
    (tmp_path / ".custody" / "config.json").write_text("{not json")
    with pytest.raises(FormatError, match=r"config\.json is not valid JSON"):
        Workspace.open(tmp_path)


def test_init_without_a_passphrase_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CUSTODY_PASSPHRASE", raising=False)
    with pytest.raises(PolicyError, match="a passphrase is needed"):
        Workspace.init(tmp_path / "ws")
    assert not (tmp_path / "ws" / ".custody").exists()
