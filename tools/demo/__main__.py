"""``python -m tools.demo [URL]``: load the demo catalog into a running intake (default: the one
``onewindow up`` runs on this machine), with a local center admin's token."""

from __future__ import annotations

import sys

from tools.registry import DEFAULT_PORTS

from .loader import admin_token, load_into


def main() -> None:
    import os

    port = os.environ.get("ONEWINDOW_INTAKE_HTTP_PORT") or DEFAULT_PORTS["intake"]
    url = sys.argv[1] if len(sys.argv) > 1 else f"http://127.0.0.1:{port}"
    units, items = load_into(url, admin_token())
    print(f"loaded {units} units and {items} items" if units or items else "nothing loaded (already there)")


main()
