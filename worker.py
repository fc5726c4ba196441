"""`python worker.py`: the RQ worker, a thin shim over `fundflow worker` (workflow/worker.py)."""
from __future__ import annotations

import json
import sys
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path


def prefer_installed_package() -> None:
    """Run from a checkout against `pip install .`, import the installed workflow package.

    The checkout's workflow/ would shadow it, and it lacks the states, templates
    and forms that the install ships inside the package. An editable install
    points at this checkout, which is then the right one.
    """
    here = Path(__file__).resolve().parent
    try:
        dist = distribution("fundflow")
    except PackageNotFoundError:
        return
    direct_url = json.loads(dist.read_text("direct_url.json") or "{}")
    if direct_url.get("dir_info", {}).get("editable"):
        return
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]


if __name__ == "__main__":
    prefer_installed_package()
    from workflow.worker import main

    sys.exit(main())
