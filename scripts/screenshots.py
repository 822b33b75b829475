"""Regenerate the README's "Getting started" screenshots: ``python scripts/screenshots.py``.

It launches the app on a fresh temporary workspace, walks a new user's first steps in headless Chromium (Debian's
``chromium`` through Playwright, as the browser tests do) and saves one PNG per step into ``docs/screenshots/``:

1. ``start-1-welcome.png``: the first start, an empty workspace and its "Load the sample data" button;
2. ``start-2-data.png``: the sample data loaded, a row opened in the editor beside the table;
3. ``start-3-train.png``: the Train tab's preview of a CFT + SFT pair (examples, dropped samples, steps, warnings);
4. ``start-4-compare.png``: the Compare tab;
5. ``start-5-generate.png``: the Generate tab.

The One-Shot CFT file is used when it is found (cft.data.sample_data); this script, as the operator, allows its
directory. Never edit the PNGs by hand: run this again.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
VIEWPORT = {"width": 1366, "height": 900}



def _shot(page, name: str) -> None:
    time.sleep(0.8)  # let the last update paint
    page.screenshot(path=str(OUT / name), full_page=False)
    print(f"wrote {(OUT / name).relative_to(ROOT)}")


def main() -> int:
    os.environ["CFT_HOME"] = tempfile.mkdtemp(prefix="cft-screenshots-")
    sys.path.insert(0, str(ROOT))
    from cft.data import sample_data

    found = next((p for p in sample_data.candidates() if p.is_file()), None)
    if found is not None:  # the operator's choice: let the app read the sample file where it is
        os.environ["CFT_ALLOWED_DIRS"] = os.pathsep.join(
            [d for d in (os.environ.get("CFT_ALLOWED_DIRS", ""), str(found.resolve().parent)) if d])
    from playwright.sync_api import sync_playwright

    from tests.helpers import CHROMIUM, CHROMIUM_ARGS, browser_wait, launched_app

    def _wait(predicate, timeout: float = 120.0, what: str = "the page"):
        return browser_wait(predicate, timeout=timeout, what=what)

    OUT.mkdir(parents=True, exist_ok=True)
    with launched_app() as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport=VIEWPORT)
        page.goto(url)
        _wait(lambda: page.locator("#data-hint").is_visible(), what="the welcome")
        _shot(page, "start-1-welcome.png")

        page.locator("#data-load-sample").click()
        _wait(lambda: page.locator("#data-table [data-testid=cell-1-1]").count() > 0, what="the sample data")
        page.locator("#data-table [data-testid=cell-1-1]").click()
        _wait(lambda: "Sample #" in page.locator("#data-editor-header").inner_text(), what="the editor")
        _shot(page, "start-2-data.png")

        page.get_by_role("tab", name="Train").click()
        _wait(lambda: page.locator("#train-dataset input").input_value(), what="the Train tab's dataset")
        page.locator("#train-preview").click()
        _wait(lambda: "optimizer steps" in page.locator("#train-message").inner_text(), timeout=300,
              what="the preview")
        page.locator("#train-message").scroll_into_view_if_needed()
        _shot(page, "start-3-train.png")

        for tab, name, ready in (("Compare", "start-4-compare.png", "#cmp-hint"),
                                 ("Generate", "start-5-generate.png", "#generate-hint")):
            page.get_by_role("tab", name=tab).click()
            _wait(lambda: page.locator(ready).is_visible(), what=f"the {tab} tab")
            _shot(page, name)
        browser.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
