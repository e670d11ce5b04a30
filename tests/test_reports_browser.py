"""report.html and compare.html in real headless Chromium: no console errors, explorer filters and search
work, hostile text stays inert, and no request leaves the page. Screenshots go to pytest's tmp_path
(laptop 1280x900 and phone 390x844)."""

from __future__ import annotations

import pytest

from cdp_browser import Browser, chromium_path
from evalharness.reports import compare_runs, write_report
from reports_fixtures import XSS_PAYLOADS, make_run_dir, verdicts

pytestmark = pytest.mark.skipif(chromium_path() is None, reason="chromium not installed (apt-get install chromium)")

N = 120
ERRORS = {5: "HTTP 503 after 3 tries", 17: "timeout after 60 s"}


@pytest.fixture(scope="module")
def browser():
    b = Browser()
    yield b
    b.close()


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    v = verdicts(N, 0.7, seed=3)
    hostile = dict(
        response=lambda i, k, ok: (XSS_PAYLOADS[i % len(XSS_PAYLOADS)] + f" unique-{i}") if i % 3 == 0 else f"plain answer {i}",
        prompt=lambda i: f"Question {i}: " + XSS_PAYLOADS[(i + 1) % len(XSS_PAYLOADS)],
        gold=lambda i: XSS_PAYLOADS[(i + 2) % len(XSS_PAYLOADS)] if i % 10 == 0 else str(i),
        meta=lambda i: {"task": ["boolean_expressions", "<b>dyck</b>", "navigate"][i % 3]},
    )
    a = make_run_dir(root, v, seed=1, errors=ERRORS, fewshot=2, **hostile)
    worse = [False if (ok and i < 60) else ok for i, ok in enumerate(v)]
    b = make_run_dir(root, worse, seed=2, **hostile)
    write_report([a])
    write_report([b])
    compare_runs([a, b], root / "cmp", fail_if_worse=False, alpha=0.05)
    return {"a": a, "b": b, "v": v, "cmp": root / "cmp" / "compare.html"}


def _assert_clean(page):
    assert page.console_errors() == []
    assert page.eval("window.__xss === undefined && document.title.indexOf('pwned') === -1")
    assert page.eval("document.querySelectorAll('img[src=\"x\"], svg, textarea, a[href^=\"javascript\"]').length") == 0
    leaving = [u for u in page.requested_urls() if not u.startswith(("file:", "data:"))]
    assert leaving == []


def _visible(page) -> list[dict]:
    return page.eval(
        "Array.from(document.querySelectorAll('#explorer-rows tr.sample')).map(function (tr) {"
        " return {id: tr.children[1].textContent, status: tr.dataset.status}; })"
    )


def _count(page) -> str:
    return page.eval("document.getElementById('explorer-count').textContent")


def test_report_renders_cleanly_and_filters_work(browser, runs, tmp_path):
    page = browser.new_page()
    page.goto((runs["a"] / "report.html").as_uri())
    _assert_clean(page)
    shot = page.screenshot(tmp_path / "report-laptop.png")
    assert shot.read_bytes().startswith(b"\x89PNG")
    assert page.eval("document.querySelectorAll('figure img').length") == 6
    assert page.eval("Array.from(document.images).every(function (i) { return i.complete && i.naturalWidth > 0; })")

    rows = _visible(page)
    assert len(rows) == 50 and f"of {N} matching" in _count(page)
    n_correct = sum(1 for i, ok in enumerate(runs["v"]) if ok and i not in ERRORS)
    page.eval("document.querySelector('[data-filter=correct]').click()")
    assert f"of {n_correct} matching" in _count(page)
    assert {r["status"] for r in _visible(page)} == {"correct"}
    page.eval("document.querySelector('[data-filter=incorrect]').click()")
    assert f"of {N - n_correct} matching" in _count(page)
    assert {r["status"] for r in _visible(page)} <= {"incorrect", "error"}
    page.eval("document.querySelector('[data-filter=errors]').click()")
    assert sorted(r["id"] for r in _visible(page)) == ["q00005", "q00017"]
    page.eval("document.getElementById('explorer-next').click()")  # only one page: stays valid
    assert len(_visible(page)) == 2

    page.eval("document.querySelector('[data-filter=all]').click()")
    page.eval("document.getElementById('explorer-search').focus()")
    page.cmd("Input.insertText", {"text": "unique-33"})  # real typing into the search box
    assert [r["id"] for r in _visible(page)] == ["q00033"]
    page.eval("var s = document.getElementById('explorer-search'); s.value = ''; s.dispatchEvent(new Event('input'))")
    page.cmd("Input.insertText", {"text": "id:q00042"})
    assert [r["id"] for r in _visible(page)] == ["q00042"]
    _assert_clean(page)


