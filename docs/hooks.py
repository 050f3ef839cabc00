"""MkDocs hooks (mkdocs.yml): what the site shows from the code and the benchmark is generated when it is built,
never typed.

The API guide's OpenAPI document (`openapi.json`, beside `api.md`) is the one the running server serves at
`/api/v1/openapi.json`, written from the code.

The performance page's tables are printed from the benchmark's JSON files.

In a page, a line

    <!-- bench-table 2026-12-06-s2-scaled-before.json 2026-12-06-s2-scaled-after.json rows="^latency" -->

becomes the table `python -m bench.report --side` prints for those files (under docs/bench/), one column per run
headed by its file, commit and date; `rows` keeps only the measures it matches (a regular expression). A file that
is missing or unreadable fails the build.
"""

from __future__ import annotations

import json
import re
import shlex
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.report import side_by_side  # noqa: E402

MARKER = re.compile(r"^<!-- bench-table (.+?) -->$", re.M)


def bench_table(arguments: str) -> str:
    files, rows = [], None
    for word in shlex.split(arguments):
        if word.startswith("rows="):
            rows = re.compile(word.removeprefix("rows="))
        else:
            files.append(ROOT / "docs" / "bench" / word)
    runs = [json.loads(path.read_text()) for path in files]
    if rows is not None:
        header = {"date", "commit", "machine", "versions", "mode", "settings"}
        runs = [run | {"rows": [r for r in run["rows"] if r[0] in header or rows.search(r[0])]} for run in runs]
    return side_by_side(runs, [path.stem for path in files])


def openapi_document() -> str:
    import os

    import django

    if str(ROOT) not in sys.path:  # (MkDocs puts sys.path back after loading the hooks)
        sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "workspace.settings")
    django.setup()
    from callbacks.api import api

    return json.dumps(api.get_openapi_schema(), indent=1, ensure_ascii=False)


def on_files(files, config, **kwargs):
    from mkdocs.structure.files import File

    files.append(File.generated(config, "openapi.json", content=openapi_document()))
    return files


def on_page_markdown(markdown: str, **kwargs) -> str:
    return MARKER.sub(lambda m: bench_table(m.group(1)), markdown)
