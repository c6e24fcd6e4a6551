"""The layers hold: import-linter's contracts (pyproject.toml) are kept, and a broken one is caught."""

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
PACKAGES = CONFIG["root_packages"]
CONTRACTS = [contract["name"] for contract in CONFIG["contracts"]]


def lint_imports(project: Path) -> subprocess.CompletedProcess:
    """lint-imports run in `project` (it reads the pyproject.toml there and finds packages from there)."""
    env = {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=project, env=env, capture_output=True, text=True, timeout=60
    )


def copy_of_the_project(tmp_path: Path) -> Path:
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_every_layer_contract_is_kept():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    for contract in CONTRACTS:
        assert f"{contract} KEPT" in result.stdout
    assert f"{len(CONTRACTS)} kept, 0 broken" in result.stdout


RULES = "Rules never import views, web plumbing or the sandbox"
GATEWAYS = "Gateways never import rules, views, web plumbing or the sandbox"
SANDBOX = "Only the factory and the sandbox's own views know the sandbox"
LAYERS = "Views over web plumbing over rules over gateways"


@pytest.mark.parametrize(
    "source, target, broken",
    [
        ("rules._bad", "web.rendering", RULES),
        ("rules._bad", "sandbox.demo_data", RULES),
        ("gateways._bad", "rules.orders", GATEWAYS),
        ("web._bad", "sandbox.alipay_ledger", SANDBOX),
        ("web._bad", "blueprints.checkout", LAYERS),
    ],
)
def test_an_import_across_the_layers_is_reported_broken(tmp_path, source, target, broken):
    assert broken in CONTRACTS
    project = copy_of_the_project(tmp_path)
    package, name = target.rsplit(".", 1)
    (project / f"{source.replace('.', '/')}.py").write_text(
        f'"""A forbidden import."""\n\nfrom {package} import {name}\n'
    )
    result = lint_imports(project)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{broken} BROKEN" in result.stdout
    assert f"{source} -> {target}" in result.stdout  # the report names the offending import
