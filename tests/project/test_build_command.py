"""`nkb build`, the README's main job: the whole website and every leaflet, or nothing at all."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from mkdocs.config import load_config
from mkdocs.exceptions import PluginError

from neutropenia_kb import load
from neutropenia_kb.plugins.mkdocs import KbPlugin
from neutropenia_kb.render.leaflet_table import LEAFLETS, VARIANTS, file_name

REPO = Path(__file__).resolve().parents[2]


def nkb(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "neutropenia_kb", *args], cwd=cwd,
                          capture_output=True, text=True, check=False)


def test_build_writes_the_site_and_every_leaflet(tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = nkb("build", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    for page in ("index", "overview", "symptoms", "causes", "diagnosis", "treatment", "living",
                 "help", "glossary", "sources", "about", "authoring"):
        assert (out / "site" / f"{page}.html").is_file(), page
    expected = {file_name(lf, v) for lf in LEAFLETS for v in VARIANTS}
    assert {p.name for p in (out / "leaflets").glob("*.pdf")} == expected
    for name in expected:
        assert (out / "site" / "leaflets" / name).read_bytes() == (out / "leaflets" / name).read_bytes()
    assert "12 PDFs" in done.stderr


def test_build_with_a_content_error_lists_it_and_writes_nothing(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(REPO / "rules", rules)
    causes = rules / "causes.yaml"
    causes.write_text(causes.read_text().replace("section: gmuk_2", "section: gmuk_22", 1))
    out = tmp_path / "out"
    done = nkb("build", str(rules), "--out", str(out))
    assert done.returncode == 1
    assert "causes.yaml:" in done.stderr and "has no section 'gmuk_22'" in done.stderr
    assert "Traceback" not in done.stderr
    assert not out.exists()


def test_the_plugin_uses_the_kb_nkb_build_validated_for_one_build_only(tmp_path: Path) -> None:
    """nkb build hands its validated KB to the plugin (no second validation); a later rebuild,
    as under mkdocs serve, loads rules/ again and so sees the author's edits."""
    rules = tmp_path / "rules"
    shutil.copytree(REPO / "rules", rules)
    kb = load(rules)
    causes = rules / "causes.yaml"  # now broken on disk: only a reload would notice
    causes.write_text(causes.read_text().replace("section: gmuk_2", "section: gmuk_22", 1))
    config = load_config(config_file=str(REPO / "mkdocs.yml"))
    plugin = config.plugins["neutropenia-kb"]
    assert isinstance(plugin, KbPlugin)
    plugin.config.rules = str(rules)
    plugin.preloaded = kb
    plugin.on_config(config)
    assert plugin.kb is kb and plugin.preloaded is None
    with pytest.raises(PluginError, match="has no section 'gmuk_22'"):
        plugin.on_config(config)
