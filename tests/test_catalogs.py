"""The translation catalogs are complete and compiled: every entry of locale/<language>/LC_MESSAGES/django.po (the
templates' and Python's texts) and djangojs.po (the JavaScript texts, served by /jsi18n/) is translated (none empty, none fuzzy), keeps its placeholders and markup, and the committed django.mo holds exactly what
the .po says (compiled after its last edit). With gettext's tools installed, the catalogs also hold every text the code
marks for translation (makemessages finds nothing new)."""

import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[1]
LANGUAGES = [code for code, _ in settings.LANGUAGES if code != settings.LANGUAGE_CODE]
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]|\{\w*\}")
TAG = re.compile(r"</?[a-z][^>]*>")
MAKEMESSAGES = ["makemessages", "--no-obsolete", "--ignore=var", "--ignore=tests", "--ignore=bench"]
DOMAINS = ["django", "djangojs"]  # djangojs: static/js (its vendored libraries left out)
CATALOGS = [(language, domain) for language in LANGUAGES for domain in DOMAINS]


def po_path(language: str, domain: str = "django") -> Path:
    return ROOT / "locale" / language / "LC_MESSAGES" / f"{domain}.po"


def unquote(text: str) -> str:
    escapes = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}
    return re.sub(r"\\(.)", lambda m: escapes.get(m.group(1), m.group(1)), text)


def parse_po(path: Path) -> list[dict]:
    """Entries as {"flags", "msgctxt", "msgid", "msgid_plural", "msgstr": [forms]}; the header is left out."""
    entries, entry, field = [], None, None
    for line in path.read_text(encoding="utf-8").splitlines() + [""]:
        if not line.strip():
            if entry is not None and entry["msgid"]:
                entries.append(entry)
            entry, field = None, None
            continue
        entry = entry or {"flags": set(), "msgctxt": None, "msgid": "", "msgid_plural": None, "msgstr": {}}
        if line.startswith("#,"):
            entry["flags"] |= {flag.strip() for flag in line[2:].split(",")}
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            value = unquote(line[1:-1])
            if isinstance(field, int):
                entry["msgstr"][field] += value
            else:
                entry[field] += value
        else:
            keyword, _, rest = line.partition(" ")
            value = unquote(rest.strip()[1:-1])
            if keyword.startswith("msgstr"):
                field = int(keyword[7:-1]) if "[" in keyword else 0
                entry["msgstr"][field] = value
            else:
                field = keyword
                entry[field] = value
    return entries


def compiled(entries: list[dict]) -> dict[str, str]:
    """What msgfmt writes for these entries: keys and values as the .mo file stores them."""
    out = {}
    for e in entries:
        key = e["msgid"] if e["msgid_plural"] is None else f"{e['msgid']}\x00{e['msgid_plural']}"
        if e["msgctxt"] is not None:
            key = f"{e['msgctxt']}\x04{key}"
        out[key] = "\x00".join(e["msgstr"][i] for i in sorted(e["msgstr"]))
    return out


def read_mo(path: Path) -> dict[str, str]:
    data = path.read_bytes()
    magic = struct.unpack("<I", data[:4])[0]
    order = "<" if magic == 0x950412DE else ">"
    _, count, originals, translations = struct.unpack(order + "4I", data[4:20])
    out = {}
    for i in range(count):
        length, offset = struct.unpack(order + "2I", data[originals + 8 * i : originals + 8 * i + 8])
        key = data[offset : offset + length].decode("utf-8")
        length, offset = struct.unpack(order + "2I", data[translations + 8 * i : translations + 8 * i + 8])
        out[key] = data[offset : offset + length].decode("utf-8")
    out.pop("", None)  # the header
    return out


@pytest.mark.parametrize(("language", "domain"), CATALOGS)
def test_every_entry_is_translated_and_none_is_fuzzy(language, domain):
    entries = parse_po(po_path(language, domain))
    assert len(entries) > (100 if domain == "django" else 10)
    fuzzy = [e["msgid"] for e in entries if "fuzzy" in e["flags"]]
    empty = [e["msgid"] for e in entries if not e["msgstr"] or not all(e["msgstr"].values())]
    assert not fuzzy, f"fuzzy in {language}: {fuzzy}"
    assert not empty, f"untranslated in {language}: {empty}"


@pytest.mark.parametrize(("language", "domain"), CATALOGS)
def test_translations_keep_their_placeholders_and_markup(language, domain):
    for e in parse_po(po_path(language, domain)):
        source = e["msgid"] + (e["msgid_plural"] or "")
        for form in e["msgstr"].values():
            assert sorted(set(PLACEHOLDER.findall(form))) == sorted(set(PLACEHOLDER.findall(source))), (e["msgid"], form)
            assert TAG.findall(form) == TAG.findall(e["msgid"]), (e["msgid"], form)


@pytest.mark.parametrize(("language", "domain"), CATALOGS)
def test_the_committed_mo_is_compiled_from_the_po(language, domain):
    po = po_path(language, domain)
    assert read_mo(po.with_suffix(".mo")) == compiled(parse_po(po)), (
        f"{po.with_suffix('.mo')} is older than its .po: run `manage.py compilemessages` and commit the .mo"
    )


@pytest.mark.skipif(not shutil.which("xgettext"), reason="gettext's tools are not installed")
def test_the_catalogs_hold_every_text_marked_for_translation(tmp_path):
    """makemessages on a copy of the project: the catalogs it writes have exactly the entries of the committed ones."""
    for name in ("callbacks", "templates", "workspace", "locale", "static/js"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
    shutil.copy(ROOT / "manage.py", tmp_path / "manage.py")
    languages = [arg for code in LANGUAGES for arg in ("-l", code)]
    for domain in DOMAINS:
        command = [sys.executable, "manage.py", *MAKEMESSAGES, "-d", domain, *languages]
        subprocess.run(command, cwd=tmp_path, check=True, capture_output=True)
    for language, domain in CATALOGS:
        fresh = {(e["msgctxt"], e["msgid"]) for e in parse_po(tmp_path / "locale" / language / "LC_MESSAGES" / f"{domain}.po")}
        committed = {(e["msgctxt"], e["msgid"]) for e in parse_po(po_path(language, domain))}
        run = f"{' '.join(MAKEMESSAGES)} -d {domain} -l {language}"
        assert fresh - committed == set(), f"new texts to translate: run {run}"
        assert committed - fresh == set(), f"texts no longer used: run {run}"
