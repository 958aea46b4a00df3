"""Settings: production refuses to start without secrets; the embedded defaults need no server."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _settings_in_subprocess(env: dict[str, str], expr: str) -> subprocess.CompletedProcess:
    code = f"import django, os; os.environ['DJANGO_SETTINGS_MODULE']='config.settings'; django.setup(); from django.conf import settings; print({expr})"
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DEBUG", "CELERY_BROKER_URL"}
    }
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_without_secret_key_refuses_to_start():
    result = _settings_in_subprocess({"DEBUG": "0"}, "settings.SECRET_KEY")

    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_embedded_defaults_use_sqlite_and_a_serverless_broker():
    result = _settings_in_subprocess(
        {}, "settings.DATABASES['default']['ENGINE'], settings.CELERY_BROKER_URL"
    )

    assert result.returncode == 0, result.stderr
    assert "sqlite3" in result.stdout and "filesystem://" in result.stdout


def test_redis_url_makes_redis_the_cache_and_broker():
    result = _settings_in_subprocess(
        {"REDIS_URL": "redis://127.0.0.1:6379/3"},
        "settings.CACHES['default']['BACKEND'], settings.CELERY_BROKER_URL",
    )

    assert result.returncode == 0, result.stderr
    assert "RedisCache" in result.stdout and "redis://127.0.0.1:6379/3" in result.stdout


def test_postgres_connections_are_persistent():
    result = _settings_in_subprocess(
        {"DATABASE_URL": "postgres://postgres@127.0.0.1:5432/x"},
        "settings.DATABASES['default']['CONN_MAX_AGE']",
    )

    assert result.returncode == 0, result.stderr
    assert int(result.stdout.strip()) > 0


def test_every_environment_variable_read_by_settings_is_documented_in_env_example():
    import re

    settings_py = (ROOT / "config" / "settings.py").read_text()
    read = set(re.findall(r'env(?:\.[a-z]+)?\(\s*"([A-Z_]+)"', settings_py))
    documented = set(re.findall(r"^#?([A-Z_]+)=", (ROOT / ".env.example").read_text(), re.M))

    assert read - documented == set()
