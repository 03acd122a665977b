"""The OpenAPI schema's errors that come from the framework rather than from a view.

Each view documents the errors of its own rules. DRF itself answers some more on any operation of
a kind, through the same exception handler and error shape: a body it cannot parse (400) or of a
type the operation does not take (415), and a page past the end of a paginated list (404). This
drf-spectacular postprocessing hook documents those wherever the view did not already.
"""

from __future__ import annotations

from typing import Any

ERROR_REF = {"$ref": "#/components/schemas/Error"}
HTTP_METHODS = {"get", "put", "post", "patch", "delete", "head", "options", "trace"}

BODY_ERRORS = {
    "400": "`invalid` or `parse_error`: the body is not well-formed, or has invalid fields.",
    "415": "`unsupported_media_type`: the body is of a content type this operation does not take.",
}
PAGE_ERRORS = {"404": "`not_found`: there is no such page."}


def _is_page_parameter(parameter: dict[str, Any]) -> bool:
    return parameter.get("in") == "query" and parameter.get("name") == "page"


def document_framework_errors(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    if "Error" not in result.get("components", {}).get("schemas", {}):
        return result
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in HTTP_METHODS:
                continue
            added: dict[str, str] = {}
            if "requestBody" in operation:
                added.update(BODY_ERRORS)
            if any(_is_page_parameter(parameter) for parameter in operation.get("parameters", [])):
                added.update(PAGE_ERRORS)
            responses = operation.setdefault("responses", {})
            for status, description in added.items():
                responses.setdefault(
                    status, {"content": {"application/json": {"schema": ERROR_REF}}, "description": description}
                )
            operation["responses"] = dict(sorted(responses.items()))
    return result
