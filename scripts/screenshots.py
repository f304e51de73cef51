#!/usr/bin/env python
"""Take the README's screenshots (docs/screenshots/) again: the demo (``manage.py demo``,
on a throwaway SQLite database) in headless Chromium, in the Light and Dark themes, on a
desktop and on a phone-sized screen.

    python scripts/screenshots.py            # writes docs/screenshots/*.png
    python scripts/screenshots.py --serve    # only start the demo and print its address

Needs Debian's /usr/bin/chromium (as the browser tests do).
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_demo(folder: str) -> tuple[subprocess.Popen, str, str]:
    """``manage.py demo`` on a new SQLite file: (process, base URL, admin password)."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{folder}/demo.db", "FLASK_DEBUG": "0"}
    process = subprocess.Popen([sys.executable, "manage.py", "demo", "--port", str(port)], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    password = None
    for line in process.stdout:
        if found := re.search(r"with password '([^']+)'", line):
            password = found.group(1)
            break
    if password is None:
        raise SystemExit("manage.py demo did not start")
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    return process, base, password


def choose_theme(page, theme: str) -> None:
    """Pick the theme on "My account", as an employee does."""
    page.goto("/admin/account/")
    page.select_option("#prefs-theme", theme)
    page.click("#prefs-submit_preferences")
    page.wait_for_load_state("networkidle")


def shoot(page, name: str, path: str, full_page: bool = False) -> None:
    page.goto(path)
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(OUT / f"{name}.png"), full_page=full_page)
    print("wrote", OUT / f"{name}.png")


def take(base: str, password: str) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        for theme, viewport, shots in (
            ("light", DESKTOP, [("dashboard", "/admin/"), ("orders", "/admin/order/"),
                                ("order-form", "/admin/order/edit/?id=1")]),
            ("dark", DESKTOP, [("dashboard-dark", "/admin/"), ("order-form-dark", "/admin/order/edit/?id=1")]),
            ("light", PHONE, [("orders-phone", "/admin/order/"), ("order-form-phone", "/admin/order/edit/?id=1")]),
        ):
            context = browser.new_context(base_url=base, viewport=viewport)
            page = context.new_page()
            page.goto("/login")
            page.fill("input[name=username]", "admin")
            page.fill("input[name=password]", password)
            page.press("input[name=password]", "Enter")
            page.wait_for_load_state("networkidle")
            choose_theme(page, theme)
            for name, path in shots:
                shoot(page, name, path, full_page=name.startswith("order-form"))
            context.close()
        browser.close()


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        process, base, password = start_demo(folder)
        try:
            if "--serve" in sys.argv:
                print(f"{base}/admin/  admin / {password}  (Ctrl-C stops)", flush=True)
                process.wait()
            else:
                take(base, password)
        finally:
            process.terminate()
            process.wait()


if __name__ == "__main__":
    main()
