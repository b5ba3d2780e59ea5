#!/usr/bin/env python
"""Fill msgstr values of a .po file from a JSON/py dict file {msgid: msgstr} and report what
is still untranslated. Usage: po_fill.py PO_FILE [TRANSLATIONS.json] ; exits 1 if any remain."""

import json
import sys

import polib


def main():
    po = polib.pofile(sys.argv[1])
    table = {}
    if len(sys.argv) > 2:
        with open(sys.argv[2], encoding="utf-8") as fh:
            table = json.load(fh)
    for entry in po:
        if entry.msgid in table:
            value = table[entry.msgid]
            if entry.msgid_plural:
                entry.msgstr_plural = {0: value if isinstance(value, str) else value[0]}
            else:
                entry.msgstr = value
            if "fuzzy" in entry.flags:
                entry.flags.remove("fuzzy")
    po.save()
    missing = [e.msgid for e in po if not e.obsolete and (not e.translated() or "fuzzy" in e.flags)]
    for m in missing:
        print("UNTRANSLATED:", json.dumps(m, ensure_ascii=False))
    sys.exit(1 if missing else 0)


if __name__ == "__main__":
    main()
