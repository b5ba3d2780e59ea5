from pathlib import Path

import polib
import pytest

ROOT = Path(__file__).resolve().parents[2]
PO_FILES = sorted(p for p in ROOT.glob("**/locale/zh_Hans/LC_MESSAGES/django.po") if ".venv" not in p.parts)


def test_there_are_translation_catalogues():
    assert ROOT / "locale/zh_Hans/LC_MESSAGES/django.po" in PO_FILES


@pytest.mark.parametrize("po_path", PO_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_string_has_a_chinese_translation(po_path):
    po = polib.pofile(str(po_path))
    missing = [e.msgid for e in po if not e.obsolete and (not e.translated() or "fuzzy" in e.flags)]
    assert missing == [], f"untranslated in {po_path}: {missing}"


@pytest.mark.parametrize("po_path", PO_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_compiled_catalogue_is_current(po_path):
    mo_path = po_path.with_suffix(".mo")
    assert mo_path.exists(), f"{mo_path} missing: run `make messages`"
    compiled = {e.msgid: e.msgstr for e in polib.mofile(str(mo_path))}
    for entry in polib.pofile(str(po_path)):
        if entry.translated() and not entry.msgid_plural and not entry.obsolete:
            assert compiled.get(entry.msgid) == entry.msgstr, f"{mo_path} is stale: run `make messages`"
