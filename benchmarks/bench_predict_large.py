"""``bioimg predict`` on large images: peak RSS and time through the real command line.

1. A small 2D instance model is trained on the nuclei sample for a few
   seconds (``--train-seconds``; an untrained model finds no objects and
   would skip the instance stitching).
2. The sample is tiled to ``--size`` x ``--size`` uint16 (default 8192) and to
   ``--small`` x ``--small`` (default 2048), written as strip TIFFs.
3. ``bioimg predict`` runs on each in a fresh process under
   ``/usr/bin/time -v`` (peak RSS = "Maximum resident set size"). The large
   one streams (lazy read, OME-Zarr labels with a pyramid); the small one is
   the in-memory path. Per-pixel time ratio large / small (target <= 1.2) uses
   CPU seconds (user + sys from ``time -v``; wall time is printed too but
   swings with other load on the machine).
4. A 3D OME-Zarr volume (``--vol``, default 64x1024x1024; ``--big3d`` for
   256x2048x2048) from the nuclei3d sample, predicted by an untrained 3D
   segment U-Net (depth 1, width 4: a default-width net would take about an
   hour on 1 Gvox with 2 cores; the engine's memory is what is measured)
   through ``bioimg predict`` (OME-Zarr in, OME-Zarr out).
5. ``--nifti Z,Y,X``: a uint16 ``.nii.gz`` of that shape (nuclei3d tiled),
   predicted by a small 3D U-Net trained 20 s on the nuclei3d sample, with
   ``--large-threshold 1``, after an eager read (the current CLI: the volume
   in memory) and a lazy one (NIfTI added to the CLI's lazy-first formats:
   ``read(path, lazy=True)``, pixels on demand); labels must be equal.

Targets: 2D peak RSS <= 1.5 GB (was 7.8 GB before the one engine), per-pixel
time within 1.2x of the 2048^2 in-memory run; 3D peak RSS bounded (band of
tiles, not the volume).

Usage: ``python benchmarks/bench_predict_large.py [--size 8192] [--small 2048]
[--vol 64,1024,1024 | --big3d] [--skip-2d] [--skip-3d] [--train-seconds 40] [--nifti 128,1024,1024]
[--workdir DIR]``
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "plugins")]
TARGET_RSS = 1.5e9
CLI = "import sys; from bioimg.cli import main; sys.exit(main())"


def _tiled_tiff(path: Path, sample, shape: tuple) -> None:
    """Write ``sample`` tiled to ``shape`` as a strip TIFF, one band of rows at a time."""
    import numpy as np
    import tifffile

    h, w = sample.shape

    def bands():
        for y in range(0, shape[0], 256):
            rows = np.arange(y, min(y + 256, shape[0])) % h
            yield np.tile(sample[rows], (1, -(-shape[1] // w)))[:, :shape[1]]

    with tifffile.TiffWriter(path, bigtiff=True) as tw:
        tw.write(bands(), shape=shape, dtype=sample.dtype, rowsperstrip=256)


def _volume(path: Path, shape: tuple) -> None:
    """The nuclei3d sample tiled to ``shape`` as an OME-Zarr written plane by plane."""
    import numpy as np
    import tifffile

    from bioimg.io._zarr import NgffWriter

    sample = tifffile.imread(ROOT / "sample_data" / "nuclei3d_image.tif")
    d, h, w = sample.shape
    with NgffWriter(path, "ZYX", shape, sample.dtype, (1, 256, 256), spacing=(0.29, 0.26, 0.26),
                    unit="micrometer", name="vol") as wr:
        reps = (1, -(-shape[1] // h), -(-shape[2] // w))
        for z in range(shape[0]):
            wr.array[z] = np.tile(sample[z % d][None], reps)[0, :shape[1], :shape[2]]
        wr.commit()


def _train(path: Path, seconds: float) -> None:
    import tifffile

    from bioimg.modelfile import save_model
    from bioimg.training import TrainConfig, fit

    img = tifffile.imread(ROOT / "sample_data" / "nuclei2d_image.tif")
    lab = tifffile.imread(ROOT / "sample_data" / "nuclei2d_labels.tif")
    cfg = TrainConfig(task="instance", patch_size=(64, 64), batch_size=4, epochs=1000, steps_per_epoch=10,
                      time_budget=seconds, model_kwargs={"depth": 2, "base_width": 8}, seed=0)
    save_model(fit(img, lab, cfg), path)


MODEL3D = "untrained 3D segment U-Net, depth 1, base width 4, patch 16x64x64, percentile normalization"


def _model3d(path: Path) -> None:
    import autograd as torch
    from bioimg.modelfile import BioimgModel, ModelInfo, save_model
    from bioimg.models import build_model

    torch.manual_seed(0)
    cfg = {"in_channels": 1, "out_channels": 2, "ndim": 3, "depth": 1, "base_width": 4}
    info = ModelInfo(task="segment", architecture="unet", config=cfg, axes="ZYX", patch_size=[16, 64, 64],
                     normalization={"method": "percentile", "pmin": 1.0, "pmax": 99.8},
                     class_names=["background", "nuclei"], extra={"label_offset": 0})
    save_model(BioimgModel(build_model("unet", **cfg), info), path)


# The CLI as it was before NIfTI was read lazily (whole volume read, then streamed): the "eager" row of --nifti.
CLI_EAGER_NIFTI = ("import sys; import bioimg.cli.predict as p; p._NIFTI_IN = (); "
                   "from bioimg.cli import main; sys.exit(main())")


def _predict(inp: Path, model: Path, out: Path, extra: tuple = (), cli: str = CLI) -> dict:
    """One ``bioimg predict`` in a fresh process: wall time, the printed time_s, peak RSS."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "plugins")])}
    cmd = ["/usr/bin/time", "-v", sys.executable, "-c", cli, "predict", str(inp), "--model", str(model),
           "--output", str(out), *extra]
    t0 = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    if res.returncode != 0:
        raise SystemExit(f"bioimg predict failed ({res.returncode}):\n{res.stdout}\n{res.stderr[-3000:]}")
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", res.stderr).group(1)) * 1024
    cpu = sum(float(re.search(rf"{k} time \(seconds\): ([\d.]+)", res.stderr).group(1)) for k in ("User", "System"))
    row = res.stdout.splitlines()[2].split()
    said = [ln for ln in res.stderr.splitlines() if ln.startswith("bioimg predict:")]
    return {"wall": wall, "cpu": cpu, "time_s": float(row[2]), "objects": row[3] if len(row) > 3 else "-",
            "rss": rss, "said": said[0] if said else ""}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=8192)
    ap.add_argument("--small", type=int, default=2048)
    ap.add_argument("--vol", default="64,1024,1024", help="3D volume ZYX (default 64,1024,1024)")
    ap.add_argument("--big3d", action="store_true", help="3D volume 256x2048x2048")
    ap.add_argument("--skip-3d", action="store_true")
    ap.add_argument("--nifti", default=None, metavar="Z,Y,X",
                    help="also: a uint16 .nii.gz volume of this shape predicted after an eager and a lazy read")
    ap.add_argument("--skip-2d", action="store_true")
    ap.add_argument("--train-seconds", type=float, default=40.0)
    ap.add_argument("--workdir", default=None,
                    help="folder for the generated inputs/outputs (default: a temporary folder; removed after)")
    args = ap.parse_args()
    import tifffile

    sample = tifffile.imread(ROOT / "sample_data" / "nuclei2d_image.tif")
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        tmp = Path(tmp)
        if not args.skip_2d:
            _two_d(tmp, sample, args)
        if not args.skip_3d:
            _three_d(tmp, args)
        if args.nifti:
            _nifti(tmp, tuple(int(v) for v in args.nifti.split(",")))


