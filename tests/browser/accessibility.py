"""axe-core in the browser tests: inject the npm package's ``axe.min.js`` and run it.

``npm ci --prefix tests/browser`` installs it (``.ci/run`` does). Our CSP allows no
injected script, so only a page opened in a context made with ``bypass_csp=True`` (see
:func:`scan_context`) can be scanned: never the contexts of the other browser tests.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

AXE = Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js"
# What WCAG 2.1 AA asks (axe's tags), and the best practices issue 21 holds us to.
WCAG_TAGS = frozenset({"wcag2a", "wcag2aa", "wcag21a", "wcag21aa"})
REQUIRED_BEST_PRACTICES = frozenset({"region", "landmark-one-main", "page-has-heading-one"})
PHONE = {"width": 320, "height": 640}
DESKTOP = {"width": 1366, "height": 900}


def scan_context(browser: Any, base_url: str, color_scheme: str = "light", viewport: dict | None = None) -> Any:
    return browser.new_context(base_url=base_url, viewport=viewport or DESKTOP, color_scheme=color_scheme,
                               bypass_csp=True)


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """Every violation of axe's default rules on the page as it is now."""
    if not AXE.exists():
        raise AssertionError(f"{AXE} is missing: run `npm ci --prefix tests/browser`")
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    return page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations")


def failing(violations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The violations that fail a page: any WCAG 2.0/2.1 A or AA rule, and the three best practices."""
    return [v for v in violations if WCAG_TAGS & set(v["tags"]) or v["id"] in REQUIRED_BEST_PRACTICES]


def describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        lines.append(f"{v['id']} ({v['impact']}, {len(v['nodes'])} nodes): {v['help']}")
        lines.extend(f"    {node['target']} {node.get('failureSummary', '')[:300]!r}" for node in v["nodes"][:5])
    return "\n".join(lines)


def horizontal_overflow(page: Any) -> int:
    """How many CSS pixels the page as a whole scrolls sideways (0 when it reflows)."""
    return page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth")
