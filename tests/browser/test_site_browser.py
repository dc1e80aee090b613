"""The demo-like site in Debian's Chromium, driven by ChromeDriver through selenium.

Nothing downloads a browser or a driver: the system `chromium` and `chromedriver` are
named explicitly. The site is served by `http.server` on the loopback under a sub-path
(as a GitHub Pages project site is) and also opened from file://.
"""

from __future__ import annotations

import functools
import os
import shutil
import threading
import urllib.request
from collections import deque
from datetime import UTC, datetime
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urldefrag, urljoin, urlsplit

import pytest

from scorer.result import SCORED
from site_generator import build
from synthetic import demo_repo
from tests.site_checks import numbers_in, private_strings, source_lines

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NOW = datetime(2026, 12, 20, tzinfo=UTC)
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--disable-sync",
         "--disable-default-apps", "--disable-extensions", "--disable-dev-shm-usage")
DESKTOP, PHONE = (1280, 900), (390, 844)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser")
    srepo = demo_repo(root / "repo")
    site = root / "www" / "project"  # served under /project/, like a Pages project site
    build(srepo.path, site, now=NOW)
    return srepo, site


@pytest.fixture(scope="module")
def server(demo):
    _, site = demo
    handler = functools.partial(_QuietHandler, directory=str(site.parent))
    httpd = _Server(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/project/"
    httpd.shutdown()
    httpd.server_close()


class _Server(ThreadingHTTPServer):
    request_queue_size = 64  # a page's parallel requests on a loaded machine: none dropped


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def driver(chromium, tmp_path_factory):
    chromedriver = shutil.which("chromedriver")
    if chromedriver is None:
        msg = "no chromedriver on PATH (apt-get install chromium-driver)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"CI=true but {msg}")
        pytest.skip(msg)
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = chromium
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.add_argument(f"--window-size={DESKTOP[0]},{DESKTOP[1]}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    d = webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)
    d.set_page_load_timeout(30)
    yield d
    d.quit()


def console_errors(driver) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def page_status(driver) -> int:
    return driver.execute_script(
        "const n = performance.getEntriesByType('navigation')[0];"
        "return n ? n.responseStatus : 0;")


def foreign_requests(driver, origin: str) -> list[str]:
    names = driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name);")
    return [n for n in names if not n.startswith(origin)]


# ------------------------------------------------------------------------------- tests
def test_every_link_loads_without_broken_link_console_error_or_foreign_request(
        driver, server):
    origin = "{0.scheme}://{0.netloc}/".format(urlsplit(server))
    seen, queue, pages, files = set(), deque([server + "index.html"]), 0, 0
    while queue:
        url = queue.popleft()
        if url in seen:
            continue
        seen.add(url)
        assert url.startswith(server), f"a link leaves the site's folder: {url}"
        if not url.endswith(".html"):
            with urllib.request.urlopen(url, timeout=10) as resp:  # data files, plots
                assert resp.status == 200, url
            files += 1
            continue
        driver.get(url)
        pages += 1
        assert page_status(driver) == 200, f"broken link: {url}"
        assert console_errors(driver) == [], url
        assert foreign_requests(driver, origin) == [], url
        assert "system-ui" in driver.execute_script(
            "return getComputedStyle(document.body).fontFamily"), f"no stylesheet on {url}"
        for img in driver.execute_script(
                "return [...document.images].map(i => [i.src, i.naturalWidth, i.alt])"):
            assert img[1] > 0 and img[2], f"image not shown or without alt text: {img}"
        hrefs = driver.execute_script(
            "return [...document.querySelectorAll('a[href]')]"
            ".map(a => new URL(a.getAttribute('href'), document.baseURI).href)")
        for href in hrefs:
            target = urldefrag(href)[0]
            if target.startswith(origin):
                queue.append(target)
            else:
                assert href.startswith("https://"), f"{url}: unexpected link {href}"
    assert pages > 50 and files >= 4  # leaderboard.json and .csv of each challenge


def test_site_opens_from_file_url_with_styles_plots_and_no_error(driver, demo):
    _, site = demo
    driver.get((site / "index.html").as_uri())
    driver.find_element("link text", "Iris species (open phase)").click()
    assert driver.current_url.endswith("iris_open/index.html")
    images = driver.execute_script(
        "return [...document.images].map(i => i.complete && i.naturalWidth > 0)")
    assert images and all(images)
    driver.find_element("link text", "Lineage").click()
    node_links = driver.execute_script(
        "return [...document.querySelectorAll('svg a')].map(a => a.getAttribute('href'))")
    assert node_links, "the lineage graph links to submissions"
    driver.get(urljoin(driver.current_url, node_links[0]))
    assert "Lineage" in driver.page_source and page_has_style(driver)
    assert console_errors(driver) == []


def page_has_style(driver) -> bool:
    return "system-ui" in driver.execute_script(
        "return getComputedStyle(document.body).fontFamily")


def expected_order(versions):
    scored = [v for v in versions if v.result.status == SCORED]
    scored.sort(key=lambda v: (-v.result.bagged["valid"]["acc"], v.result.submitted_at))
    return scored


def table_column(driver, caption_start: str, column: int) -> list[str]:
    return driver.execute_script("""
        const t = [...document.querySelectorAll('table')]
            .find(t => t.caption && t.caption.textContent.startsWith(arguments[0]));
        return [...t.tBodies[0].rows].map(r => r.cells[arguments[1]].textContent.trim());
    """, caption_start, column)


def test_leaderboards_in_the_browser_follow_the_ledger(driver, server, demo):
    srepo, _ = demo
    order = expected_order(srepo.challenges["iris_open"].versions)
    driver.get(server + "iris_open/submissions.html")
    assert table_column(driver, "All scored", 2) == [v.name for v in order]
    best, teams = [], set()
    for v in order:
        if v.team not in teams:
            teams.add(v.team)
            best.append(v.name)
    driver.get(server + "iris_open/index.html")
    assert table_column(driver, "Each team", 2) == best
    assert table_column(driver, "Each team", 0) == [str(i + 1) for i in range(len(best))]


def test_columns_sort_when_clicked_and_tell_assistive_technology(driver, server):
    driver.get(server + "iris_open/submissions.html")
    header = driver.find_element("xpath", "//th[normalize-space()='Train time']")
    header.find_element("tag name", "button").click()
    assert header.get_attribute("aria-sort") == "ascending"
    col = driver.execute_script("return arguments[0].cellIndex", header)
    values = [float(v.split()[0]) for v in table_column(driver, "All scored", col)]
    assert values == sorted(values) and len(set(values)) > 3
    header.find_element("tag name", "button").click()
    assert header.get_attribute("aria-sort") == "descending"
    values = [float(v.split()[0]) for v in table_column(driver, "All scored", col)]
    assert values == sorted(values, reverse=True)
    assert console_errors(driver) == []


def test_closed_challenge_pages_show_no_code_and_no_private_score(driver, server, demo):
    srepo, site = demo
    closed = srepo.challenges["iris_closed"]
    secret_lines = source_lines(closed, (srepo.challenges["iris_open"],))
    secret_scores = private_strings(closed)
    pages = sorted(p.relative_to(site).as_posix() for p in (site / "iris_closed").rglob("*.html"))
    assert len(pages) > 15
    for page in pages:
        driver.get(server + page)
        text = driver.execute_script("return document.documentElement.innerText")
        assert not [ln for ln in secret_lines if ln in text], page
        assert not numbers_in(text) & secret_scores, page
        if "/s/" in page:
            assert "shown once the open phase starts" in text


def test_screenshots_at_desktop_and_phone_width(driver, server, demo, test_output):
    srepo, _ = demo
    child = next(v for v in srepo.challenges["iris_open"].versions
                 if v.parent is not None and v.result.status == SCORED)
    shots = {"index": "index.html", "leaderboard": "iris_open/index.html",
             "private": "iris_open/private.html", "lineage": "iris_open/lineage.html",
             "submission": f"iris_open/s/{child.name}~{child.stem}.html",
             "closed": "iris_closed/index.html"}
    for size_name, (width, height) in (("desktop", DESKTOP), ("phone", PHONE)):
        for name, page in shots.items():
            driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
                "width": width, "height": height, "deviceScaleFactor": 1,
                "mobile": size_name == "phone"})
            driver.get(server + page)
            styled_at(driver, width)
            overflow = driver.execute_script(
                "return document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 1, f"{page} scrolls sideways at {width}px"
            full = driver.execute_script("return document.documentElement.scrollHeight")
            driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
                "width": width, "height": min(full, 5000), "deviceScaleFactor": 1,
                "mobile": size_name == "phone"})
            path = test_output / f"site-{name}-{size_name}.png"
            assert driver.save_screenshot(str(path)) and path.stat().st_size > 10_000
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def test_boards_are_complete_and_ranked_without_javascript(driver, server, demo):
    srepo, _ = demo
    driver.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
    try:
        driver.get(server + "iris_open/submissions.html")
        names = [td.text for td in driver.find_elements(
            "css selector", "table.board tbody tr td:nth-child(3)")]
        assert names == [v.name for v in expected_order(srepo.challenges["iris_open"].versions)]
        assert driver.find_elements("css selector", "table.board th button") == []
    finally:
        driver.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": False})


