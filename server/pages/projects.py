"""Municipalities' projects in the browser.

`/projects` ("My projects"): a participant's own municipality's projects; for the theme's
facilitators and the programme lead, the themes whose projects they manage.
`/themes/{slug}/projects`: every project of a theme (its members read it; its managers add
projects). `/projects/{id}`: one project, its stage history and the form for those who may
change it. `/municipalities`: the programme lead adds municipalities and counties.
The rules are in rooms/projects.py."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from aiohttp import web
from multidict import MultiDictProxy
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)

from rooms.directory import role_in_theme, theme_by_slug, visible_themes
from rooms.models import Person
from rooms.projects import (
    NotAllowed,
    ProjectView,
    add_municipality,
    create_project,
    delete_project,
    editable_fields,
    history,
    may_manage,
    municipalities,
    municipality_people,
    project,
    projects_of,
    stages,
    theme_of,
    theme_projects,
    update_project,
)
from server.i18n import gettext as _
from server.keys import SESSIONS, SOCKETS
from server.pages.access import ThemeMember, theme_member
from server.pages.auth import error_page, render, see_other, signed_in
from server.pages.resolving import person_signed_in, resolved, the_programme_lead

MAX_TAGS = 8
MAX_TEXT = 2000
Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_TEXT)]
Stage = Annotated[str, StringConstraints(min_length=1, max_length=40)]


class ProjectForm(BaseModel):
    """What a project's form may send; a field left out is left as it is."""

    model_config = ConfigDict(extra="ignore")
    stage: Stage
    tags: tuple[Tag, ...] | None = None
    description: Text | None = None
    can_share: Text | None = None
    needs_help: Text | None = None
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                            max_length=300)] | None = None
    grant_year: Annotated[int, Field(ge=2000, le=2100)] | None = None
    contacts: tuple[int, ...] | None = None

    @field_validator("tags", mode="before")
    @classmethod
    def split(cls, raw: object) -> object:
        """The form field is one line, comma-separated; duplicates dropped, order kept."""
        if not isinstance(raw, str):
            return raw
        tags = [t.strip().lower() for t in raw.split(",") if t.strip()]
        unique = tuple(dict.fromkeys(tags))
        if len(unique) > MAX_TAGS:
            raise ValueError(f"at most {MAX_TAGS} tags")
        return unique

    def changes(self) -> dict[str, Any]:
        return {k: v for k, v in self.model_dump().items() if v is not None}


class NewProjectForm(ProjectForm):
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                            max_length=300)]
    grant_year: Annotated[int, Field(ge=2000, le=2100)]
    municipality_id: int


class MunicipalityForm(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=200)]
    county: bool = False
    county_name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = ""


def _form(posted: MultiDictProxy[Any], *, contacts: bool) -> dict[str, Any]:
    data: dict[str, Any] = {k: v for k, v in posted.items() if isinstance(v, str)}
    if contacts:
        data["contacts"] = tuple(posted.getall("contacts", ()))
    return data


def _project_error() -> str:
    return _("Check the form: choose a stage; give at most 8 topics of at most 40 characters "
             "each, a title, a grant year between 2000 and 2100, and texts of at most "
             "2000 characters.")


@resolved(person_signed_in)
async def my_projects(request: web.Request, person: Person, *, error: str | None = None,
                      status: int = 200) -> web.Response:
    sessions = request.app[SESSIONS]
    themes = await visible_themes(sessions, person)
    managed = [theme for theme, role in themes if role.value in ("facilitator",
                                                                 "programme_lead")]
    return render(request, "pages/projects.html", {
        "projects": await projects_of(sessions, person),
        "stages": await stages(sessions),
        "managed": managed,
        "themes": [theme for theme, _role in themes],
        "saved": request.query.get("saved"),
        "error": error,
    }, status=status)


@resolved(theme_member)
async def theme_projects_page(request: web.Request, member: ThemeMember, *,
                              form: dict[str, Any] | None = None, error: str | None = None,
                              status: int = 200) -> web.Response:
    person, theme = member.person, member.theme
    sessions = request.app[SESSIONS]
    return render(request, "pages/projects_theme.html", {
        "theme": theme, "projects": await theme_projects(sessions, theme.id),
        "manages": await may_manage(sessions, person, theme.id),
        "stages": await stages(sessions), "municipalities": await municipalities(sessions),
        "form": form or {}, "error": error, "deleted": request.query.get("deleted"),
    }, status=status)


@resolved(theme_member)
async def create_project_page(request: web.Request, member: ThemeMember) -> web.Response:
    person, theme = member.person, member.theme
    sessions = request.app[SESSIONS]
    if not await may_manage(sessions, person, theme.id):
        return error_page(request, 403, _("Only the facilitator of this theme and the "
                                          "programme lead can do this."))
    posted = await request.post()
    data = _form(posted, contacts=False)
    try:
        form = NewProjectForm.model_validate(data)
        if form.stage not in {s.slug for s in await stages(sessions)}:
            raise ValueError(form.stage)
        project_id = await create_project(
            sessions, person, theme_id=theme.id, municipality_id=form.municipality_id,
            title=form.title, stage=form.stage, tags=form.tags or (),
            grant_year=form.grant_year, description=form.description or "",
            can_share=form.can_share or "", needs_help=form.needs_help or "")
    except (ValidationError, ValueError, NotAllowed):
        return await theme_projects_page(request, form=data, error=_project_error(),
                                         status=400)
    await request.app[SOCKETS].restage(theme.id)  # people in the room show the new stage
    return see_other(f"/projects/{project_id}?saved=1")


