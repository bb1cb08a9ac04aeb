"""Product text speaks of the product: the README, SECURITY.md, docs/, the template, and the
Python, JavaScript and scripts beside them name no tracker issue or team decision by its number;
they say what the thing is. References to other projects' issues (`owner/repo#123`) are fine."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# The word issue (or issues), then a number: "issue 17", "Issues 15 and 16", "issue #4",
# "issue 12 #5"; and "team decision 3".
TRACKER_NUMBER = re.compile(r"\bissues?\b[\s:-]*#?\d+|\bteam decisions?\s+\d+", re.IGNORECASE)

PRODUCT_TEXT = ["README.md", "SECURITY.md", "docs/*.md", "template.yaml", "samconfig.toml",
                "bench/**/*.py", "scripts/*", "local/**/*.py", "portal/js/*.js", "portal/index.html",
                "tests/portal/*.mjs", "tests/template/*.py", "src/**/*.rs", "tests/gate/*.rs",
                "tests/properties/*.rs", "examples/*.rs"]
# A change log names the issues it closes; none exists yet, and one would be left out here.
NOT_PRODUCT_TEXT = re.compile(r"(^|/)(CHANGELOG|CHANGES|HISTORY|NEWS)[^/]*$", re.IGNORECASE)


def product_files() -> list[Path]:
    found = {path for pattern in PRODUCT_TEXT for path in ROOT.glob(pattern)
             if path.is_file() and "__pycache__" not in path.parts
             and not NOT_PRODUCT_TEXT.search(path.relative_to(ROOT).as_posix())}
    found.discard(Path(__file__).resolve())  # its examples below are what it looks for
    return sorted(found)


def test_the_product_text_is_found():
    names = {path.relative_to(ROOT).as_posix() for path in product_files()}
    assert {"README.md", "SECURITY.md", "template.yaml", "docs/deploy.md", "scripts/bench",
            "local/stack.py", "portal/js/app.js", "tests/template/test_template.py"} <= names


@pytest.mark.parametrize("path", product_files(), ids=lambda path: path.relative_to(ROOT).as_posix())
def test_product_text_names_no_tracker_issue_number(path):
    mentions = [f"{number}: {line.strip()}" for number, line in enumerate(path.read_text().splitlines(), 1)
                if TRACKER_NUMBER.search(line)]
    assert mentions == [], "say what the thing is, not its issue number:\n" + "\n".join(mentions)


@pytest.mark.parametrize("text, found", [
    ("Each of issue 17's targets", True),
    ("the private deployment (Issue 16)", True),
    ("found by hand (issue 19 #4)", True),
    ("issues 15 and 17", True),
    ("issue #12", True),
    ("team decision 3", True),
    ("aws/aws-lambda-rust-runtime#932", False),
    ("the pool issues them", False),
    ("a known issue with 2 workarounds", False),
])
def test_the_pattern_finds_issue_numbers_and_nothing_else(text, found):
    assert bool(TRACKER_NUMBER.search(text)) is found