# ------------------------------------------------------------------ the site at scale
FORGE = "https://github.com/example-org/example-hub"


@pytest.fixture(scope="module")
def paged(demo, server):
    """The same repository built with five rows a board page and a forge configured,
    beside the first site (served under /paged/)."""
    srepo, site = demo
    build(srepo.path, site.parent / "paged", now=NOW, page_rows=5, forge_url=FORGE)
    return srepo, server.replace("/project/", "/paged/")


def wait_for(driver, script: str, timeout: float = 10):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(lambda d: d.execute_script(script))


def styled_at(driver, width: int) -> None:
    """Wait until the page is laid out as a reader sees it: loaded, its stylesheet
    applied, at the emulated `width` (a loaded machine may measure it before)."""
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 10).until(lambda d: d.execute_script(
        "return document.readyState === 'complete' && window.innerWidth === "
        f"{width} && getComputedStyle(document.body).fontFamily.includes('system-ui')"),
        f"{driver.current_url}: not laid out with its stylesheet at {width} px")


def search_rows(driver) -> list[list[str]]:
    return driver.execute_script(
        "return [...document.querySelectorAll('form.search .search-results tbody tr')]"
        ".map(r => [...r.cells].map(c => c.textContent.trim()))")


def test_search_and_filters_find_the_submissions_asked_for(driver, paged):
    srepo, url = paged
    versions = srepo.challenges["iris_open"].versions
    driver.get(url + "iris_open/submissions.html")
    box = driver.find_element("css selector", "form.search input[name=q]")
    assert box.is_displayed()  # shown once the script runs (hidden without it)
    target = next(v for v in versions if v.result.status == SCORED)
    box.send_keys(target.name)
    wait_for(driver, "return document.querySelectorAll("
                     "'form.search .search-results tbody tr').length > 0")
    rows = search_rows(driver)
    want = {v.name for v in versions if target.name.lower() in v.name.lower()}
    assert {r[2] for r in rows} == want
    link = driver.find_element("css selector", "form.search .search-results tbody a")
    assert link.get_attribute("href").endswith(f"/s/{target.name}~{target.stem}.html")
    # each row's rank (the index leaves it to the row's place) is its board's
    ranks = {f"s/{v.name}~{v.stem}.html": str(i)
             for i, v in enumerate(expected_order(versions), 1)}
    shown = driver.execute_script(
        "return [...document.querySelectorAll('form.search .search-results tbody tr')]"
        ".map(r => [r.cells[0].textContent.trim(), r.querySelector('a').getAttribute('href')])")
    assert len(shown) == len(rows)
    assert [rank for rank, _ in shown] == \
        [ranks.get("s/" + href.rsplit("s/", 1)[1], "–") for _, href in shown]

    # a team filter alone: every version of that team, scored or failed, nothing else
    box.clear()
    team = versions[0].team
    from selenium.webdriver.support.ui import Select

    Select(driver.find_element("css selector", "form.search select[name=team]")
           ).select_by_visible_text(team)
    wait_for(driver, "return document.querySelectorAll("
                     "'form.search .search-results tbody tr').length > 0")
    rows = search_rows(driver)
    assert {r[1] for r in rows} == {team}
    assert sorted(r[2] for r in rows) == sorted(v.name for v in versions if v.team == team)
    count = driver.find_element("css selector", "form.search .search-count").text
    assert count.startswith(f"{len(rows)} submission(s) found")
    # and a status on top of it: only its failed ones
    failed = [v for v in versions if v.team == team and v.result.status != SCORED]
    Select(driver.find_element("css selector", "form.search select[name=status]")
           ).select_by_visible_text(failed[0].result.status if failed else SCORED)
    rows = search_rows(driver)
    assert all(r[1] == team for r in rows) and len(rows) >= 1
    assert console_errors(driver) == []


