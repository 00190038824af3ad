#!/usr/bin/env python3
"""Builds wqy-microhei-gb2312.ttf from Debian's WenQuanYi Micro Hei (see README.md).

Run once by hand; the result is committed and embedded with include_bytes!. Nothing runs at build time.

    apt-get install fonts-wqy-microhei
    pip install fonttools
    python3 crates/render/fonts/make_subset.py
"""

import pathlib
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent
SOURCE = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"  # font 0 of the collection: WenQuanYi Micro Hei
OUTPUT = HERE / "wqy-microhei-gb2312.ttf"

# Code points kept besides GB 2312 and the extra characters file.
RANGES = [
    (0x0020, 0x007E),  # ASCII
    (0x00A0, 0x00FF),  # Latin-1 supplement (·, ×, °, ±, …)
    (0x2010, 0x206F),  # general punctuation (— ‘ ’ “ ” … ‰ ※)
    (0x2100, 0x214F),  # letter-like symbols (℃ № ℡)
    (0x2150, 0x218F),  # number forms (Ⅰ Ⅱ Ⅲ)
    (0x2190, 0x21FF),  # arrows
    (0x2460, 0x24FF),  # enclosed alphanumerics (① ⑴ ⒈)
    (0x2500, 0x25FF),  # box drawing, geometric shapes (□ ○ ★ ●)
    (0x3000, 0x303F),  # CJK symbols and punctuation (、 。 〈 〉 《 》 「 」 【 】 〓)
    (0x3200, 0x32FF),  # enclosed CJK (㈠ ㊣)
    (0xFE30, 0xFE4F),  # CJK compatibility forms
    (0xFF00, 0xFFEF),  # full-width and half-width forms
]


def gb2312() -> str:
    """Every character of GB 2312 (rows 0xA1-0xF7, cells 0xA1-0xFE that decode)."""
    chars = []
    for row in range(0xA1, 0xF8):
        for cell in range(0xA1, 0xFF):
            try:
                chars.append(bytes([row, cell]).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    return "".join(chars)


def main() -> int:
    extra_lines = (HERE / "extra-characters.txt").read_text(encoding="utf-8").splitlines()
    extra = "".join(line for line in extra_lines if not line.startswith("#"))
    text = gb2312() + extra
    text_file = HERE / "charset.tmp.txt"
    text_file.write_text(text, encoding="utf-8")
    unicodes = ",".join(f"U+{lo:04X}-{hi:04X}" for lo, hi in RANGES)
    try:
        subprocess.run(
            [
                "pyftsubset",
                SOURCE,
                "--font-number=0",
                f"--text-file={text_file}",
                f"--unicodes={unicodes}",
                "--no-hinting",
                "--layout-features=",
                "--drop-tables+=vhea,vmtx,gasp,FFTM,GDEF,GPOS,GSUB",
                "--name-IDs=0,1,2,3,4,5,6,13,14",
                "--no-glyph-names",
                f"--output-file={OUTPUT}",
            ],
            check=True,
        )
    finally:
        text_file.unlink()
    print(f"{OUTPUT.name}: {OUTPUT.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
