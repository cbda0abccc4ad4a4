"""What every printed page shares: the embedded Chinese font and QR code images.

reportlab subsets the TrueType font into each PDF, so the text stays selectable and
extractable, and a printout looks the same on any machine.
"""

from __future__ import annotations

import io
from functools import cache

import qrcode
from qrcode.constants import ERROR_CORRECT_M
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

from competition.config import REPO_ROOT

FONT_FILE = REPO_ROOT / "competition" / "fonts" / "wqy-microhei.ttc"
FONT = "WenQuanYiMicroHei"


@cache
def font() -> str:
    """The registered name of the embedded Chinese font (文泉驿微米黑)."""
    pdfmetrics.registerFont(TTFont(FONT, str(FONT_FILE), subfontIndex=0))
    return FONT


def qr_png(data: str, box_size: int = 8) -> bytes:
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=box_size, border=4)
    code.add_data(data)
    code.make(fit=True)
    buffer = io.BytesIO()
    code.make_image().save(buffer, format="PNG")
    return buffer.getvalue()
