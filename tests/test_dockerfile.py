"""The container recipe (Dockerfile), checked without Docker: no daemon runs here or in CI.

Its build steps run as the image would run them: the copied tree is enough to start
Django, collectstatic with the build's own environment succeeds, gunicorn accepts the
command, and the process runs as a user without privileges.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")


def instructions(name: str) -> list[str]:
    # Joins continued lines; one entry per instruction of that name.
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    return [line.split(None, 1)[1] for line in text.splitlines() if line.startswith(name + " ")]


def test_the_image_runs_as_a_user_without_privileges():
    users = instructions("USER")
    assert users
    assert users[-1] not in {"root", "0"}
    assert DOCKERFILE.index("USER") < DOCKERFILE.index("CMD")


def test_the_copied_tree_starts_django_and_collects_the_static_files(tmp_path):
    app = tmp_path / "app"
    app.mkdir()
    for copy in instructions("COPY"):
        *sources, target = copy.split()
        for source in sources:
            src = ROOT / source.rstrip("/")
            dest = app / target.rstrip("/") if target not in (".", "./") else app / src.name
            if src.is_dir():
                shutil.copytree(src, dest, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy(src, dest if target not in (".", "./") else app)
    (collect,) = [run for run in instructions("RUN") if "collectstatic" in run]
    words = shlex.split(collect)
    env = {k: v for k, v in (w.split("=", 1) for w in words if re.match(r"^[A-Z_]+=", w))}
    static_root = tmp_path / "staticfiles"
    env["DJANGO_STATIC_ROOT"] = str(static_root)  # /app/staticfiles in the image
    command = [w for w in words if not re.match(r"^[A-Z_]+=", w)]
    assert command[:2] == ["python", "manage.py"]
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "TWILIO_"))}
    clean.pop("DATABASE_URL", None)
    clean.pop("REDIS_URL", None)
    result = subprocess.run(
        [sys.executable, *command[1:]],
        cwd=app,
        env=clean | env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    manifest = json.loads((static_root / "staticfiles.json").read_text())
    assert "css/app.css" in manifest["paths"]
    assert "js/overview_fold.js" in manifest["paths"]
    assert any(p.suffix == ".gz" for p in static_root.rglob("app.*.css.gz"))


def test_gunicorn_accepts_the_image_command():
    (cmd,) = instructions("CMD")
    argv = json.loads(cmd)
    assert argv[0] == "gunicorn"
    env = os.environ | {"TWILIO_SERVERLESS_BASE_URL": "http://127.0.0.1:8787"}
    gunicorn = Path(sys.executable).with_name("gunicorn")
    result = subprocess.run(
        [str(gunicorn), *argv[1:], "--check-config"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-2000:]