def test_board_pages_link_to_each_other_without_javascript(driver, paged):
    srepo, url = paged
    order = expected_order(srepo.challenges["iris_open"].versions)
    driver.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
    try:
        driver.get(url + "iris_open/submissions.html")
        assert not driver.find_element("css selector", "form.search").is_displayed()
        first = table_column(driver, "All scored", 2)
        assert first == [v.name for v in order[:5]]
        driver.find_element("css selector", "nav.pager a[rel=next]").click()
        assert driver.current_url.endswith("iris_open/submissions-2.html")
        assert table_column(driver, "All scored", 0) == ["6", "7", "8", "9", "10"]
        assert table_column(driver, "All scored", 2) == [v.name for v in order[5:10]]
        last = driver.find_elements("css selector", "nav.pager li a")[-2]  # before "Next"
        assert last.text == "Last"  # the last page, by its alias (a copy of it)
        last.click()
        n_pages = -(-len(order) // 5)
        assert n_pages > 2 and driver.current_url.endswith("submissions-last.html")
        assert table_column(driver, "All scored", 2) == [v.name for v in order[5 * (n_pages - 1):]]
        driver.find_element("css selector", "nav.pager a[rel=prev]").click()
        assert driver.current_url.endswith(f"submissions-{n_pages - 1}.html")
    finally:
        driver.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": False})


def test_a_board_page_reads_its_number_of_rows_from_the_status_file(driver, paged):
    """Board pages leave the number of rows and of pages to status.js, so that a new
    result rewrites only the pages whose rows moved; with script on, every pager tells
    them."""
    srepo, url = paged
    scored = sum(v.result.status == SCORED for v in srepo.challenges["iris_open"].versions)
    driver.get(url + "iris_open/submissions-2.html")
    wait_for(driver, "return !document.querySelector('nav.pager span.of').hidden")
    texts = [p.text for p in driver.find_elements("css selector", "nav.pager p")]
    n_pages = -(-scored // 5)
    assert texts and all(t == f"Rows 6–10 of {scored} · page 2 of {n_pages}" for t in texts)
    driver.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
    try:  # without script: the rows and the page, never an empty "of", and a link to
        # the page that tells every board's rows
        driver.get(url + "iris_open/submissions-2.html")
        text = driver.find_element("css selector", "nav.pager p").text
        assert text == "Rows 6–10 · page 2 · how many rows", text
        driver.find_element("css selector", "nav.pager p a").click()
        assert driver.current_url.endswith("status.html#iris_open")
        told = driver.find_element("css selector", "dt#iris_open + dd").text
        assert f"All submissions {scored}," in told, told
    finally:
        driver.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": False})


def test_a_submission_page_links_back_to_git(driver, paged):
    srepo, url = paged
    child = next(v for v in srepo.challenges["iris_open"].versions
                 if v.parent is not None and v.result.commit)
    driver.get(url + f"iris_open/s/{child.name}~{child.stem}.html")
    hrefs = driver.execute_script(
        "return [...document.querySelectorAll('a[href^=\"https://\"]')].map(a => a.href)")
    assert f"{FORGE}/commit/{child.result.commit}" in hrefs
    assert f"{FORGE}/pull/{child.result.pr}" in hrefs
    assert f"{FORGE}/commit/{child.parent.result.commit}" in hrefs  # the parent's commit
    fetch = driver.find_element("css selector", "pre.fetch").text
    assert f"git fetch origin pull/{child.result.pr}/head" in fetch
    assert f"git checkout {child.result.commit} -- kits/iris_open/submissions/{child.name}" \
        in fetch
    parent = driver.find_element("link text", child.parent.name)
    parent.click()
    assert driver.current_url.endswith(f"/s/{child.parent.name}~{child.parent.stem}.html")
    assert console_errors(driver) == []


def test_a_phone_shows_rank_team_submission_and_score_without_sideways_scroll(
        driver, paged, test_output):
    _, url = paged
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": PHONE[0], "height": PHONE[1], "deviceScaleFactor": 1, "mobile": True})
    try:
        for name, page, caption in (("leaderboard", "index.html", "Each team"),
                                    ("submissions", "submissions.html", "All scored"),
                                    ("private", "private.html", "Each team"),
                                    ("private-all", "private-submissions.html",
                                     "All scored")):
            driver.get(url + "iris_open/" + page)
            styled_at(driver, PHONE[0])
            assert driver.execute_script(
                "return document.documentElement.scrollWidth") <= PHONE[0], page
            shown = driver.execute_script("""
                const t = [...document.querySelectorAll('table.board')]
                    .find(t => t.caption.textContent.startsWith(arguments[0]));
                return [...t.tHead.rows[0].cells].filter(c => {
                    const r = c.getBoundingClientRect();
                    return r.width > 0 && r.left >= 0 && r.right <= arguments[1];
                }).map(c => c.textContent.trim());
            """, caption, PHONE[0])
            assert shown[0] == "Rank", (page, shown)
            if not page.startswith("private"):
                assert shown[1:3] == ["Team", "Submission"], (page, shown)
            assert "Submission" in shown and any(s.startswith("acc") for s in shown), \
                (page, shown)
            path = test_output / f"site-phone-390-{name}.png"
            assert driver.save_screenshot(str(path)) and path.stat().st_size > 10_000
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
