"""Writes PNG fixtures with PIL (python3-pil) to Tests/Fixtures/png/ and the pixels PIL decodes them to
(plus its convert("L") / convert("RGB") results and a NEAREST resize) to Tests/Fixtures/png_expected.safetensors.

PIL's encoder never picks the Average filter (3) and writes no low-bit gray, so `write_png` below, a
minimal independent encoder, writes files that cycle through all five filters row by row, 2- and 4-bit
gray, and an interlaced header. Run with /usr/bin/python3 (needs python3-pil and python3-torch). Prints
the PNG filter types each file uses.
"""
import os
import random
import struct
import zlib

import torch
from PIL import Image

from fixtures import FIXTURES, save

OUT = os.path.join(FIXTURES, "png")


def filters(path):
    """The filter type of every row of a non-interlaced PNG (a tiny parser, to report coverage)."""
    data = open(path, "rb").read()
    pos, idat, ihdr = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    w, h, depth, color, *_ = ihdr
    samples = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[color]
    row = (w * samples * depth + 7) // 8
    raw = zlib.decompress(idat)
    return sorted({raw[y * (row + 1)] for y in range(h)})


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else (b if pb <= pc else c)


def write_png(path, w, h, color, depth, rows, interlace=0):
    """A PNG of already packed `rows` (bytes each), row y filtered with filter type y % 5."""
    bpp = max(1, {0: 1, 2: 3, 4: 2, 6: 4}[color] * depth // 8)
    raw, prev = b"", bytes(len(rows[0]))
    for y, row in enumerate(rows):
        f = y % 5
        out = bytearray([f])
        for i, x in enumerate(row):
            a = row[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            pred = [0, a, b, (a + b) // 2, paeth(a, b, c)][f]
            out.append((x - pred) % 256)
        raw += bytes(out)
        prev = row

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, color, 0, 0, interlace))
                + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def pack(values, depth):
    """Packs samples of `depth` bits MSB-first into bytes (a row)."""
    out, acc, bits = bytearray(), 0, 0
    for v in values:
        acc, bits = (acc << depth) | v, bits + depth
        if bits == 8:
            out.append(acc)
            acc, bits = 0, 0
    if bits:
        out.append(acc << (8 - bits))
    return bytes(out)


def pattern(w, h, channels, rng):
    """Rows that favour different filters: zero, horizontal ramps, repeats of the row above, 2-D ramps,
    averages of the left and upper neighbours, noise."""
    rows = []
    for y in range(h):
        kind = y % 6
        row = []
        for x in range(w):
            for c in range(channels):
                if y == 0:
                    v = 0
                elif kind == 1:
                    v = (7 * x + 40 * c + 3 * y) % 256
                elif kind == 2:
                    v = rows[-1][x * channels + c]
                elif kind == 3:
                    v = (5 * x + 9 * y + 60 * c + rng.randrange(3)) % 256
                elif kind == 4:
                    v = (3 * x * y + 11 * c) % 256
                elif kind == 5:
                    left = row[(x - 1) * channels + c] if x > 0 else 0
                    v = (left + rows[-1][x * channels + c]) // 2
                else:
                    v = rng.randrange(256)
                row.append(v)
        rows.append(row)
    return bytes(v for r in rows for v in r)


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = random.Random(0)
    images = {
        "gray8": Image.frombytes("L", (21, 13), pattern(21, 13, 1, rng)),
        "rgb8": Image.frombytes("RGB", (23, 17), pattern(23, 17, 3, rng)),
        "rgba8": Image.frombytes("RGBA", (19, 11), pattern(19, 11, 4, rng)),
        "graya8": Image.frombytes("LA", (9, 7), pattern(9, 7, 2, rng)),
        "bw1": Image.frombytes("L", (13, 5), bytes(rng.randrange(256) for _ in range(65))).convert("1"),
    }
    for name, colors, size in [("palette8", 200, (16, 12)), ("palette4", 16, (11, 6)), ("palette2", 4, (7, 5)),
                               ("palette1", 2, (10, 3)), ("palette_trns", 6, (8, 4))]:
        im = Image.frombytes("P", size, bytes(rng.randrange(colors) for _ in range(size[0] * size[1])))
        im.putpalette([rng.randrange(256) for _ in range(3 * colors)])
        if name == "palette_trns":
            im.info["transparency"] = bytes([0, 128, 255, 7])
        images[name] = im
    expected = {}
    for name, im in images.items():
        path = os.path.join(OUT, name + ".png")
        if name == "palette_trns":
            im.save(path, transparency=im.info["transparency"])
        else:
            im.save(path)
        back = Image.open(path)
        back.load()
        mode = {"1": "L", "P": "RGBA" if "transparency" in back.info else "RGB"}.get(back.mode, back.mode)
        for key, m in [("raw", mode), ("L", "L"), ("RGB", "RGB")]:
            pixels = back.convert(m)
            t = torch.tensor(list(pixels.tobytes()), dtype=torch.uint8)
            expected[f"{name}.{key}"] = t.reshape(back.size[1], back.size[0], len(m))
        print(f"{name:13s} mode {back.mode:4s} -> {mode:4s} {back.size} filters {filters(path)}")
    # Every filter type, from the independent encoder: RGB and gray+alpha 8-bit, gray 2- and 4-bit.
    for name, w, h, color, channels in [("filters_rgb", 12, 10, 2, 3), ("filters_graya", 7, 6, 4, 2)]:
        px = pattern(w, h, channels, rng)
        write_png(os.path.join(OUT, name + ".png"), w, h, color, 8, [px[y * w * channels:(y + 1) * w * channels] for y in range(h)])
        expected[f"{name}.raw"] = torch.tensor(list(px), dtype=torch.uint8).reshape(h, w, channels)
    for depth in (2, 4):
        w, h = 11, 6
        values = [[rng.randrange(1 << depth) for _ in range(w)] for _ in range(h)]
        name = f"gray{depth}"
        write_png(os.path.join(OUT, name + ".png"), w, h, 0, depth, [pack(r, depth) for r in values])
        scale = 255 // ((1 << depth) - 1)
        expected[f"{name}.raw"] = torch.tensor([v * scale for r in values for v in r], dtype=torch.uint8).reshape(h, w, 1)
    for name in ["filters_rgb", "filters_graya", "gray2", "gray4"]:
        print(f"{name:13s} (independent encoder) filters {filters(os.path.join(OUT, name + '.png'))}")
    # An interlaced file (valid header, non-Adam7 data) and a 16-bit gray file, which the reader must reject
    # with a clear message.
    write_png(os.path.join(OUT, "interlaced.png"), 4, 3, 0, 8, [bytes(4)] * 3, interlace=1)
    # A 16-bit gray file the reader must reject with a clear message.
    Image.frombytes("I;16", (4, 3), bytes(range(24))).save(os.path.join(OUT, "gray16.png"))
    save(os.path.join(FIXTURES, "png_expected.safetensors"), expected)


if __name__ == "__main__":
    main()
