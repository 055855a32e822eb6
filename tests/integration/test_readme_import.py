"""The README's "Importing LiteLLM files" commands run as pasted, from a
directory holding the repository's ``tests`` and ``.venv``, and do what the
comments beside them say."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.integration.client_service import python_blocks

ROOT = Path(__file__).parents[2]
README = Path(os.environ.get("MODELROUTER_README_PATH", ROOT / "README.md"))
HEADING = "### Importing LiteLLM files"


def test_the_import_section_runs_as_pasted(tmp_path: Path) -> None:
    blocks = python_blocks(README.read_text(encoding="utf-8"), HEADING, language="sh")
    if not blocks:
        pytest.skip(f"{README} has no {HEADING!r} section with a sh block")
    (tmp_path / "tests").symlink_to(ROOT / "tests")
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")
    commands = [
        line for block in blocks for line in block.splitlines() if line and not line.startswith("#")
    ]
    outputs = []
    for command in commands:
        done = subprocess.run(
            ["bash", "-c", command],
            check=False,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "COLUMNS": "200"},
        )
        assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
        outputs.append(done.stdout)
    # The 200k-token request went through gpt-4o's context_window_fallbacks.
    routed = next(out for cmd, out in zip(commands, outputs, strict=True) if "200000" in cmd)
    assert "context_window_fallbacks [gemini-long]" in routed
    assert "gemini-2.5-pro" in routed.split("fallback 1")[0]
    report = json.loads((tmp_path / "import-report.json").read_text())
    assert report["report"]["counts"]["skipped"] == 0
    assert report["report"]["counts"]["dropped"] > 0
