"""Read a PNG screenshot without any imaging library (zlib only).

Usage: pngstat.py FILE [RRGGBB ...]
Prints: WIDTH HEIGHT DISTINCT-COLOURS INK [RRGGBB ...]
where INK is the share of non-white pixels and the trailing colours are
those of the arguments that occur exactly somewhere in the image.
Every other column of every row is sampled (enough for flat fills).
"""
import struct
import sys
import zlib


def pixels(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        sys.exit(f"{path}: not a PNG")
    pos, idat, ihdr = 8, b"", None
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    w, h, depth, ctype, _, _, interlace = ihdr
    if depth != 8 or ctype not in (2, 6) or interlace:
        sys.exit(f"{path}: unsupported PNG (depth {depth}, colour type {ctype})")
    bpp = 4 if ctype == 6 else 3
    raw, stride = zlib.decompress(idat), w * bpp
    prev, i = bytearray(stride), 0
    for _ in range(h):
        f, line = raw[i], bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if f == 1:
                line[x] = (line[x] + a) & 255
            elif f == 2:
                line[x] = (line[x] + b) & 255
            elif f == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else b if pb <= pc else c
                line[x] = (line[x] + pred) & 255
        yield w, h, [bytes(line[x:x + 3]) for x in range(0, stride, bpp * 2)]
        prev = line


def main():
    colours, ink, total, w, h = set(), 0, 0, 0, 0
    for w, h, row in pixels(sys.argv[1]):
        colours.update(row)
        total += len(row)
        ink += sum(1 for p in row if p != b"\xff\xff\xff")
    found = [c for c in sys.argv[2:] if bytes.fromhex(c) in colours]
    print(w, h, len(colours), round(ink / max(total, 1), 4), *found)


main()
