"""`nkb export fhir`: the rules as FHIR R4 knowledge artifacts.

A PlanDefinition (the CDS Hooks service of `nkb serve`: an ECA rule fired by the `patient-view`
named event, asking for the same LOINC-coded Observations as the service's prefetch), a Library
carrying the logic as CQL text and as ELM JSON (engine/elm_backend.py), and one
ActivityDefinition per advice item. Each carries the knowledge base version and its decisions
fingerprint. The data tables (LOINC codes, UCUM units, prefetch) are serve's, not copied.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from neutropenia_kb.core.output_files import check_target, write_text
from neutropenia_kb.core.problems import UsageError, show_value
from neutropenia_kb.engine.elm_backend import (
    ADVICE,
    CERTAIN,
    FHIR_VERSION,
    LEVEL,
    SEVERITY,
    ElmLibrary,
    advice_define,
    compile_elm,
    level_define,
)
from neutropenia_kb.engine.evaluate import evaluator_for
from neutropenia_kb.kb.text import expand, markdown_subset
from neutropenia_kb.serve.cds import HOOK, SERVICE_ID, USABLE, service
from neutropenia_kb.serve.fhir_input import LOINC, PATIENT_KEY, UCUM, UCUM_UNITS, WANTED

if TYPE_CHECKING:
    from neutropenia_kb.kb.model import Advice, KnowledgeBase

DEFAULT_BASE = "urn:neutropenia-kb"  # a publisher gives its own canonical base (--base-url)
FINGERPRINT = "decisions-fingerprint"  # the extension carrying review.py's fingerprint
PRIORITY = {"emergency": "stat", "contact_provider": "urgent", "routine": "routine"}
_FHIR_TYPE = {"Quantity": "Quantity", "Decimal": "decimal", "Boolean": "boolean",
              "List<String>": "string"}
_BASE = re.compile(r"^(https?://[^\s?#]+[^/\s?#]|urn:[a-z0-9][a-z0-9-]*(:[A-Za-z0-9._-]+)*)$")


@dataclass(frozen=True)
class Export:
    """The files of one export: name → text (FHIR JSON, and the library's CQL and ELM)."""

    files: dict[str, str]
    library: ElmLibrary


def _fhir_id(ident: str) -> str:
    return ident.replace("_", "-")  # FHIR ids: [A-Za-z0-9-.]{1,64}, no underscore


def _pascal(ident: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[_-]", ident))


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def _markdown(kb: "KnowledgeBase", text: str) -> str:
    return markdown_subset(expand(kb, text)).strip()


class _Builder:
    def __init__(self, kb: "KnowledgeBase", base: str) -> None:
        if not _BASE.match(base):
            raise UsageError(f"--base-url '{show_value(base)}' is not a canonical base: give an "
                             "http(s) address without a trailing slash or query, or a urn")
        self.kb = kb
        self.base = base
        self.library = compile_elm(evaluator_for(kb).program, UCUM_UNITS)
        self.reviewed = bool(kb.meta.reviewed_by)

    def url(self, kind: str, ident: str) -> str:
        sep = ":" if self.base.startswith("urn:") else "/"
        return f"{self.base}{sep}{kind}{sep}{ident}"

    def common(self, kind: str, ident: str, name: str, title: str) -> dict[str, Any]:
        """What every artifact carries: identity, version, status, provenance."""
        meta = self.kb.meta
        program = self.library.program
        return {
            "resourceType": kind,
            "id": ident,
            # The decisions fingerprint (review.py): changes when any decision could change.
            "extension": [{"url": self.url("StructureDefinition", FINGERPRINT),
                           "valueString": program.fingerprint}],
            "url": self.url(kind, ident),
            "version": meta.version,
            "name": name,
            "title": title,
            # Not reviewed by a clinician yet: a draft, for testing only.
            "status": "active" if self.reviewed else "draft",
            "experimental": not self.reviewed,
            "date": meta.last_reviewed,
            "publisher": ", ".join(meta.written_by),
        }

    def data_requirements(self) -> list[dict[str, Any]]:
        """Serve's prefetch as DataRequirements: the newest usable Observation per input."""
        out = []
        for want in WANTED:
            if want.input not in self.kb.input_by_id:
                continue
            out.append({
                "id": want.key,
                "type": "Observation",
                "codeFilter": [
                    {"path": "code", "code": [{"system": LOINC, "code": c} for c in want.codes]},
                    {"path": "status", "code": [{"code": s} for s in USABLE.split(",")]}],
                "sort": [{"path": "effective", "direction": "descending"}],
                "limit": 1,
            })
        if "age_years" in self.kb.input_by_id:
            out.append({"id": PATIENT_KEY, "type": "Patient"})
        return out

    def library_resource(self) -> dict[str, Any]:
        lib = self.library
        codes = {w.input: w.codes for w in WANTED}
        parameters = []
        for p in lib.parameters:
            where = f"LOINC {', '.join(codes[p.input])}; " if p.input in codes else ""
            units = "; ".join(f"{u}: {', '.join(c)}" for u, c in p.units.items())
            parameters.append({
                "name": p.input, "use": "in", "min": 0,
                "max": "*" if p.cql_type.startswith("List") else "1",
                "documentation": f"{where}CQL {p.cql_type}" +
                                 (f", UCUM units ({UCUM}) {units}" if units else ""),
                "type": _FHIR_TYPE[p.cql_type]})
        for name, kind in ((SEVERITY, "string"), (LEVEL, "string"), (CERTAIN, "boolean"),
                           (ADVICE, "string")):
            parameters.append({"name": name, "use": "out", "min": 0,
                               "max": "*" if name == ADVICE else "1", "type": kind})
        out = self.common("Library", lib.name, lib.name, f"{self.kb.meta.title}: decision logic")
        out.update({
            "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/library-type",
                                 "code": "logic-library"}]},
            "description": (
                f"The decisions of {self.kb.meta.id} {self.kb.meta.version} (severity, facts, "
                "urgency rules, the cautious urgency level and whether it is certain, and which "
                "advice applies) as CQL, generated from the compiled rules. Inputs are CQL "
                "parameters; a missing input is null, and CQL's three-valued logic gives the "
                f"cautious answer. Decisions fingerprint {lib.program.fingerprint}."),
            "parameter": parameters,
            "dataRequirement": self.data_requirements(),
            "content": [
                {"contentType": "text/cql", "data": _b64(lib.cql)},
                {"contentType": "application/elm+json", "data": _b64(json.dumps(lib.elm))}],
        })
        return out

    def activity(self, item: "Advice") -> dict[str, Any]:
        out = self.common("ActivityDefinition", _fhir_id(item.id), _pascal(item.id), item.title)
        out.update({
            "description": _markdown(self.kb, item.text or item.title),
            # Patient information: the activity is telling the patient, never an order.
            "kind": "CommunicationRequest",
            "relatedArtifact": self.citations(item.sources),
        })
        return out

    def citations(self, refs: Any) -> list[dict[str, Any]]:
        out = []
        for ref in refs:
            source = self.kb.source_by_id[ref.source]
            section = source.section(ref.section)
            entry = {"type": "citation",
                     "display": source.title + (f", section '{section.title}'" if section else "")}
            if source.url:
                entry["url"] = source.url
            out.append(entry)
        return out

    def plan(self) -> dict[str, Any]:
        kb = self.kb
        lib_url = f"{self.url('Library', self.library.name)}|{kb.meta.version}"
        svc = service(kb)

        def condition(define: str) -> list[dict[str, Any]]:
            return [{"kind": "applicability", "expression": {
                "language": "text/cql-identifier", "expression": define}}]

        levels = [{
            "id": level.id, "title": level.title,
            "description": _markdown(kb, level.text),
            "priority": PRIORITY.get(level.id, "routine"),
            "condition": condition(level_define(level.id)),
            "documentation": self.citations(level.sources),
        } for level in kb.levels]
        advice = [{
            "id": item.id, "title": item.title,
            "condition": condition(advice_define(item.id)),
            "definitionCanonical":
                f"{self.url('ActivityDefinition', _fhir_id(item.id))}|{kb.meta.version}",
        } for item in (*kb.tests, *kb.treatments, *kb.precautions)]
        out = self.common("PlanDefinition", SERVICE_ID, _pascal(SERVICE_ID), svc["title"])
        out.update({
            "type": {"coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/plan-definition-type",
                "code": "eca-rule"}]},
            "description": svc["description"],
            "library": [lib_url],
            "action": [{
                "title": svc["title"],
                "description": "The urgency level (the most urgent one that a rule makes true or "
                               "may make true), then the advice that applies.",
                "trigger": [{"type": "named-event", "name": HOOK}],
                "input": self.data_requirements(),
                "action": [
                    {"title": "Urgency", "selectionBehavior": "exactly-one", "action": levels},
                    {"title": "Advice", "selectionBehavior": "any", "action": advice},
                ],
            }],
        })
        return out


def export_fhir(kb: "KnowledgeBase", base: str = DEFAULT_BASE) -> Export:
    """The resources of ``kb`` (validated) under the canonical ``base``."""
    b = _Builder(kb, base)
    lib = b.library
    resources = [b.plan(), b.library_resource(),
                 *(b.activity(i) for i in (*kb.tests, *kb.treatments, *kb.precautions))]
    files = {f"{r['resourceType']}-{r['id']}.json": json.dumps(r, indent=2, ensure_ascii=False)
             + "\n" for r in resources}
    files[f"{lib.name}.cql"] = lib.cql
    files[f"{lib.name}.elm.json"] = json.dumps(lib.elm, indent=2) + "\n"
    return Export(files, lib)


def write_export(export: Export, out_dir: Path) -> list[Path]:
    """Write every file into ``out_dir`` (made if needed), each whole or not at all."""
    targets = [out_dir / name for name in export.files]
    for target in targets:  # every refusal before anything is written
        check_target(target, make_folder=True)
    written = []
    for target, text in zip(targets, export.files.values()):
        write_text(target, text)
        written.append(target)
    return written


__all__ = ["DEFAULT_BASE", "Export", "FHIR_VERSION", "export_fhir", "write_export"]
