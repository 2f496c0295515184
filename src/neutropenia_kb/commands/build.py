"""`nkb build`: validate the knowledge base, then build the website and the leaflets.

Nothing is written when the knowledge base has an error: every problem is listed instead. The
website is a normal `mkdocs build` of mkdocs.yml (our plugin renders the pages and the PDFs);
the PDFs are then also copied to build/leaflets/ for clinics that print without the site.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from neutropenia_kb.kb.loader import rule_files
from neutropenia_kb.kb.model import KnowledgeBase
from neutropenia_kb.core.problems import KbError, UsageError, render_all
from neutropenia_kb.checks.validate import validate_dir
from neutropenia_kb.commands import rules_folder
from neutropenia_kb.commands.validate import summary

PLUGIN = "neutropenia-kb"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "build", help="validate the knowledge base, then build the website and the leaflets",
        description="Validate the knowledge base; on any error list every problem and build "
        "nothing. Otherwise build the website into OUT/site and the PDF leaflets into "
        "OUT/leaflets.")
    parser.add_argument("rules", nargs="?", type=Path, default=Path("rules"),
                        help="the knowledge base folder (default: rules)")
    parser.add_argument("--out", type=Path, default=Path("build"),
                        help="where outputs are written (default: build)")
    parser.add_argument("--config", type=Path, default=Path("mkdocs.yml"),
                        help="the website's MkDocs configuration (default: mkdocs.yml)")
    parser.add_argument("--strict", action="store_true", help="fail on warnings too")
    parser.add_argument("--no-site", action="store_true", help="only validate and build leaflets")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    rules_folder(args.rules)
    started = time.perf_counter()
    kb, problems = validate_dir(args.rules)
    if kb is None or (args.strict and problems):
        raise KbError(problems)
    if problems:  # warnings: shown, not fatal
        print(render_all(problems), file=sys.stderr)
    print(summary(args.rules, problems, len(list(rule_files(args.rules)))), file=sys.stderr)

    leaflets_out = args.out / "leaflets"
    if args.no_site:
        from neutropenia_kb.render.leaflet import build_leaflets

        written = build_leaflets(kb, leaflets_out)
    else:
        site_out = args.out / "site"
        _build_site(args.config, args.rules, site_out, kb)
        written = _copy_leaflets(site_out / "leaflets", leaflets_out)
        print(f"website: {site_out}/index.html", file=sys.stderr)
    print(f"leaflets: {len(written)} PDFs in {leaflets_out}/", file=sys.stderr)
    print(f"built in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return 0


def _build_site(config_file: Path, rules: Path, site_dir: Path, kb: KnowledgeBase) -> None:
    if not config_file.is_file():
        raise UsageError(f"no {config_file} here: run nkb build in the project folder, or give "
                         "--config PATH, or --no-site for the leaflets only")
    # Material prints an end-of-life banner on every build; it is not about the user's files.
    os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")
    from mkdocs.commands.build import build
    from mkdocs.config import load_config
    from mkdocs.exceptions import MkDocsException

    from neutropenia_kb.plugins.mkdocs import KbPlugin

    try:
        config = load_config(config_file=str(config_file), site_dir=str(site_dir.resolve()))
        plugin = config.plugins.get(PLUGIN)
        if not isinstance(plugin, KbPlugin):
            raise UsageError(f"{config_file} does not enable the '{PLUGIN}' plugin")
        plugin.config.rules = str(rules.resolve())  # the folder given here, not mkdocs.yml's
        plugin.preloaded = kb  # validated above: the plugin need not load it a second time
        config.plugins.on_startup(command="build", dirty=False)
        try:
            build(config)
        finally:
            config.plugins.on_shutdown()
    except MkDocsException as exc:
        raise UsageError(f"the website did not build: {exc}") from None


def _copy_leaflets(source: Path, target: Path) -> list[Path]:
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    return [Path(shutil.copy2(pdf, target)) for pdf in sorted(source.glob("*.pdf"))]
