"""Certificate pages read back: the text extracted (not an image), the Chinese font embedded as
a subset, the QR code decoded from the rendered page, a background picture under the text, and
a big batch printed on several processes equal to one printed in this one."""

from __future__ import annotations

import io

import pypdf
import pypdfium2 as pdfium
import zxingcpp
from PIL import Image

from competition.results import jobs
from competition.results.certificates import layout, pdf

BODY = "在青海省第十六届职工职业技能大赛装配钳工（职工组）比赛中荣获一等奖。特发此证，以资鼓励。"


def _design(background: bytes = b"") -> layout.Design:
    return layout.Design(
        heading="荣誉证书",
        issuer="青海省总工会",
        date_text="二〇二六年十二月三日",
        places=layout.DEFAULT_PLACES,
        background=background,
    )


def _pages(n: int) -> list[pdf.Page]:
    return [
        pdf.Page(number=f"QH16-AB{i:02d}-CDEF{i % 10}", holder=f"王小明{i}", body=BODY,
                 url=f"https://jx.example.org/certificates/QH16-AB{i:02d}-CDEF{i % 10}")
        for i in range(n)
    ]  # fmt: skip


def _qr_of(content: bytes, page: int = 0) -> list[str]:
    image = pdfium.PdfDocument(content)[page].render(scale=2).to_pil()
    return [code.text for code in zxingcpp.read_barcodes(image)]


def test_a_certificate_page_reads_back_as_text_font_and_qr_code():
    content = pdf.render(_pages(3), _design())
    reader = pypdf.PdfReader(io.BytesIO(content))
    assert len(reader.pages) == 3
    text = reader.pages[1].extract_text()
    for expected in ("荣誉证书", "王小明1 同志", "装配钳工", "荣获一等奖", "青海省总工会",
                     "二〇二六年十二月三日", "证书编号：QH16-AB01-CDEF1"):  # fmt: skip
        assert expected in text.replace("\n", ""), expected
    fonts = reader.pages[0]["/Resources"]["/Font"]
    base_fonts = [str(f.get_object()["/BaseFont"]) for f in fonts.values()]
    # reportlab names a subset "SUBSETNAME+n"-style; the font file itself is inside the PDF.
    assert any("WenQuanYi" in name or "+" in name for name in base_fonts), base_fonts
    assert b"/FontFile2" in content
    assert _qr_of(content, 2) == ["https://jx.example.org/certificates/QH16-AB02-CDEF2"]


def test_a_background_picture_goes_under_the_text_and_the_code_still_reads():
    picture = Image.new("RGB", (1200, 848), (238, 214, 160))
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG")
    content = pdf.render(_pages(1), _design(buffer.getvalue()))
    assert b"/Subtype /Image" in content or b"/Subtype/Image" in content
    page = pdfium.PdfDocument(content)[0].render(scale=1).to_pil()
    assert page.getpixel((5, 5))[:3] != (255, 255, 255)  # the picture, not the bare frame
    assert _qr_of(content) == ["https://jx.example.org/certificates/QH16-AB00-CDEF0"]


def test_chinese_dates_and_wrapping():
    assert layout.chinese_date(2026, 12, 3) == "二〇二六年十二月三日"
    assert layout.chinese_date(2027, 10, 20) == "二〇二七年十月二十日"
    lines = pdf.wrap(BODY, 20, 120)
    assert "".join(lines) == BODY and len(lines) > 1
    assert not any(line.startswith(("，", "。")) for line in lines)


def test_a_big_batch_prints_on_several_processes_as_in_one(monkeypatch):
    batches = [(1, _pages(4)), (2, _pages(3))]
    counted: list[int] = []
    alone = jobs._render_batches(batches, _design(), counted.append)
    assert sorted(counted) == [3, 4]
    monkeypatch.setattr(jobs, "PROCESS_THRESHOLD", 1)
    counted.clear()
    pooled = jobs._render_batches(batches, _design(), counted.append)
    assert sorted(counted) == [3, 4]
    for trade in (1, 2):
        texts = [p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pooled[trade])).pages]
        assert texts == [p.extract_text() for p in pypdf.PdfReader(io.BytesIO(alone[trade])).pages]
