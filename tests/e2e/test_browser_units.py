"""The browser code's pure modules (reducer, clock, catch-up, command client), tested
with Node's own test runner: `cd static && npm test`. Run here so `make test` runs them."""

from __future__ import annotations

import shutil
import subprocess

from tests.e2e.conftest import STATIC, missing


def test_browser_modules() -> None:
    node = shutil.which("node")
    if node is None or not (STATIC / "node_modules").is_dir():
        missing("Node.js with static/node_modules (run `make bundle`)")
    result = subprocess.run([node, "--test", "test/"], cwd=STATIC, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
