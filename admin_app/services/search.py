"""The limits of a search typed into a list (or given to ``manage.py export --search``).

Every word of a search is one more condition on every searched column, so a search has a
cost the database must bound: SQLite refuses one of about 500 words outright ("Expression
tree is too large"), and PostgreSQL takes ever longer. The list and its export (and the
command line's export) all keep the first ``MAX_SEARCH_TERMS`` words within
``MAX_SEARCH_CHARS`` characters, and say what they left out.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_SEARCH_TERMS = 10
MAX_SEARCH_CHARS = 200


@dataclass(frozen=True)
class LimitedSearch:
    """A search's words within the limits (``text``), and the words left out (``dropped``)."""

    text: str
    dropped: tuple[str, ...]

    def message(self) -> str:
        shown = " ".join(self.dropped)
        if len(shown) > 80:
            shown = shown[:79] + "…"
        return (f"Searches use at most {MAX_SEARCH_TERMS} words and {MAX_SEARCH_CHARS} characters, so "
                f"{len(self.dropped)} word(s) were left out: {shown}")


def limit_search(text: str | None) -> LimitedSearch:
    """The first ``MAX_SEARCH_TERMS`` words of a search, within ``MAX_SEARCH_CHARS``
    characters (a longer first word is cut). Every word is one more condition on every
    searched column: SQLite refuses a search of ~500 words outright ("Expression tree is
    too large") and PostgreSQL takes ever longer, so the list and its export would fail."""
    words = (text or "").split()
    kept: list[str] = []
    cut = ""  # the end of a word cut off at the character limit
    for word in words[:MAX_SEARCH_TERMS]:
        room = MAX_SEARCH_CHARS - len(" ".join(kept)) - (1 if kept else 0)
        if len(word) > room:
            if room > 0:
                kept.append(word[:room])
                cut = word[room:]
            break
        kept.append(word)
    dropped = ((cut,) if cut else ()) + tuple(words[len(kept):])
    return LimitedSearch(" ".join(kept), dropped)
