"""The import contract (pyproject.toml's [tool.importlinter]): the app stands on the engine, the engine's
packages stack, no import cycle anywhere in the engine, no user interface in the engine."""
import shutil
import os
import subprocess
import textwrap

import pytest

from conftest import ROOT


def lint_imports(cwd) -> subprocess.CompletedProcess:
    """lint-imports on the checkout at ``cwd`` (its packages first on the path)."""
    exe = shutil.which("lint-imports") or pytest.fail("lint-imports is missing: pip install -e '.[test]'")
    env = os.environ | {"PYTHONPATH": str(cwd)}
    return subprocess.run([exe, "--no-cache"], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_the_import_contract_is_kept():
    out = lint_imports(ROOT)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert "0 broken" in out.stdout
    for name in ("The app stands on the engine", "The engine's layers, top to bottom",
                 "No import cycles anywhere in the engine", "The engine has no user interface"):
        assert f"{name} KEPT" in out.stdout


def test_a_lower_layer_importing_a_higher_one_breaks_the_contract(tmp_path):
    """The same contract on a copy of the engine where base imports the runner inside a function (the kind
    of import a cycle hides in): lint-imports fails and names the import."""
    shutil.copytree(ROOT / "seg_core", tmp_path / "seg_core", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "segapp", tmp_path / "segapp", ignore=shutil.ignore_patterns("__pycache__", "*.js"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    with open(tmp_path / "seg_core" / "base" / "limits.py", "a") as f:
        f.write(textwrap.dedent("""

            def _late():
                from seg_core.runner import jobs  # a lower layer reaching up
                return jobs
        """))
    out = lint_imports(tmp_path)
    assert out.returncode != 0
    assert "seg_core.base.limits -> seg_core.runner.jobs" in out.stdout
