"""The whole build behind `nkb build`: validate the knowledge base, then build the website and
the leaflets.

Nothing is written when the knowledge base has an error (KbError with every problem). The
website is a normal `mkdocs build` of mkdocs.yml (our plugin renders the pages and the PDFs);
the PDFs are then also copied to OUT/leaflets/ for clinics that print without the site. This
module sits beside the plugins (the last layer) because it drives the MkDocs plugin.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from neutropenia_kb import load
from neutropenia_kb.core.problems import Problem, UsageError
from neutropenia_kb.kb.loader import rule_files
from neutropenia_kb.kb.model import KnowledgeBase
from neutropenia_kb.plugins.mkdocs import KbPlugin
from neutropenia_kb.render.leaflet_build import build_leaflets

PLUGIN = "neutropenia-kb"


@dataclass(frozen=True)
class Built:
    site: Path | None  # None with site=False
    leaflets: Path
    written: tuple[Path, ...]  # the PDFs in ``leaflets``
    seconds: float


def build(rules: Path, out: Path, *, config: Path = Path("mkdocs.yml"), strict: bool = False,
          site: bool = True,
          on_validated: Callable[[Sequence[Problem], int], object] | None = None) -> Built:
    """Validate ``rules`` (KbError on an error, or on a warning with ``strict``), then build
    OUT/site (unless ``site`` is False) and OUT/leaflets. ``on_validated(warnings, files)`` is
    called once validation passes, before the slow part, so a caller can report it early."""
    started = time.perf_counter()
    warnings: list[Problem] = []
    kb = load(rules, strict=strict, on_warning=warnings.append)
    if on_validated is not None:
        on_validated(warnings, len(list(rule_files(rules))))
    leaflets_out = out / "leaflets"
    if not site:
        return Built(None, leaflets_out, tuple(build_leaflets(kb, leaflets_out)),
                     time.perf_counter() - started)
    site_out = out / "site"
    _build_site(config, rules, site_out, kb)
    written = _copy_leaflets(site_out / "leaflets", leaflets_out)
    return Built(site_out, leaflets_out, tuple(written), time.perf_counter() - started)


def _build_site(config_file: Path, rules: Path, site_dir: Path, kb: KnowledgeBase) -> None:
    if not config_file.is_file():
        raise UsageError(f"no {config_file} here: run nkb build in the project folder, or give "
                         "--config PATH, or --no-site for the leaflets only")
    # Material prints an end-of-life banner on every build; it is not about the user's files.
    os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")
    from mkdocs.commands.build import build as mkdocs_build
    from mkdocs.config import load_config
    from mkdocs.exceptions import MkDocsException

    try:
        config = load_config(config_file=str(config_file), site_dir=str(site_dir.resolve()))
        plugin = config.plugins.get(PLUGIN)
        if not isinstance(plugin, KbPlugin):
            raise UsageError(f"{config_file} does not enable the '{PLUGIN}' plugin")
        plugin.config.rules = str(rules.resolve())  # the folder given here, not mkdocs.yml's
        plugin.preloaded = kb  # validated above: the plugin need not load it a second time
        config.plugins.on_startup(command="build", dirty=False)
        try:
            mkdocs_build(config)
        finally:
            config.plugins.on_shutdown()
    except MkDocsException as exc:
        raise UsageError(f"the website did not build: {exc}") from None


def _copy_leaflets(source: Path, target: Path) -> list[Path]:
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    return [Path(shutil.copy2(pdf, target)) for pdf in sorted(source.glob("*.pdf"))]
