"""A real browser (Debian's chromium through Playwright, never a downloaded one) against the
service on a loopback port (``serve.run`` in a subprocess), every step through the pages:

- a firm logs in, uploads the S sample, waits for the verdict, opens the report, submits;
- the lead office accepts the submitted revision from its board (opens the case),
  dispatches it to the planning department and records the site inspection;
- the planning department sees the case, gives its opinion;
- the lead office concludes; the combined opinion is written and annexed to the planning
  department's product, which its case page lists.

Every page is photographed at desktop (1280×800) and phone (390×844) width into
``$DUOCE_SCREENSHOTS`` (kept) or the test's own folder (the path is printed); at phone
width no page of the application is wider than the screen. Skipped only when chromium is
absent and neither CI nor DUOCE_CI is set."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.processes import stop, wait_for_http
from tests.web.conftest import PASSWORD
from tests.web.test_serve import _zip_dir

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(
    not os.path.exists(CHROMIUM) and not os.environ.get("CI") and not os.environ.get("DUOCE_CI"),
    reason="Debian chromium not installed (apt-get install chromium fonts-noto-cjk)",
)
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}

# (org add arguments, username)
PEOPLE = [
    (["甲测绘", "--kind", "firm"], "firm_a"),
    (["规划局", "--kind", "department", "--department", "planning"], "dept_p"),
    (["行政审批局", "--kind", "lead"], "lead_1"),
]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The service on a free loopback port, with one person of a firm, the planning
    department and the lead office (made by the same code as ``duoce admin``)."""
    from typer.testing import CliRunner

    from interfaces.web.admin_cli import admin_app
    from interfaces.web.serve import free_port

    store = tmp_path_factory.mktemp("browser") / "store"
    runner = CliRunner()
    for org, user in PEOPLE:
        for args, stdin in ((["org", "add", *org], None),
                            (["user", "add", user, "--org", org[0], "--password-stdin"],
                             PASSWORD + "\n")):  # fmt: skip
            done = runner.invoke(admin_app, [*args, "--store", str(store)], input=stdin)
            assert done.exit_code == 0, done.output
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_API", "DUOCE_"))}
    env |= {"DUOCE_WEB_SECRET": "browser-test", "NO_PROXY": "*"}
    log = store.parent / "serve.log"
    code = f"from interfaces.web.serve import run; run('127.0.0.1', {port}, {str(store)!r})"
    with log.open("wb") as sink:
        proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env, stdout=sink,
                                stderr=subprocess.STDOUT)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(proc, base + "/healthz", log)
        yield base, store, log
    finally:
        stop(proc, timeout=30)


