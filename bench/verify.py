"""Benchmark: offline bundle verification against ``sha256sum -c`` (DESIGN.md, "Performance
budgets": ``custody verify`` of a 10,000-artifact bundle of about 1 GB takes no longer than
``sha256sum -c`` on the same bag's manifest, while also checking every signature and the log).

A synthetic case of ``--artifacts`` artifacts (10,000) and about ``--gib`` GiB (1) is recorded in a
fresh workspace, in mixed sizes like real captures: 40% screenshots (incompressible, ~200 KiB),
40% web pages (text, ~40 KiB), 20% transcripts (~5 KiB). It is exported with ``custody bundle``
and unzipped; then, side by side, interleaved, best of ``--repeat`` (3):

- ``sha256sum -c manifest-sha256.txt`` in the unzipped bag (the floor: hashing alone);
- ``custody verify BUNDLE.zip`` (reads the zip in place: every file hashed, every entry's
  signature, the checkpoint, the Merkle root, continuity, exhibits);
- ``custody verify BAG_DIR`` (the same checks on the unzipped folder).

All files are read once before timing, so every run reads from the page cache. Data lives in a
temporary folder under ``bench/out/`` (removed unless ``--keep``). Not a test:

    .venv/bin/python bench/verify.py [--artifacts 10000] [--gib 1] [--repeat 3]

Exit status: 0 if ``custody verify`` of the zip is no slower than ``sha256sum -c``, else 1.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from machine import load_average, machine_facts

from custody.actors import create_key
from custody.cases import open_case
from custody.ledger import ledger_writer, unlock_actor
from custody.models import HIL, ArtifactRole, HILFunction, HumanInvolvement, Origin, Provenance, ToolRef
from custody.recording import ArtifactRecord, append_artifact_records
from custody.tools import ensure_tool_in_case, register_tool
from custody.workspace import PASSPHRASE_ENV, Workspace

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "bench" / "out"
CLI = Path(sys.executable).with_name("custody")
PASSPHRASE = "bench-only-passphrase"  # a throwaway key in a temporary workspace
CASE_ID = "BENCH-VERIFY"
BATCH = 1000
KINDS = (  # (share, name, media type, mean size in bytes, incompressible)
    (0.4, "screenshot.png", "image/png", 200 * 1024, True),
    (0.4, "page.html", "text/html", 40 * 1024, False),
    (0.2, "conversation.jsonl", "application/jsonl", 5 * 1024, False),
)
TEXT = b"the quick brown fox jumps over the lazy dog; ad 4821, call after six, no withheld numbers\n"


def artifact_bytes(index: int, rng: random.Random, scale: float) -> tuple[str, str, bytes]:
    roll = rng.random()
    kind = KINDS[-1]
    for candidate in KINDS:
        roll -= candidate[0]
        if roll <= 0:
            kind = candidate
            break
    _, name, media, mean, random_bytes = kind
    size = max(64, int(rng.uniform(0.5, 1.5) * mean * scale))
    stem = f"{index:05d}-{name}"
    if random_bytes:
        return stem, media, rng.randbytes(size)
    header = f"artifact {index}\n".encode()
    return stem, media, (header + TEXT * (size // len(TEXT) + 1))[:size]


def build_case(root: Path, artifacts: int, target_bytes: int, rng: random.Random) -> int:
    """Record ``artifacts`` synthetic artifacts of about ``target_bytes`` in all; returns bytes."""
    mean = sum(share * size for share, _, _, size, _ in KINDS)
    scale = target_bytes / (artifacts * mean)
    total = 0
    with Workspace.init(root, passphrase_callback=lambda _what: PASSPHRASE) as ws:
        create_key(ws, "bench", "custodian")
        open_case(ws, CASE_ID, title="Verify benchmark", jurisdictions=["UK"], authority="BENCH/VERIFY")
        tool = register_tool(ws, REPO / "templates" / "toolcards" / "scraper.yaml").tool
        actor, signer = unlock_actor(ws, "bench")
        hil = HumanInvolvement(HIL.HIL0_MANUAL, HILFunction.ACQUIRE)
        ref = ToolRef(tool.name, tool.version, tool.card_digest)
        for first in range(0, artifacts, BATCH):
            records = []
            with ws.store.batch() as blobs:
                for index in range(first, min(first + BATCH, artifacts)):
                    name, media, data = artifact_bytes(index, rng, scale)
                    stored = ws.store.put_bytes(data)
                    total += stored.size
                    provenance = Provenance(
                        digest=stored.digest,
                        size=stored.size,
                        media_type=media,
                        name=name,
                        origin=Origin.CAPTURED,
                        role=ArtifactRole.ORIGINAL,
                        hil=hil,
                        tool=ref,
                        operator="bench",
                    )
                    records.append(ArtifactRecord(provenance, tool))
                with ledger_writer(ws, CASE_ID, actor, signer) as writer:
                    ensure_tool_in_case(writer, tool)
                    append_artifact_records(writer, records)
                    blobs.flush()
            print(
                f"  recorded {min(first + BATCH, artifacts):>6,} artifacts, {total / 2**20:,.0f} MiB",
                flush=True,
            )
    return total


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        output = result.stdout[-2000:] + result.stderr[-2000:]
        raise SystemExit(f"{' '.join(command)} failed ({result.returncode}):\n{output}")
    return elapsed


def warm(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            with path.open("rb") as stream:
                while stream.read(1 << 20):
                    pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--artifacts", type=int, default=10_000)
    parser.add_argument("--gib", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    OUT.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="verify-", dir=OUT))
    print("custody verify benchmark")
    for label, value in machine_facts(tmp):
        print(f"  {label:<13} {value}")
    env = {**os.environ, PASSPHRASE_ENV: PASSPHRASE}
    try:
        started = time.perf_counter()
        total = build_case(tmp / "ws", args.artifacts, int(args.gib * 2**30), random.Random(20261129))
        print(f"  case built in {time.perf_counter() - started:.1f} s")
        bundle = tmp / "bundle.zip"
        seconds = timed([str(CLI), "bundle", CASE_ID, "-o", str(bundle)], tmp / "ws", env)
        print(f"  custody bundle: {seconds:.1f} s, {bundle.stat().st_size / 2**20:,.0f} MiB zip")
        with zipfile.ZipFile(bundle) as archive:
            archive.extractall(tmp / "bag")
        (bag,) = (tmp / "bag").iterdir()
        warm(bag)
        warm(bundle.parent)
        runs: dict[str, list[float]] = {
            "sha256sum -c": [],
            "custody verify ZIP": [],
            "custody verify DIR": [],
        }
        for attempt in range(max(1, args.repeat)):
            runs["sha256sum -c"].append(
                timed(["sha256sum", "--quiet", "-c", "manifest-sha256.txt"], bag, env)
            )
            runs["custody verify ZIP"].append(timed([str(CLI), "verify", str(bundle)], tmp, env))
            runs["custody verify DIR"].append(timed([str(CLI), "verify", str(bag)], tmp, env))
            print(
                f"  round {attempt + 1}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in runs.items()),
                flush=True,
            )
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)

    floor = min(runs["sha256sum -c"])
    print()
    print(f"{args.artifacts:,} artifacts, {total / 2**30:.2f} GiB")
    print(f"{'measurement':<22} {'best':>8} {'x sha256sum':>12}  budget")
    failed = False
    for name, values in runs.items():
        ratio = min(values) / floor
        verdict = "" if name == "sha256sum -c" else ("PASS" if ratio <= 1.0 else "FAIL")
        failed |= name == "custody verify ZIP" and ratio > 1.0
        print(f"{name:<22} {min(values):>7.2f}s {ratio:>12.2f}  {verdict}")
    print(f"load average at the end: {load_average()}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
