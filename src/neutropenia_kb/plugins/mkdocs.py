"""The MkDocs plugin: validates rules/ and adds the generated pages (and leaflets) in memory.

Enabled in mkdocs.yml as ``plugins: [search, neutropenia-kb]``. A content error fails the build
with the same ``file:line:col: error: ...`` lines as ``nkb validate``; each warning is logged
through MkDocs' logger, so ``mkdocs build --strict`` fails on it as `nkb validate --strict` does
(``mkdocs serve`` shows it as information: a preview should follow the author's edits).
``mkdocs serve`` also watches the rules folder, so an author's YAML edit shows in the browser on
the next reload.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any

from mkdocs.config import config_options
from mkdocs.config.base import Config
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.livereload import LiveReloadServer
from mkdocs.plugins import BasePlugin
from mkdocs.structure.files import File, Files

from neutropenia_kb import load
from neutropenia_kb.core.problems import KbError
from neutropenia_kb.kb.model import KnowledgeBase
from neutropenia_kb.render.checker import checker_assets
from neutropenia_kb.render.leaflet_build import build_leaflets
from neutropenia_kb.render.site import (
    LEAFLET_DIR,
    PAGES,
    item_pages,
    leaflet_links,
    render_pages,
    review_status,
)

log = logging.getLogger("mkdocs.plugins.neutropenia_kb")

# Hand-written pages of site/ that belong in the nav, in order, when they exist.
_BEFORE = (("Home", "index.md"),)
_AFTER = (("About", "about.md"), ("For authors", "authoring.md"))


class KbPluginConfig(Config):  # type: ignore[no-untyped-call]
    rules = config_options.Type(str, default="rules")
    leaflets = config_options.Type(bool, default=True)


class KbPlugin(BasePlugin[KbPluginConfig]):  # type: ignore[no-untyped-call]
    def __init__(self) -> None:
        self.kb: KnowledgeBase | None = None
        # Set by `nkb build`, which has validated rules/ already; used for one build only, so
        # `mkdocs serve` still reloads the author's edits on every rebuild.
        self.preloaded: KnowledgeBase | None = None
        self._leaflets_dir: Path | None = None
        self.command = ""

    def on_startup(self, *, command: str, dirty: bool) -> None:
        # Defining on_startup makes MkDocs keep this instance across `serve` rebuilds, so the
        # leaflets built at startup are reused.
        self.command = command

    # Paths in mkdocs.yml are relative to the file, not to the working directory.
    def rules_path(self, config: MkDocsConfig) -> Path:
        path = Path(self.config.rules)
        if not path.is_absolute():
            path = Path(config.config_file_path or ".").resolve().parent / path
        return path

    def on_config(self, config: MkDocsConfig) -> MkDocsConfig | None:
        if self.preloaded is not None:
            self.kb, self.preloaded = self.preloaded, None
        else:
            self.kb = _load(self.rules_path(config), preview=self.command == "serve")
        # Every page, hand-written ones too, says that the content is a draft until a reviewer
        # is recorded: site/overrides/main.html shows this in the theme's announcement bar.
        config.extra["nkb_draft_notice"] = review_status(self.kb).notice
        if not config.nav:
            config.nav = self._nav(Path(config.docs_dir))
        return config

    def _nav(self, docs_dir: Path) -> list[Any]:
        def hand(pairs: tuple[tuple[str, str], ...]) -> list[Any]:
            return [{t: f} for t, f in pairs if (docs_dir / f).is_file()]

        return hand(_BEFORE) + [{p.title: p.file} for p in PAGES] + hand(_AFTER)

    def on_files(self, files: Files, /, *, config: MkDocsConfig) -> Files | None:
        assert self.kb is not None
        built = self._leaflets(config) if self.config.leaflets else {}
        for name, path in built.items():
            files.append(File.generated(config, f"{LEAFLET_DIR}/{name}", abs_src_path=str(path)))
        for name, content in checker_assets(self.kb, item_pages(self.kb)).items():
            files.append(File.generated(config, name, content=content))
        for name, markdown in render_pages(self.kb, leaflets=built).items():
            existing = files.get_file_from_path(name)
            if existing is not None:
                raise PluginError(f"{config.docs_dir}/{name} would hide the generated page "
                                  f"'{name}'; rename or remove the hand-written file")
            files.append(File.generated(config, name, content=markdown))
        return files

    def _leaflets(self, config: MkDocsConfig) -> dict[str, Path]:
        """The PDFs: built on every `mkdocs build`, but once per `mkdocs serve` session (they
        take seconds and the author is waiting for the page)."""
        assert self.kb is not None
        if self._leaflets_dir is None or self.command != "serve":
            out = Path(tempfile.mkdtemp(prefix="nkb-leaflets-"))
            # Beside the site (build/.nkb-cache when site_dir is build/site): PDFs whose HTML,
            # CSS, fonts and renderer are unchanged are copied, not laid out again.
            cache = Path(config.site_dir).resolve().parent / ".nkb-cache" / "leaflets"
            build_leaflets(self.kb, out, cache_dir=cache)
            if self._leaflets_dir is not None:
                shutil.rmtree(self._leaflets_dir, ignore_errors=True)
            self._leaflets_dir = out
        else:
            log.info("neutropenia-kb: leaflets are from when serve started; restart to refresh")
        wanted = {lf.file for lf in leaflet_links()}
        return {p.name: p for p in sorted(self._leaflets_dir.iterdir()) if p.name in wanted}

    def on_serve(self, server: LiveReloadServer, /, *, config: MkDocsConfig,
                 builder: Any) -> LiveReloadServer | None:
        server.watch(str(self.rules_path(config)))
        return server

    def on_shutdown(self) -> None:
        if self._leaflets_dir is not None:
            shutil.rmtree(self._leaflets_dir, ignore_errors=True)
            self._leaflets_dir = None


def _load(root: Path, preview: bool = False) -> KnowledgeBase:
    """The validated knowledge base; its warnings logged. In `mkdocs serve` (``preview``) they
    are logged as information, so that an author's edit still shows while, say, its changelog
    entry is not yet written; `mkdocs build` logs them as warnings, which --strict counts."""
    try:
        return load(root, on_warning=lambda p: (log.info if preview else log.warning)(p.render()))
    except KbError as exc:
        # One line per problem, exactly as `nkb validate` prints them, then fail once.
        raise PluginError(f"the knowledge base has errors:\n{exc}") from None