@pytest.fixture
def shots(tmp_path):
    folder = Path(os.environ.get("DUOCE_SCREENSHOTS") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    print(f"\nscreenshots: {folder}")
    return folder


class Photographer:
    """Photographs a page at both widths, in the order of the walk (``01-…-desktop.png``)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.count = 0
        self.too_wide: list[str] = []

    def __call__(self, page, name: str, check_width: bool = True) -> None:
        self.count += 1
        stem = f"{self.count:02d}-{name}"
        page.set_viewport_size(DESKTOP)
        page.screenshot(path=str(self.folder / f"{stem}-desktop.png"), full_page=True)
        page.set_viewport_size(PHONE)
        page.screenshot(path=str(self.folder / f"{stem}-phone.png"), full_page=True)
        width = page.evaluate("document.documentElement.scrollWidth")
        if check_width and width > PHONE["width"]:
            self.too_wide.append(f"{name}: {width}px")
        page.set_viewport_size(DESKTOP)


def _login(browser, base: str, username: str, shot=None):
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    context.set_default_timeout(30_000)
    page = context.new_page()
    page.goto(base + "/login")
    if shot:
        shot(page, "login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert "/login" not in page.url, page.content()[-2000:]
    return context, page


def _reload_until(page, selector: str, timeout: float = 240) -> None:
    """Reload until ``selector`` is on the page (pages that follow a run refresh themselves,
    the case page does not)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if page.query_selector(selector):
            return
        assert "内部错误" not in page.inner_text("body"), page.inner_text("body")[-2000:]
        time.sleep(1)
        page.reload()
    raise AssertionError(f"{selector} not on {page.url} after {timeout} s")


def test_firm_lead_and_department_carry_a_case_through_the_pages(served, sample_s, tmp_path, shots):
    from playwright.sync_api import sync_playwright

    base, store, log = served
    package = _zip_dir(sample_s, tmp_path / "S.zip")
    shot = Photographer(shots)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            # ---- the firm: upload, verdict, report, submit
            _, page = _login(browser, base, "firm_a", shot)
            page.goto(base + "/packages")
            shot(page, "firm-packages")
            page.set_input_files("input[name=package]", str(package))
            page.click("form[action='/packages'] button[type=submit]")
            page.wait_for_selector("#verdict", timeout=180_000)  # the page refreshes itself
            assert page.inner_text("#verdict") == "通过"
            shot(page, "firm-package-verdict")
            page.click("a[href$='/report']")  # the report opens in the same tab
            page.wait_for_url("**/report")
            assert "LC-KFQ-2022-0137" in page.content()
            shot(page, "firm-report", check_width=False)  # the CLI's report, not a page here
            page.go_back()
            page.wait_for_selector("form[action$='/submit']")
            page.click("form[action$='/submit'] button[type=submit]")
            page.wait_for_selector("#submitted-verdict", timeout=240_000)
            assert page.inner_text("#submitted-verdict") == "通过"
            shot(page, "firm-package-submitted")
            page.goto(base + "/projects/LC-KFQ-2022-0137")
            shot(page, "firm-project")

            # ---- the lead office: accept the revision, dispatch to planning only
            _, lead = _login(browser, base, "lead_1")
            lead.goto(base + "/cases")
            shot(lead, "lead-board-waiting")
            lead.click("form[action='/cases'] button[type=submit]")
            lead.wait_for_url(base + "/cases/LC-KFQ-2022-0137")
            shot(lead, "lead-case-opened")
            for box in lead.query_selector_all("input[name=departments]"):
                if box.get_attribute("value") != "planning":
                    box.uncheck()
            lead.click("form[action$='/dispatch'] button[type=submit]")
            lead.wait_for_load_state()
            assert "待出具" in lead.inner_text("body")
            shot(lead, "lead-case-dispatched")
            lead.fill("input[name=participants]", "张三，李四")
            lead.fill("textarea[name=notes]", "现场与成果一致")
            lead.click("form[action$='/inspect'] button[type=submit]")
            lead.wait_for_load_state()
            assert "inspect" not in lead.url and "现场勘察" in lead.inner_text("body")

            # ---- the planning department: its cases, its opinion
            _, dept = _login(browser, base, "dept_p")
            dept.goto(base + "/cases")
            assert "LC-KFQ-2022-0137" in dept.inner_text("body")
            shot(dept, "dept-cases")
            dept.click("a[href='/cases/LC-KFQ-2022-0137']")
            dept.wait_for_load_state()
            shot(dept, "dept-case")
            dept.select_option("select[name=decision]", "通过")
            dept.fill("textarea[name=text]", "规划条件核实无误")
            dept.click("form[action$='/opinion'] button[type=submit]")
            dept.wait_for_load_state()
            assert "规划条件核实无误" in dept.inner_text("body")
            shot(dept, "dept-case-opinion-given")

            # ---- the lead office concludes; the combined opinion follows off the request
            lead.goto(base + "/cases/LC-KFQ-2022-0137")
            lead.fill("input[name=number]", "联验〔2026〕1号")
            lead.click("form[action$='/conclude'] button[type=submit]")
            lead.wait_for_load_state()
            assert "通过（联验〔2026〕1号）" in lead.inner_text("body")
            _reload_until(lead, "a[href$='/joint-opinion']")
            shot(lead, "lead-case-concluded")
            lead.goto(base + "/cases")
            shot(lead, "lead-board")
            lead.goto(base + "/cases/LC-KFQ-2022-0137/joint-opinion")
            assert "联合验收意见书" in lead.content()
            shot(lead, "joint-opinion", check_width=False)  # a document for print, A4 wide

            # ---- the department's product lists the annexed opinion
            dept.goto(base + "/cases/LC-KFQ-2022-0137")
            _reload_until(dept, "#annexes a")
            assert "联合验收意见书" in dept.inner_text("#annexes")
            shot(dept, "dept-case-annexed")
            dept.click("#annexes a")
            dept.wait_for_load_state()
            assert "联合验收意见书" in dept.content()
        finally:
            browser.close()
    from storage.store import Store

    annexed = {a.department for a in Store(store).annexes(project_id="LC-KFQ-2022-0137")}
    assert annexed == {"planning", "archive"}, (annexed, log.read_text(errors="replace")[-3000:])
    assert not shot.too_wide, f"wider than the phone: {shot.too_wide}"
    assert len(list(shots.glob("*.png"))) == 2 * shot.count
