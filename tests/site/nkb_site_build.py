"""Building the site for the website tests: the real mkdocs.yml pointed at a rules folder."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Built:
    site: Path
    returncode: int
    log: str  # everything mkdocs printed (stdout + stderr)


def write_config(tmp: Path, rules: Path, *, leaflets: bool = False, strict: bool = True) -> Path:
    """The real mkdocs.yml, written into ``tmp`` and pointed at ``rules``."""
    config = yaml.safe_load((REPO / "mkdocs.yml").read_text(encoding="utf-8"))
    config["docs_dir"] = str(REPO / "site")
    config["strict"] = strict
    config["theme"]["custom_dir"] = str(REPO / "site" / "overrides")
    for plugin in config["plugins"]:
        if isinstance(plugin, dict) and "neutropenia-kb" in plugin:
            plugin["neutropenia-kb"] = {"rules": str(rules), "leaflets": leaflets}
    tmp.mkdir(parents=True, exist_ok=True)
    cfg = tmp / "mkdocs.yml"
    cfg.write_text(yaml.safe_dump(config), encoding="utf-8")
    return cfg


def build_site(tmp: Path, rules: Path, *, leaflets: bool = False, strict: bool = True) -> Built:
    """`mkdocs build --strict` of the real mkdocs.yml, pointed at ``rules`` and into ``tmp``
    (``strict=False``: warnings, such as a reading grade, do not stop the build)."""
    cfg = write_config(tmp, rules, leaflets=leaflets, strict=strict)
    out = tmp / "site"
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", *(["--strict"] if strict else []),
                           "-f", str(cfg), "-d", str(out)],
                          capture_output=True, text=True, cwd=REPO, env=env)
    return Built(out, proc.returncode, proc.stdout + proc.stderr)


