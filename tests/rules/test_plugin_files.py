"""The config's own plugin files: loaded like installed plugins; a broken one names its file and line alone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.plugin_files import with_files
from engine.plugins import ALLOW_LIST_ENV
from tests.fixtures.registries import BUILTIN_ALLOW_LIST, builtin_registry

GOOD = """\
from engine import hookimpl


@hookimpl
def register_transforms(register):
    register("initials", lambda value: "".join(part[0] for part in str(value).split()))


@hookimpl
def register_condition_ops(register):
    register("shouting", lambda actual, expected: str(actual).isupper() == bool(expected))
"""

BROKEN = [
    pytest.param("x = (\n", 1, "SyntaxError: '(' was never closed", id="a syntax error"),
    pytest.param("\n\nimport not_a_module_anyone_has\n", 3, "ModuleNotFoundError: No module named", id="an import"),
    pytest.param(
        "from engine import hookimpl\n\n\n@hookimpl\ndef register_transforms(register):\n    raise ValueError('no')\n",
        6,
        "register_transforms raised ValueError: no",
        id="a hook that raises",
    ),
]


def test_a_plugin_file_registers_transforms_and_operators(tmp_path: Path) -> None:
    (tmp_path / "good.py").write_text(GOOD)
    merged, faults = with_files(builtin_registry(), [tmp_path / "good.py"])
    assert faults == []
    assert merged.transforms["initials"]("Ada King Lovelace") == "AKL"
    assert merged.condition_ops["shouting"]("ADA", True)
    assert "upper" in merged.transforms, "the installed plugins' transforms are still there"


@pytest.mark.parametrize(("source", "line", "message"), BROKEN)
def test_a_broken_file_is_a_fault_at_its_line_and_the_others_still_load(
    tmp_path: Path, source: str, line: int, message: str
) -> None:
    (tmp_path / "broken.py").write_text(source)
    (tmp_path / "good.py").write_text(GOOD)
    merged, [fault] = with_files(builtin_registry(), [tmp_path / "broken.py", tmp_path / "good.py"])
    assert (fault.file, fault.line) == (str(tmp_path / "broken.py"), line)
    assert fault.message.startswith(message)
    assert "initials" in merged.transforms


def test_a_missing_file_is_a_fault(tmp_path: Path) -> None:
    _merged, [fault] = with_files(builtin_registry(), [tmp_path / "nope.py"])
    assert (fault.file, fault.line, fault.message) == (str(tmp_path / "nope.py"), None, "no such file")


def test_validate_reports_a_broken_plugin_file_with_its_line(tmp_path: Path) -> None:
    (tmp_path / "transforms.py").write_text("def f(:\n")
    (tmp_path / "pairsync.yaml").write_text(
        "plugins: [transforms.py]\n"
        "accounts:\n  a: {connector: memory}\n  b: {connector: memory}\n"
        "connections:\n  - {name: c, left: a, right: b, direction: left-to-right}\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", "from engine.cli import main; main()", "validate", "pairsync.yaml"],
        cwd=tmp_path,
        env={**os.environ, ALLOW_LIST_ENV: BUILTIN_ALLOW_LIST},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr == (
        "transforms.py:1: SyntaxError: invalid syntax (the plugin file listed under `plugins` in pairsync.yaml "
        "failed to load; fix it or remove it from the list)\n"
    )
