"""Safe loading: bad files give ImageError, odd formats load as upright 8-bit RGB, metadata is stripped."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from regrow.errors import ImageError, InputError
from regrow.measure import load_image_safely, strip_metadata


def _png_header_only(path: Path, width: int, height: int) -> None:
    """A PNG whose header claims width x height (a decompression bomb never needs to be decoded)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b""))


def test_not_an_image(tmp_path):
    p = tmp_path / "notes.jpg"
    p.write_text("hello, not a picture")
    with pytest.raises(ImageError, match=r"notes\.jpg"):
        load_image_safely(p)


def test_missing_file(tmp_path):
    with pytest.raises(ImageError, match="existing image file"):
        load_image_safely(tmp_path / "nope.png")


def test_truncated_jpeg(tmp_path, rng):
    p = tmp_path / "full.jpg"
    Image.fromarray(rng.integers(0, 255, (200, 300, 3), dtype=np.uint8)).save(p, quality=90)
    data = p.read_bytes()
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError, match="complete"):
        load_image_safely(cut)


def test_decompression_bomb_refused_before_decoding(tmp_path):
    p = tmp_path / "bomb.png"
    _png_header_only(p, 20_000, 20_000)
    with pytest.raises(ImageError, match="pixels"):
        load_image_safely(p)


def test_sixteen_bit_grayscale_scaled(tmp_path):
    arr = np.zeros((32, 40), np.uint16)
    arr[:, 20:] = 65535
    arr[:, 10:20] = 32768
    p = tmp_path / "deep.png"
    Image.fromarray(arr).save(p)
    out = load_image_safely(p)
    assert out.shape == (32, 40, 3) and out.dtype == np.uint8
    assert out[0, 0].tolist() == [0, 0, 0]
    assert out[0, 15].tolist() == [128, 128, 128]  # 32768/65535*255 = 127.5 -> 128
    assert out[0, 30].tolist() == [255, 255, 255]


def test_grayscale_and_cmyk(tmp_path):
    Image.new("L", (30, 20), 77).save(tmp_path / "g.png")
    assert load_image_safely(tmp_path / "g.png")[5, 5].tolist() == [77, 77, 77]
    Image.new("CMYK", (30, 20), (0, 0, 0, 0)).save(tmp_path / "c.jpg")
    white = load_image_safely(tmp_path / "c.jpg")
    assert white.shape == (20, 30, 3) and white.min() >= 250


def test_exif_orientation_applied_and_stripped(tmp_path):
    img = Image.new("RGB", (40, 20), (200, 10, 10))
    img.paste((10, 10, 200), (0, 0, 10, 20))  # blue strip on the left
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    exif[0x8825] = {1: "N", 2: (52.0, 31.0, 0.0)}  # GPS IFD
    src = tmp_path / "rot.jpg"
    img.save(src, exif=exif, quality=95)
    up = load_image_safely(src)
    assert up.shape == (40, 20, 3)  # portrait after applying orientation
    assert up[2, 10, 2] > 150  # the blue strip is now on top
    dst = strip_metadata(src, tmp_path / "clean" / "copy.jpg")
    with Image.open(dst) as im:
        assert len(im.getexif()) == 0
        assert "exif" not in im.info
        assert im.size == (20, 40)


def test_strip_metadata_writes_nothing_on_failure(tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8 broken")
    with pytest.raises(ImageError):
        strip_metadata(bad, tmp_path / "out" / "x.jpg")
    assert not any((tmp_path / "out").glob("*")) if (tmp_path / "out").exists() else True
    with pytest.raises(InputError, match="suffix"):
        strip_metadata(bad, tmp_path / "x.gif")
