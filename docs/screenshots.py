"""Take the dashboard's screenshots for docs/dashboard.md from a seeded demo (never by hand).

    .venv/bin/python docs/screenshots.py [--out docs/img] [--chromium /usr/bin/chromium]

Stages the demo (`engine.web.demo.stage`: sandboxes, people, the demo's syncs, a
deletion held for review), serves its dashboard on loopback and photographs each
screen in Debian's Chromium at a desktop and a phone width.
"""

from __future__ import annotations

import argparse
import re
import shutil
import tempfile
import threading
import time
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path

import uvicorn
from playwright.sync_api import Page, sync_playwright

from engine.config import load_config
from engine.sandbox import bound_socket
from engine.service import ServiceSettings, build_app
from engine.web.demo import stage

WIDTHS = {"desktop": (1280, 800), "phone": (390, 844)}


def serve(config: Path, settings: ServiceSettings) -> tuple[uvicorn.Server, int]:
    app, _service = build_app(load_config(config), settings)
    sock = bound_socket("127.0.0.1", 0)
    port = int(sock.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return server, port


def screens(page: Page, base: str) -> dict[str, str]:
    """Each screen's name and address, found by following the dashboard's own links."""
    page.goto(base + "/ui/connections/stripe-to-google")
    run = page.get_by_role("link", name=re.compile(r"^#\d+$")).last.get_attribute("href")
    page.goto(base + "/ui/connections/stripe-to-google/records?q=ada")
    record = page.locator("#records_list a").first.get_attribute("href")
    return {
        "connections": "/",
        "connection": "/ui/connections/stripe-to-google",
        "preview": "/ui/connections/stripe-to-google/preview",
        "run": str(run),
        "records": "/ui/connections/stripe-to-google/records",
        "record": str(record),
        "review": "/ui/connections/stripe-to-google/review",
        "failures": "/ui/connections/stripe-to-google/failures",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "img")
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="pairsync-shots-")))
        config, _sandboxes = stage(stack, folder)
        server, port = serve(config, ServiceSettings())
        guarded, guarded_port = serve(config, replace(ServiceSettings(), token="screenshot-token"))
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=args.chromium, args=["--no-sandbox"])
            base = f"http://127.0.0.1:{port}"
            addresses = screens(browser.new_page(), base)
            for width, (w, h) in WIDTHS.items():
                page = browser.new_page(viewport={"width": w, "height": h})
                for name, path in addresses.items():
                    page.goto(base + path)
                    page.wait_for_load_state("networkidle") if name != "connections" else page.wait_for_timeout(500)
                    page.screenshot(path=str(args.out / f"dashboard-{name}-{width}.png"), full_page=True)
                page.goto(f"http://127.0.0.1:{guarded_port}/")
                page.screenshot(path=str(args.out / f"dashboard-login-{width}.png"), full_page=True)
                page.close()
            browser.close()
        server.should_exit = guarded.should_exit = True
    print(f"screenshots in {args.out}")


if __name__ == "__main__":
    main()
