"""Print the benchmark's tables from the JSON files it wrote.

    python -m bench.report FILE [FILE …]           # each run's own table
    python -m bench.report --side FILE [FILE …]    # one table, a column per run (the performance page's form)

The published figures (docs/performance.md) are made this way, from files committed under docs/bench/, so each
one can be traced to its commit, machine and settings and reproduced.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def table(results: dict) -> str:
    rows = results["rows"]
    width = max(len(k) for k, _ in rows)
    lines = [f"| {'measure'.ljust(width)} | value |", f"|{'-' * (width + 2)}|-------|"]
    lines += [f"| {k.ljust(width)} | {v} |" for k, v in rows]
    return "\n" + "\n".join(lines)


def cell(text: object) -> str:
    """A Markdown table cell: a "|" in a measure's name or value ("Ringback | skeleton") would start another cell."""
    return str(text).replace("|", "\\|")


def side_by_side(runs: list[dict], names: list[str]) -> str:
    """One row per measure, one column per run, headed by its file's name, commit and date."""
    measures: list[str] = []
    for run in runs:  # the date and commit head each column; the machine, versions, mode and settings are rows
        measures += [k for k, _ in run["rows"] if k not in ("date", "commit") and k not in measures]
    heads = [
        f"{name}<br>`{dict(run['rows'])['commit']}`, {dict(run['rows'])['date']}" for run, name in zip(runs, names, strict=True)
    ]
    lines = ["| measure | " + " | ".join(heads) + " |", "|---|" + "---|" * len(runs)]
    for measure in measures:
        lines.append(f"| {cell(measure)} | " + " | ".join(cell(dict(run["rows"]).get(measure, "—")) for run in runs) + " |")
    return "\n".join(lines)


def main() -> None:
    args = sys.argv[1:]
    side = "--side" in args
    files = [a for a in args if a != "--side"]
    runs = [json.loads(Path(name).read_text()) for name in files]
    if side:
        print(side_by_side(runs, [Path(name).stem for name in files]))
        return
    for name, run in zip(files, runs, strict=True):
        print(f"\n{name}:{table(run)}")


if __name__ == "__main__":
    main()
