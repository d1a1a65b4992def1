"""The programme lead's overview (`/overview`): the year across the themes, as tables with
charts beside them (inline SVG drawn by the template from the geometry computed here; no
script, no third party), each table also as CSV (`/overview/<table>.csv`: semicolons and a
byte-order mark, as Excel in Norway opens it). Counts per municipality only; the names of
those present show only when the lead opens one gathering (`/overview/g/{id}`).

Only the programme lead opens these pages."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from aiohttp import web
from babel.dates import format_date

from rooms.models import Gathering, Person
from rooms.overview import (
    GatheringFigures,
    Overview,
    ThemeFigures,
    gathering_history,
    overview,
    present_by_municipality,
    years_with_gatherings,
)
from server.formatting import local
from server.i18n import current_locale
from server.i18n import gettext as _
from server.keys import SESSIONS, STORE
from server.pages.auth import error_page, programme_lead, render
from server.pages.resolving import resolved

Cell = str | int | None  # None: nothing to count (the gathering has not been held)
CSV_MEDIA_TYPE = "text/csv"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet would run as a formula


@dataclass(frozen=True)
class Table:
    name: str  # in the CSV's address
    caption: str
    head: list[str]
    rows: list[list[Cell]]
    row_header: int = 0  # the column that names each row (th scope=row)
    links: list[str | None] = field(default_factory=list)  # per row: the row header's link


# --- formatting --------------------------------------------------------------------------------


def short_date(moment: datetime) -> str:
    return format_date(local(moment), format="medium", locale=current_locale())


def month_name(year: int, month: int, width: str = "LLLL") -> str:
    return format_date(date(year, month, 1), width, locale=current_locale())


def gathering_label(gathering: Gathering) -> str:
    return _("Gathering %(number)s: %(title)s") % {"number": gathering.number,
                                                    "title": gathering.title}


def stage_total(counts: dict[str, int]) -> int:
    return sum(counts.values())


# --- tables ------------------------------------------------------------------------------------


def gatherings_table(o: Overview) -> Table:
    rows: list[list[Cell]] = []
    links: list[str | None] = []
    for t in o.themes:
        for g in t.gatherings:
            held = g.held
            rows.append([
                t.theme.name, gathering_label(g.gathering), short_date(g.gathering.starts_at),
                _("Cancelled") if g.cancelled else (_("Held") if held else _("Not held yet")),
                t.municipalities_registered,
                g.municipalities_present if held else None,
                g.people_present if held else None,
                g.experts_booked,
                short_date(g.summary_published) if g.summary_published else _("No"),
                g.recordings])
            links.append(f"/overview/g/{g.gathering.id}")
    return Table("gatherings", _("The gatherings of %(year)s") % {"year": o.year},
                 [_("Theme"), _("Gathering"), _("Date"), _("Status"),
                  _("Municipalities registered"), _("Municipalities present"),
                  _("People present"), _("Experts booked"), _("Summary published"),
                  _("Recordings")], rows, row_header=1, links=links)


def municipalities_table(o: Overview) -> Table:
    numbers = range(1, o.most_gatherings + 1)
    rows: list[list[Cell]] = []
    for t in o.themes:
        for name in t.municipalities():
            present: list[Cell] = [
                (g.present.get(name, 0) if g.held else None) if (g := _nth(t, n)) else None
                for n in numbers]
            rows.append([t.theme.name, name, t.registered.get(name, 0), *present])
    return Table("municipalities",
                 _("Attendance per municipality in %(year)s: participants registered and "
                   "people present at each gathering") % {"year": o.year},
                 [_("Theme"), _("Municipality"), _("Participants registered"),
                  *[_("Gathering %(number)s") % {"number": n} for n in numbers]],
                 rows, row_header=1)


def _nth(t: ThemeFigures, n: int) -> GatheringFigures | None:
    """The theme's n-th gathering of the year (by date)."""
    return t.gatherings[n - 1] if n <= len(t.gatherings) else None


def stages_now_table(o: Overview) -> Table:
    rows: list[list[Cell]] = [
        [t.theme.name, *[t.stages_now.get(slug, 0) for slug, _name in o.stages],
         stage_total(t.stages_now)] for t in o.themes]
    return Table("stages-now", _("Projects per stage now"),
                 [_("Theme"), *[name for _slug, name in o.stages], _("Total")], rows)


def stages_table(o: Overview) -> Table:
    rows: list[list[Cell]] = [
        [t.theme.name, month_name(o.year, month),
         *[counts.get(slug, 0) for slug, _name in o.stages], stage_total(counts)]
        for t in o.themes for month, counts in t.stages_by_month]
    return Table("stages", _("Projects per stage at the end of each month of %(year)s")
                 % {"year": o.year},
                 [_("Theme"), _("Month"), *[name for _slug, name in o.stages], _("Total")],
                 rows, row_header=1)


