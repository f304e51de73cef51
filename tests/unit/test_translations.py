"""The catalogues stay true to the code (issue 19): the committed template matches a fresh
extraction, every shipped language is complete, and the compiled ``.mo`` files are what the
``.po`` files compile to. The commands are the README's ("Languages")."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.frontend import CommandLineInterface
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from admin_app.config import Config
from admin_app.core.i18n import TRANSLATIONS

PROJECT = TRANSLATIONS.parent.parent
SHIPPED = [code for code in Config.LANGUAGES if code != "en"]
#: Translations equal to their English source on purpose (the same word, or a code).
SAME_AS_ENGLISH = {
    ("de", "Status"), ("de", "Name"), ("de", "ID"), ("de", "Version"), ("de", "Browser"), ("de", "Export"),
    ("fr", "Administration"), ("fr", "Catalogue"), ("fr", "Date"), ("fr", "date"), ("fr", "Description"),
    ("fr", "Parent"), ("fr", "Actions"), ("fr", "Menu"), ("fr", "Sessions"),
    ("fr", "Stock"), ("fr", "Total"), ("fr", "Type"), ("fr", "Version"),
    ("pl", "ID"), ("pl", "SKU"), ("pl", "Status"), ("pl", "Tag"), ("pl", "Menu"),
}
EXTRACT = ["pybabel", "--quiet", "extract", "-F", str(PROJECT / "babel.cfg"), "-k", "_l", "-k", "lazy_gettext",
           "--no-location", "--sort-output", "--project", "admin_app"]


def load(path: Path) -> Catalog:
    with path.open("rb") as source:
        return read_po(source)


def messages(catalog: Catalog) -> dict[object, frozenset[str]]:
    """Each message id (a tuple for plurals) with its format flags: what the code asks for."""
    return {message.id: frozenset(message.flags - {"fuzzy"}) for message in catalog if message.id}


def test_the_committed_template_matches_a_fresh_extraction(tmp_path):
    fresh = tmp_path / "messages.pot"
    CommandLineInterface().run([*EXTRACT, "-o", str(fresh), str(PROJECT)])
    committed, extracted = messages(load(TRANSLATIONS / "messages.pot")), messages(load(fresh))
    assert committed == extracted, (
        "admin_app/translations/messages.pot is out of date: run the README's extract and update commands.\n"
        f"  new in the code: {sorted(map(str, extracted.keys() - committed.keys()))}\n"
        f"  gone from the code: {sorted(map(str, committed.keys() - extracted.keys()))}")


@pytest.mark.parametrize("language", SHIPPED)
def test_every_shipped_language_is_complete(language):
    catalog = load(TRANSLATIONS / language / "LC_MESSAGES" / "messages.po")
    assert messages(catalog) == messages(load(TRANSLATIONS / "messages.pot")), "run the README's update command"
    untranslated = [str(m.id) for m in catalog if m.id and (not all(m.string) if isinstance(m.id, tuple)
                                                           else not m.string)]
    fuzzy = [str(m.id) for m in catalog if m.id and m.fuzzy]
    assert not untranslated and not fuzzy, f"{language}: untranslated {untranslated}, fuzzy {fuzzy}"
    problems = [(str(m.id), errors) for m in catalog if m.id and (errors := list(m.check(catalog)))]
    assert not problems, f"{language}: placeholders that do not match the English: {problems}"
    if isinstance(catalog.num_plurals, int):
        assert all(len(m.string) == catalog.num_plurals for m in catalog if isinstance(m.id, tuple))


@pytest.mark.parametrize("language", SHIPPED)
def test_a_translation_equal_to_its_english_needs_an_allow_list_entry(language):
    catalog = load(TRANSLATIONS / language / "LC_MESSAGES" / "messages.po")
    same = {(language, m.id) for m in catalog if m.id and not isinstance(m.id, tuple) and m.string == m.id}
    assert same <= SAME_AS_ENGLISH, f"translated as the English itself (forgotten?): {sorted(same - SAME_AS_ENGLISH)}"


@pytest.mark.parametrize("language", SHIPPED)
def test_the_committed_mo_files_are_what_the_catalogues_compile_to(language):
    folder = TRANSLATIONS / language / "LC_MESSAGES"
    compiled = io.BytesIO()
    write_mo(compiled, load(folder / "messages.po"))
    assert (folder / "messages.mo").read_bytes() == compiled.getvalue(), "run the README's compile command"


def test_the_allow_list_names_only_real_translations():
    present = {(language, m.id) for language in SHIPPED
               for m in load(TRANSLATIONS / language / "LC_MESSAGES" / "messages.po") if m.id and m.string == m.id}
    assert SAME_AS_ENGLISH <= present, f"stale allow-list entries: {sorted(SAME_AS_ENGLISH - present)}"
