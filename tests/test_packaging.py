"""``pip install .`` (not editable) gives a working ``custody`` with its templates and sample cases.

Offline: the wheel is built without build isolation and installed without dependencies into a
fresh venv; the dependencies come from this test environment's site-packages via PYTHONPATH
(which does not carry this checkout's editable install).
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow


def _run(args: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, check=False, timeout=300, **kwargs)  # type: ignore[call-overload]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    build = tmp_path_factory.mktemp("build")
    # Build from a copy so no build/ or egg-info lands in the checkout.
    result = _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(out),
            str(REPO),
        ],
        env={**os.environ, "TMPDIR": str(build)},
    )
    assert result.returncode == 0, result.stderr
    (found,) = out.glob("custody-*.whl")
    return found


def test_wheel_contains_the_cli_package_and_data(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert "custody_cli/main.py" in names
    assert not any(name.startswith("cli/") for name in names), "cli must not install as a bare 'cli' module"
    assert "custody_templates/toolcards/decoy-chatbot.yaml" in names
    assert "custody_templates/toolcards/decoy-chatbot/system-prompt.txt" in names
    assert "custody_sample_cases/op-lantern/conversations/conv-0001.jsonl" in names
    assert "custody_templates/terms/payment.yaml" in names
    assert not any("/tests/" in name or name.startswith("tests/") for name in names)


def test_installed_wheel_runs_help_and_demo(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    assert _run([sys.executable, "-m", "venv", "--without-pip", str(venv)]).returncode == 0
    purelib = sysconfig.get_paths()["purelib"]
    install = _run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(venv / "bin" / "python"),
            "install",
            "--no-deps",
            "--no-index",
            str(wheel),
        ]
    )
    assert install.returncode == 0, install.stderr
    env = {k: v for k, v in os.environ.items() if not k.startswith("CUSTODY_")}
    env["PYTHONPATH"] = purelib
    custody = str(venv / "bin" / "custody")
    help_text = _run([custody, "--help"], cwd=tmp_path, env=env)
    assert help_text.returncode == 0, help_text.stderr
    assert "record" in help_text.stdout
    where = _run(
        [str(venv / "bin" / "python"), "-c", "import custody; print(custody.__file__)"], cwd=tmp_path, env=env
    )
    assert str(venv) in where.stdout, "the test must exercise the installed wheel, not the checkout"
    demo = _run([custody, "demo", "--out", str(tmp_path / "demo")], cwd=tmp_path, env=env)
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "[FAIL]" not in demo.stdout
    assert (tmp_path / "demo" / "workspace" / ".custody" / "custody.db").is_file()
