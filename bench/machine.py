"""Facts about the machine a benchmark ran on, printed above its table: figures without the
machine they came from mean nothing (a busy 2-CPU VM halves every rate)."""

from __future__ import annotations

import os
import platform
import sqlite3
import ssl
import sys
from pathlib import Path


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _cpu_flag(flag: str) -> bool:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return flag in line.split(":", 1)[1].split()
    except OSError:
        pass
    return False


def _memory() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / (1 << 20):.1f} GiB"
    except OSError:
        pass
    return "unknown"


def _file_system(path: Path) -> str:
    """The mount holding ``path``: the longest mount point that is a prefix of it."""
    target = str(path.resolve())
    best = ("", "unknown", "unknown", "")
    try:
        lines = Path("/proc/self/mounts").read_text().splitlines()
    except OSError:
        return "unknown"
    for line in lines:
        parts = line.split()
        if len(parts) < 4:
            continue
        device, mount, fstype, opts = parts[0], parts[1].replace("\\040", " "), parts[2], parts[3]
        inside = target == mount or target.startswith(mount.rstrip("/") + "/")
        if inside and len(mount) >= len(best[0]):
            best = (mount, device, fstype, opts)
    mount, device, fstype, opts = best
    return f"{fstype} on {device} mounted at {mount} ({opts})"


def load_average() -> str:
    """1/5/15-minute load: another busy process on a 2-CPU machine skews every number here."""
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "unknown"
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def machine_facts(tmp: Path) -> list[tuple[str, str]]:
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return [
        ("nproc", str(affinity)),
        ("cpu", f"{_cpu_model()} (sha_ni: {'yes' if _cpu_flag('sha_ni') else 'no'})"),
        ("memory", _memory()),
        ("python", f"{platform.python_implementation()} {platform.python_version()} ({sys.executable})"),
        ("openssl", ssl.OPENSSL_VERSION),
        ("sqlite", sqlite3.sqlite_version),
        ("kernel", platform.release()),
        ("load average", load_average()),
        ("temp dir", str(tmp)),
        ("file system", _file_system(tmp)),
    ]
