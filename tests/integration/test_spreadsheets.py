"""Exports opened by a real spreadsheet program: the list's CSV and XLSX downloads, holding
hostile values, converted by LibreOffice (headless, Debian's ``libreoffice-calc-nogui``) to
flat OpenDocument, whose cells say what LibreOffice made of them: a formula, a number or
text. No cell may come out as a formula, and numbers must stay numbers.

One LibreOffice run converts both files (it takes a few seconds to start), with the CSV
read as a person opening it would: comma-separated, UTF-8, ``"`` quoting, and formulas
evaluated (LibreOffice's default, under which an unguarded ``=1+1`` becomes a formula).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests import factories as f

HOSTILE = [
    "=1+1", "+1+1", "-1+1", "@SUM(1;1)", "\t=1+1", "\r=1+1",
    " =1+1", "  +SUM(A1:A2)", " -1+1", " @SUM(1,1)", "\t @A1",
    "'=1+1", "'+1+1", '"=1+1"', "\"'=1+1\"", "'quoted already",
    '=HYPERLINK("http://evil.example/x","click me")', "=cmd|' /C calc'!A0", "@cmd|' /C calc'!A0",
    "\uff1d1+1", "\uff0bSUM(A1)",
]

TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
OFFICE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"
TEXT = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"


def convert_with_libreoffice(files: list[Path], workdir: Path) -> list[Path]:
    """``files`` as flat ODS (.fods), in one LibreOffice run with a profile of its own."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    assert soffice, "LibreOffice is required: apt-get install -y libreoffice-calc-nogui (.ci/run does)"
    out = workdir / "converted"
    result = subprocess.run(
        [soffice, f"-env:UserInstallation={(workdir / 'profile').as_uri()}", "--headless", "--norestore",
         "--infilter=CSV:44,34,76,1", "--convert-to", "fods", "--outdir", str(out), *map(str, files)],
        capture_output=True, text=True, timeout=180, env={**os.environ, "HOME": str(workdir)}, check=False)
    converted = [out / (path.stem + ".fods") for path in files]
    assert result.returncode == 0 and all(path.exists() for path in converted), result.stdout + result.stderr
    return converted


def cell_text(cell: ET.Element) -> str:
    """A cell's text as shown: paragraphs joined by newlines; ``<text:s c="n"/>`` is n spaces."""
    def walk(node: ET.Element) -> str:
        parts = [node.text or ""]
        for child in node:
            if child.tag == TEXT + "s":
                parts.append(" " * int(child.get(TEXT + "c", "1")))
            elif child.tag == TEXT + "tab":
                parts.append("\t")
            elif child.tag == TEXT + "line-break":
                parts.append("\n")
            else:
                parts.append(walk(child))
            parts.append(child.tail or "")
        return "".join(parts)

    return "\n".join(walk(paragraph) for paragraph in cell.findall(TEXT + "p"))


def read_sheet(path: Path) -> list[list[dict[str, Any]]]:
    """The first sheet's rows: per cell its text, value type, numeric value and formula."""
    sheet = ET.parse(path).getroot().find(f".//{TABLE}table")
    assert sheet is not None
    rows = []
    for row in sheet.iter(TABLE + "table-row"):
        cells: list[dict[str, Any]] = []
        for cell in row.findall(TABLE + "table-cell"):
            repeat = min(int(cell.get(TABLE + "number-columns-repeated", "1")), 50)
            cells += [{"text": cell_text(cell), "type": cell.get(OFFICE + "value-type"),
                       "value": cell.get(OFFICE + "value"), "formula": cell.get(TABLE + "formula")}] * repeat
        if any(c["type"] for c in cells):
            rows.append(cells)
    return rows


def by_header(rows: list[list[dict[str, Any]]]) -> list[dict[str, dict[str, Any]]]:
    header = [cell["text"] for cell in rows[0]]
    return [{name: cell for name, cell in zip(header, row, strict=False) if name} for row in rows[1:]]


def test_hostile_exports_open_in_libreoffice_without_a_formula(client, staff, tmp_path):
    for n, name in enumerate(HOSTILE):
        f.product(name=name, price=Decimal("0.10") if n % 2 else Decimal("1234.56"), stock=n)
    files = []
    for kind in ("csv", "xlsx"):
        response = client.get(f"/admin/product/export/{kind}/")
        assert response.status_code == 200
        files.append(tmp_path / f"products.{kind}")
        files[-1].write_bytes(response.data)
    # A control: the same reading turns an unguarded =1+1 into a formula, so the checks
    # below can see one.
    files.append(tmp_path / "unguarded.csv")
    files[-1].write_bytes(b"Name,Stock\r\n=1+1,3\r\n")
    csv_sheet, xlsx_sheet, control = (read_sheet(path) for path in convert_with_libreoffice(files, tmp_path))
    assert control[1][0]["formula"] == "of:=1+1" and control[1][1]["type"] == "float"

    for sheet in (csv_sheet, xlsx_sheet):
        assert len(sheet) == 1 + len(HOSTILE)
        assert [cell["formula"] for row in sheet for cell in row if cell["formula"]] == []
    for kind, sheet in (("csv", csv_sheet), ("xlsx", xlsx_sheet)):
        rows = sorted(by_header(sheet), key=lambda row: float(row["Stock"]["value"]))
        for n, (name, row) in enumerate(zip(HOSTILE, rows, strict=True)):
            assert (row["Stock"]["type"], float(row["Stock"]["value"])) == ("float", n), kind
            assert row["Price"]["type"] == "float" and Decimal(row["Price"]["value"]) == (
                Decimal("0.1") if n % 2 else Decimal("1234.56")), kind
            assert row["Name"]["type"] == "string", (kind, name)
            # Exactly the stored text, in both: LibreOffice takes the CSV guard's leading
            # ``'`` as the mark of a text cell (so ``''quoted`` shows ``'quoted``), and the
            # XLSX cell is text with the quote-prefix style. A CR comes back as a line break.
            assert row["Name"]["text"] == name.replace("\r", "\n"), (kind, name)
