"""`nkb export fhir OUT/`: the rules as FHIR R4 resources (PlanDefinition, Library with CQL and
ELM, ActivityDefinitions)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from neutropenia_kb import load
from neutropenia_kb.commands import add_rules_option


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "export", help="export the rules for other systems (fhir: FHIR R4 resources)",
        description="fhir: write into OUT a FHIR R4 PlanDefinition (the patient-view CDS Hooks "
        "service of `nkb serve`, with its data requirements in LOINC), a Library holding the "
        "decision logic as CQL and as ELM JSON, and one ActivityDefinition per advice item, "
        "each with the knowledge base version and decisions fingerprint; the CQL and ELM are "
        "also written as files of their own. Existing files of the same names are replaced.")
    parser.add_argument("format", choices=("fhir",), help="what to export: fhir")
    parser.add_argument("out", type=Path, metavar="OUT", help="the folder to write into")
    parser.add_argument("--base-url", default=None, metavar="URL",
                        help="canonical base of the resources' urls, e.g. "
                        "https://example.org/fhir (default: urn:neutropenia-kb)")
    add_rules_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from neutropenia_kb.fhir.export import DEFAULT_BASE, export_fhir, write_export

    kb = load(args.rules)
    export = export_fhir(kb, args.base_url or DEFAULT_BASE)
    written = write_export(export, args.out)
    print(f"Wrote {len(written)} files to {args.out} (knowledge base {kb.meta.id} "
          f"{kb.meta.version}, CQL library {export.library.name})")
    return 0
