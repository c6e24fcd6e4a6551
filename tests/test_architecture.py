"""The layers hold: import-linter's contracts (pyproject.toml) are kept, and a broken one is caught."""

import ast
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
        ("gateways._bad", "rules.ordering.orders", GATEWAYS),
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


# --- the single-file modules at the top (import-linter takes packages only) -------------------

TOP_MODULES = ("app", "config", "extensions", "models", "jobs")
FIRST_PARTY = (*TOP_MODULES, *PACKAGES)


def imports_of(path: Path) -> set[str]:
    """The first-party modules a file imports, by dotted name (also imports inside functions)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        found.update(name for name in names if name.split(".")[0] in FIRST_PARTY and module_file(name))
    return found


def module_file(name: str) -> Path | None:
    base = ROOT / name.replace(".", "/")
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def reachable_from(name: str) -> dict[str, str]:
    """Every first-party module `name` imports, directly or through others: {module: who imported it}."""
    seen: dict[str, str] = {name: ""}
    todo = [name]
    while todo:
        current = todo.pop()
        path = module_file(current)
        for imported in imports_of(path) if path else ():
            if imported not in seen:
                seen[imported] = current
                todo.append(imported)
    return seen


def top(name: str) -> str:
    return name.split(".")[0]


# What each single-file module, and each gateway module, must never reach, even through another module.
NEVER_REACHES = {
    "extensions": {"models", "rules", "gateways", "web", "blueprints", "commands", "sandbox", "jobs", "app"},
    # config checks that production keys parse with the gateways' own key readers, and nothing above them
    "config": {"models", "rules", "web", "blueprints", "commands", "sandbox", "jobs", "app"},
    "models": {"rules", "gateways", "web", "blueprints", "commands", "sandbox", "jobs", "app"},
    "jobs": {"web", "blueprints", "commands", "sandbox", "app"},
}
GATEWAY_MODULES = sorted(f"gateways.{path.stem}" for path in (ROOT / "gateways").glob("*.py"))


def forbidden_paths(source: str, forbidden: set[str]) -> list[str]:
    seen = reachable_from(source)
    paths = []
    for module in seen:
        if top(module) in forbidden and top(module) != top(source):
            chain, step = [module], module
            while seen[step]:
                step = seen[step]
                chain.append(step)
            paths.append(" -> ".join(reversed(chain)))
    return paths


@pytest.mark.parametrize("source", sorted(NEVER_REACHES))
def test_a_top_module_reaches_no_layer_above_it(source):
    assert forbidden_paths(source, NEVER_REACHES[source]) == []


@pytest.mark.parametrize("source", GATEWAY_MODULES)
def test_a_gateway_reaches_no_rule_even_through_the_models(source):
    assert forbidden_paths(source, {"rules", "web", "blueprints", "commands", "sandbox", "jobs", "app"}) == []


def test_the_reach_check_sees_an_import_through_another_module(tmp_path, monkeypatch):
    """models -> rules.x would be found from a gateway that only imports models."""
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    (tmp_path / "gateways").mkdir()
    (tmp_path / "rules").mkdir()
    (tmp_path / "gateways" / "__init__.py").write_text("")
    (tmp_path / "rules" / "__init__.py").write_text("")
    (tmp_path / "rules" / "thing.py").write_text("")
    (tmp_path / "gateways" / "carrier.py").write_text("import models\n")
    (tmp_path / "models.py").write_text("def f():\n    from rules import thing\n")
    assert set(forbidden_paths("gateways.carrier", {"rules"})) == {
        "gateways.carrier -> models -> rules",
        "gateways.carrier -> models -> rules.thing",
    }


# --- payments go through the payment interface -------------------------------------------------

ALIPAY_MODULES = {"gateways.alipay_gateway", "gateways.alipay_bill", "gateways.alipay_provider"}
MONEY_PATH = sorted({*(ROOT / "rules").rglob("*.py"), ROOT / "jobs.py"})


@pytest.mark.parametrize("path", MONEY_PATH, ids=lambda path: str(path.relative_to(ROOT)))
def test_rules_and_jobs_reach_alipay_only_through_the_payment_interface(path):
    """They ask gateways.providers for the order's method; only the registry knows Alipay by module."""
    assert imports_of(path) & ALIPAY_MODULES == set()


STRIPE_MODULES = {f"gateways.{path.stem}" for path in (ROOT / "gateways").glob("stripe_*.py")}


@pytest.mark.parametrize("path", MONEY_PATH, ids=lambda path: str(path.relative_to(ROOT)))
def test_rules_and_jobs_reach_stripe_only_through_the_payment_interface(path):
    assert STRIPE_MODULES and imports_of(path) & STRIPE_MODULES == set()