TABLES = {"gatherings": gatherings_table, "municipalities": municipalities_table,
          "stages-now": stages_now_table, "stages": stages_table}


# --- charts: geometry for the template's SVG ---------------------------------------------------


# each colour at least 7:1 on white (non-text contrast needs 3:1)
STAGE_PALETTE = (("solid", "#0d5c3a"), ("stripes", "#0b4f8a"), ("dots", "#6b2c91"),
                 ("hatch", "#7a3b00"), ("solid", "#1b1f23"))
ATTENDANCE_PALETTE = [("hatch", "#4b5560"), ("solid", "#0d5c3a")]


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    value: int
    label: str  # what the bar is, for its tooltip
    series: int  # which fill (and pattern)


@dataclass(frozen=True)
class AxisLabel:
    x: float
    y: float
    text: str


@dataclass
class Chart:
    id: str
    width: float
    height: float
    plot_top: float
    plot_bottom: float
    plot_left: float
    maximum: int
    bars: list[Bar] = field(default_factory=list)
    totals: list[AxisLabel] = field(default_factory=list)  # numbers above bars
    labels: list[AxisLabel] = field(default_factory=list)  # under the bars
    groups: list[AxisLabel] = field(default_factory=list)  # a second row under the bars
    series: list[str] = field(default_factory=list)  # the legend, by series
    # per series: (pattern, colour); patterns so that no series is told by colour alone
    palette: list[tuple[str, str]] = field(default_factory=lambda: list(STAGE_PALETTE))

    def y_of(self, value: float) -> float:
        span = self.plot_bottom - self.plot_top
        return self.plot_bottom - span * value / max(1, self.maximum)

    @property
    def ticks(self) -> list[tuple[float, int]]:
        steps = sorted({0, self.maximum // 2, self.maximum})
        return [(self.y_of(v), v) for v in steps]


def nice_maximum(value: int) -> int:
    """The axis's top: a round number at or above the value (2, 4, 10, 20, 50...)."""
    for step in (2, 4, 10, 20, 50, 100, 200, 500, 1000):
        if value <= step:
            return step
    return value


BAR = 16.0
LEFT = 36.0


def attendance_chart(o: Overview) -> Chart:
    """Two bars per gathering: municipalities registered (hatched) and present (solid)."""
    top = max([t.municipalities_registered for t in o.themes]
              + [g.municipalities_present for t in o.themes for g in t.gatherings] + [1])
    chart = Chart("attendance", width=0, height=240, plot_top=24, plot_bottom=190,
                  plot_left=LEFT, maximum=nice_maximum(top),
                  series=[_("Municipalities registered"), _("Municipalities present")],
                  palette=ATTENDANCE_PALETTE)
    x = LEFT + 12
    for t in o.themes:
        start = x
        for g in t.gatherings:
            number = str(g.gathering.number)
            for series, value in enumerate((t.municipalities_registered,
                                            g.municipalities_present if g.held else 0)):
                y = chart.y_of(value)
                chart.bars.append(Bar(x, y, BAR, chart.plot_bottom - y, value,
                                      f"{t.theme.name}, {gathering_label(g.gathering)}: "
                                      f"{chart.series[series]} {value}", series))
                shown = str(value) if series == 0 or g.held else "–"  # not held: no count
                chart.totals.append(AxisLabel(x + BAR / 2, y - 4, shown))
                x += BAR + 2
            chart.labels.append(AxisLabel(x - BAR - 2, chart.plot_bottom + 16, number))
            x += 10
        if t.gatherings:
            chart.groups.append(AxisLabel((start + x - 10) / 2, chart.plot_bottom + 34,
                                          t.theme.name))
            x += 24
    chart.width = max(x, 320.0)
    return chart


def stages_chart(o: Overview, t: ThemeFigures) -> Chart:
    """Stacked bars: the theme's projects per stage at the end of each month."""
    top = max([stage_total(counts) for _m, counts in t.stages_by_month] + [1])
    chart = Chart(f"stages-{t.theme.slug}", width=0, height=220, plot_top=24,
                  plot_bottom=190, plot_left=LEFT, maximum=nice_maximum(top),
                  series=[name for _slug, name in o.stages])
    x = LEFT + 12
    for month, counts in t.stages_by_month:
        below = 0
        for series, (slug, name) in enumerate(o.stages):
            value = counts.get(slug, 0)
            if value:
                y = chart.y_of(below + value)
                chart.bars.append(Bar(x, y, BAR * 1.5, chart.y_of(below) - y, value,
                                      f"{month_name(o.year, month)}: {name} {value}",
                                      series % len(STAGE_PALETTE)))
            below += value
        chart.totals.append(AxisLabel(x + BAR * 0.75, chart.y_of(below) - 4, str(below)))
        chart.labels.append(AxisLabel(x + BAR * 0.75, chart.plot_bottom + 16,
                                      month_name(o.year, month, "LLL")))
        x += BAR * 1.5 + 12
    chart.width = max(x + 12, 320.0)
    return chart


# --- CSV ---------------------------------------------------------------------------------------


def _csv_cell(cell: Cell) -> str:
    if cell is None:
        return ""
    text = str(cell)
    return "'" + text if isinstance(cell, str) and text.startswith(FORMULA_START) else text


def csv_text(table: Table) -> str:
    """Semicolon-separated, CRLF lines, a byte-order mark first: Excel in Norway opens it as
    columns, with æ, ø and å intact."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(table.head)
    writer.writerows([_csv_cell(c) for c in row] for row in table.rows)
    return "\ufeff" + out.getvalue()


def csv_response(table: Table, filename: str) -> web.Response:
    return web.Response(body=csv_text(table).encode("utf-8"), content_type=CSV_MEDIA_TYPE,
                        charset="utf-8", headers={
                            "Content-Disposition": f'attachment; filename="{filename}"',
                            "Cache-Control": "no-store"})


# --- pages -------------------------------------------------------------------------------------


async def _lead(request: web.Request) -> Person | web.Response:
    return programme_lead(request, _("Only the programme lead sees the overview."))


async def _overview(request: web.Request) -> Overview:
    sessions = request.app[SESSIONS]
    years = await years_with_gatherings(sessions)
    this_year = local(datetime.now(UTC)).year
    default = this_year if this_year in years or not years else years[-1]
    asked = request.query.get("year", "")
    year = int(asked) if asked.isdigit() and len(asked) == 4 and int(asked) in years \
        else default
    return await overview(sessions, request.app[STORE], year)


@resolved(_lead)
async def overview_page(request: web.Request, _person: Person) -> web.Response:
    o = await _overview(request)
    return render(request, "pages/overview.html", {
        "o": o, "tables": {name: build(o) for name, build in TABLES.items()},
        "attendance": attendance_chart(o),
        "stage_charts": [(t, stages_chart(o, t)) for t in o.themes]})


@resolved(_lead)
async def overview_csv(request: web.Request, _person: Person) -> web.Response:
    build = TABLES.get(request.match_info["table"])
    if build is None:
        return error_page(request, 404, _("There is no such table in the overview."))
    o = await _overview(request)
    return csv_response(build(o), f"klimasats-forum-{request.match_info['table']}-{o.year}.csv")


PresentTable = tuple[Gathering, GatheringFigures, Table]


async def _present_table(request: web.Request) -> PresentTable | web.Response:
    lead = await _lead(request)
    if isinstance(lead, web.Response):
        return lead
    store = request.app[STORE]
    gathering = await store.gathering(request.match_info["gathering"])
    if gathering is None:
        return error_page(request, 404, _("There is no gathering at this address."))
    folded = await gathering_history(store, gathering)
    present, others = present_by_municipality(folded.attendees)
    figures = GatheringFigures(gathering, folded.opened_at is not None, present, others,
                               experts_booked=0, summary_published=None, recordings=0)
    rows: list[list[Cell]] = [
        [municipality or _("Without a municipality"), len(people),
         ", ".join(a.name for a in people)]
        for municipality, people in folded.by_municipality()]
    table = Table("present", _("Present, by municipality"),
                  [_("Municipality"), _("People present"), _("Names")], rows)
    return gathering, figures, table


@resolved(_present_table)
async def gathering_overview(request: web.Request, found: PresentTable) -> web.Response:
    gathering, figures, table = found
    return render(request, "pages/overview_gathering.html", {
        "gathering": gathering, "theme": gathering.theme, "figures": figures, "table": table,
        "label": gathering_label(gathering)})


@resolved(_present_table)
async def gathering_overview_csv(request: web.Request, found: PresentTable) -> web.Response:
    gathering, _figures, table = found
    return csv_response(table, f"klimasats-forum-{gathering.theme.slug}-{gathering.year}-"
                               f"{gathering.number}-present.csv")


def setup_overview(app: web.Application) -> None:
    app.router.add_get("/overview", overview_page)
    app.router.add_get("/overview/{table:[a-z-]{1,40}}.csv", overview_csv)
    app.router.add_get("/overview/g/{gathering:[0-9A-Za-z]{1,64}}.csv", gathering_overview_csv)
    app.router.add_get("/overview/g/{gathering:[0-9A-Za-z]{1,64}}", gathering_overview)
