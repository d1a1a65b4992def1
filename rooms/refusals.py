"""What the forum's rules refuse, as one kind of exception: each area's own (schedule,
announcements, experts, the network) names its refusals by `code` and lists them; the pages
turn a code into words for people."""

from __future__ import annotations


class Refusal(Exception):
    """A refusal named by `code`; `detail`, if any, says more (in English, for developers
    and logs)."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(detail or code)
        self.code = code
        self.detail = detail
