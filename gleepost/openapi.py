"""How the OpenAPI document (``docs/openapi.yaml``) is generated from the views.

drf-spectacular reads each view's ``@extend_schema``; this module adds what holds for every view
alike, so that no view has to repeat it (rest-api.md, Conventions):

- the error shape ``{"error": "<reason>"}`` and the errors every operation can answer: 400 (a
  malformed query string or body, a bad parameter), 401 where credentials are required, 404
  where the path names a resource, 413 where a body is read;
- the ``<id, token>`` credentials as security schemes;
- path ids as integers, paths without their optional trailing slash, tags by app;
- the components of the serializers that validate the requests and render the answers: a
  serializer's writable fields make its request component (``MessageRequest``), its readable
  ones its answer's (``Message``), a field it leaves out where it does not apply is not
  required (``omitted_when_absent``), and an id list field that answers with the items it names
  is documented both ways (``IdListFieldScheme``).

``manage.py spectacular --file docs/openapi.yaml --validate --fail-on-warn`` regenerates the
committed document; ``tests/gleepost/test_openapi.py`` fails when it is stale.
"""

from __future__ import annotations

import re
from typing import Any

from drf_spectacular import openapi
from drf_spectacular.extensions import (
    OpenApiAuthenticationExtension,
    OpenApiSerializerFieldExtension,
)
from drf_spectacular.utils import OpenApiResponse, extend_schema_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny

from gleepost.fields import ID_LIST_PATTERN
from gleepost.routes import ID_PATTERN

# The largest id a path accepts (gleepost.routes: at most 15 digits).
MAX_PATH_ID = 10**15 - 1

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class ErrorSerializer(serializers.Serializer[Any]):
    """Every error the API answers: a human-readable reason, with the status code saying which
    kind (rest-api.md, Conventions)."""

    error = serializers.CharField(help_text="What was wrong, e.g. `text: required`.")


def error(description: str) -> OpenApiResponse:
    """An error response of the API's shape, for ``@extend_schema(responses=...)``."""
    return OpenApiResponse(ErrorSerializer, description=description)


def refusals(*reasons: str) -> str:
    """The sentence of an operation's description that lists its refusals (400) of requests its
    schema accepts: rules no schema can state, such as "not a live conversation". ``<...>``
    stands for the part of a reason that varies (an id)."""
    return "Refused with 400 although well formed: " + "; ".join(f"`{r}`" for r in reasons) + "."


# The specification extension by which a serializer names the fields it leaves out rather than
# render empty; ``optional_properties`` turns it into the schema's ``required`` list.
OPTIONAL_EXTENSION = "x-omitted-when-absent"


def omitted_when_absent(*names: str) -> Any:
    """Class decorator: the serializer's ``names`` are left out of an answer when they do not
    apply (``group`` outside a group conversation), so the document does not require them.

    drf-spectacular requires every read-only field of a response; a serializer says which of
    its own are not, beside its declaration of them.
    """
    return extend_schema_serializer(extensions={OPTIONAL_EXTENSION: list(names)})


def optional_properties(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Postprocessing hook: drop from ``required`` what a component's serializer left out with
    ``omitted_when_absent``."""
    for schema in result.get("components", {}).get("schemas", {}).values():
        optional = schema.pop(OPTIONAL_EXTENSION, None)
        if optional is None:
            continue
        required = [name for name in schema.get("required", []) if name not in optional]
        if required:
            schema["required"] = required
        else:
            schema.pop("required", None)
    return result


class IdListFieldScheme(OpenApiSerializerFieldExtension):
    """An ``IdListField``: written, comma-separated ids; read, the items its ``rendered_as``
    serializer renders (users added to a conversation are answered as users)."""

    target_class = "gleepost.fields.IdListField"
    match_subclasses = True

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        rendered_as = self.target.rendered_as
        if direction == "request" or rendered_as is None:
            return {"type": "string", "pattern": ID_LIST_PATTERN}
        item = auto_schema.resolve_serializer(rendered_as, direction).ref
        return {"type": "array", "items": item}


def without_trailing_slash(endpoints: list[tuple[str, str, str, Any]], **kwargs: Any) -> list[Any]:
    """Preprocessing hook: document ``/api/v1/conversations``, not ``.../conversations/``.

    ``gleepost.routes.api_route`` matches both; the spec writes paths without the slash.
    """
    return [
        (path.rstrip("/") or "/", path_regex, method, callback)
        for path, path_regex, method, callback in endpoints
    ]


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's schema of one operation, plus the errors every view shares."""

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        for code, description in self._shared_errors():
            if str(code) not in responses:
                responses[str(code)] = self._get_response_for_code(
                    error(description), str(code), direction=direction
                )
        return dict(sorted(responses.items()))

    def _shared_errors(self) -> list[tuple[int, str]]:
        errors = [
            (400, "Bad input: a parameter is missing or malformed, or the body cannot be read.")
        ]
        if self._requires_credentials():
            errors.append((401, "Missing or bad credentials: `Invalid credentials`."))
        if re.search(r"{\w+}", self.path):
            errors.append(
                (404, "No such resource, or one the caller may not know exists: `Not found`.")
            )
        if self.method in WRITE_METHODS:
            errors.append((413, "The request body is too large."))
        return errors

    def _requires_credentials(self) -> bool:
        return not any(isinstance(p, AllowAny) for p in self.view.get_permissions())

    def _resolve_path_parameters(self, variables: list[str]) -> list[dict[str, Any]]:
        parameters: list[dict[str, Any]] = super()._resolve_path_parameters(variables)
        for parameter in parameters:
            if parameter["schema"].get("pattern") == f"^{ID_PATTERN}$":
                # api_route's <int:x>: the view receives an int.
                parameter["schema"] = {"type": "integer", "minimum": 0, "maximum": MAX_PATH_ID}
        return parameters

    def get_tags(self) -> list[str]:
        app = self.view.__module__.split(".")[0]
        return ["health" if app == "gleepost" else app]


class GleepostTokenScheme(OpenApiAuthenticationExtension):
    """``X-GP-Auth: <id>-<token>``, or ``id`` and ``token`` together in the query string (or the
    body, which OpenAPI cannot say of a security scheme)."""

    target_class = "accounts.authentication.GleepostTokenAuthentication"
    name = ["gpAuthHeader", "gpId", "gpToken"]

    def get_security_requirement(self, auto_schema: Any) -> list[dict[str, list[Any]]]:
        return [{"gpAuthHeader": []}, {"gpId": [], "gpToken": []}]

    def get_security_definition(self, auto_schema: Any) -> list[dict[str, Any]]:
        return [
            {
                "type": "apiKey",
                "in": "header",
                "name": "X-GP-Auth",
                "description": "`<user id>-<token>`, the `id` and `value` that `login` returns.",
            },
            {
                "type": "apiKey",
                "in": "query",
                "name": "id",
                "description": "The user id; goes with `token`.",
            },
            {
                "type": "apiKey",
                "in": "query",
                "name": "token",
                "description": "The token (`value` of `login`); goes with `id`.",
            },
        ]