def _two_d(tmp: Path, sample, args) -> None:
    _train(tmp / "inst.bioimg", args.train_seconds)
    _tiled_tiff(tmp / "big.tif", sample, (args.size, args.size))
    _tiled_tiff(tmp / "small.tif", sample, (args.small, args.small))
    small = _predict(tmp / "small.tif", tmp / "inst.bioimg", tmp / "o_small")
    big = _predict(tmp / "big.tif", tmp / "inst.bioimg", tmp / "o_big")
    # CPU seconds (user + sys of the whole process): wall time swings with other load on the machine
    ratio = (big["cpu"] / args.size ** 2) / (small["cpu"] / args.small ** 2)
    for label, r, n in ((f"in memory {args.small}^2", small, args.small), (f"streamed {args.size}^2", big, args.size)):
        print(f"2D instance, {label}: CPU {r['cpu']:.1f} s ({r['cpu'] / n ** 2 * 1e6:.2f} s/Mpx), "
              f"wall {r['wall']:.1f} s (time_s {r['time_s']:.1f}), peak RSS {r['rss'] / 1e9:.2f} GB, "
              f"{r['objects']} objects")
    print(f"  peak RSS target <= {TARGET_RSS / 1e9:.1f} GB; per-pixel CPU time streamed / in memory: "
          f"{ratio:.2f} (target <= 1.20)")
    print(f"  it said: {big['said']}")
    (tmp / "big.tif").unlink()


