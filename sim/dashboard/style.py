"""Rendering of the dashboard's figures: drawn to PNG bytes on the server (so the browser needs no
plotting library) with the fonts of every gradsim figure (sim.figures.style: a CJK font for Chinese)."""
from __future__ import annotations

import io
from collections.abc import Callable

from matplotlib.figure import Figure

from ..figures.style import drawing, figure_lang


def render_png(draw: Callable[[], Figure], lang: str, dpi: int = 90) -> bytes:
    """PNG of the figure `draw` builds, the language's fonts applied while it is built and drawn."""
    with drawing(lang):
        fig = draw()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


__all__ = ["figure_lang", "render_png"]
