"""A freshly started server, in Chromium: direct links as the very first request, and make run's first view.

Each test starts its own server (the shared one of test_browser.py has long been warm by then).
"""
import pytest

from test_browser import ERRORS, LOGOS, MAKE_RUN, SLIDER_TICKS_JS, assert_clean, streamlit_server, wait_settled
from test_browser import browser, chromium_path  # noqa: F401  (fixtures shared with test_browser.py)

SIDEBAR_PREDICTOR = '[data-testid="stSidebar"] [data-testid="stSelectbox"]'


def page_links(page) -> list[str]:
    """The sidebar's page links, by title (each link's text ends with its title, after the icon's name)."""
    return [t.strip().splitlines()[-1].strip() for t in page.locator('[data-testid="stSidebar"] a').all_inner_texts()]


@pytest.fixture
def fresh_page(browser, chromium_path, utr5_scrambler_file):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(180_000)
    yield page
    context.close()


@pytest.mark.parametrize("path, title", [("/compare?predictor=polya&example=2", "Compare"),
                                         ("/benchmarks?predictor=polya", "Benchmarks"),
                                         ("/variant?predictor=polya&variants=35T>C", "Variant")])
def test_a_direct_link_works_as_the_first_request_of_a_fresh_server(fresh_page, path, title):
    """Streamlit would run pages/PAGE.py alone on such a request; the page hands over to app.py."""
    with streamlit_server() as server:
        fresh_page.goto(server.url + path)
        fresh_page.locator('[data-testid="stMain"] h1', has_text=title).first.wait_for()
        wait_settled(fresh_page)
        assert_clean(fresh_page, server)
        chosen = fresh_page.locator(SIDEBAR_PREDICTOR).first.locator("input").input_value()
        assert chosen == "polya", chosen                                      # the link's predictor, in the sidebar
        assert "predictor=polya" in fresh_page.url
        links = page_links(fresh_page)
        assert {"Explore", "Variant", "Compare", "Benchmarks", "Your model"} <= set(links), links
        assert fresh_page.locator(ERRORS).count() == 0


def test_make_run_shows_a_logo_first_and_then_the_live_view(fresh_page):
    """`make run`'s launcher: the first visit gets a logo while the models load, then the live chart."""
    with streamlit_server(MAKE_RUN) as server:
        fresh_page.goto(server.url + "/")
        fresh_page.wait_for_function(f"() => document.querySelectorAll({LOGOS!r} + ' .scatterlayer .trace path')"
                                     ".length > 0", polling=50)
        fresh_page.wait_for_function(f"() => ({SLIDER_TICKS_JS})({LOGOS!r}).length >= 20", polling=200)
        wait_settled(fresh_page)
        assert_clean(fresh_page, server)
        assert "starting up" not in fresh_page.inner_text("body")          # the shipped view was replaced
        assert "default models ready" in server.output()
        assert page_links(fresh_page)[:5] == ["Explore", "Variant", "Compare", "Benchmarks", "Your model"]
