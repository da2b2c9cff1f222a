"""``bioimg predict``: apply a .bioimg model to files, folders or globs."""
from __future__ import annotations

import sys
import time
from pathlib import Path

from ._inputs import expand_inputs, parse_sizes, stem


def _spatial_image(img, data, axes_out: str):
    """An Image with the input's spatial geometry around ``data``."""
    spatial = img.spatial_axes
    spacing = tuple(img.spacing[spatial.index(a)] for a in axes_out if a in spatial)
    return img.with_data(data, axes=axes_out, spacing=spacing)


def write_prediction(img, pred, out_dir: Path, name: str, probabilities: bool) -> list[Path]:
    """Write a Prediction next to its source name; returns the written paths (atomic writes)."""
    from bioimg.io import write

    spatial = img.spatial_axes
    written = []
    if pred.labels is not None:
        written.append(write(out_dir / f"{name}_labels.tif", _spatial_image(img, pred.labels, spatial)))
    if pred.image is not None:
        axes = spatial if pred.image.ndim == len(spatial) else "C" + spatial
        written.append(write(out_dir / f"{name}_denoised.tif", _spatial_image(img, pred.image, axes)))
    if probabilities and pred.probabilities is not None and pred.probabilities.ndim > 1:
        written.append(write(out_dir / f"{name}_probabilities.tif",
                             _spatial_image(img, pred.probabilities.astype("float32"), "C" + spatial)))
    return written


def run(args) -> int:
    from tqdm import tqdm

    from bioimg.inference import predict
    from bioimg.io import read
    from bioimg.metrics import format_table
    from bioimg.modelfile import load_model

    model = load_model(args.model)
    inputs = expand_inputs(args.inputs)
    out_dir = Path(args.output)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows, failures = [], []
    tile = parse_sizes(args.tile)
    for path in tqdm(inputs, desc="predict", unit="file", file=sys.stderr, disable=len(inputs) < 2):
        t0 = time.perf_counter()
        try:
            img = read(path)
            pred = predict(model, img, tile=tile, threshold=args.threshold, min_size=args.min_size)
            write_prediction(img, pred, out_dir, stem(path), args.probabilities)
        except (ValueError, OSError) as exc:
            failures.append(f"{path}: {exc}")
            print(f"bioimg predict: error: {path}: {exc}", file=sys.stderr)
            continue
        result = {"file": path.name, "shape": "x".join(map(str, img.shape)),
                  "time_s": round(time.perf_counter() - t0, 2)}
        if "objects" in pred.summary:
            result["objects"] = pred.summary["objects"]
        if "class" in pred.summary:
            result["class"] = pred.summary["class"]
            result["probability"] = round(pred.summary["probability"], 3)
        rows.append(result)
    if rows:
        print(format_table(rows))
    print(f"{len(rows)} file(s) predicted into {out_dir}" + (f", {len(failures)} failed" if failures else ""))
    return 2 if failures else 0


def register(subparsers) -> None:
    p = subparsers.add_parser("predict", help="apply a trained .bioimg model")
    p.add_argument("inputs", nargs="+", help="image files, folders or globs")
    p.add_argument("--model", required=True, help="model file (.bioimg)")
    p.add_argument("--output", required=True, help="output folder")
    p.add_argument("--tile", help="tile size, e.g. 256 or 64,128,128")
    p.add_argument("--threshold", type=float, default=0.5, help="foreground probability threshold")
    p.add_argument("--min-size", type=int, default=10, help="smallest object kept (pixels)")
    p.add_argument("--probabilities", action="store_true", help="also write class probabilities")
    p.set_defaults(func=run)
