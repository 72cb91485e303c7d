"""Benchmark: case-ledger appends and inclusion proofs as the log grows (DESIGN.md, "Performance
budgets": inclusion proof for any entry of a 1,000,000-entry log in under 10 ms; appends stay
O(log n)).

Two ledgers grow to ``--max`` entries (10^6 by default), and at every power of ten from 10^4 up
each is measured:

- append rate (entries/s) over the last ``--segment`` entries before that size (10^4 by
  default), so a slowdown as the log grows shows as a falling rate down the table; and the rate
  of every 10^5-entry stretch of the whole run is listed after the table;
- inclusion-proof time, median and 99th percentile over ``--proofs`` random entries (1,000).

(a) ``memory``: the pure ``custody.merkle.MemoryTree``, appending 600-byte entries (unsigned; the
    Merkle math alone). Proof = ``MemoryTree.inclusion_proof``.
(b) ``sqlite``: the real database ledger of a fresh workspace (SQLite, WAL, synchronous=FULL).
    Entries are real signed custody events appended through ``custody.ledger.LedgerWriter``:
    ``artifact.accessed`` events (action "view", one artifact subject, ~960 bytes of DSSE JSON each:
    canonical JSON, Ed25519 signature, leaf hash, stored Merkle nodes), ``--batch`` (5,000)
    appends per ``ledger_writer`` transaction, as a bulk import does. Proof =
    ``custody.case_checkpoints.prove_inclusion``: a transaction of its own (a new SQLite
    connection: the workspace engine pools none), reading the O(log n) nodes in one query.
    ``--database-url`` runs (b) on another database instead (e.g. an empty PostgreSQL schema).

Every proof is verified (``merkle.verify_inclusion``, not timed) against the root of a checkpoint
signed at that size, so the numbers are for correct proofs. Data lives in a temporary folder under
``bench/out/``, removed at the end (``--keep`` keeps it). This is a benchmark, not a test:

    .venv/bin/python bench/ledger.py [--max 1000000] [--sqlite-only | --memory-only]

Exit status: 0 if, for every ledger measured, the proof p99 at the largest size is under 10 ms.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import random
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from machine import machine_facts

from custody import merkle
from custody.actors import create_key
from custody.case_checkpoints import prove_inclusion, sign_case_checkpoint
from custody.cases import open_case
from custody.db import redact_url
from custody.events import ARTIFACT_ACCESSED
from custody.ledger import ledger_writer, unlock_actor
from custody.statement import Subject
from custody.workspace import Workspace

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "bench" / "out"
PASSPHRASE = "bench-only-passphrase"  # a throwaway key in a temporary workspace
CASE_ID = "BENCH-LEDGER"
BUDGET_MS = 10.0
MEMORY_ENTRY_BYTES = 600


# -- measurements ----------------------------------------------------------------------------------
@dataclass
class Point:
    """Measurements of one ledger at one size."""

    size: int
    segment_rate: float  # entries/s over the last segment before ``size``
    proof_ms: list[float] = field(default_factory=list)
    verify_ms: list[float] = field(default_factory=list)
    bytes_per_entry: float | None = None

    def percentile(self, values: list[float], q: float) -> float:
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@dataclass
class Run:
    name: str
    description: str
    points: list[Point] = field(default_factory=list)
    batches: list[tuple[int, int, float]] = field(default_factory=list)  # (first, count, seconds)
    total_seconds: float = 0.0

    def rate(self, start: int, end: int) -> float:
        """Entries/s over the batches lying within [start, end)."""
        count = sum(n for first, n, _ in self.batches if start <= first and first + n <= end)
        seconds = sum(s for first, n, s in self.batches if start <= first and first + n <= end)
        return count / seconds if seconds else float("nan")


def sizes_up_to(maximum: int) -> list[int]:
    sizes, size = [], 10_000
    while size <= maximum:
        sizes.append(size)
        size *= 10
    if not sizes or sizes[-1] != maximum:
        sizes.append(maximum)
    return sizes


def boundaries(start: int, sizes: list[int], step: int, batch: int) -> Iterator[tuple[int, int]]:
    """(first, count) batches from ``start`` to ``sizes[-1]`` that never cross a multiple of
    ``step`` nor a measured size, so segments and points fall on batch edges."""
    size = start
    end = sizes[-1]
    marks = sorted({*sizes, *range(step, end + 1, step)})
    for mark in marks:
        while size < mark:
            count = min(batch, mark - size)
            yield size, count
            size += count


def timed_proofs(
    size: int, count: int, rng: random.Random, prove: Callable[[int], tuple[bytes, list[bytes]]], root: bytes
) -> tuple[list[float], list[float]]:
    """Time ``prove(index) -> (leaf hash, path)`` for ``count`` random entries; verify each."""
    proof_ms, verify_ms = [], []
    for index in (rng.randrange(size) for _ in range(count)):
        start = time.perf_counter_ns()
        leaf, path = prove(index)
        middle = time.perf_counter_ns()
        merkle.verify_inclusion(leaf, index, size, path, root)
        end = time.perf_counter_ns()
        proof_ms.append((middle - start) / 1e6)
        verify_ms.append((end - middle) / 1e6)
    return proof_ms, verify_ms


def bench_memory(sizes: list[int], segment: int, batch: int, proofs: int, rng: random.Random) -> Run:
    run = Run("memory", f"custody.merkle.MemoryTree, {MEMORY_ENTRY_BYTES}-byte unsigned entries")
    tree = merkle.MemoryTree()
    filler = os.urandom(MEMORY_ENTRY_BYTES - 8)
    started = time.perf_counter()
    for first, count in boundaries(0, sizes, segment, batch):
        entries = [i.to_bytes(8, "big") + filler for i in range(first, first + count)]  # not timed
        start = time.perf_counter()
        for entry in entries:
            tree.append(entry)
        run.batches.append((first, count, time.perf_counter() - start))
        size = first + count
        if size in sizes:
            root = tree.root()

            def prove(index: int) -> tuple[bytes, list[bytes]]:
                return tree.leaf_hash(index), tree.inclusion_proof(index)

            point = Point(size, run.rate(size - segment, size))
            point.proof_ms, point.verify_ms = timed_proofs(size, proofs, rng, prove, root)
            run.points.append(point)
            print(f"  memory: {size:>9,} entries, {point.segment_rate:,.0f} appends/s", flush=True)
    run.total_seconds = time.perf_counter() - started
    return run


def _database_bytes(ws: Workspace) -> int | None:
    if not ws.database_url.startswith("sqlite"):
        return None
    base = ws.custody_dir / "custody.db"
    return sum(p.stat().st_size for p in (base, base.with_name("custody.db-wal")) if p.exists())


def bench_database(
    tmp: Path,
    database_url: str | None,
    sizes: list[int],
    segment: int,
    batch: int,
    proofs: int,
    rng: random.Random,
) -> Run:
    label = "sqlite" if database_url is None else database_url.split(":", 1)[0].split("+", 1)[0]
    where = "SQLite in the workspace" if database_url is None else redact_url(database_url)
    run = Run(
        label,
        f"LedgerWriter, signed artifact.accessed events, {batch:,} per transaction ({where})",
    )
    with Workspace.init(
        tmp / "ws", database_url=database_url, passphrase_callback=lambda _w: PASSPHRASE
    ) as ws:
        create_key(ws, "bench", "custodian")
        open_case(ws, CASE_ID, title="Ledger benchmark", jurisdictions=["UK"], authority="BENCH/LEDGER")
        actor, signer = unlock_actor(ws, "bench")
        started = time.perf_counter()
        for first, count in boundaries(1, sizes, segment, batch):  # entry 0 is case.opened
            # The artifact digests are computed outside the timed region; everything the ledger
            # does with them (event, JCS, signature, leaf, nodes, rows, commit) is timed.
            digests = [hashlib.sha256(i.to_bytes(8, "big")).hexdigest() for i in range(first, first + count)]
            start = time.perf_counter()
            with ledger_writer(ws, CASE_ID, actor, signer) as writer:
                for digest in digests:
                    writer.append(
                        ARTIFACT_ACCESSED,
                        [Subject(f"artifact:{digest[:16]}", digest)],
                        {"artifact": {"sha256": digest}, "action": "view", "purpose": "ledger benchmark"},
                    )
                if writer.case.log_size != first + count:
                    raise SystemExit(f"bench: log size {writer.case.log_size}, expected {first + count}")
            run.batches.append((first, count, time.perf_counter() - start))
            size = first + count
            if size in sizes:
                checkpoint = sign_case_checkpoint(ws, CASE_ID, reason="manual")
                root = bytes.fromhex(checkpoint.root_hash)

                def prove(index: int, size: int = size) -> tuple[bytes, list[bytes]]:
                    proof = prove_inclusion(ws, CASE_ID, index, size)
                    return proof.leaf_hash, proof.path

                point = Point(size, run.rate(max(1, size - segment), size))
                point.proof_ms, point.verify_ms = timed_proofs(size, proofs, rng, prove, root)
                stored = _database_bytes(ws)
                point.bytes_per_entry = stored / size if stored else None
                run.points.append(point)
                print(
                    f"  {label}: {size:>9,} entries, {point.segment_rate:,.0f} appends/s, "
                    f"proof median {statistics.median(point.proof_ms):.2f} ms "
                    f"({time.perf_counter() - started:.0f} s so far)",
                    flush=True,
                )
        run.total_seconds = time.perf_counter() - started
    return run


# -- report ----------------------------------------------------------------------------------------
def print_table(headers: list[str], rows: list[list[str]], right: set[int]) -> None:
    widths = [max(len(headers[i]), *(len(r[i]) for r in rows)) for i in range(len(headers))]

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    print(line(headers))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print(line(row))


def report(runs: list[Run], segment: int, batch: int, proofs: int) -> bool:
    print()
    for run in runs:
        print(f"{run.name:<7} = {run.description}")
    print()
    headers = [
        "ledger",
        "entries",
        "append/s (segment)",
        "segment",
        "proof median ms",
        "proof p99 ms",
        "proof max ms",
        "verify median ms",
        "DB bytes/entry",
        "budget",
    ]
    rows = []
    within = True
    for run in runs:
        for point in run.points:
            p99 = point.percentile(point.proof_ms, 0.99)
            ok = p99 < BUDGET_MS
            if point is run.points[-1]:
                within = within and ok
            rows.append(
                [
                    run.name,
                    f"{point.size:,}",
                    f"{point.segment_rate:,.0f}",
                    f"{max(0, point.size - segment):,}-{point.size:,}",
                    f"{statistics.median(point.proof_ms):.3f}",
                    f"{p99:.3f}",
                    f"{max(point.proof_ms):.3f}",
                    f"{statistics.median(point.verify_ms):.3f}",
                    f"{point.bytes_per_entry:,.0f}" if point.bytes_per_entry else "",
                    "PASS" if ok else "FAIL",
                ]
            )
    print_table(headers, rows, right={1, 2, 4, 5, 6, 7, 8})
    print()
    print(
        f"append/s: entries per second over the segment named (the last {segment:,} before the size),\n"
        f"  commits included; proof: over {proofs:,} random entries of the tree of that size (budget\n"
        f"  p99 < {BUDGET_MS:.0f} ms); verify: merkle.verify_inclusion of the same proofs (not part of\n"
        "  the proof time)."
    )
    for run in runs:
        end = run.batches[-1][0] + run.batches[-1][1]
        step = 100_000 if end >= 200_000 else max(segment, end // 10)
        stretches = []
        for start in range(0, end, step):
            rate = run.rate(start, min(end, start + step))
            stretches.append(f"{rate:,.0f}")
        count = end - run.batches[0][0]
        print()
        print(
            f"{run.name}: {count:,} appends in {run.total_seconds:,.1f} s with proofs "
            f"(appends alone {count / sum(s for _, _, s in run.batches):,.0f}/s); "
            f"append/s per {step:,}-entry stretch, in order:"
        )
        print("  " + " ".join(stretches))
    return within


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max", type=int, default=1_000_000, help="largest log size (1000000)")
    parser.add_argument("--proofs", type=int, default=1000, help="random entries proven at each size (1000)")
    parser.add_argument("--batch", type=int, default=5000, help="appends per ledger transaction (5000)")
    parser.add_argument("--segment", type=int, default=10_000, help="entries per rate segment (10000)")
    parser.add_argument("--seed", type=int, default=9162, help="seed of the random entry choice")
    only = parser.add_mutually_exclusive_group()
    only.add_argument(
        "--sqlite-only", "--db-only", dest="db_only", action="store_true", help="skip the in-memory tree"
    )
    only.add_argument("--memory-only", action="store_true", help="skip the database ledger")
    parser.add_argument(
        "--database-url",
        help="run the database ledger on this SQLAlchemy URL instead of SQLite (an EMPTY database or "
        "schema: the benchmark creates its tables there and leaves them)",
    )
    parser.add_argument(
        "--out-dir", type=Path, default=OUT, help="parent of the temporary folder (bench/out)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    if args.max < 10_000:
        parser.error("--max must be at least 10000")
    if not 1 <= args.batch <= args.segment or args.segment % args.batch:
        parser.error("--batch must divide --segment")

    args.out_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="ledger-", dir=args.out_dir))
    # Clean up on "kill" too (SIGTERM), not only on Ctrl-C: the temp folder reaches gigabytes.
    signal.signal(signal.SIGTERM, lambda _sig, _frame: sys.exit(143))
    try:
        print("custody ledger benchmark (DESIGN.md: Performance budgets)")
        print()
        for label, value in machine_facts(tmp):
            print(f"  {label + ':':<13} {value}")
        print()
        sizes = sizes_up_to(args.max)
        runs = []
        if not args.db_only:
            runs.append(bench_memory(sizes, args.segment, args.batch, args.proofs, random.Random(args.seed)))
        if not args.memory_only:
            runs.append(
                bench_database(
                    tmp,
                    args.database_url,
                    sizes,
                    args.segment,
                    args.batch,
                    args.proofs,
                    random.Random(args.seed),
                )
            )
        ok = report(runs, args.segment, args.batch, args.proofs)
        print()
        with contextlib.suppress(OSError):
            print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        return 0 if ok else 1
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
