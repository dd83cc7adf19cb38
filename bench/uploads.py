"""Peak memory of every upload reader on crafted hostile uploads, each in a fresh process.

Builds uploads just under (and over) each cap of mml7.uploads' policy - a 1,000 MiB
member of zeros (as a class image and as a segmentation mask), members just under the
per-file cap, a zip declaring just under 1 GiB, thousands of near-limit members, 100,000
empty members, 40-megapixel PNG and JPEG images and masks, the 924-byte segmentation zip
of a 40-megapixel image and mask - and reads each with the readers a page uses, each
read in a new Python process. The figure is the rise of that process's peak RSS (Linux
VmHWM, reset after the imports and after the upload's bytes are in memory) while the
reader runs, in MB (10^6 bytes). Target: <= 300 MB for any upload.

``--root DIR`` measures the mml7 of another checkout (e.g. a ``git worktree`` of main),
so the same crafted files give a before/after table.

Usage: python bench/uploads.py [--json] [--root DIR] [--only TEXT]
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent
FILES = HERE / "out" / "uploads"
TARGET_MB = 300
MIB = 1 << 20


# --------------------------------------------------------------------------- crafting


def zeros_member(archive: zipfile.ZipFile, name: str, size: int) -> None:
    """A deflated member of ``size`` zero bytes, written in 1 MiB pieces."""
    with archive.open(name, "w", force_zip64=size > 2**31 - 1) as member:
        left = size
        while left:
            piece = min(left, MIB)
            member.write(bytes(piece))
            left -= piece


def picture(fmt: str, mode: str = "RGB", width: int = 8000, height: int = 5000) -> bytes:
    """A ``width`` x ``height`` image (40 megapixels by default): smooth gradients, so it
    compresses to a few MB like a photo of a sky, not like noise."""
    x = np.linspace(0, 255, width, dtype=np.float32)[None, :]
    y = np.linspace(0, 255, height, dtype=np.float32)[:, None]
    grey = ((x + y) / 2).astype(np.uint8)
    if mode == "L":
        image = Image.fromarray(grey)
    else:
        image = Image.fromarray(np.stack([grey, grey[::-1], grey[:, ::-1]], -1))
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    return buffer.getvalue()


def flat_png(width: int = 8000, height: int = 5000, value: int = 0) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (width, height), value).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def small_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), (200, 100, 50)).save(buffer, format="PNG")
    return buffer.getvalue()


def write_zip(path: Path, members: dict[str, bytes], zeros: dict[str, int] | None = None):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, size in (zeros or {}).items():
            zeros_member(archive, name, size)
        for name, payload in members.items():
            archive.writestr(name, payload)


def build(folder: Path) -> dict[str, Path]:
    """Every crafted upload, written once into ``folder``; name -> path."""
    folder.mkdir(parents=True, exist_ok=True)
    made = {}

    def make(name: str, writer) -> None:
        path = folder / name
        if not path.exists():
            writer(path)
        made[name] = path

    ok = small_png()
    make(
        "class_1000MiB_member.zip",
        lambda p: write_zip(p, {"b/ok.png": ok, "c/ok.png": ok}, {"a/zeros.png": 1000 * MIB}),
    )
    make(
        "seg_1000MiB_mask.zip",
        lambda p: write_zip(p, {"images/a.png": ok}, {"masks/a.png": 1000 * MIB}),
    )
    make(
        "class_21x48MiB_members.zip",
        lambda p: write_zip(p, {}, {f"c{i % 2}/{i}.png": 48 * MIB for i in range(21)}),
    )
    make(
        "class_19999x53KB_members.zip",
        lambda p: write_zip(p, {}, {f"c{i % 2}/{i}.png": 53_000 for i in range(19_999)}),
    )
    make(
        "class_100000_empty_members.zip",
        lambda p: write_zip(p, {f"a/{i}.png": b"" for i in range(100_000)}),
    )
    make("40Mpx.png", lambda p: p.write_bytes(picture("PNG")))
    make("40Mpx.jpg", lambda p: p.write_bytes(picture("JPEG")))
    make(
        "class_40Mpx_png_jpg.zip",
        lambda p: write_zip(
            p, {"a/big.png": picture("PNG"), "b/big.jpg": picture("JPEG"), "b/ok.png": ok}
        ),
    )
    make(
        "seg_40Mpx_flat_924B.zip",
        lambda p: write_zip(p, {"images/a.png": flat_png(), "masks/a.png": flat_png(value=1)}),
    )
    make(
        "seg_40Mpx_jpg_and_mask.zip",
        lambda p: write_zip(p, {"images/a.jpg": picture("JPEG"), "masks/a.png": flat_png(value=1)}),
    )
    return made


# (upload file, reader call) pairs measured; a reader call is the Python run in the child.
READERS = {
    "read_upload(64)": "from mml7.data import read_upload; read_upload(NAME, DATA, 64)",
    "read_upload(None)": "from mml7.data import read_upload; read_upload(NAME, DATA, None)",
    "read_image(max_side=2000)": (
        "from mml7.uploads import read_image; read_image(NAME, DATA, 3, max_side=2000)"
    ),
    "read_image()": "from mml7.uploads import read_image; read_image(NAME, DATA)",
    "prepare_query(48x48)": (
        "import numpy as np; from mml7.similarity import prepare_query; "
        "prepare_query(NAME, DATA, np.zeros((2, 48, 48, 3), np.float32))"
    ),
    "read_gallery_upload": (
        "from mml7.similarity import read_gallery_upload; read_gallery_upload(NAME, DATA)"
    ),
    "read_segmentation_upload(64)": (
        "from mml7.segmentation import read_segmentation_upload; "
        "read_segmentation_upload(NAME, DATA, 64)"
    ),
}
CASES = [
    ("class_1000MiB_member.zip", "read_upload(64)"),
    ("class_1000MiB_member.zip", "read_gallery_upload"),
    ("seg_1000MiB_mask.zip", "read_segmentation_upload(64)"),
    ("class_21x48MiB_members.zip", "read_upload(64)"),
    ("class_19999x53KB_members.zip", "read_upload(64)"),
    ("class_100000_empty_members.zip", "read_upload(64)"),
    ("40Mpx.png", "read_upload(64)"),
    ("40Mpx.png", "read_upload(None)"),
    ("40Mpx.png", "read_image(max_side=2000)"),
    ("40Mpx.png", "read_image()"),
    ("40Mpx.png", "prepare_query(48x48)"),
    ("40Mpx.jpg", "read_upload(64)"),
    ("40Mpx.jpg", "read_upload(None)"),
    ("40Mpx.jpg", "read_image(max_side=2000)"),
    ("40Mpx.jpg", "read_image()"),
    ("40Mpx.jpg", "prepare_query(48x48)"),
    ("class_40Mpx_png_jpg.zip", "read_upload(64)"),
    ("class_40Mpx_png_jpg.zip", "read_gallery_upload"),
    ("seg_40Mpx_flat_924B.zip", "read_segmentation_upload(64)"),
    ("seg_40Mpx_jpg_and_mask.zip", "read_segmentation_upload(64)"),
]


# --------------------------------------------------------------------------- measuring


def vm_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def child(root: str, path: str, reader: str) -> None:
    """In the fresh process: import, load the upload's bytes, reset the peak, read."""
    sys.path.insert(0, root)
    import mml7.data  # noqa: F401  (imports before the baseline)
    import mml7.segmentation  # noqa: F401
    import mml7.similarity  # noqa: F401

    data = Path(path).read_bytes()
    Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS
    baseline = vm_kib("VmRSS")
    started = time.monotonic()
    try:
        exec(READERS[reader], {"NAME": Path(path).name, "DATA": data})
        outcome = "accepted"
    except Exception as error:  # the outcome is reported, whatever it is
        outcome = f"{type(error).__name__}: {error}"[:160]
    rise = (vm_kib("VmHWM") - baseline) * 1024 / 1e6
    print(
        json.dumps(
            {
                "rise_mb": round(rise, 1),
                "seconds": round(time.monotonic() - started, 2),
                "outcome": outcome,
            }
        )
    )


