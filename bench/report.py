"""Print the benchmark's table from the JSON files it wrote: `python -m bench.report FILE [FILE …]`.

The published figures (the README's Performance section) are made this way, from files committed under
docs/bench/, so each one can be traced to its commit, machine and settings and reproduced.
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


def main() -> None:
    for name in sys.argv[1:]:
        print(f"\n{name}:{table(json.loads(Path(name).read_text()))}")


if __name__ == "__main__":
    main()
