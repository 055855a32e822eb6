"""Schemathesis against the served OpenAPI document: generated requests for
every operation, with an admin key, must never get a 5xx and every response
must conform to the document (status code, content type, headers, schema).

Schema-valid requests may still be refused with 422: rules that span fields
("exactly one of input_tokens or messages") or the catalog ("no such model")
are not expressible in the schema, so that one check is left out."""

from __future__ import annotations

import tempfile
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from modelrouter.service.app import build_state, create_app

_folder = Path(tempfile.mkdtemp(prefix="modelrouter-fuzz-"))
_state = build_state(database_url=f"sqlite:///{_folder / 'fuzz.db'}", directory=_folder)
_admin = _state.keys.create("admin")
app = create_app(_state)
schema = schemathesis.openapi.from_asgi("/openapi.json", app)


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_no_server_errors_and_conforming_responses(case: schemathesis.Case) -> None:  # type: ignore[type-arg]
    case.call_and_validate(
        headers={"Authorization": f"Bearer {_admin}"},
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_headers_conformance,
            response_schema_conformance,
        ],
    )
