"""Helpers for the operations tests: HTTP GETs of health and metrics, JSON log lines."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path


def get(url: str) -> tuple[int, str]:
    """GET a URL: (status, body); status 0 when nothing listens."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except OSError:
        return 0, ""


def json_lines(log: Path) -> list[dict[str, object]]:
    """The JSON objects among a log file's lines."""
    lines = log.read_text(errors="replace").splitlines()
    return [json.loads(line) for line in lines if line.startswith("{")]
