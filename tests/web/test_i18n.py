"""The zh-Hans catalogue is complete and compiled: every msgid has a translation."""

from __future__ import annotations

import re
from pathlib import Path

from django.utils import translation

import kehu

CATALOGUE = Path(kehu.__file__).parent / "locale" / "zh_Hans" / "LC_MESSAGES"


def test_it_translates_every_message_into_simplified_chinese() -> None:
    text = (CATALOGUE / "django.po").read_text(encoding="utf-8")
    entries = [block for block in text.split("\n\n")[1:] if "msgid" in block and not block.lstrip().startswith("#~")]
    untranslated = [
        block
        for block in entries
        if re.search(r'^msgstr(\[0\])? ""\s*$', block, re.M) and not re.search(r'^"', block.split("msgstr", 1)[1], re.M)
    ]
    assert untranslated == []
    assert "#, fuzzy" not in text


def test_it_ships_the_compiled_catalogue() -> None:
    assert (CATALOGUE / "django.mo").stat().st_mtime >= (CATALOGUE / "django.po").stat().st_mtime - 1
    with translation.override("zh-hans"):
        assert translation.gettext("Customers") == "客户"
        assert translation.gettext("Reveal") == "显示"
