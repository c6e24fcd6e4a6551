"""CLI commands (flask reconcile, money …) find the running site the way `make run` serves it: on PORT."""

import os
import shutil
import stat
import subprocess
import sys
import time

from config import load

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_the_site_address_follows_port_unless_public_base_url_is_set(tmp_path, monkeypatch):
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    monkeypatch.setenv("PORT", "8201")
    assert load(str(tmp_path))["PUBLIC_BASE_URL"] == "http://127.0.0.1:8201"
    monkeypatch.setenv("PUBLIC_BASE_URL", "http://roam.test:9000")
    assert load(str(tmp_path))["PUBLIC_BASE_URL"] == "http://roam.test:9000"
    monkeypatch.delenv("PUBLIC_BASE_URL")
    monkeypatch.delenv("PORT")
    assert load(str(tmp_path))["PUBLIC_BASE_URL"] == "http://127.0.0.1:8000"


def _stub(path, body: str) -> None:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def test_a_command_from_another_shell_finds_the_port_make_run_serves_on(tmp_path):
    """serve.sh is run as `make run` runs it, with stand-ins for gunicorn and the job worker; while it
    serves, a command started with neither PORT nor PUBLIC_BASE_URL (another shell) gets its address."""
    (tmp_path / "scripts").mkdir()
    shutil.copy(os.path.join(ROOT, "scripts", "serve.sh"), tmp_path / "scripts" / "serve.sh")
    shutil.copy(os.path.join(ROOT, "config.py"), tmp_path / "config.py")
    bin_dir = tmp_path / "venv" / "bin"
    bin_dir.mkdir(parents=True)
    _stub(bin_dir / "flask", "exec sleep 30\n")
    # "Another shell": a command started without PORT or PUBLIC_BASE_URL, while the site is up.
    probe = "import config; print(config.load('instance')['PUBLIC_BASE_URL'])"
    _stub(
        bin_dir / "gunicorn",
        f'echo "bind $6"\nenv -u PORT -u PUBLIC_BASE_URL PYTHONPATH={ROOT} {sys.executable} -c "{probe}"\n',
    )
    env = {k: v for k, v in os.environ.items() if k not in ("PUBLIC_BASE_URL", "PORT")}
    started = time.monotonic()
    result = subprocess.run(
        ["scripts/serve.sh"],
        cwd=tmp_path,
        env={**env, "PORT": "8201", "VENV": str(tmp_path / "venv")},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["bind 127.0.0.1:8201", "http://127.0.0.1:8201"]
    assert not (tmp_path / "instance" / "site_address").exists()  # gone with the site
    assert time.monotonic() - started < 20  # the worker stopped with the site
