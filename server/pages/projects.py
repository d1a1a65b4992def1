"""The "my project" page: a municipality's people keep its project stage and tags current."""

from __future__ import annotations

from typing import Annotated

from aiohttp import web
from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError, field_validator

from rooms.projects import projects_of, stages, update_project
from server.i18n import gettext as _
from server.keys import SESSIONS
from server.pages.auth import error_page, render, see_other, signed_in

MAX_TAGS = 8
Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]


class ProjectForm(BaseModel):
    model_config = ConfigDict(extra="ignore")
    stage: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    tags: tuple[Tag, ...]

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


async def my_projects(request: web.Request, *, error: str | None = None,
                      status: int = 200) -> web.Response:
    person = signed_in(request)
    if person is None:
        return see_other("/")
    sessions = request.app[SESSIONS]
    return render(request, "pages/projects.html", {
        "projects": await projects_of(sessions, person),
        "stages": await stages(sessions),
        "saved": request.query.get("saved"),
        "error": error,
    }, status=status)


async def save_project(request: web.Request) -> web.Response:
    person = signed_in(request)
    if person is None:
        return see_other("/")
    project_id = int(request.match_info["project"])
    sessions = request.app[SESSIONS]
    try:
        form = ProjectForm.model_validate(dict(await request.post()))
        known = {stage.slug for stage in await stages(sessions)}
        if form.stage not in known:
            raise ValueError(form.stage)
    except (ValidationError, ValueError):
        message = _("Choose a stage, and give at most 8 tags of at most 40 characters each.")
        return await my_projects(request, error=message, status=400)
    if not await update_project(sessions, person, project_id,
                                stage=form.stage, tags=form.tags):
        return error_page(request, 403, _("You can only change your own municipality's "
                                          "projects."))
    return see_other(f"/projects?saved={project_id}")


def setup_projects(app: web.Application) -> None:
    app.router.add_get("/projects", my_projects)
    app.router.add_post(r"/projects/{project:\d{1,9}}", save_project)
