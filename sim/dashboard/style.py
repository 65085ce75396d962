"""Fonts and rendering of the dashboard's figures: a CJK font for Chinese labels (Debian: fonts-noto-cjk);
figures are drawn to PNG bytes on the server, so the browser needs no plotting library."""
from __future__ import annotations

import contextlib
import io
from collections.abc import Callable
from functools import lru_cache

import matplotlib
from matplotlib import font_manager
from matplotlib.figure import Figure

CJK_FAMILIES = ("Noto Sans CJK SC", "Source Han Sans SC", "Noto Sans SC", "WenQuanYi Zen Hei", "Microsoft YaHei",
                "SimHei", "PingFang SC", "Noto Serif CJK SC")


@lru_cache(maxsize=1)
def cjk_family() -> str | None:
    """An installed CJK font family matplotlib can use, or None."""
    names = {f.name for f in font_manager.fontManager.ttflist}
    if not names & set(CJK_FAMILIES):
        for path in font_manager.findSystemFonts():
            if "CJK" in path or "wqy" in path:
                with contextlib.suppress(Exception):
                    font_manager.fontManager.addfont(path)
        names = {f.name for f in font_manager.fontManager.ttflist}
    return next((n for n in CJK_FAMILIES if n in names), None)


@contextlib.contextmanager
def figure_fonts(lang: str):
    """Matplotlib settings while a figure is drawn: Chinese needs a CJK font first in the list."""
    families = ([cjk_family()] if lang == "zh" and cjk_family() else []) + ["DejaVu Sans"]
    with matplotlib.rc_context({"font.family": "sans-serif", "font.sans-serif": families,
                                "axes.unicode_minus": lang != "zh", "font.size": 8}):
        yield


def render_png(draw: Callable[[], Figure], lang: str, dpi: int = 90) -> bytes:
    """PNG of the figure `draw` builds, fonts for the language applied while it is built and drawn."""
    with figure_fonts(lang):
        fig = draw()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()
