"""The search's normalised form (core.search.normalise): letters NFKD leaves whole are
written plainly, the same for a stored key and for a query."""

from __future__ import annotations

import pytest

from admin_app.accounts.models import search_key
from admin_app.core.search import normalise


@pytest.mark.parametrize(("typed", "stored"), [
    ("lodz", "Łódź"), ("LODZ", "łódź"), ("soren", "Søren"), ("SOREN", "SØREN"), ("dorde", "Đorđe"),
    ("aero", "Ærø"), ("oeuvre", "Œuvre"), ("thor", "Þór"), ("gudrun", "Guðrún"), ("isik", "Işık"),
    ("strasse", "Straße"), ("emile", "Émile"), ("obrien", "O'Brien"),
])
def test_a_plainly_typed_word_has_the_stored_names_form(typed, stored):
    assert normalise(typed) == normalise(stored) == typed.lower()


def test_a_persons_key_and_a_query_are_normalised_alike():
    key = search_key({"first_name": "Søren", "last_name": "Łukasiewicz", "username": "Þóra", "email": "s@ø.dk"})
    assert key == "soren lukasiewicz thora sodk"
    assert all(normalise(word) in key for word in ("Soren", "łukasiewicz", "THORA"))
