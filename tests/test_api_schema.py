"""Property-based tests from the OpenAPI schema (schemathesis): no input gives a 5xx."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from custtype import Assistant
from custtype.api import Settings, create_app

MAX_EXAMPLES = 30
KEY = "schema-test-key"


OPEN_APP = create_app(Settings(warmup=False))
KEYED_APP = create_app(Settings(warmup=False, api_key=KEY))


@pytest.fixture(scope="module", autouse=True)
def _loaded(assistant: Assistant) -> Iterator[None]:
    """Run both apps' lifespans with the session's model, so case.call() finds it loaded."""
    with ExitStack() as stack:
        for app in (OPEN_APP, KEYED_APP):
            app.state.preloaded = assistant
            stack.enter_context(TestClient(app))
        yield


def _schema(app: FastAPI, mode: GenerationMode) -> schemathesis.BaseSchema:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    schema.config.generation.update(modes=[mode], max_examples=MAX_EXAMPLES)
    return schema


positive = _schema(OPEN_APP, GenerationMode.POSITIVE)
negative = _schema(OPEN_APP, GenerationMode.NEGATIVE)
keyed = _schema(KEYED_APP, GenerationMode.POSITIVE)
_bounded = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    database=None,
)


@positive.parametrize()
@_bounded
def test_valid_requests_never_give_5xx_and_match_the_schema(case: schemathesis.Case) -> None:
    response = case.call()
    case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])


@negative.parametrize()
@_bounded
def test_invalid_requests_never_give_5xx_and_errors_name_the_problem(
    case: schemathesis.Case,
) -> None:
    """Schema-violating input: a 4xx with a message (or 200 where the API tolerates it)."""
    response = case.call()
    case.validate_response(response, checks=[not_a_server_error])
    if response.status_code >= 400:
        body = response.json()
        assert body["detail"] and body["error"] and body["request_id"]


@keyed.parametrize()
@_bounded
def test_with_api_key_on_requests_without_it_give_401_or_4xx(case: schemathesis.Case) -> None:
    response = case.call()
    case.validate_response(response, checks=[not_a_server_error])
    if case.path.startswith("/v1/"):
        assert response.status_code == 401
        authed = case.call(headers={"X-API-Key": KEY})
        assert authed.status_code < 500


def test_schema_documents_every_endpoint_and_the_key() -> None:
    c = TestClient(OPEN_APP)  # the module fixture already runs its lifespan
    doc = c.get("/openapi.json").json()
    docs = c.get("/docs")
    paths = set(doc["paths"])
    assert {
        "/v1/classify",
        "/v1/classify/batch",
        "/v1/types",
        "/v1/strategies/{type_key}",
        "/v1/recommend",
        "/healthz",
        "/readyz",
    } <= paths
    assert "APIKeyHeader" in doc["components"]["securitySchemes"]
    assert "never show" in doc["info"]["description"].lower()
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    errors = doc["paths"]["/v1/classify"]["post"]["responses"]
    assert {"413", "415", "422"} <= set(errors)
