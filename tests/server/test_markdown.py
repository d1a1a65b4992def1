"""What people write in the forum comes out as safe HTML (server/markdown.py): a table of
attacks that must come out inert, and of Markdown that must keep working."""

from __future__ import annotations

import re

import pytest

from server.markdown import render_markdown, safe_link


@pytest.mark.parametrize(("written", "shown"), [
    # raw HTML is text, never markup
    ("<script>alert(1)</script>", "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>\n"),
    ("<img src=x onerror=alert(1)>", "<p>&lt;img src=x onerror=alert(1)&gt;</p>\n"),
    ('<a href="javascript:alert(1)">x</a>',
     "<p>&lt;a href=&quot;javascript:alert(1)&quot;&gt;x&lt;/a&gt;</p>\n"),
    ("<div\nonclick=alert(1)>x</div>", "<p>&lt;div<br>\nonclick=alert(1)&gt;x&lt;/div&gt;</p>\n"),
    # links other than http(s), mailto and our own paths are not links
    ("[x](javascript:alert(1))", "<p>[x](javascript:alert(1))</p>\n"),
    ("[x](JaVaScRiPt:alert(1))", "<p>[x](JaVaScRiPt:alert(1))</p>\n"),
    ("[x](&#106;avascript:alert(1))", "<p>[x](javascript:alert(1))</p>\n"),
    ("<javascript:alert(1)>", "<p>&lt;javascript:alert(1)&gt;</p>\n"),
    ("[x](vbscript:msgbox)", "<p>[x](vbscript:msgbox)</p>\n"),
    ("[x](data:text/html;base64,PHNjcmlwdD4=)", "<p>[x](data:text/html;base64,PHNjcmlwdD4=)</p>\n"),
    ("[x](file:///etc/passwd)", "<p>[x](file:///etc/passwd)</p>\n"),
    # an attribute cannot be smuggled into a link
    ('[x](https://a.no/"onmouseover=alert(1))',
     '<p><a href="https://a.no/%22onmouseover=alert(1)" rel="nofollow noopener noreferrer">'
     "x</a></p>\n"),
    # no pictures from elsewhere: the text links to it instead
    ("![kart](https://example.org/kart.png)",
     '<p>!<a href="https://example.org/kart.png" rel="nofollow noopener noreferrer">kart</a>'
     "</p>\n"),
    # what people use keeps working
    ("**fet** og *kursiv*", "<p><strong>fet</strong> og <em>kursiv</em></p>\n"),
    ("[Miljødirektoratet](https://www.miljodirektoratet.no)",
     '<p><a href="https://www.miljodirektoratet.no" rel="nofollow noopener noreferrer">'
     "Miljødirektoratet</a></p>\n"),
    ("<mailto:post@askvik.kommune.no>",
     '<p><a href="mailto:post@askvik.kommune.no" rel="nofollow noopener noreferrer">'
     "mailto:post@askvik.kommune.no</a></p>\n"),
    ("[referatet](/g/abc/summary#group-2)",
     '<p><a href="/g/abc/summary#group-2" rel="nofollow noopener noreferrer">referatet</a>'
     "</p>\n"),
    ("- en\n- to", "<ul>\n<li>en</li>\n<li>to</li>\n</ul>\n"),
    ("linje en\nlinje to", "<p>linje en<br>\nlinje to</p>\n"),
    ("`<b>`", "<p><code>&lt;b&gt;</code></p>\n"),
    ("# Tittel\n## Under", "<h3>Tittel</h3>\n<h4>Under</h4>\n"),
    ("", ""),
])
def test_markdown_comes_out_safe(written: str, shown: str) -> None:
    assert render_markdown(written) == shown


@pytest.mark.parametrize(("written", "top", "levels"), [
    ("# A\n## B\n### C\n## D", 3, [3, 4, 5, 4]),
    ("# A\n## B", 2, [2, 3]),
    ("## A\n### B", 2, [2, 3]),  # starts at the top level whatever the author began with
    ("# A\n###### F\n## B", 2, [2, 3, 3]),  # no level skipped on the way down
    ("# A\n## B\n### C", 5, [5, 6, 6]),  # and none past <h6>
    ("# A", 9, [6]),
    ("A\n===\nB\n---", 3, [3, 4]),  # the underlined kinds too
])
def test_headings_fit_the_page_outline(written: str, top: int, levels: list[int]) -> None:
    html = render_markdown(written, top=top)
    assert [int(level) for level in re.findall(r"<h(\d)>", html)] == levels
    assert re.findall(r"</h(\d)>", html) == re.findall(r"<h(\d)>", html)


@pytest.mark.parametrize(("url", "safe"), [
    ("https://a.no", True), ("http://a.no", True), ("HTTPS://A.NO", True),
    ("mailto:a@b.no", True), ("/themes/mat", True), ("#reply-3", True), ("side.html", True),
    ("javascript:alert(1)", False), (" javascript:alert(1)", False), ("data:x", False),
    ("vbscript:x", False), ("file:///x", False), ("ftp://a.no", False), ("tel:+4712345678", False),
])
def test_which_links_are_safe(url: str, safe: bool) -> None:
    assert safe_link(url) is safe
