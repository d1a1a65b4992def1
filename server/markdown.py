"""Markdown that people write in the forum (announcements, help requests, answers,
replies), rendered safely: the one place it is turned into HTML.

markdown-it-py with the "js-default" preset (CommonMark, tables, strikethrough) and
- raw HTML off (`html=False`): `<script>` or `<img onerror=...>` typed in a post comes out
  as text;
- links only to http(s), mailto or a path of our own (no scheme): `javascript:`, `data:`,
  `vbscript:`, `file:` ... are not links at all;
- no images: a picture from elsewhere in a post would be a tracker in every reader's mail,
  and the pages' CSP (`default-src 'self'`) would block it anyway; `![text](url)` becomes a
  link to it;
- links get `rel="nofollow noopener noreferrer"`: a post's links earn no search ranking
  and the page opened gets no handle on ours;
- headings start at <h3> (a post sits under the page's <h1> and its title's <h2>) and never
  skip a level, so the page's outline stays in order (axe-core's heading-order);
- a line break in the text is a line break on the page, as people expect in a forum.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from markupsafe import Markup

SAFE_SCHEMES = frozenset({"http", "https", "mailto"})
REL = "nofollow noopener noreferrer"
_SCHEME = re.compile(r"^\s*([a-zA-Z][a-zA-Z0-9+.\-]*):")


def safe_link(url: str) -> bool:
    """Whether a link may point at `url`: http(s), mailto, or no scheme (our own paths,
    #anchors). markdown-it has decoded entities and percent-encoded control characters
    before it asks, so `&#106;avascript:` or a tab inside the scheme cannot slip by."""
    scheme = _SCHEME.match(url)
    return scheme is None or scheme.group(1).lower() in SAFE_SCHEMES


def _link_open(renderer: RendererHTML, tokens: Sequence[Token], idx: int,
               options: OptionsDict, env: EnvType) -> str:
    tokens[idx].attrSet("rel", REL)
    return renderer.renderToken(tokens, idx, options, env)


def _shift_headings(top: int) -> Any:
    """`#` becomes <h{top}>, `##` the level under it...; and no heading skips a level on
    the way down (a post that starts with `###` starts at <h{top}> all the same)."""
    def rule(state: Any) -> None:
        previous = top - 1
        for token in state.tokens:
            if token.type == "heading_open":
                level = min(6, int(token.tag[1]) + top - 1, previous + 1)
                token.tag = f"h{level}"
                previous = level
            elif token.type == "heading_close":
                token.tag = f"h{previous}"
    return rule


@functools.cache
def _parser(top: int) -> MarkdownIt:
    md = MarkdownIt("js-default", {"html": False, "breaks": True, "linkify": False})
    md.disable("image")
    md.validateLink = safe_link  # type: ignore[method-assign]
    md.add_render_rule("link_open", _link_open)
    md.core.ruler.push("shift_headings", _shift_headings(top))
    return md


def render_markdown(text: str, *, top: int = 3) -> Markup:
    """`text` (Markdown) as safe HTML to put in a page or a mail as it is. `top`: the
    heading level a `#` heading becomes (3: under a page's <h1> and a post's <h2>)."""
    return Markup(_parser(max(1, min(6, top))).render(text or ""))  # noqa: S704 - escaped
