"""The OpenAPI 3.1 description served at /openapi.json: written out, small, and built from the
knowledge base's own inputs, so the patient schema lists exactly what the evaluator reads."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from neutropenia_kb import __version__
from neutropenia_kb.serve import cds
from neutropenia_kb.serve.config import ServeConfig

if TYPE_CHECKING:
    from neutropenia_kb.kb.model import KnowledgeBase

_TYPES: dict[str, dict[str, Any]] = {"quantity": {"oneOf": [{"type": "number"}, {"type": "string"},
                                 {"type": "object", "required": ["value"],
                                  "properties": {"value": {"type": ["number", "string"]},
                                                 "unit": {"type": "string"}}}]},
          "percent": {"type": ["number", "string"]},
          "number": {"type": ["number", "string"]},
          "boolean": {"type": ["boolean", "string"]},
          "symptoms": {"oneOf": [{"type": "array", "items": {"type": "string"}},
                                 {"type": "string"}]}}


def document(kb: "KnowledgeBase", config: ServeConfig) -> dict[str, Any]:
    patient = {"type": "object", "additionalProperties": False, "properties": {
        inp.id: {**_TYPES.get(inp.type, {}), "description": f"{inp.question} {inp.help}".strip()}
        for inp in kb.inputs} | {"id": {"type": "string", "description": "passed through"}}}
    error = {"type": "object", "required": ["error"], "properties": {
        "error": {"type": "string"}, "field": {"type": "string"}, "value": {},
        "allowed": {"type": "string"}}}
    outcome = {"type": "object", "description": "a FHIR OperationOutcome",
               "required": ["resourceType", "issue"]}

    def answer(schema: Any, media: str = "application/json") -> dict[str, Any]:
        return {"content": {media: {"schema": schema}}}

    def errors(*codes: int, fhir: bool = False) -> dict[str, Any]:
        why = {400: "bad request: the field, the value and what is allowed",
               401: "a JWT bearer token is needed or was refused",
               412: "no prefetched data (this service does not query FHIR servers)",
               413: f"body over {config.max_body_bytes:,} bytes",
               415: "the body is not application/json"}
        schema = outcome if fhir else error
        return {str(c): {"description": why[c], **answer(schema)} for c in codes}

    security: list[dict[str, list[str]]] = [{"bearer": []}] if config.auth_required else []
    return {
        "openapi": "3.1.0",
        "info": {"title": f"{kb.meta.title}: nkb serve", "version": __version__,
                 "description": f"Knowledge base {kb.meta.id} {kb.meta.version}. CDS Hooks 2.0 "
                 "service (discovery at /cds-services) and a plain JSON API over the same "
                 "evaluator as `nkb evaluate`."},
        "components": {
            "schemas": {"Patient": patient, "Error": error},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "bearerFormat": "JWT (CDS Hooks: RS384/ES384 ...)"}},
        },
        "paths": {
            "/cds-services": {"get": {
                "summary": "CDS Hooks discovery", "security": security,
                "responses": {"200": {"description": "the services",
                                      **answer({"type": "object"})}, **errors(401, fhir=True)}}},
            f"/cds-services/{cds.SERVICE_ID}": {"post": {
                "summary": "patient-view hook: cards for severity, urgency and scope",
                "security": security,
                "requestBody": {"required": True, **answer({"type": "object"})},
                "responses": {"200": {"description": "{cards: [...]}",
                                      **answer({"type": "object"})},
                              **errors(400, 401, 412, 413, 415, fhir=True)}}},
            "/evaluate": {"post": {
                "summary": "the same JSON as `nkb evaluate --format json`, for one patient or "
                           f"{{patients: [...]}} (at most {config.max_batch})",
                "security": security,
                "requestBody": {"required": True, **answer({"oneOf": [
                    {"$ref": "#/components/schemas/Patient"},
                    {"type": "object", "required": ["patients"], "properties": {"patients": {
                        "type": "array", "maxItems": config.max_batch,
                        "items": {"$ref": "#/components/schemas/Patient"}}}}]})},
                "responses": {"200": {"description": "a result, or {results: [...]}",
                                      **answer({"type": "object"})},
                              **errors(400, 401, 413, 415)}}},
            "/leaflet": {"get": {
                "summary": "a personal PDF leaflet; query parameters are the patient's inputs "
                           "(plus size=a4|letter, large_print=true|false)",
                "parameters": [{"name": inp.id, "in": "query", "required": False,
                                "schema": {"type": "string"}} for inp in kb.inputs],
                "responses": {"200": {"description": "the PDF",
                                      **answer({"type": "string", "format": "binary"},
                                               "application/pdf")}, **errors(400)}}},
            "/health": {"get": {"summary": "the service is up",
                                "responses": {"200": {"description": "{status: ok}"}}}},
            "/version": {"get": {"summary": "nkb and knowledge-base versions, decisions "
                                            "fingerprint",
                                 "responses": {"200": {"description": "versions"}}}},
        },
    }