def measure(root: Path, path: Path, reader: str) -> dict:
    completed = subprocess.run(
        [sys.executable, __file__, "--child", str(root), str(path), reader],
        capture_output=True,
        text=True,
        timeout=900,
        env={"PYTHONDONTWRITEBYTECODE": "1", "PATH": "/usr/bin:/bin"},
    )
    lines = [line for line in completed.stdout.splitlines() if line.startswith("{")]
    if not lines:
        return {"rise_mb": None, "seconds": None, "outcome": completed.stderr[-300:]}
    return json.loads(lines[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print RESULT lines for run_all")
    parser.add_argument("--root", default=str(HERE.parent), help="checkout whose mml7 to read")
    parser.add_argument("--only", default="", help="only cases whose file or reader has this")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    files = build(FILES)
    print(f"mml7 from {args.root}; peak RSS rise per read, MB (target <= {TARGET_MB})")
    for name, reader in CASES:
        if args.only and args.only not in f"{name} {reader}":
            continue
        row = measure(Path(args.root), files[name], reader)
        size = files[name].stat().st_size
        print(
            f"{name:<32} {size / 1e6:>8.3f} MB  {reader:<29} rise {row['rise_mb']} MB  "
            f"{row['seconds']} s  {row['outcome']}",
            flush=True,
        )
        if args.json:
            result = {
                "figure": f"peak RSS rise reading {name} ({size:,} bytes) with {reader}",
                "value": row["rise_mb"],
                "unit": "MB",
                "target": f"<= {TARGET_MB}",
                "ok": row["rise_mb"] is not None and row["rise_mb"] <= TARGET_MB,
            }
            print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
