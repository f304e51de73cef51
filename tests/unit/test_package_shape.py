"""The package's shape (issue 18): no imports inside functions, no import cycles between
modules, and the core package imports no domain package."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_imports_keep_the_package_shape():
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "check_imports.py")],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout
    assert result.stdout.strip() == "no imports inside functions, no cycles, core imports no domain"
