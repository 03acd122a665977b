"""The container stack of SPEC §10, read as files: nothing here needs Docker or a database."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
APP_SERVICES = ("web", "worker", "beat")


@pytest.fixture(scope="module")
def services() -> dict[str, dict[str, Any]]:
    # safe_load resolves the `x-app: &app` anchor and the `<<: *app` merge keys.
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return compose["services"]


@pytest.fixture(scope="module")
def dockerfile() -> list[str]:
    """The Dockerfile's instructions, continuation lines joined and comments dropped."""
    instructions: list[str] = []
    current = ""
    for raw in (ROOT / "Dockerfile").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        current = " ".join(filter(None, (current, line.removesuffix("\\").strip())))
        if not line.endswith("\\"):
            instructions.append(current)
            current = ""
    return instructions


def command_of(service: dict[str, Any]) -> list[str]:
    command = service["command"]
    return shlex.split(command) if isinstance(command, str) else list(command)


def environment_of(service: dict[str, Any]) -> dict[str, str]:
    environment = service.get("environment", {})
    if isinstance(environment, list):
        return dict(item.split("=", 1) for item in environment)
    return {key: str(value) for key, value in environment.items()}


def depends_on(service: dict[str, Any]) -> dict[str, str]:
    dependencies = service.get("depends_on", {})
    if isinstance(dependencies, list):
        return dict.fromkeys(dependencies, "service_started")
    return {name: spec.get("condition", "service_started") for name, spec in dependencies.items()}


def instructions_named(dockerfile: list[str], keyword: str) -> list[str]:
    return [line for line in dockerfile if line.split(maxsplit=1)[0].upper() == keyword]


def test_the_stack_has_every_service(services):
    assert {"postgres", "redis", "mailcatcher", "migrate", "web", "worker", "beat"} <= services.keys()


def test_web_worker_and_beat_share_one_image(services):
    builds = {json.dumps(services[name]["build"], sort_keys=True) for name in (*APP_SERVICES, "migrate")}
    images = {services[name]["image"] for name in (*APP_SERVICES, "migrate")}

    assert len(builds) == 1
    assert len(images) == 1


def test_web_runs_gunicorn_on_the_wsgi_application(services):
    command = command_of(services["web"])

    assert command[0] == "gunicorn"
    assert "config.wsgi:application" in command


def test_web_publishes_port_8000(services):
    assert any(str(port).endswith("8000:8000") for port in services["web"]["ports"])


def test_worker_runs_the_celery_worker_of_config(services):
    assert command_of(services["worker"])[:4] == ["celery", "-A", "config", "worker"]


def test_beat_runs_the_celery_beat_of_config(services):
    assert command_of(services["beat"])[:4] == ["celery", "-A", "config", "beat"]


def test_exactly_one_service_runs_beat(services):
    # SPEC §11: two beats would schedule every sweep twice.
    runs_beat = [
        name
        for name, service in services.items()
        if "command" in service and command_of(service)[:1] == ["celery"] and "beat" in command_of(service)
    ]

    assert runs_beat == ["beat"]
    assert "deploy" not in services["beat"]


def test_migrate_runs_once_before_the_app_starts(services):
    migrate = services["migrate"]

    assert command_of(migrate)[:3] == ["python", "manage.py", "migrate"]
    assert migrate["restart"] == "no"
    for name in APP_SERVICES:
        assert depends_on(services[name])["migrate"] == "service_completed_successfully"


def test_the_app_waits_for_healthy_postgres_and_redis(services):
    assert "healthcheck" in services["postgres"]
    assert "healthcheck" in services["redis"]
    for name in (*APP_SERVICES, "migrate"):
        assert depends_on(services[name])["postgres"] == "service_healthy"
    for name in APP_SERVICES:
        assert depends_on(services[name])["redis"] == "service_healthy"


def test_app_services_get_their_connection_urls(services):
    for name in (*APP_SERVICES, "migrate"):
        environment = environment_of(services[name])

        assert environment["DATABASE_URL"].startswith("postgres://")
        assert environment["DATABASE_URL"].endswith("@postgres:5432/clinic")
        assert environment["REDIS_URL"] == "redis://redis:6379/0"
        assert environment["EMAIL_URL"] == "smtp://mailcatcher:1025"
        assert environment["DJANGO_SETTINGS_MODULE"] == "config.settings.production"


def test_the_secret_key_comes_from_the_environment_not_the_repository(services):
    for name in (*APP_SERVICES, "migrate"):
        secret_key = environment_of(services[name])["SECRET_KEY"]

        assert secret_key.startswith("${SECRET_KEY")
        # `:?` makes compose refuse to start without it; `:-` would hide a default secret here.
        assert ":-" not in secret_key


def test_the_image_runs_gunicorn_by_default(dockerfile):
    (cmd,) = instructions_named(dockerfile, "CMD")
    command = json.loads(cmd.split(maxsplit=1)[1])

    assert command[0] == "gunicorn"
    assert "config.wsgi:application" in command


def test_the_image_installs_the_locked_requirements(dockerfile):
    runs = instructions_named(dockerfile, "RUN")

    assert any("pip install" in line and "-r requirements.lock" in line for line in runs)


def test_the_image_runs_as_a_non_root_user(dockerfile):
    users = instructions_named(dockerfile, "USER")

    assert users
    assert users[-1].split()[1] not in {"root", "0"}


def test_the_build_time_secret_key_never_becomes_part_of_the_image(dockerfile):
    for line in instructions_named(dockerfile, "ENV") + instructions_named(dockerfile, "ARG"):
        assert "SECRET_KEY" not in line
    assert any("SECRET_KEY=" in line and "collectstatic" in line for line in instructions_named(dockerfile, "RUN"))


def test_dockerignore_keeps_local_state_out_of_the_image():
    ignored = set((ROOT / ".dockerignore").read_text().split())

    assert {".venv", ".git", "db.sqlite3", "media", "staticfiles"} <= ignored


def test_the_image_compiles_the_committed_translations():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "pybabel compile -d locale -D django" in dockerfile
    assert (ROOT / "locale" / "de" / "LC_MESSAGES" / "django.po").exists()


def pins(path: Path) -> dict[str, str]:
    lines = (line.split("==") for line in path.read_text().splitlines() if "==" in line and not line.startswith("#"))
    return {name.strip().lower(): version.strip() for name, version in lines}


def test_every_production_pin_stands_unchanged_in_the_development_lock():
    production, development = pins(ROOT / "requirements.lock"), pins(ROOT / "requirements-dev.lock")
    assert production
    assert {name: development.get(name) for name in production} == production
    # The image carries no test or lint tools.
    assert not {"pytest", "mypy", "ruff", "playwright"} & set(production)
