"""A pseudo-locale, generated from the catalogues at test time (never committed): every
translatable string comes out wrapped in ``⟦…⟧``, so any text a page shows outside the
markers was never marked for translation.

Babel 2.19 has no data for CLDR's pseudo-locales (``en_XA``), and Flask-Babel parses every
locale it selects; so the pseudo catalogue goes under a real locale the back office never
offers and for which neither Flask-Admin nor WTForms ships a catalogue (an English variant
would fall back on Flask-Admin's ``en`` one, which would win): Esperanto, ``eo``, whose
dates and numbers Babel writes without words (``2026-03-10 23:30``, ``1 234,56 €``).
"""

from __future__ import annotations

import re
from pathlib import Path

import flask_admin
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from admin_app.core.i18n import TRANSLATIONS

PSEUDO_LOCALE = "eo"
OPEN, CLOSE = "⟦", "⟧"
FLASK_ADMIN_MESSAGES = Path(flask_admin.__file__).parent / "translations" / "en" / "LC_MESSAGES" / "admin.po"


def wrap(text: str) -> str:
    return f"{OPEN}{text}{CLOSE}"


def _pseudo(template: Path, domain: str, directory: Path) -> None:
    with template.open("rb") as source:
        messages = [message for message in read_po(source) if message.id]
    catalog = Catalog(locale=PSEUDO_LOCALE, domain=domain)
    for message in messages:
        string = tuple(map(wrap, message.id)) if isinstance(message.id, tuple) else wrap(message.id)
        catalog.add(message.id, string, flags=message.flags - {"fuzzy"})
    target = directory / PSEUDO_LOCALE / "LC_MESSAGES"
    target.mkdir(parents=True, exist_ok=True)
    with (target / f"{domain}.mo").open("wb") as out:
        write_mo(out, catalog)


def build_pseudo_locale(directory: Path) -> Path:
    """Our catalogue (``messages.pot``) and Flask-Admin's (its English one lists every string
    it translates), each string wrapped, as ``directory/en_001/LC_MESSAGES/*.mo``."""
    _pseudo(TRANSLATIONS / "messages.pot", "messages", directory)
    _pseudo(FLASK_ADMIN_MESSAGES, "admin", directory)
    return directory


def outside_markers(text: str) -> str:
    """``text`` without its marked parts (innermost first: a marked string may hold another)."""
    previous = None
    while previous != text:
        previous, text = text, re.sub(f"{OPEN}[^{OPEN}{CLOSE}]*{CLOSE}", " ", text)
    return text
