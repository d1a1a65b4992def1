"""The programme lead's overview in real headless Chromium: found from the gatherings page,
charts and tables drawn without any third party, a CSV downloaded, one gathering opened;
axe-core finds nothing on either page, in bokmål and in nynorsk."""

from __future__ import annotations

from pathlib import Path

import pytest

from facilitation import Role
from rooms.models import Person
from tests.e2e.conftest import LiveServer, chromium
from tests.e2e.test_live_room import assert_accessible, sign_in
from tests.rooms.test_overview import hold

pytestmark = pytest.mark.e2e


async def test_the_lead_reads_the_overview(live_server: LiveServer, tmp_path: Path) -> None:
    world = live_server.world
    assert live_server.app is not None
    from server.keys import STORE

    async with live_server.sessions() as s:
        frida, alice = await s.get(Person, world.facilitator.id), await s.get(Person,
                                                                             world.alice.id)
    assert frida is not None and alice is not None
    await hold(live_server.app[STORE], world.gathering.id,
               [(frida, Role.FACILITATOR), (alice, Role.PARTICIPANT)])

    async with chromium() as browser:
        lead = await sign_in(browser, live_server, world.lead)
        page = lead.page
        requests: list[str] = []
        page.on("request", lambda request: requests.append(request.url))
        await page.get_by_role("link", name="Programoversikt").click()
        await page.wait_for_url("**/overview")
        await page.get_by_role("heading", level=1, name="Programoversikt 2026").wait_for()
        await page.get_by_role("img", name="Oppmøte per samling").wait_for()
        await page.get_by_role("img", name="Prosjektfaser gjennom året: Mat og matsvinn"
                               ).wait_for()
        table = page.get_by_role("table", name="Oppmøte per kommune i 2026")
        row = table.get_by_role("row", name="Askvik kommune")
        assert await row.get_by_role("cell").all_inner_texts() == ["Mat og matsvinn", "1", "1"]
        assert "Alice Askvik" not in await page.locator("main").inner_text()
        await assert_accessible(page, "programme overview")
        assert all(url.startswith(live_server.url) for url in requests), requests

        async with page.expect_download() as download_info:
            await page.get_by_role(
                "link", name="Last ned «Oppmøte per kommune i 2026: deltakere registrert og "
                "personer til stede på hver samling» som CSV").click()
        download = await download_info.value
        saved = tmp_path / download.suggested_filename
        await download.save_as(saved)
        assert saved.name == "klimasats-forum-municipalities-2026.csv"
        assert saved.read_bytes().startswith(b"\xef\xbb\xbfTema;Kommune;")

        gatherings = page.get_by_role("table", name="Samlingene i 2026")
        await gatherings.get_by_role("row", name="Mat og matsvinn").get_by_role(
            "link", name="Samling 1: Samling 1").click()
        await page.wait_for_url(f"**/overview/g/{world.gathering.id}")
        present = page.get_by_role("table", name="Til stede, etter kommune")
        await present.get_by_role("cell", name="Alice Askvik").wait_for()
        await assert_accessible(page, "one gathering in the overview")
        await page.get_by_role("link", name="Tilbake til programoversikten").click()
        await page.wait_for_url("**/overview?year=2026")

        # in nynorsk
        await page.locator('form.language-switch button[value="nn"]').click()
        await page.locator('html[lang="nn"]').wait_for(state="attached")
        await page.get_by_role("table", name="Oppmøte per kommune i 2026: deltakarar "
                               "registrerte og personar til stades på kvar samling").wait_for()
        await page.get_by_role("img", name="Prosjektfasar gjennom året: Mat og matsvinn"
                               ).wait_for()
        await assert_accessible(page, "programme overview in nynorsk")
