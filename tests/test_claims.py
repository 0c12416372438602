"""docs/claims.yaml lists documented promises and the tests that show each; a listed test that is gone fails here."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CLAIMS: list[dict[str, Any]] = yaml.safe_load((ROOT / "docs" / "claims.yaml").read_text())


def defined(path: Path, names: list[str]) -> bool:
    """Whether `names` (a function, or a class then its method) is defined in the test file."""
    body: list[ast.stmt] = ast.parse(path.read_text()).body
    for name in names:
        found = [n for n in body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Assign)
                 and name in _names(n)]
        if not found:
            return False
        body = found[0].body if isinstance(found[0], ast.ClassDef) else []
    return True


def _names(node: ast.stmt) -> list[str]:
    if isinstance(node, ast.Assign):  # `TestTwoWaySync = SyncMachine.TestCase`
        return [target.id for target in node.targets if isinstance(target, ast.Name)]
    return [node.name]  # type: ignore[attr-defined]


def test_every_claim_names_where_it_is_promised_and_at_least_one_test() -> None:
    assert CLAIMS, "docs/claims.yaml lists no claim"
    for claim in CLAIMS:
        assert claim.get("tests"), f"no test for: {claim['claim']}"
        for place in re.findall(r"[\w./-]+\.md", claim["where"]):
            assert (ROOT / place).exists(), f"{claim['claim']}: {place} does not exist"


@pytest.mark.parametrize("node", sorted({test for claim in CLAIMS for test in claim["tests"]}))
def test_each_listed_test_exists(node: str) -> None:
    file, *names = node.split("::")
    path = ROOT / file
    assert path.is_file(), f"{node}: no file {file}"
    assert not names or defined(path, names), f"{node}: no such test in {file}"
