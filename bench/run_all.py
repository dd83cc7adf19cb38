"""Run every bench and write bench/RESULTS.md (figure, value, target, machine).

Each bench script is run as `python bench/NAME.py --json` in a process of its own and
reports its figures as lines `RESULT {"figure": ..., "value": ..., "unit": ...,
"target": ..., "ok": ...}`; everything else it prints is kept in bench/out/NAME.log.

Usage: python bench/run_all.py [NAME ...]   (default: every bench; with names, only those
are re-run and the other benches' rows of the previous RESULTS.md are kept). The sections
written by hand below the generated table (from its first ``## `` heading on) are always
kept as they are.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SKIP = {"run_all.py", "__init__.py"}


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kb / 2**20:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return f"{cpu}, {os.cpu_count()} cores{memory}, Python {platform.python_version()}"


def run(script: Path) -> tuple[list[dict], float, int]:
    out_dir = HERE / "out"
    out_dir.mkdir(exist_ok=True)
    start = time.monotonic()
    completed = subprocess.run(
        [sys.executable, str(script), "--json"],
        capture_output=True,
        text=True,
        cwd=HERE.parent,
    )
    seconds = time.monotonic() - start
    (out_dir / f"{script.stem}.log").write_text(completed.stdout + completed.stderr)
    results = [
        json.loads(line[len("RESULT ") :])
        for line in completed.stdout.splitlines()
        if line.startswith("RESULT ")
    ]
    return results, seconds, completed.returncode


def previous_results(text: str, ran: set[str] | None) -> tuple[list[str], str]:
    """What of the previous RESULTS.md ``text`` a run keeps: the generated table's rows of
    benches not in ``ran`` (none when ``ran`` is None: every bench ran), and the sections
    written by hand below that table (from its first ``## `` heading on), whole. Rows
    inside those sections are theirs, never moved into the generated table."""
    head, marker, tail = text.partition("\n## ")
    sections = marker.lstrip("\n") + tail if marker else ""
    if ran is None:
        return [], sections
    rows = [
        line
        for line in head.splitlines()
        if line.startswith("| ")
        and not line.startswith(("| bench |", "| --- |"))
        and line.split("|")[1].strip() not in ran
    ]
    return rows, sections


def main() -> int:
    names = sys.argv[1:]
    scripts = sorted(
        p for p in HERE.glob("*.py") if p.name not in SKIP and not p.name.startswith("_")
    )
    if names:
        scripts = [p for p in scripts if p.stem in names]
    lines = [
        "# Bench results",
        "",
        f"Machine: {machine()}. Written by `python bench/run_all.py` on "
        f"{datetime.date.today().isoformat()}"
        + (
            f" (re-run then: {', '.join(p.stem for p in scripts)}; the other rows are from "
            "earlier runs)"
            if names
            else ""
        )
        + "; each bench's full output is in bench/out/.",
        "",
        "| bench | figure | value | target | met |",
        "| --- | --- | --- | --- | --- |",
    ]
    failed = 0
    previous = HERE / "RESULTS.md"
    kept, sections = previous_results(
        previous.read_text() if previous.exists() else "",
        {script.stem for script in scripts} if names else None,
    )
    lines.extend(kept)
    for script in scripts:
        print(f"running {script.name} ...", flush=True)
        results, seconds, code = run(script)
        if code != 0 or not results:
            failed += 1
            lines.append(f"| {script.stem} | (failed, exit {code}; see bench/out) | | | |")
            continue
        for result in results:
            unit = f" {result['unit']}" if result.get("unit") else ""
            met = {True: "yes", False: "**no**", None: ""}[result.get("ok")]
            lines.append(
                f"| {script.stem} | {result['figure']} | {result['value']}{unit} | "
                f"{result.get('target', '')} | {met} |"
            )
        print(f"  {len(results)} figure(s) in {seconds:.0f} s", flush=True)
    if sections:
        lines.extend(["", sections.rstrip("\n")])
    (HERE / "RESULTS.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {HERE / 'RESULTS.md'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
