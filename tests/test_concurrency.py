"""Several processes recording into one case at once get one dense, valid log.

(The full 8 x 200 stress test belongs with the Merkle ledger; this one guards the per-case
serialisation that the foundation already promises.)
"""

from __future__ import annotations

import os
import subprocess
import sys

from custody.caselog import list_entries, verify_case_log
from custody.workspace import Workspace
from tests.conftest import PASSPHRASE, REPO

WRITER = """
import sys
from pathlib import Path
from custody.recording import record_files
from custody.workspace import Workspace

root, worker, count = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
with Workspace.open(root) as ws:
    for i in range(count):
        f = root.parent / f"w{worker}-{i}.txt"
        f.write_text(f"worker {worker} item {i}")
        record_files(ws, "OP-TEST", [f], tool_spec="adscraper")
"""

WORKERS = 4
PER_WORKER = 10


def test_parallel_writers_give_one_linear_log(case_workspace: Workspace) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CUSTODY_")}
    env["CUSTODY_PASSPHRASE"] = PASSPHRASE
    if not case_workspace.database_url.startswith("sqlite"):
        env["CUSTODY_DATABASE_URL"] = case_workspace.database_url
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(case_workspace.root), str(w), str(PER_WORKER)],
            env=env,
            cwd=REPO,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(WORKERS)
    ]
    for process in processes:
        _, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
    entries = list_entries(case_workspace, "OP-TEST")
    recorded = [e for e in entries if e.event_type == "artifact.recorded"]
    assert len(recorded) == WORKERS * PER_WORKER
    assert [e.sequence for e in entries] == list(range(len(entries)))
    assert sum(e.event_type == "tool.registered" for e in entries) == 1
    report = verify_case_log(case_workspace, "OP-TEST")
    assert report.ok, report.to_dict()