def test_expanded_samples_show_payloads_as_text(browser, runs):
    page = browser.new_page()
    page.goto((runs["a"] / "report.html").as_uri() + "#item=q00030")
    assert [r["id"] for r in _visible(page)] == ["q00030"]
    page.eval("document.querySelector('#explorer-rows tr.sample').click()")
    detail = page.eval("document.querySelector('#explorer-rows tr.detail').textContent")
    # response, prompt and gold of item 30 each carry a different payload; all shown verbatim as text
    assert XSS_PAYLOADS[0] in detail and XSS_PAYLOADS[1] in detail and XSS_PAYLOADS[2] in detail
    assert "exemplar 1" in detail and "Solve the problem." in detail  # the whole prompt, few-shot included
    # open every sample of the first pages: nothing runs, nothing is requested
    page.eval("document.getElementById('explorer-search').value = ''; "
              "document.getElementById('explorer-search').dispatchEvent(new Event('input'))")
    for _ in range(3):
        page.eval("Array.from(document.querySelectorAll('#explorer-rows tr.sample')).forEach(function (r) { r.click(); })")
        _assert_clean(page)
        page.eval("document.getElementById('explorer-next').click()")
    assert page.eval("document.querySelectorAll('#explorer-rows tr.detail').length") == N - 100


def test_report_reads_on_a_phone(browser, runs, tmp_path):
    page = browser.new_page(390, 844, mobile=True)
    page.goto((runs["a"] / "report.html").as_uri())
    _assert_clean(page)
    page.screenshot(tmp_path / "report-phone.png")
    # nothing wider than the screen except inside horizontal scrollers
    assert page.eval("document.documentElement.scrollWidth") <= 390
    assert page.eval("document.querySelector('figure img').getBoundingClientRect().width") <= 390
    assert page.eval("getComputedStyle(document.body).fontSize") == "14px"  # the narrow-screen rules apply


def test_compare_html_renders_and_links_flips(browser, runs, tmp_path):
    page = browser.new_page()
    page.goto(runs["cmp"].as_uri())
    _assert_clean(page)
    page.screenshot(tmp_path / "compare-laptop.png")
    summary = page.eval("document.querySelector('a[href=\"#worse-0\"]').textContent")
    n_lost = sum(1 for i, ok in enumerate(runs["v"]) if ok and i < 60 and i not in ERRORS)
    assert "WORSE" in page.eval("document.body.textContent")
    assert page.eval("document.querySelectorAll('details.flip').length") == n_lost
    page.eval("document.querySelector('a[href=\"#worse-0\"]').click()")
    assert page.eval("location.hash") == "#worse-0"
    page.eval("Array.from(document.querySelectorAll('details.flip')).forEach(function (d) { d.open = true; })")
    _assert_clean(page)
    link = page.eval("document.querySelector('details.flip a[href*=\"report.html#item=\"]').href")
    assert link.startswith("file://") and "#item=" in link
    page.goto(link)
    target = link.split("#item=")[1]
    assert [r["id"] for r in _visible(page)] == [target]
    assert summary == f"−{n_lost}"
