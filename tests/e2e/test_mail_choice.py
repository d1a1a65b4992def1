"""The link at the foot of a notice, in real headless Chromium: the page that stops and
resumes notices by e-mail, by keyboard, without signing in; axe-core finds nothing on it,
in bokmål and in nynorsk."""

from __future__ import annotations

import re

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker

from server.keys import POSTBOX
from server.mail import GATHERING_CANCELLED
from tests.e2e.conftest import chromium, serving
from tests.e2e.test_live_room import assert_accessible
from tests.factories import World
from tests.mailbox import Inbox, parts
from tests.server.test_mail import STARTS, opted_out

pytestmark = pytest.mark.e2e


async def test_stop_and_resume_notices_from_the_link_in_a_mail(
        sqlite_url: str, sessions: async_sessionmaker, world: World,
        inbox: tuple[Inbox, int]) -> None:
    box, port = inbox
    async with serving(sqlite_url, sessions, world, smtp_host="127.0.0.1",
                       smtp_port=port) as live:
        assert live.app is not None
        assert live.app[POSTBOX].post(GATHERING_CANCELLED, world.alice, theme="Mat og matsvinn",
                                      title="Samling 2", starts_at=STARTS, url="/gatherings")
        [message] = await box.wait_for(1)
        link = re.search(r"<(http://\S+/mail/unsubscribe/\S+)>", message["List-Unsubscribe"])
        assert link is not None and link.group(1) in parts(message)[0]

        async with chromium() as browser:
            # bypass_csp only so the test can inject axe-core
            context = await browser.new_context(locale="nb-NO", bypass_csp=True)
            page = await context.new_page()
            await page.goto(link.group(1))
            await page.get_by_role("heading", name="E-post fra Klimasats-forum").wait_for()
            await assert_accessible(page, "mail choice page")
            stop = page.get_by_role("button", name="Stopp varsler på e-post")
            await stop.focus()
            await page.keyboard.press("Enter")
            await page.get_by_role("status").filter(has_text="Lagret.").wait_for()
            assert await opted_out(sessions, world.alice)
            resume = page.get_by_role("button", name="Send meg varsler på e-post igjen")
            await resume.wait_for()
            await assert_accessible(page, "mail choice page, notices stopped")
            await resume.click()
            await page.get_by_role("button", name="Stopp varsler på e-post").wait_for()
            assert not await opted_out(sessions, world.alice)

            await context.add_cookies([{"name": "forum_lang", "value": "nn",
                                        "url": live.url}])
            await page.goto(link.group(1))
            await page.get_by_role("heading", name="E-post frå Klimasats-forum").wait_for()
            assert await page.get_attribute("html", "lang") == "nn"
            await assert_accessible(page, "mail choice page in nynorsk")