def _three_d(tmp: Path, args) -> None:
    shape = (256, 2048, 2048) if args.big3d else tuple(int(v) for v in args.vol.split(","))
    _volume(tmp / "vol.ome.zarr", shape)
    _model3d(tmp / "seg3d.bioimg")
    # --large-threshold 1: small test volumes take the streaming path too
    vol = _predict(tmp / "vol.ome.zarr", tmp / "seg3d.bioimg", tmp / "o_vol", ("--large-threshold", "1"))
    n = shape[0] * shape[1] * shape[2]
    print(f"3D segment, OME-Zarr {'x'.join(map(str, shape))} ({n / 1e6:.0f} Mvox): "
          f"CPU {vol['cpu']:.1f} s ({vol['cpu'] / n * 1e6:.2f} s/Mvox), wall {vol['wall']:.1f} s, peak RSS "
          f"{vol['rss'] / 1e9:.2f} GB (uint16 volume: {2 * n / 1e9:.2f} GB, float32 probabilities "
          f"{8 * n / 1e9:.2f} GB)")
    print(f"  model: {MODEL3D} (engine memory is what is measured, not segmentation quality)")
    print(f"  it said: {vol['said']}")


def _nifti(tmp: Path, shape: tuple) -> None:
    """Peak RSS of ``bioimg predict --large-threshold 1`` on a .nii.gz read eagerly vs lazily (same model)."""
    import nibabel as nib
    import numpy as np
    import tifffile

    sample = tifffile.imread(ROOT / "sample_data" / "nuclei3d_image.tif")
    reps = [-(-n // m) for n, m in zip(shape, sample.shape)]
    vol = np.tile(sample, reps)[:shape[0], :shape[1], :shape[2]]
    img = nib.Nifti1Image(vol.T, np.diag([0.26, 0.26, 0.29, 1.0]))  # bioimg ZYX = NIfTI (x, y, z) reversed
    img.header.set_xyzt_units("micron")
    nib.save(img, tmp / "vol.nii.gz")
    del vol, img
    _train3d(tmp / "seg3d_trained.bioimg", 20.0)
    n = int(np.prod(shape))
    rows = {}
    for kind, cli in (("eager", CLI_EAGER_NIFTI), ("lazy", CLI)):
        rows[kind] = _predict(tmp / "vol.nii.gz", tmp / "seg3d_trained.bioimg", tmp / f"o_nii_{kind}",
                              ("--large-threshold", "1"), cli=cli)
    same = _same_labels(tmp / "o_nii_eager", tmp / "o_nii_lazy")
    for kind, r in rows.items():
        print(f"3D segment, NIfTI .nii.gz {'x'.join(map(str, shape))} uint16 ({n / 1e6:.0f} Mvox), {kind} read: "
              f"CPU {r['cpu']:.1f} s, wall {r['wall']:.1f} s, peak RSS {r['rss'] / 1e9:.2f} GB "
              f"(uint16 volume {2 * n / 1e9:.2f} GB, float32 {4 * n / 1e9:.2f} GB)")
    print(f"  model: 3D segment U-Net depth 1, width 4, trained 20 s on the nuclei3d sample; "
          f"labels eager == lazy: {same}")
    print(f"  it said: {rows['lazy']['said']}")


def _train3d(path: Path, seconds: float) -> None:
    """A small 3D segment model trained briefly on the nuclei3d sample (its labels are not all one value)."""
    import tifffile

    from bioimg.modelfile import save_model
    from bioimg.training import TrainConfig, fit

    img = tifffile.imread(ROOT / "sample_data" / "nuclei3d_image.tif")
    lab = tifffile.imread(ROOT / "sample_data" / "nuclei3d_pseudo_labels.tif")
    cfg = TrainConfig(task="segment", patch_size=(16, 64, 64), batch_size=2, epochs=1000, steps_per_epoch=10,
                      time_budget=seconds, model_kwargs={"depth": 1, "base_width": 4}, seed=0)
    save_model(fit(img, lab, cfg), path)


def _same_labels(a: Path, b: Path) -> str:
    import numpy as np

    from bioimg.io import read

    pa, pb = sorted(a.glob("*_labels*")), sorted(b.glob("*_labels*"))
    if not len(pa) == len(pb) == 1:
        return "missing output"
    la, lb = np.asarray(read(pa[0]).data), np.asarray(read(pb[0]).data)
    return f"{np.array_equal(la, lb)} ({len(np.unique(la))} distinct values, {float((la > 0).mean()):.1%} foreground)"


if __name__ == "__main__":
    main()
