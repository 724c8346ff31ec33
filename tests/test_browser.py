"""The pages in headless Chromium (Debian's /usr/bin/chromium driven by Playwright): follow a link
from a resource page, check that every highlighted span of the article links to its facts and back,
run an example query in the query page and read the result table, and keep a screenshot of each
page in tests/artifacts/ (`-virtuoso` in the name on Virtuoso). The tests run on the embedded store and on
Virtuoso (conftest.py), but for the screenshots of the other pages."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

import pagetools
from conftest import EMBEDDED_ONLY
from pagetools import select

pytestmark = [pytest.mark.browser, pytest.mark.filterwarnings("ignore::DeprecationWarning"),
              pytest.mark.backends("embedded", "virtuoso")]     # run on the embedded store and on Virtuoso (conftest.py)

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
site = pytest.fixture(scope="module")(pagetools.page_server)


def launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()


@pytest.fixture
def page(browser, backend):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.backend = backend
    if backend != "embedded":   # pages that embed the whole-article picture wait for its query: ~15 s on Virtuoso
        page.set_default_navigation_timeout(120_000)
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors
    yield page
    context.close()


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / (f"{name}.png" if page.backend == "embedded" else f"{name}-{page.backend}.png")
    page.screenshot(path=str(path), full_page=False)
    return path


def test_resource_page_link_leads_to_another_resource_page(site, page):
    page.goto(site.url + "/id/iran.html")
    assert page.locator("h1").inner_text() == "Iran"
    screenshot(page, "resource-iran")
    link = page.locator(f".statements.outgoing ul.values > li > a[href^='{site.url}/id/']").first
    href, label = link.get_attribute("href"), link.inner_text()
    with page.expect_navigation():
        link.click()
    assert page.url == href
    assert page.locator("h1").inner_text().strip() == label.strip()
    assert page.locator(".statements").count() >= 1
    assert page.errors == []


def test_every_highlighted_span_links_to_its_facts_and_back(site, page):
    spans = {f"{r['b']}-{r['e']}" for r in select(site.url, """SELECT DISTINCT ?b ?e WHERE { ?c ent:evidence ?s .
        ?s nif:referenceContext id:bloomberg-iran-russia-2015 ; nif:beginIndex ?b ; nif:endIndex ?e }""")}
    page.goto(site.url + "/id/bloomberg-iran-russia-2015.html")
    screenshot(page, "article")
    report = page.evaluate("""() => {
        const exists = (href) => href.startsWith('#') && document.getElementById(href.slice(1)) !== null;
        const refs = [...document.querySelectorAll('#text a.ref')];
        const marks = [...document.querySelectorAll('#text a.hl')];
        const facts = [...document.querySelectorAll('ol.spans > li')];
        return {
          refs: refs.map(a => a.dataset.span),
          brokenRefs: refs.filter(a => !exists(a.getAttribute('href'))).map(a => a.getAttribute('href')),
          refTargets: refs.map(a => a.getAttribute('href')),
          brokenMarks: marks.filter(a => !exists(a.getAttribute('href'))).map(a => a.getAttribute('href')),
          marks: marks.length,
          facts: facts.map(li => li.id),
          brokenBacks: facts.filter(li => { const a = li.querySelector('a.back');
                                            return !a || !exists(a.getAttribute('href')); }).map(li => li.id),
          // a claim's facts are listed at its first piece of evidence; later pieces link there
          emptyFacts: facts.filter(li => li.querySelectorAll('.facts-of-claim li').length === 0 &&
              ![...li.querySelectorAll('a.listed')].some(a => exists(a.getAttribute('href')) &&
                  document.querySelector(a.getAttribute('href')).querySelectorAll('.facts-of-claim li').length > 0))
            .map(li => li.id),
        };
    }""")
    assert sorted(report["refs"]) == sorted(spans)
    assert report["refTargets"] == [f"#facts-{k}" for k in report["refs"]]
    assert report["brokenRefs"] == [] and report["brokenMarks"] == [] and report["marks"] >= len(spans)
    assert sorted(report["facts"]) == sorted(f"facts-{k}" for k in spans)
    assert report["brokenBacks"] == []
    assert report["emptyFacts"] == []

    # click a highlighted word: the browser goes to its facts; the fact's link goes back to the words
    mark = page.locator("#text a.hl").nth(3)
    target = mark.get_attribute("href")
    mark.click()
    assert page.evaluate("location.hash") == target
    item = page.locator(target)
    assert item.is_visible() and item.evaluate("el => el.matches(':target')")
    back = item.locator("a.back")
    back_target = back.get_attribute("href")
    back.click()
    assert page.evaluate("location.hash") == back_target
    assert page.errors == []


def first_example_with_rows(site):
    config = requests.get(site.url + "/sparql", headers={"Accept": pagetools.BROWSER_ACCEPT}, timeout=30)
    page = pagetools.Page(config.text)
    import json

    examples = json.loads(page.by_id("entente-config").text())["examples"]
    for example in examples:
        response = requests.post(site.url + "/sparql", data={"query": example["query"]},
                                 headers={"Accept": "application/sparql-results+json"}, timeout=60)
        if response.status_code == 200 and "results" in response.json():
            rows = response.json()["results"]["bindings"]
            if rows:
                return example, rows
    pytest.fail("no example query returns rows")


def test_query_page_runs_an_example_and_shows_the_result_table(site, page):
    example, rows = first_example_with_rows(site)
    page.goto(site.url + "/sparql")
    page.wait_for_function("window.ententeQueryPage !== undefined")
    with page.expect_response(lambda r: r.url.startswith(site.url + "/sparql") and r.request.method == "POST"):
        page.locator(f"a.example[data-example='{example['name']}']").click()
    table = page.locator(".yasr table.dataTable tbody tr")
    table.first.wait_for()
    shown = table.count()
    assert shown == min(len(rows), 50) or shown == len(rows)
    first_cells = page.locator(".yasr table.dataTable tbody tr").first.locator("td").all_inner_texts()
    assert any(cell.strip() for cell in first_cells)
    # IRIs in the results link to this server's pages
    links = page.locator(".yasr table.dataTable tbody a[href]")
    hrefs = [links.nth(i).get_attribute("href") for i in range(min(links.count(), 20))]
    assert hrefs and all(h.startswith(site.url + "/") or "wikidata.org" in h for h in hrefs), hrefs
    page.locator(".yasr").scroll_into_view_if_needed()
    screenshot(page, "query")
    # download links carry the same query
    csv = page.locator("#downloads a[data-format='csv']").get_attribute("href")
    response = requests.get(csv, timeout=60)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/csv")
    assert len(response.text.strip().splitlines()) == len(rows) + 1
    assert page.errors == []


def test_a_page_hands_a_query_over_to_the_query_page(site, page):
    page.goto(site.url + "/id/iran.html")
    more = page.locator(".more-incoming a")
    assert more.count() == 1, "id:iran has more incoming statements than its page shows"
    total = int(page.locator(".more-incoming").inner_text().split("of the ")[1].split()[0])
    with page.expect_response(lambda r: r.url.startswith(site.url + "/sparql") and r.request.method == "POST"):
        more.click()
    page.locator(".yasr table.dataTable tbody tr").first.wait_for()
    assert page.locator(".yasr table.dataTable tbody tr").count() == 50      # the first page of the table
    csv = requests.get(page.locator("#downloads a[data-format='csv']").get_attribute("href"), timeout=60)
    assert len(csv.text.strip().splitlines()) - 1 == total
    assert page.errors == []


@EMBEDDED_ONLY      # pictures for people; on Virtuoso these pages are checked over HTTP by test_pages.py
@pytest.mark.parametrize("name,path", [("home", "/"), ("ontology", "/ontology.html"),
                                       ("claim", "/claim/clerics-finance-hezbollah.html"),
                                       ("picture", "/picture.svg")])
def test_screenshots_of_the_other_pages(site, page, name, path):
    response = page.goto(site.url + path)
    assert response.status == 200
    page.wait_for_load_state("load")
    assert screenshot(page, name).stat().st_size > 5000
    assert page.errors == []
