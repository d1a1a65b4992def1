"""Sum a py-spy raw (collapsed) profile by function: where a process spent its samples.

    .venv/bin/python bench/top_frames.py /tmp/prof/forum-1000.txt [--top 30] [--self]

Prints, for the functions seen most, the share of busy samples (a thread waiting in the
event loop's select or in aiosqlite's queue is not busy) in which each is on the stack
(inclusive) or on top of it (`--self`)."""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

# where a thread waits rather than works: the event loop's select, aiosqlite's queue
IDLE = ("EpollSelector.select (selectors.py", "_connection_worker_thread (aiosqlite/core.py:59)")
FRAME = re.compile(r"^(?P<function>[^ ]+) \((?P<file>[^:]+)(?::\d+)?\)$")


def frames(stack: str) -> list[str]:
    """`fn (path/to/file.py:12)` frames, shortened to `file.py:fn`."""
    named = []
    for frame in stack.split(";"):
        match = FRAME.match(frame.strip())
        if match is None:
            named.append(frame.strip())
            continue
        parts = Path(match["file"]).parts
        named.append(f"{'/'.join(parts[-2:])}:{match['function']}")
    return named


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("profile", type=Path)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--self", action="store_true", help="count only the top frame")
    args = parser.parse_args()
    counts: Counter[str] = Counter()
    total = 0
    for line in args.profile.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit() or stack.rpartition(";")[2].startswith(IDLE):
            continue
        total += int(count)
        named = frames(stack)
        for name in ([named[-1]] if args.self else set(named)):
            counts[name] += int(count)
    print(f"{total} busy samples")
    for name, count in counts.most_common(args.top):
        print(f"{100 * count / total:5.1f} %  {name}")


if __name__ == "__main__":
    main()
