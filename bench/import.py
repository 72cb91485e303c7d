"""Benchmark: bulk imports (DESIGN.md, "Performance budgets"; issue 4: at least 2,000 records per
second on SQLite).

Two synthetic workloads, generated deterministically into a temporary folder under
``bench/out/`` (nothing explicit, nothing real):

(a) ``chat``: a transcript set of ``--messages`` messages (10,000 by default) in conversations of
    ``--per-conversation`` messages (50), custody/transcript/v1, decoy messages approved by an
    operator (HIL2). A record here is a message: each is parsed, checked, committed to with its
    own salt, and analysed; each conversation becomes two signed entries (the transcript and its
    analysis).
(b) ``warc``: one gzip WARC of ``--records`` WARC records (5,000): per page a response (an HTML
    page of 2-6 KiB), its request, and for every other page a screenshot resource (a PNG-like
    blob of 8-24 KiB), written by warcio. A record here is a WARC record: each is parsed and its
    digests checked; every response and resource becomes a signed entry of its own.

Each workload is imported into a fresh SQLite workspace, twice over:

- ``library``: ``custody.importers`` called in-process; the acting key is unlocked before the
  clock starts (one Argon2id derivation per process, paid once);
- ``cli``: ``custody import chat|warc`` as a subprocess: process start-up, key unlock and the
  whole import, as an investigator runs it.

Each path runs ``--repeat`` times (each on a fresh workspace), best time reported. This is a
benchmark, not a test:

    .venv/bin/python bench/import.py [--messages 10000] [--records 5000] [--repeat 3]

For the CLI, each round also times the same command on a one-record input: its start-up
(interpreter, imports, Argon2id unlock, workspace open, commit), paid once per command whatever
the input's size. The table gives wall-clock records/s, signed entries/s (artifacts recorded per
second), the start-up, and import/s: records per second of the import itself (for the CLI, with
the start-up taken out), which is what the budget is about.

Exit status: 0 if every path's import/s is at least 2,000 records per second, else 1.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from machine import load_average, machine_facts
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from custody.actors import create_key
from custody.cases import open_case
from custody.importers.chat import import_chat
from custody.importers.web import import_warc
from custody.tools import register_tool
from custody.workspace import PASSPHRASE_ENV, Workspace

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "bench" / "out"
TOOLCARDS = REPO / "templates" / "toolcards"
CLI = Path(sys.executable).with_name("custody")
BUDGET = 2000.0
PASSPHRASE = "bench-only-passphrase"  # a throwaway key in a temporary workspace
CASE_ID = "BENCH-IMPORT"
START = datetime(2026, 6, 1, 18, 0, tzinfo=UTC)
WORDS = (
    "hello",
    "maybe",
    "later",
    "which",
    "day",
    "works",
    "for",
    "you",
    "the",
    "weather",
    "is",
    "nice",
    "here",
    "what",
    "do",
    "work",
    "i",
    "moved",
    "last",
    "year",
    "like",
    "city",
    "tell",
    "me",
    "more",
    "about",
    "yourself",
)


# -- workloads -------------------------------------------------------------------------------------
def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def write_transcripts(folder: Path, messages: int, per_conversation: int, rng: random.Random) -> int:
    """``messages`` messages in conversations of ``per_conversation``; returns the file count."""
    folder.mkdir(parents=True)
    count = 0
    conversation = 0
    while count < messages:
        conversation += 1
        size = min(per_conversation, messages - count)
        moment = START + timedelta(hours=conversation)
        cid = f"conv-{conversation:05d}"
        lines = [
            {
                "type": "conversation",
                "schema": "custody/transcript/v1",
                "conversation_id": cid,
                "platform": "classifieds-messaging",
                "counterpart": {"account": f"user_{conversation:05d}"},
                "persona": {"id": "ava-v3", "version": "3"},
                "tool": {"name": "lantern-decoy", "version": "2.3.1"},
                "started_at": _stamp(moment),
            }
        ]
        for seq in range(1, size + 1):
            moment += timedelta(seconds=rng.randint(20, 300))
            text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 18)))
            message: dict[str, object] = {
                "type": "message",
                "seq": seq,
                "platform_message_id": f"{cid}-m{seq}",
                "time": _stamp(moment),
                "speaker": "counterpart" if seq % 2 else "decoy",
                "authorship": "counterpart" if seq % 2 else "model",
                "text": text,
            }
            if not seq % 2:
                message["model"] = {"snapshot": "chat-large-2026-04-15"}
                message["context_digest"] = hashlib.sha256(f"{cid}/{seq}".encode()).hexdigest()
                message["hil"] = {"level": "HIL2_APPROVED", "approved_by": "ana"}
            lines.append(message)
        body = "".join(json.dumps(line, separators=(",", ":")) + "\n" for line in lines)
        (folder / f"{cid}.jsonl").write_text(body, encoding="utf-8")
        count += size
    return conversation


def write_warc(path: Path, records: int, rng: random.Random) -> tuple[int, int]:
    """A gzip WARC of ``records`` records; returns (records, payload artifacts)."""
    out = io.BytesIO()
    writer = WARCWriter(out, gzip=True, warc_version="1.1")
    writer.write_record(writer.create_warcinfo_record(path.name, {"software": "adscraper/1.4.0"}))
    written, artifacts, page = 1, 0, 0
    while written < records:
        page += 1
        url = f"https://ads.example/listing/{page}"
        date = (START + timedelta(seconds=page)).strftime("%Y-%m-%dT%H:%M:%SZ")
        html = "<html><body><p>" + " ".join(rng.choice(WORDS) for _ in range(rng.randint(400, 1200)))
        html_bytes = (html + "</p></body></html>").encode()
        http = StatusAndHeaders(
            "200 OK",
            [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(html_bytes)))],
            protocol="HTTP/1.1",
        )
        response = writer.create_warc_record(
            url,
            "response",
            payload=io.BytesIO(html_bytes),
            http_headers=http,
            warc_headers_dict={"WARC-Date": date},
        )
        writer.write_record(response)
        written, artifacts = written + 1, artifacts + 1
        if written >= records:
            break
        request_headers = StatusAndHeaders(
            f"GET /listing/{page} HTTP/1.1", [("Host", "ads.example")], is_http_request=True
        )
        request = writer.create_warc_record(
            url,
            "request",
            payload=io.BytesIO(b""),
            http_headers=request_headers,
            warc_headers_dict={
                "WARC-Date": date,
                "WARC-Concurrent-To": response.rec_headers.get_header("WARC-Record-ID"),
            },
        )
        writer.write_record(request)
        written += 1
        if written >= records or page % 2:
            continue
        shot = b"\x89PNG\r\n\x1a\n" + rng.randbytes(rng.randint(8, 24) * 1024)
        resource = writer.create_warc_record(
            f"urn:screenshot:{url}",
            "resource",
            payload=io.BytesIO(shot),
            warc_content_type="image/png",
            warc_headers_dict={"WARC-Date": date},
        )
        writer.write_record(resource)
        written, artifacts = written + 1, artifacts + 1
    path.write_bytes(out.getvalue())
    return written, artifacts


# -- workspaces ------------------------------------------------------------------------------------
def fresh_workspace(folder: Path) -> Workspace:
    ws = Workspace.init(folder, passphrase_callback=lambda _what: PASSPHRASE)
    create_key(ws, "bench", "investigator")
    open_case(ws, CASE_ID, title="Import benchmark", jurisdictions=["UK"], authority="BENCH/IMPORT")
    for card in ("decoy-chatbot.yaml", "scraper.yaml"):
        register_tool(ws, TOOLCARDS / card, case_id=CASE_ID)
    return ws


@dataclass
class Result:
    workload: str
    path: str
    records: int
    entries: int
    seconds: float
    startup: float = 0.0
    """For the CLI: the same command's time on a one-record input."""

    @property
    def rate(self) -> float:
        return self.records / self.seconds

    @property
    def import_rate(self) -> float:
        """Records per second of the import itself (the CLI's start-up taken out)."""
        return self.records / max(self.seconds - self.startup, 1e-9)


