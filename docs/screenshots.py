"""Screenshots of three pages of the docs site, taken with headless Chromium.

Builds the site strictly into a temporary folder, serves it on 127.0.0.1 with ``http.server`` and
writes ``docs/images/screenshots/{home,keras-guide,trainer-fit}.png``::

    python docs/screenshots.py [--chromium /usr/bin/chromium] [--out docs/images/screenshots]

Needs Playwright (the ``test`` extra) and a Chromium binary (Debian: ``apt-get install chromium``).
"""

import argparse
import functools
import http.server
import os
import pathlib
import subprocess
import sys
import tempfile
import threading

from playwright.sync_api import sync_playwright

REPO = pathlib.Path(__file__).resolve().parents[1]
# name -> (page path in the site, anchor to scroll to or "")
PAGES = {
    "home": ("", ""),
    "keras-guide": ("guides/02-keras-workflow/", ""),
    "trainer-fit": ("api/training/", "fnnet.training.Trainer.fit"),
}


def build(site: pathlib.Path) -> None:
    """``mkdocs build --strict`` into ``site``."""
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "--site-dir", str(site)]
    subprocess.run(command, cwd=REPO, check=True, env=env)


def serve(site: pathlib.Path) -> http.server.ThreadingHTTPServer:
    """A loopback HTTP server of ``site`` on a free port, running in a daemon thread."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def shoot(base: str, out: pathlib.Path, chromium: str, width: int = 1280, height: int = 860) -> list[pathlib.Path]:
    """One PNG per entry of ``PAGES``, of the browser's viewport, in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": width, "height": height}, device_scale_factor=1)
        for name, (path, anchor) in PAGES.items():
            page.goto(f"{base}/{path}", wait_until="networkidle")
            if anchor:
                page.locator(f'[id="{anchor}"]').scroll_into_view_if_needed()
                page.evaluate(f"document.getElementById('{anchor}').scrollIntoView({{block: 'start'}})")
                page.evaluate("window.scrollBy(0, -70)")  # below the sticky header
                page.wait_for_timeout(800)  # the header swaps its title on scroll: let it finish
            target = out / f"{name}.png"
            page.screenshot(path=str(target))
            written.append(target)
        browser.close()
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chromium", default="/usr/bin/chromium", help="the Chromium binary")
    parser.add_argument("--out", type=pathlib.Path, default=REPO / "docs" / "images" / "screenshots")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        site = pathlib.Path(folder) / "site"
        build(site)
        server = serve(site)
        try:
            for path in shoot(f"http://127.0.0.1:{server.server_address[1]}", args.out, args.chromium):
                print(path)
        finally:
            server.shutdown()


if __name__ == "__main__":
    main()