@dataclass(frozen=True)
class ProjectAccess:
    """The signed-in person and the project of the URL."""

    person: Person
    project: ProjectView


async def project_access(request: web.Request) -> ProjectAccess | web.Response:
    """Who opens the project of the URL, or the page to show instead."""
    person = signed_in(request)
    if person is None:
        return see_other("/")
    shown = await project(request.app[SESSIONS], int(request.match_info["project"]))
    if shown is None:
        return error_page(request, 404, _("There is no project at this address."))
    return ProjectAccess(person, shown)


@resolved(project_access)
async def project_page(request: web.Request, access: ProjectAccess, *,
                       form: dict[str, Any] | None = None, error: str | None = None,
                       status: int = 200) -> web.Response:
    person, shown, sessions = access.person, access.project, request.app[SESSIONS]
    theme = await theme_by_slug(sessions, shown.theme_slug)
    if theme is None or await role_in_theme(sessions, person, theme.id) is None:
        return error_page(request, 403, _("You are not a member of this theme."))
    fields = await editable_fields(sessions, person, shown.id)
    people: list[tuple[int, str]] = []
    if "contacts" in fields:
        people = await municipality_people(sessions, shown.municipality_id)
    stage_list = await stages(sessions)
    return render(request, "pages/project.html", {
        "project": shown, "fields": fields, "stages": stage_list,
        "stage_names": {s.slug: s.name for s in stage_list},
        "history": await history(sessions, shown.id), "people": people,
        "contact_ids": {c[0] for c in shown.contacts},
        "form": form, "error": error, "saved": request.query.get("saved"),
    }, status=status)


@resolved(person_signed_in)
async def save_project(request: web.Request, person: Person) -> web.Response:
    project_id = int(request.match_info["project"])
    sessions = request.app[SESSIONS]
    posted = await request.post()
    back = posted.get("back")
    data = _form(posted, contacts="contacts_shown" in posted)
    try:
        form = ProjectForm.model_validate(data)
        known = {stage.slug for stage in await stages(sessions)}
        if form.stage not in known:
            raise ValueError(form.stage)
        allowed = await update_project(sessions, person, project_id, **form.changes())
    except (ValidationError, ValueError, NotAllowed):
        if back == "project":
            return await project_page(request, form=data, error=_project_error(), status=400)
        message = _("Choose a stage, and give at most 8 tags of at most 40 characters each.")
        return await my_projects(request, error=message, status=400)
    if not allowed:
        return error_page(request, 403, _("You can only change your own municipality's "
                                          "projects."))
    theme_id = await theme_of(sessions, project_id)
    if theme_id is not None:  # people in the room show the new stage
        await request.app[SOCKETS].restage(theme_id)
    if back == "project":
        return see_other(f"/projects/{project_id}?saved=1")
    return see_other(f"/projects?saved={project_id}")


@resolved(project_access)
async def remove_project(request: web.Request, access: ProjectAccess) -> web.Response:
    theme_id = await theme_of(request.app[SESSIONS], access.project.id)
    if not await delete_project(request.app[SESSIONS], access.person, access.project.id):
        return error_page(request, 403, _("Only the facilitator of this theme and the "
                                          "programme lead can do this."))
    if theme_id is not None:  # people in the room show the stage they have now
        await request.app[SOCKETS].restage(theme_id)
    return see_other(f"/themes/{access.project.theme_slug}/projects?deleted=1")


@resolved(the_programme_lead)
async def municipalities_page(request: web.Request, _person: Person, *,
                              form: dict[str, Any] | None = None, error: str | None = None,
                              status: int = 200) -> web.Response:
    return render(request, "pages/municipalities.html", {
        "municipalities": await municipalities(request.app[SESSIONS]),
        "form": form or {}, "error": error, "saved": request.query.get("saved"),
        "deleted": request.query.get("deleted"),
    }, status=status)


@resolved(the_programme_lead)
async def save_municipality(request: web.Request, lead: Person) -> web.Response:
    data = _form(await request.post(), contacts=False)
    try:
        form = MunicipalityForm.model_validate({**data, "county": data.get("county") == "1"})
        await add_municipality(request.app[SESSIONS], lead, name=form.name,
                               county=form.county, county_name=form.county_name)
    except ValidationError:
        return await municipalities_page(request, form=data, status=400, error=_(
            "Give the municipality's name (2 to 200 characters)."))
    except NotAllowed:
        return await municipalities_page(request, form=data, status=400, error=_(
            "That municipality is already there."))
    return see_other("/municipalities?saved=1")


def setup_projects(app: web.Application) -> None:
    app.router.add_get("/projects", my_projects)
    app.router.add_get(r"/projects/{project:\d{1,9}}", project_page)
    app.router.add_post(r"/projects/{project:\d{1,9}}", save_project)
    app.router.add_post(r"/projects/{project:\d{1,9}}/delete", remove_project)
    app.router.add_get("/themes/{slug}/projects", theme_projects_page)
    app.router.add_post("/themes/{slug}/projects", create_project_page)
    app.router.add_get("/municipalities", municipalities_page)
    app.router.add_post("/municipalities", save_municipality)
