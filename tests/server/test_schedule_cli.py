"""`forum gatherings add|edit|cancel`, as a script would run them: the same rules as the
pages, the gathering's id and page printed, Norwegian time in, the members told."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from rooms.db import create_engine, sessionmaker
from rooms.migrate import upgrade
from rooms.models import Gathering, Notice
from tests.factories import build_world
from tests.server.test_cli import cli_env, forum  # noqa: F401 (a fixture)


async def stored(database_url: str, gathering_id: str) -> tuple[Gathering, list[str]]:
    engine = create_engine(database_url)
    try:
        async with sessionmaker(engine)() as session:
            gathering = await session.get(Gathering, gathering_id)
            kinds = list(await session.scalars(select(Notice.kind).where(
                Notice.gathering_id == gathering_id).order_by(Notice.id)))
    finally:
        await engine.dispose()
    assert gathering is not None
    return gathering, kinds


async def test_add_edit_and_cancel_from_the_command_line(
        cli_env: str, capsys: pytest.CaptureFixture[str],  # noqa: F811
        caplog: pytest.LogCaptureFixture) -> None:
    engine = create_engine(cli_env)
    await upgrade(engine)
    await build_world(sessionmaker(engine))
    await engine.dispose()
    out = await forum(capsys, "gatherings", "add", "--theme", "mat", "--number", "3",
                      "--title", "Høst", "--starts", "2027-10-31 09:00", "--minutes", "150",
                      "--template", "workshop")
    gathering_id, page = out.strip().split("\t")
    assert page == f"http://127.0.0.1:8080/g/{gathering_id}"
    gathering, kinds = await stored(cli_env, gathering_id)
    assert gathering.starts_at == datetime(2027, 10, 31, 8, 0, tzinfo=UTC)  # winter time
    assert (gathering.year, gathering.number, gathering.planned_minutes) == (2027, 3, 150)
    assert [i.title for i in gathering.items][:2] == ["Velkommen og innsjekk",
                                                      "Felles utfordringer"]
    assert kinds == []
    # the listing shows it
    assert gathering_id in await forum(capsys, "gatherings", "--theme", "mat")

    caplog.set_level(logging.INFO, logger="server.mail")
    out = await forum(capsys, "gatherings", "edit", gathering_id, "--starts",
                      "2027-03-28 09:00")
    assert out.strip() == f"{gathering_id}\t{page}"
    gathering, kinds = await stored(cli_env, gathering_id)
    assert gathering.starts_at == datetime(2027, 3, 28, 7, 0, tzinfo=UTC)  # summer time
    assert (gathering.sequence, kinds) == (1, ["gathering_rescheduled"])
    assert any("gathering_rescheduled mail to Alice Askvik" in r.getMessage()
               for r in caplog.records)

    await forum(capsys, "gatherings", "edit", gathering_id, "--title", "Vår")
    gathering, kinds = await stored(cli_env, gathering_id)
    assert (gathering.title, gathering.sequence, len(kinds)) == ("Vår", 2, 1)

    await forum(capsys, "gatherings", "cancel", gathering_id)
    gathering, kinds = await stored(cli_env, gathering_id)
    assert gathering.cancelled_at is not None and gathering.sequence == 3
    assert kinds == ["gathering_rescheduled", "gathering_cancelled"]
    assert any("gathering_cancelled mail to" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(("argv", "message"), [
    (["add", "--theme", "nope", "--number", "1", "--title", "X", "--starts",
      "2027-03-04 09:00", "--minutes", "60"], "there is no theme 'nope'"),
    (["add", "--theme", "mat", "--number", "1", "--title", "X", "--starts",
      "2026-12-24 09:00", "--minutes", "60"], "already has gathering 1 in 2026"),
    (["add", "--theme", "mat", "--number", "2", "--title", "X", "--starts",
      "2027-03-28 02:30", "--minutes", "60"], "does not exist in Norway"),
    (["add", "--theme", "mat", "--number", "9", "--title", "X", "--starts",
      "2027-03-04 09:00", "--minutes", "60"], "the number is 1-4"),
    (["edit", "0" * 32, "--title", "X"], "there is no such gathering"),
    (["cancel", "0" * 32], "there is no such gathering"),
])
async def test_refusals_name_the_rule(cli_env: str, capsys: pytest.CaptureFixture[str],  # noqa: F811
                                      argv: list[str], message: str) -> None:
    engine = create_engine(cli_env)
    await upgrade(engine)
    await build_world(sessionmaker(engine))
    await engine.dispose()
    with pytest.raises(SystemExit) as refused:
        await forum(capsys, "gatherings", *argv)
    assert message in str(refused.value)


async def test_a_start_that_is_no_time_is_refused_by_the_parser(
        cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    with pytest.raises(SystemExit):
        await forum(capsys, "gatherings", "add", "--theme", "mat", "--number", "1",
                    "--title", "X", "--starts", "4. mars kl. 9", "--minutes", "60")
    assert "is not a time like '2027-03-04 09:00'" in capsys.readouterr().err
