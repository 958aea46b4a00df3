"""Foundation wiring: health probes, the API error shape and key auth, the schema, the beat schedule, commands."""

from io import StringIO

import pytest
from django.core.management import call_command

from affiliates.models import Affiliate, ApiKey
from affiliates.selectors import hash_api_key
from config.celery import app as celery_app


def test_live_answers_ok_without_touching_the_database(client):
    # No django_db mark: any database access in the view would raise here.
    response = client.get("/healthz/live")

    assert response.status_code == 200
    assert response.content == b"ok"


@pytest.mark.django_db
def test_ready_is_200_when_database_and_broker_answer(client):
    response = client.get("/healthz/ready")

    assert response.status_code == 200, response.content
    assert response.json()["checks"] == {"database": "ok", "broker": "ok"}


@pytest.mark.django_db
def test_ready_is_503_naming_the_broker_when_it_is_down(client, settings):
    celery_app.conf.broker_url, old = "redis://127.0.0.1:1/0", celery_app.conf.broker_url
    try:
        response = client.get("/healthz/ready")
    finally:
        celery_app.conf.broker_url = old

    assert response.status_code == 503
    body = response.json()
    assert body["checks"] == {"database": "ok", "broker": "down"}
    assert body["down"] == ["broker"]


def test_every_beat_entry_names_a_registered_task():
    celery_app.loader.import_default_modules()
    registered = set(celery_app.tasks.keys())

    missing = {
        name: entry["task"]
        for name, entry in celery_app.conf.beat_schedule.items()
        if entry["task"] not in registered
    }

    assert not missing, f"beat entries naming unregistered tasks: {missing}"


@pytest.mark.django_db
def test_schema_and_docs_are_served(client):
    schema = client.get("/api/schema/")
    docs = client.get("/api/docs/")

    assert schema.status_code == 200
    assert b"openapi" in schema.content
    assert docs.status_code == 200
    assert b"swagger" in docs.content.lower()
    # Served offline: the UI's assets come from our static files, not a CDN.
    assert b"cdn." not in docs.content


@pytest.mark.django_db
def test_create_api_key_prints_the_key_last_and_stores_only_its_hash():
    out = StringIO()

    call_command("create_api_key", "backend", stdout=out, stderr=StringIO())

    raw = out.getvalue().strip().splitlines()[-1]
    key = ApiKey.objects.get(name="backend")
    assert key.hashed_key == hash_api_key(raw)
    assert raw not in key.hashed_key and key.prefix == raw[:12]


@pytest.mark.django_db
def test_create_affiliate_prints_the_public_id_last():
    out = StringIO()

    call_command(
        "create_affiliate", "bob@example.org", "Bob", "--approved", stdout=out, stderr=StringIO()
    )

    public_id = out.getvalue().strip().splitlines()[-1]
    affiliate = Affiliate.objects.get(public_id=public_id)
    assert affiliate.username == "bob"
    assert affiliate.status == Affiliate.Status.APPROVED


@pytest.mark.django_db
def test_an_unknown_api_key_gets_a_401_in_the_error_shape(anon_api):
    anon_api.credentials(HTTP_AUTHORIZATION="Bearer nope")

    response = anon_api.get("/api/v1/affiliates/whatever")

    assert response.status_code == 401
    assert set(response.json()["error"]) == {"code", "message", "fields"}


@pytest.mark.django_db
def test_seed_demo_is_idempotent():
    call_command("seed_demo", stdout=StringIO(), stderr=StringIO())
    counts = Affiliate.objects.count()

    call_command("seed_demo", stdout=StringIO(), stderr=StringIO())

    assert Affiliate.objects.count() == counts > 0
