"""Live preview: with `mkdocs serve` running, an author's YAML edit is on the page in seconds."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from nkb_site_build import REPO, write_config


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return str(response.read().decode("utf-8"))
    except OSError:
        return None


def _wait_for(url: str, needle: str, seconds: float) -> float | None:
    """Seconds until the page at ``url`` contains ``needle``, or None after ``seconds``."""
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        page = _get(url)
        if page is not None and needle in page:
            return time.monotonic() - start
        time.sleep(0.1)
    return None


def test_an_edit_to_rules_shows_on_the_served_page(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(REPO / "rules", rules)
    cfg = write_config(tmp_path, rules)
    port = _free_port()
    log = (tmp_path / "serve.log").open("w", encoding="utf-8")
    server = subprocess.Popen(
        [sys.executable, "-m", "mkdocs", "serve", "-f", str(cfg), "-a", f"127.0.0.1:{port}"],
        cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT,
        env=dict(os.environ, NO_MKDOCS_2_WARNING="1"))
    try:
        page = f"http://127.0.0.1:{port}/symptoms.html"
        assert _wait_for(page, "38.0 °C", 60) is not None, (tmp_path / "serve.log").read_text()
        inputs = rules / "inputs.yaml"
        text = inputs.read_text(encoding="utf-8")
        assert "value: 38.0" in text
        inputs.write_text(text.replace("value: 38.0", "value: 38.5", 1), encoding="utf-8")
        seen = _wait_for(page, "38.5 °C", 30)
        assert seen is not None, "the edit never reached the served page"
        print(f"rules edit visible on the served page after {seen:.2f} s")
        assert seen < 15  # typically 1-2 s; generous for a loaded CI machine
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()
