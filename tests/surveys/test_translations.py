"""The German catalogue of what backers see: complete, compiled, and used by the
survey pages."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

from .backer_setup import GERMAN_ADDRESS, build_world, link_path, step_path

PO_PATH = Path(settings.BASE_DIR) / "locale" / "de" / "LC_MESSAGES" / "django.po"
_KEYWORD = re.compile(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?) "(.*)"$')
_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}
_PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|\{\w+\}")


@dataclass
class Entry:
    msgid: str = ""
    msgid_plural: str | None = None
    msgctxt: str | None = None
    msgstr: str = ""
    plurals: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)

    @property
    def translations(self) -> list[str]:
        return (
            [self.plurals[i] for i in sorted(self.plurals)] if self.msgid_plural else [self.msgstr]
        )


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: _ESCAPES[m.group(1)], text)


def read_po(path: Path) -> tuple[Entry, list[Entry]]:
    """The header entry and the message entries of a .po file (obsolete `#~` ones skipped)."""
    entries = []
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        entry, target = Entry(), None
        for line in block.strip().splitlines():
            if line.startswith("#,"):
                entry.flags |= {flag.strip() for flag in line[2:].split(",")}
            elif match := _KEYWORD.match(line):
                keyword, index, text = match.groups()
                target = (keyword, index)
                _append(entry, target, _unescape(text))
            elif line.startswith('"') and target:
                _append(entry, target, _unescape(line[1:-1]))
        if target:
            entries.append(entry)
    return entries[0], entries[1:]


def _append(entry: Entry, target: tuple[str, str | None], text: str) -> None:
    keyword, index = target
    if keyword == "msgstr" or keyword.startswith("msgstr["):
        if index is None:
            entry.msgstr += text
        else:
            entry.plurals[int(index)] = entry.plurals.get(int(index), "") + text
    else:
        setattr(entry, keyword, (getattr(entry, keyword) or "") + text)


HEADER, ENTRIES = read_po(PO_PATH)


def _label(entry: Entry) -> str:
    return entry.msgid[:60]


def test_catalogue_declares_german_plural_forms():
    assert "Language: de\n" in HEADER.msgstr
    assert "Plural-Forms: nplurals=2; plural=(n != 1);\n" in HEADER.msgstr
    assert "fuzzy" not in HEADER.flags


def test_catalogue_has_no_untranslated_or_fuzzy_entry():
    assert len(ENTRIES) > 100
    untranslated = [_label(e) for e in ENTRIES if not all(e.translations)]
    fuzzy = [_label(e) for e in ENTRIES if "fuzzy" in e.flags]
    plurals_incomplete = [_label(e) for e in ENTRIES if e.msgid_plural and len(e.plurals) != 2]

    assert untranslated == [] and fuzzy == [] and plurals_incomplete == []


def test_translations_keep_the_placeholders_of_the_english():
    wrong = []
    for entry in ENTRIES:
        english = set(_PLACEHOLDER.findall(entry.msgid_plural or entry.msgid))
        for index, text in enumerate(entry.translations):
            german = set(_PLACEHOLDER.findall(text))
            # The singular may spell out the number ("meine andere Unterstützung").
            if german != english and not (index == 0 and entry.msgid_plural and german < english):
                wrong.append((_label(entry), text))

    assert wrong == []


def test_compiled_catalogue_matches_the_po():
    stale = []
    with translation.override("de"):
        for entry in ENTRIES:
            if entry.msgid_plural:
                got = [
                    translation.npgettext(entry.msgctxt, entry.msgid, entry.msgid_plural, n)
                    if entry.msgctxt
                    else translation.ngettext(entry.msgid, entry.msgid_plural, n)
                    for n in (1, 2)
                ]
            elif entry.msgctxt:
                got = [translation.pgettext(entry.msgctxt, entry.msgid)]
            else:
                got = [translation.gettext(entry.msgid)]
            if got != entry.translations:
                stale.append(_label(entry))

    assert stale == [], "run: manage.py compilemessages -l de"


# A backer's pages in German -------------------------------------------------------


@pytest.fixture
def german_client(client, campaign):
    w = build_world(campaign)
    w.survey.languages = ["en", "de"]
    w.survey.save()
    client.get(link_path(w.alice), HTTP_ACCEPT_LANGUAGE="de")
    client.world = w
    return client


def test_reward_step_speaks_german(german_client):
    w = german_client.world
    page = german_client.get(step_path(w.campaign, "reward")).content.decode()

    assert "Deine Belohnung" in page and "Stimmt so, weiter" in page
    assert "Your reward" not in page


def test_address_step_shows_german_labels(german_client):
    w = german_client.world
    page = german_client.get(step_path(w.campaign, "address")).content.decode()

    assert "Lieferadresse" in page and "Postleitzahl" in page
    assert "Straße und Hausnummer" in page and "Speichern und weiter" in page
    assert "Postal code" not in page


def test_invalid_german_postal_code_is_refused_in_german(german_client):
    w = german_client.world
    data = {**GERMAN_ADDRESS, "postal_code": "1011"}
    response = german_client.post(step_path(w.campaign, "address"), data)
    page = response.content.decode()

    assert response.status_code == 400
    assert "Gib eine gültige Postleitzahl ein, zum Beispiel 26133." in page
    assert "Enter a valid postal code" not in page
