"""`nkb serve`: the knowledge base over HTTP — a CDS Hooks 2.0 service and a plain JSON API.

app.py routes and guards; hot.py answers the hook and POST /evaluate as plain ASGI; wire.py
the JSON in and out and the error answers both paths send; cds.py discovery, hook requests and cards; fhir_input.py FHIR
Observations → patient inputs; security.py JWT checks; config.py settings; openapi.py the API
description. Needs the `serve` extra (Starlette, uvicorn, PyJWT).
"""
