"""Benchmark: the PDF dossier of a 1,000-exhibit case (DESIGN.md, "Performance budgets": a
1,000-exhibit dossier renders in under 30 s with bounded memory).

A synthetic case is recorded in a fresh workspace: ``--captures`` (800) web captures and
screenshots of mixed sizes (as ``bench/verify.py`` makes them, about ``--mib`` MiB in all) and
``--conversations`` (100) decoy conversations imported with their assisted analyses (two exhibits
each: 1,000 exhibits by default). It is exported with ``custody bundle`` (which renders the
dossier into the bundle), then, best of ``--repeat`` (2):

- ``custody dossier BUNDLE.zip`` as a subprocess: verification of the whole bundle, then the
  dossier; wall time and the peak resident memory of the process;
- the model and the renderer in-process (``build_dossier_model`` + ``render_dossier``) on the
  verified bag, and their peak Python heap (tracemalloc, in a separate untimed run).

Not a test:

    .venv/bin/python bench/dossier.py [--captures 800] [--conversations 100] [--mib 100]

Exit status: 0 if the dossier renders within 30 s, else 1.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from machine import load_average, machine_facts
from verify import CASE_ID, PASSPHRASE, build_case

from custody.bag import PAYLOAD_MANIFEST
from custody.bundle_verify import open_bag
from custody.dossier_model import build_dossier_model
from custody.dossier_render import render_dossier
from custody.importers.chat import import_chat
from custody.tools import register_tool
from custody.workspace import PASSPHRASE_ENV, Workspace

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "bench" / "out"
CLI = Path(sys.executable).with_name("custody")
BUDGET_SECONDS = 30.0
SAMPLES = REPO / "sample_cases" / "op-lantern" / "conversations"


def add_conversations(root: Path, count: int, folder: Path) -> None:
    """``count`` decoy conversations (the sample ones, each under a new conversation id)."""
    folder.mkdir()
    samples = sorted(SAMPLES.glob("conv-*.jsonl"))
    for index in range(count):
        lines = samples[index % len(samples)].read_text(encoding="utf-8").splitlines()
        header = json.loads(lines[0])
        header["conversation_id"] = f"bench-{index:05d}"
        lines[0] = json.dumps(header, separators=(",", ":"))
        (folder / f"bench-{index:05d}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with Workspace.open(root, passphrase_callback=lambda _what: PASSPHRASE) as ws:
        register_tool(ws, REPO / "templates" / "toolcards" / "decoy-chatbot.yaml")
        import_chat(ws, CASE_ID, folder, actor_name="bench")


def in_process(bundle: Path) -> tuple[float, int, int]:
    """(seconds, exhibits, pages) for the model and the renderer on the bag."""
    started = time.perf_counter()
    with open_bag(bundle) as bag:
        model = build_dossier_model(bag, payload_manifest=bag.read(PAYLOAD_MANIFEST))
    pdf = render_dossier(model)
    seconds = time.perf_counter() - started
    return seconds, len(model.exhibits), pdf.count(b"/Type /Page\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--captures", type=int, default=800)
    parser.add_argument("--conversations", type=int, default=100)
    parser.add_argument("--mib", type=float, default=100.0)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    OUT.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="dossier-", dir=OUT))
    print("custody dossier benchmark")
    for label, value in machine_facts(tmp):
        print(f"  {label:<13} {value}")
    env = {**os.environ, PASSPHRASE_ENV: PASSPHRASE}
    try:
        started = time.perf_counter()
        build_case(tmp / "ws", args.captures, int(args.mib * 2**20), random.Random(20261130))
        add_conversations(tmp / "ws", args.conversations, tmp / "conversations")
        print(f"  case built in {time.perf_counter() - started:.1f} s")
        bundle = tmp / "bundle.zip"
        started = time.perf_counter()
        subprocess.run(
            [str(CLI), "bundle", CASE_ID, "-o", str(bundle)],
            cwd=tmp / "ws",
            env=env,
            check=True,
            capture_output=True,
        )
        print(f"  custody bundle (dossier included): {time.perf_counter() - started:.1f} s")
        cli_runs, render_runs = [], []
        exhibits = pages = 0
        rss = 0
        for attempt in range(max(1, args.repeat)):
            output = tmp / f"dossier-{attempt}.pdf"
            started = time.perf_counter()
            subprocess.run(
                [str(CLI), "dossier", str(bundle), "-o", str(output)],
                cwd=tmp,
                env=env,
                check=True,
                capture_output=True,
            )
            cli_runs.append(time.perf_counter() - started)
            rss = max(rss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
            seconds, exhibits, pages = in_process(bundle)
            render_runs.append(seconds)
            print(
                f"  round {attempt + 1}: custody dossier {cli_runs[-1]:.2f} s, model + render {seconds:.2f} s"
            )
        tracemalloc.start()
        in_process(bundle)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(f"  load average  {load_average()}")
        print()
        print(f"{exhibits:,} exhibits, {pages:,} pages, bundle {bundle.stat().st_size / 2**20:,.0f} MiB")
        print()
        print("| measurement | best | peak memory | budget |")
        print("|---|---|---|---|")
        verdict = "PASS" if min(cli_runs) < BUDGET_SECONDS else "FAIL"
        print(
            f"| `custody dossier` (verify + render, subprocess) | {min(cli_runs):.2f} s | "
            f"{rss / 1024:,.0f} MiB RSS | {verdict} |"
        )
        print(
            f"| model + render (in-process) | {min(render_runs):.2f} s | {peak / 2**20:,.0f} MiB heap | "
            f"{'PASS' if min(render_runs) < BUDGET_SECONDS else 'FAIL'} |"
        )
        return 0 if verdict == "PASS" else 1
    finally:
        if args.keep:
            print(f"  kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
