"""Look and language of every figure: the Agg backend, a CJK font for Chinese, saving in PNG/SVG.

Chinese labels need a CJK font (Debian: fonts-noto-cjk). It is looked up through matplotlib's
font_manager, including fonts installed after matplotlib built its font cache; if none is found,
figures fall back to English with a message, never to boxes.
"""
from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib import font_manager  # noqa: E402

from ..labels import check_lang  # noqa: E402
from ..results import _atomic  # noqa: E402

FORMATS = ("png", "svg")
DPI = 150
A4_WIDTH = 8.27          # inches: figures are drawn to be read on an A4 page
CJK_PREFERRED = ("Noto Sans CJK SC", "Source Han Sans SC", "Noto Sans SC", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei",
                 "Microsoft YaHei", "SimHei", "PingFang SC", "Noto Sans CJK JP", "Noto Serif CJK SC")
CJK_MARKERS = ("CJK", "Han Sans", "WenQuanYi", "YaHei", "SimHei", "PingFang", "Noto Sans SC")
NO_CJK_MESSAGE = ("note: no Chinese (CJK) font found, so figures are labelled in English; install one "
                  "(Debian/Ubuntu: apt-get install fonts-noto-cjk) and run again for Chinese figures")


def _cjk_names() -> set[str]:
    return {f.name for f in font_manager.fontManager.ttflist if any(m in f.name for m in CJK_MARKERS)}


def find_cjk_font() -> str | None:
    """Family name of an installed CJK font matplotlib can use (registering system fonts newer than
    matplotlib's font cache), or None."""
    names = _cjk_names()
    if not names:
        for path in font_manager.findSystemFonts():
            if any(m.replace(" ", "") in Path(path).name for m in ("CJK", "HanSans", "wqy", "NotoSansSC")):
                with contextlib.suppress(Exception):
                    font_manager.fontManager.addfont(path)
        names = _cjk_names()
    for name in CJK_PREFERRED:
        if name in names:
            return name
    return sorted(names)[0] if names else None


def figure_lang(lang: str) -> str:
    """The language figures can be drawn in: 'zh' needs a CJK font, else 'en' with a message on stderr."""
    if check_lang(lang) == "zh" and find_cjk_font() is None:
        print(NO_CJK_MESSAGE, file=sys.stderr)
        return "en"
    return lang


@contextlib.contextmanager
def drawing(lang: str):
    """Matplotlib settings of every figure (fonts for the language, with a CJK fallback for Chinese
    names in English figures; readable sizes at A4)."""
    cjk = find_cjk_font()                # also in English: names from configs may be Chinese (县人民医院)
    families = [cjk, "DejaVu Sans"] if lang == "zh" else ["DejaVu Sans", cjk]
    with plt.rc_context({"font.family": [f for f in families if f],                  # a list: per-glyph fallback
                         "axes.unicode_minus": lang != "zh", "font.size": 9, "axes.titlesize": 10,
                         "axes.labelsize": 9, "legend.fontsize": 8, "xtick.labelsize": 8, "ytick.labelsize": 8,
                         "axes.spines.top": False, "axes.spines.right": False, "axes.formatter.useoffset": False,
                         "svg.fonttype": "none" if lang == "en" else "path"}):
        yield


def save(fig, stem: Path, formats: tuple[str, ...] = ("png",)) -> list[Path]:
    """Write the figure as stem.<format> for each format (atomically), close it; the files written."""
    out = []
    for fmt in formats:
        path = stem.with_suffix(f".{fmt}")
        _atomic(path, lambda tmp, fmt=fmt: fig.savefig(tmp, format=fmt, dpi=DPI, bbox_inches="tight"))
        out.append(path)
    plt.close(fig)
    return out


def percent(x: float) -> str:
    return f"{x * 100:.1f}%"
