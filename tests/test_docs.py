"""The README is a manual, not a diary; the documentation site holds the rest (its strict build, links and anchors
included, runs in scripts/test)."""

import re
from pathlib import Path

from bench.report import side_by_side

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
DATE = re.compile(r"\b20\d\d-\d\d-\d\d\b")


def test_the_readme_stays_under_300_lines():
    assert len(README.splitlines()) < 300


def test_the_readme_carries_no_dated_measurement_and_no_progress_note():
    rows = [line for line in README.splitlines() if line.startswith("|")]
    assert [row for row in rows if DATE.search(row)] == [], "dated figures go to docs/performance.md"
    assert not re.search(r"\|\s*before\s*\|\s*(now|after)\s*\|", README, re.I), "before/after tables go to the docs"
    assert not re.search(r"\bin progress\)|\bfixed on the way\b|\bthis session\b", README, re.I)
    assert not re.search(r"\b\d+(\.\d+)? ?ms\b", README), "timings belong on the performance page"


def test_every_page_the_readme_links_exists():
    links = re.findall(r"\]\(((?:docs/)?[\w/.-]+\.md)(?:#[\w-]+)?\)", README)
    assert links, "the README points to the documentation"
    assert [link for link in links if not (ROOT / link).is_file()] == []


def test_every_documentation_page_is_in_the_sites_navigation():
    nav = (ROOT / "mkdocs.yml").read_text()
    pages = {p.relative_to(ROOT / "docs").as_posix() for p in (ROOT / "docs").rglob("*.md")}
    assert {p for p in pages if p not in nav and p != "decisions/index.md"} == set()


def test_a_bench_table_keeps_a_pipe_inside_its_cell():
    """A measure named "… Ringback | skeleton" with values "20.8 ms / 20 | 9.4 ms / 5" stays one row of one cell per
    run (it split into extra cells, and the other runs' values fell off the published table)."""
    run = {"rows": [("date", "d"), ("commit", "c"), ("step, Ringback | skeleton", "1 ms | 2 ms")]}
    row = side_by_side([run, run], ["a", "b"]).splitlines()[-1]
    cells = re.split(r"(?<!\\)\|", row)[1:-1]
    assert len(cells) == 3 and cells[1].strip() == cells[2].strip() == "1 ms \\| 2 ms"