def run_library(tmp: Path, label: str, work: Callable[[Workspace], int]) -> tuple[float, int]:
    folder = tmp / f"ws-{label}"
    with fresh_workspace(folder) as ws:
        ws.signer("bench")  # unlock before the clock starts
        start = time.perf_counter()
        entries = work(ws)
        seconds = time.perf_counter() - start
    shutil.rmtree(folder)
    return seconds, entries


def run_cli(tmp: Path, label: str, args: list[str]) -> float:
    folder = tmp / f"ws-{label}"
    fresh_workspace(folder).close()
    env = {**os.environ, PASSPHRASE_ENV: PASSPHRASE, "CUSTODY_WORKSPACE": str(folder)}
    start = time.perf_counter()
    subprocess.run([str(CLI), *args], check=True, env=env, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    shutil.rmtree(folder)
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--per-conversation", type=int, default=50)
    parser.add_argument("--records", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()

    OUT.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="import-", dir=OUT))
    print("custody import benchmark")
    for label, value in machine_facts(tmp):
        print(f"  {label:<13} {value}")
    rng = random.Random(20260603)
    chats = tmp / "transcripts"
    conversations = write_transcripts(chats, args.messages, args.per_conversation, rng)
    warc = tmp / "sweep.warc.gz"
    warc_records, warc_artifacts = write_warc(warc, args.records, rng)
    print(
        f"  workloads     {args.messages:,} messages in {conversations:,} transcripts "
        f"({sum(f.stat().st_size for f in chats.iterdir()) / 1e6:.1f} MB); WARC of {warc_records:,} records, "
        f"{warc_artifacts:,} payloads ({warc.stat().st_size / 1e6:.1f} MB gzip)"
    )

    def chat(ws: Workspace) -> int:
        results = import_chat(ws, CASE_ID, chats)
        return 2 * sum(not r.duplicate for r in results)

    def web(ws: Workspace) -> int:
        return 1 + import_warc(ws, CASE_ID, warc, tool_spec="adscraper").payloads

    # Start-up of the same commands on a one-record input: interpreter, imports, Argon2id unlock,
    # workspace open and commit, paid once per command whatever its size.
    tiny_chats = tmp / "tiny-transcripts"
    write_transcripts(tiny_chats, 1, 1, rng)
    tiny_warc = tmp / "tiny.warc.gz"
    write_warc(tiny_warc, 1, rng)
    workloads = [
        ("chat", args.messages, chat, ["import", "chat", "{}", "--case", CASE_ID], chats, tiny_chats),
        (
            "warc",
            warc_records,
            web,
            ["import", "warc", "{}", "--case", CASE_ID, "--tool", "adscraper"],
            warc,
            tiny_warc,
        ),
    ]
    results: list[Result] = []
    try:
        for name, records, work, template, full, tiny in workloads:
            best_library: tuple[float, int] | None = None
            best_cli = best_start = float("inf")
            for attempt in range(max(1, args.repeat)):
                seconds, entries = run_library(tmp, f"{name}-lib-{attempt}", work)
                if best_library is None or seconds < best_library[0]:
                    best_library = (seconds, entries)
                cli_seconds = run_cli(tmp, f"{name}-cli-{attempt}", [a.format(full) for a in template])
                start_seconds = run_cli(tmp, f"{name}-start-{attempt}", [a.format(tiny) for a in template])
                best_cli, best_start = min(best_cli, cli_seconds), min(best_start, start_seconds)
                print(
                    f"  {name} round {attempt + 1}: library {seconds:.2f} s, cli {cli_seconds:.2f} s "
                    f"(start-up {start_seconds:.2f} s)"
                )
            assert best_library is not None
            results.append(Result(name, "library", records, best_library[1], best_library[0]))
            results.append(Result(name, "cli", records, best_library[1], best_cli, best_start))
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)

    print()
    header = (
        f"{'workload':<9} {'path':<8} {'records':>8} {'entries':>8} {'seconds':>8} {'records/s':>10} "
        f"{'entries/s':>10} {'start-up':>9} {'import/s':>9}"
    )
    print(f"{header}  budget (import records/s)")
    failed = False
    for r in results:
        ok = r.import_rate >= BUDGET
        failed |= not ok
        start = f"{r.startup:>8.2f}s" if r.startup else f"{'-':>9}"
        print(
            f"{r.workload:<9} {r.path:<8} {r.records:>8,} {r.entries:>8,} {r.seconds:>8.2f} "
            f"{r.rate:>10,.0f} {r.entries / r.seconds:>10,.0f} {start} {r.import_rate:>9,.0f}  "
            f"{'PASS' if ok else 'FAIL'} (>= {BUDGET:,.0f})"
        )
    print(f"load average at the end: {load_average()}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
