"""The HTML report as a person sees it, in a real headless Chromium (Debian's `chromium`, driven by
Playwright): the verdict first, a finding row with its why and fix, filters that hide rows, a
column that sorts, no network request (even for a name crafted to make one), and a screenshot
kept as a test artefact (test-artifacts/html-report.png)."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from aisbom.cli import cli

REPO = Path(__file__).resolve().parents[1]
ARTEFACTS = REPO / "test-artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if CHROMIUM is None:
        message = "needs Debian's chromium (apt-get install chromium); .ci/run installs it"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield launched
        launched.close()


class _Recorder(BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 (the http.server name)
        self.hits.append(self.path)
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def listener() -> Iterator[tuple[str, list[str]]]:
    """A server on loopback that records every request: nothing in the report may reach it."""
    hits: list[str] = []
    handler = type("Handler", (_Recorder,), {"hits": hits})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}", hits
    finally:
        server.shutdown()


def _report(tmp_path: Path, host: str) -> Path:
    target = tmp_path / "model"
    shutil.copytree(REPO / "fixtures" / "demo", target)
    # A pickle whose global names markup that would fetch from the listener if it were not escaped.
    module = f"evil<img src='http://{host}/img'><script src='http://{host}/js'></script>"
    (target / "crafted.pkl").write_bytes(b"\x80\x02c" + module.encode() + b"\nname\n)R.")
    out = tmp_path / "report.html"
    result = CliRunner().invoke(cli, ["scan", str(target), "--format", "html", "-o", str(out)])
    assert result.exit_code == 1, result.output
    return out


def test_the_report_in_a_browser(browser, tmp_path: Path, listener: tuple[str, list[str]]):  # type: ignore[no-untyped-def]
    host, hits = listener
    report = _report(tmp_path, host)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(report.as_uri())

    # The verdict first.
    verdict = page.locator("#verdict")
    assert verdict.inner_text().startswith("UNSAFE")
    assert page.locator("body > *").nth(1).get_attribute("id") == "verdict"  # right after the title
    assert "do not load what is flagged" in verdict.inner_text()

    # A finding row, with its why and its fix.
    row = page.locator("tr.finding[data-rule='pickle-dangerous-global']")
    assert row.count() == 1 and row.is_visible()
    text = row.inner_text()
    assert "CRITICAL" in text and "os.system('touch aisbom-marker')" in text
    assert "loading it runs this code" in text and "Fix: do not load it" in text
    group = page.locator("tbody.group[data-path='extra_weights.bin']")
    assert group.locator("tr.finding").count() == 2  # grouped under its file

    # The crafted name is text, not markup.
    assert page.locator("img").count() == 0 and page.locator("script[src]").count() == 0
    assert f"evil<img src='http://{host}/img'>" in page.locator("#findings").inner_text()

    ARTEFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTEFACTS / "html-report.png"), full_page=True)

    # Filters hide rows: by text, by severity, failing only.
    page.fill("#filter-text", "model.pt")
    assert not row.is_visible() and not group.is_visible()
    assert page.locator("tbody.group[data-path='model.pt'] tr.finding").is_visible()
    page.fill("#filter-text", "")
    page.select_option("#filter-severity", "3")  # high and above
    assert row.is_visible()
    assert not page.locator("tr.finding[data-rule='pickle-format']").first.is_visible()
    page.select_option("#filter-severity", "0")
    page.check("#filter-failing")
    visible = page.locator("tr.finding:visible")
    assert {visible.nth(i).get_attribute("data-failing") for i in range(visible.count())} == {"1"}
    assert page.locator("#shown-count").inner_text() == str(visible.count())

    # A click on a column sorts the files table.
    def files() -> list[str]:
        return page.locator("#files tbody tr td:first-child").all_inner_texts()

    assert files() == sorted(files())
    page.click("#files th:has-text('Size')")
    page.click("#files th:has-text('Size')")  # descending
    assert files()[0] == "model.pt"

    # Nothing but the file itself was requested, and the listener heard nothing.
    assert requests == [report.as_uri()]
    assert hits == []
    page.close()
