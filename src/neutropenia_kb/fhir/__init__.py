"""The knowledge base as FHIR R4 knowledge artifacts (`nkb export fhir`): export.py."""
