"""The analytics page in Chromium at 1366 × 768 (issue #29): a supervisor sees the on-time rate, three charts drawn
from the same figures as the tables under them, and downloads the CSV."""

import pytest
from playwright.sync_api import expect

from callbacks import roles

from ..factories import PASSWORD
from ..test_analytics import History, history  # noqa: F401 - the fixture
from ..test_monitoring import supervisor

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_supervisor_reads_the_analytics_and_downloads_them(open_page, history, shot, tmp_path):  # noqa: F811
    roles.ensure_roles()
    supervisor("sam", history.billing, history.support)
    page = open_page("sam", PASSWORD, viewport={"width": 1366, "height": 768})
    page.get_by_role("link", name="Analytics").click()
    page.get_by_label("From").fill("2026-12-01")
    page.get_by_label("To").fill("2026-12-01")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_test_id("on-time-rate")).to_have_text("40 %")  # 2 on time of 5 measured
    expect(page.get_by_test_id("requested")).to_have_text("6")
    for chart in ("chart-hours", "chart-days", "chart-lateness"):
        expect(page.locator(f"#{chart} canvas")).to_have_count(1)
    queues = page.get_by_test_id("table-queue")
    expect(queues.get_by_role("row", name="Billing")).to_contain_text("5")
    page.get_by_text("As a table").first.click()
    hours = page.get_by_test_id("table-hours").get_by_role("row")
    expect(hours).to_have_count(5)  # the header, and the four hours with something in them (Paris: 9:00 to 12:00)
    expect(hours.nth(1).get_by_role("rowheader")).to_have_text("09:00")
    shot(page, "analytics-1366x768")

    with page.expect_download() as download:
        page.get_by_role("link", name="CSV by queue").click()
    saved = tmp_path / "analytics.csv"
    download.value.save_as(saved)
    lines = saved.read_text().splitlines()
    assert lines[0].startswith("queue,requested,on_time,late,missed,on_time_pct") and len(lines) == 3
    assert lines[1].startswith("Billing,5,2,1,1,50.0") and lines[2].startswith("Support,1,0,1,0,0.0")
