"""Pictures with too many pixels: refused by their header, with a message that says so, in
bounded memory; the largest photo a phone takes still passes.

The limits (registration/photos.py): 10,000 pixels a side; a JPEG up to 52 million pixels (a
50-megapixel camera's 8160×6120), a progressive JPEG or a PNG up to 4096×4096, a WebP up to
2048×2048.
"""

from __future__ import annotations

import io
import struct
import subprocess
import sys
import textwrap
import zlib

import pytest
from PIL import Image

from competition.config import REPO_ROOT
from competition.errors import ValidationFailed
from competition.i18n import translate_error
from registration.photos import MAX_SIDE, process_photo
from registration.tables import Entry, Photo
from tests.registration.helpers import jpeg, register
from tests.support import login, post_form

# Peak memory a photo may cost the server (measured in a fresh process): a full decode of the
# 8160×6120 photo alone would take 150 MB, and the code before this limit took 290 MB for a
# 6000×6000 JPEG.
MEMORY_CEILING_MB = 100


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(width: int, height: int) -> bytes:
    """A valid 1-bit PNG of `width`×`height` black pixels: a few KB that decode to the full size
    (the rows are compressed as they are made, so the test never holds them)."""
    row = b"\x00" + bytes((width + 7) // 8)
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", idat)
        + _chunk(b"IEND", b"")
    )


def jpeg_claiming(width: int, height: int) -> bytes:
    """A small JPEG whose frame header claims another size (how a JPEG bomb starts)."""
    data = bytearray(jpeg(160, 200))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def encoded(size: tuple[int, int], kind: str, **options) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (90, 120, 150)).save(buffer, kind, **options)
    return buffer.getvalue()


def refusal(data: bytes) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as caught:
        process_photo(data)
    return caught.value


@pytest.mark.parametrize(
    ("what", "data"),
    [
        ("a decompression bomb: 20000×20000 pixels in a PNG of a few KB", png_bomb(20000, 20000)),
        ("a huge PNG: 5000×5000", encoded((5000, 5000), "PNG")),
        ("absurd proportions: 12000×160, within the pixel count", png_bomb(12000, 160)),
        ("a JPEG claiming 60000×60000", jpeg_claiming(60000, 60000)),
        ("a progressive JPEG of 5000×5000", encoded((5000, 5000), "JPEG", progressive=True)),
        ("a WebP of 3000×3000", encoded((3000, 3000), "WEBP")),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_a_picture_with_too_many_pixels_is_refused_and_says_so(what, data):
    assert len(data) < 5 * 1024 * 1024, what
    error = refusal(data)
    assert error.code == "photo_too_many_pixels", what
    assert error.field_errors == {"photo": error.message}
    message = translate_error(error)  # zh_CN
    assert "像素" in message and str(MAX_SIDE) in message, message


def test_the_limits_are_stated_for_the_kind_of_picture():
    assert "2048×2048" in translate_error(refusal(encoded((3000, 3000), "WEBP")))
    assert "4096×4096" in translate_error(refusal(encoded((5000, 5000), "PNG")))
    assert "8160×6120" in translate_error(refusal(jpeg_claiming(9000, 9000)))


@pytest.mark.parametrize(
    ("size", "kind", "options"),
    [
        ((8160, 6120), "JPEG", {}),  # a 50-megapixel phone camera
        ((4096, 4096), "JPEG", {"progressive": True}),
        ((4096, 4096), "PNG", {}),
        ((2048, 2048), "WEBP", {}),
    ],
)
def test_the_largest_accepted_pictures_pass_in_bounded_memory(tmp_path, size, kind, options):
    """Each in a fresh process: the photo is made by one, processed by the next, which reports
    the growth of its peak memory."""
    path = tmp_path / "photo"
    make = (
        "from PIL import Image; "
        f"Image.new('RGB', {size!r}, (90, 120, 150)).save({str(path)!r}, {kind!r}, **{options!r})"
    )
    subprocess.run([sys.executable, "-c", make], check=True)  # noqa: S603
    measure = textwrap.dedent(
        f"""
        import resource
        from registration.photos import process_photo
        data = open({str(path)!r}, "rb").read()
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        photo = process_photo(data)
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(photo.width, photo.height, (after - before) // 1024)
        """
    )
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", measure], cwd=REPO_ROOT, check=True, capture_output=True, text=True
    )
    width, height, grown_mb = map(int, result.stdout.split())
    assert (width, height) == (480, 640)
    assert grown_mb < MEMORY_CEILING_MB, f"{size} {kind}: {grown_mb} MB"


def test_a_bomb_costs_no_memory_to_refuse(tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(png_bomb(20000, 20000))
    measure = textwrap.dedent(
        f"""
        import resource
        from competition.errors import ValidationFailed
        from registration.photos import process_photo
        data = open({str(path)!r}, "rb").read()
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        try:
            process_photo(data)
        except ValidationFailed as error:
            print(error.code, (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)
        """
    )
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", measure], cwd=REPO_ROOT, check=True, capture_output=True, text=True
    )
    code, grown_mb = result.stdout.split()
    assert code == "photo_too_many_pixels"
    assert int(grown_mb) < 10


async def test_an_upload_with_too_many_pixels_gets_the_message_on_the_page(client, demo_mutable):
    entry_id = await register(demo_mutable.competition_id, photo=False)
    await login(client, "xining")
    response = await post_form(
        client,
        f"/delegation/entries/{entry_id}/photo",
        files={"photo": ("big.png", png_bomb(20000, 20000), "image/png")},
    )
    assert response.status_code == 422
    assert "照片像素过多" in response.text
    person = Entry.select(Entry.person).where(Entry.id == entry_id)
    assert not await Photo.exists().where(Photo.person.is_in(person))
