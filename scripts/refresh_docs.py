"""Regenerate the tables in docs/ that are derived from the seed config (the tests check they are
current): docs/parameters.md and the implied willingness-to-pay table of docs/ODD.md §3.3.3.

    python scripts/refresh_docs.py
"""
from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path

from sim.paramtable import main as paramtable, wtp_markdown

ROOT = Path(__file__).resolve().parents[1]
SEED = "configs/seed_county.yaml"


def main() -> None:
    os.chdir(ROOT)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        paramtable([SEED])
    (ROOT / "docs" / "parameters.md").write_text(out.getvalue(), encoding="utf-8")
    odd = ROOT / "docs" / "ODD.md"
    text = odd.read_text(encoding="utf-8")
    head, rest = text.split("<!-- wtp-table -->\n", 1)
    _, tail = rest.split("<!-- /wtp-table -->", 1)
    odd.write_text(f"{head}<!-- wtp-table -->\n{wtp_markdown(SEED)}\n<!-- /wtp-table -->{tail}", encoding="utf-8")
    print("wrote docs/parameters.md and the WTP table of docs/ODD.md")


if __name__ == "__main__":
    main()
