"""Quality figures on real data (issue anchors), run through the CLI and the Python API.

1. Nuclei (BBBC038, hand-drawn masks): train on the top 75 %, evaluate the bottom
   25 % via ``bioimg train/predict/evaluate``; compare with the classical
   baselines (anchors on held-out nuclei: Otsu + CC F1@0.5 = 0.69; Gaussian +
   Otsu + distance-transform watershed F1@0.5 = 0.86, F1@0.7 = 0.68;
   StarDist F1@0.5 = 0.91). Target: F1@0.5 >= 0.88, F1@0.7 >= 0.75 within 3 min of training.
2. MNI152 T1 brain mask (mask = GM + WM > 0.5): 2D U-Net on some axial slices, Dice on others.
3. Tissue classifier (background / grey / white matter patches): accuracy on held-out slices.
4. Self-supervised (Noise2Void) denoising of a noisy stack: PSNR gain.
5. Label files as users bring them (issue 13), through ``bioimg train --task segment``:
   ``masks``: the nuclei split with a plain binary mask ``labels > 0`` and with the
   instance ids themselves (both must give a 2-class model; target foreground
   Dice >= 0.85 on the held-out bottom quarter after 60 s);
   ``brain3d``: a 3D binary brain mask on MNI152 (downsampled by 2, NIfTI in and
   out, default 3D model and patch), Dice on a held-out anterior slab.
6. ``mri`` (issue 16): ``bioimg train`` on the MNI152 T1 with its brain mask, default settings and
   a 300 s budget (subprocess), then ``bioimg predict`` on other heads: a real skull-on subject
   (OpenNeuro ds000031) and a skull-on average head, from the pydeface 2.1.0 source distribution
   (fetched once with ``pip download`` into ``$BIOIMG_BENCH_CACHE``), against ROBEX reference masks
   in ``benchmarks/data/mri_heldout`` (README there); plus the MNI T1 with simulated scanner changes
   (not held out). Prints Dice, prediction wall and CPU seconds, the training steps and the decision.
7. ``nuclei3d``: 3D instance training on the left half of the nuclei stack (pseudo labels, voxel size
   0.29 x 0.26 x 0.26 um written into the TIFFs), prediction on the right half; F1 against the
   pseudo labels (NOT ground truth).

Run: ``python benchmarks/bench_quality.py [--only nuclei|brain|tissue|denoise|masks|brain3d|mri|nuclei3d]
[--budget S]`` (default budget: 170 s per task; 60 s for masks, 180 s for brain3d).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(ROOT))


def nuclei(budget: float) -> dict:
    import tifffile
    from scipy import ndimage as ndi

    from bioimg.cli import main
    from bioimg.cli.demo import classical_baseline
    from bioimg.metrics import match_instances_at
    from bioimg.sample import sample_paths

    img_p, lab_p = sample_paths("nuclei2d")
    image, labels = tifffile.imread(img_p), tifffile.imread(lab_p)
    split = int(image.shape[0] * 0.75)
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        tifffile.imwrite(tmp / "train.tif", image[:split])
        tifffile.imwrite(tmp / "train_labels.tif", labels[:split])
        tifffile.imwrite(tmp / "test.tif", image[split:])
        t0 = time.perf_counter()
        rc = main(["train", "--task", "instance", "--image", str(tmp / "train.tif"), "--labels",
                   str(tmp / "train_labels.tif"), "--out", str(tmp / "m.bioimg"), "--epochs", "60",
                   "--steps-per-epoch", "20", "--time-budget", str(budget), "--patch-size", "96"])
        out["train_s"] = time.perf_counter() - t0
        assert rc == 0
        assert main(["predict", str(tmp / "test.tif"), "--model", str(tmp / "m.bioimg"),
                     "--output", str(tmp / "pred")]) == 0
        pred = tifffile.imread(tmp / "pred" / "test_labels.tif")
    gt = labels[split:]
    for name, lab in (("bioimg", pred), ("otsu_cc", ndi.label(_otsu(image[split:]))[0]),
                      ("otsu_watershed", classical_baseline(image[split:]))):
        res = match_instances_at(lab, gt, thresholds=(0.5, 0.7))
        out[name] = {f"F1@{r['thresh']}": round(r["f1"], 3) for r in res}
    return out


def _otsu(img):
    """Otsu foreground without specks (objects < 15 px removed), as the anchor's pipeline."""
    from skimage.filters import threshold_otsu

    from bioimg.inference.postprocess import remove_small
    return remove_small(img > threshold_otsu(img), 15)


def _mni():
    import nibabel as nib
    t1 = np.asarray(nib.load(SHARED / "mri" / "mni152_t1.nii.gz").dataobj, dtype=np.float32)
    gm = np.asarray(nib.load(SHARED / "mri" / "mni152_gm.nii.gz").dataobj, dtype=np.float32)
    wm = np.asarray(nib.load(SHARED / "mri" / "mni152_wm.nii.gz").dataobj, dtype=np.float32)
    return t1, gm, wm  # (x, y, z); axial slices are [:, :, z]


def brain(budget: float) -> dict:
    from bioimg.inference import predict
    from bioimg.training import TrainConfig, fit

    t1, gm, wm = _mni()
    mask = (gm + wm) / 255 > 0.5  # probability maps stored as uint8 0..255
    zs = np.arange(40, 150)
    train_z, test_z = zs[::6], zs[3::6]
    imgs = [t1[:, :, z] for z in train_z]
    labs = [mask[:, :, z].astype(np.uint8) for z in train_z]  # dense binary mask, 0 = background
    cfg = TrainConfig(task="segment", epochs=40, steps_per_epoch=20, time_budget=budget,
                      patch_size=(96, 96), batch_size=8, seed=0)
    t0 = time.perf_counter()
    model = fit(imgs, labs, cfg)
    dices = []
    for z in test_z:
        pred = predict(model, t1[:, :, z]).labels == 1
        truth = mask[:, :, z]
        dices.append(2 * (pred & truth).sum() / max(pred.sum() + truth.sum(), 1))
    return {"dice_mean": round(float(np.mean(dices)), 4), "dice_min": round(float(np.min(dices)), 4),
            "train_slices": len(train_z), "test_slices": len(test_z), "train_s": round(time.perf_counter() - t0)}


def tissue(budget: float) -> dict:
    from bioimg.inference import predict
    from bioimg.training import TrainConfig, fit

    t1, gm, wm = _mni()
    bg = 1.0 - np.clip(gm + wm, 0, 1)
    cls = np.argmax(np.stack([bg, gm, wm]), 0)  # 0 background, 1 grey, 2 white
    rng = np.random.default_rng(0)
    half = 8

    def patches(zs, n_per_class):
        xs, ys = [], []
        for c in range(3):
            cand = np.argwhere(cls[half:-half, half:-half, zs[0]:zs[-1] + 1] == c)
            cand = cand[np.isin(cand[:, 2] + zs[0], zs)]
            for i in rng.choice(len(cand), n_per_class, replace=False):
                x, y, z = cand[i]
                x, y, z = x + half, y + half, z + zs[0]
                xs.append(t1[x - half:x + half, y - half:y + half, z])
                ys.append(c + 1)
        return xs, ys

    train_x, train_y = patches(np.arange(50, 140, 2), 300)
    test_x, test_y = patches(np.arange(51, 140, 2), 150)
    cfg = TrainConfig(task="classify", epochs=30, steps_per_epoch=20, time_budget=budget, batch_size=32,
                      normalization={"method": "none"}, model_kwargs={"widths": [16, 32]}, seed=0)
    scale = np.float32(1 / 100.0)
    model = fit([x * scale for x in train_x], None, cfg, image_classes=train_y)
    pred = [int(np.argmax(predict(model, x * scale).probabilities)) + 1 for x in test_x]
    acc = float(np.mean(np.array(pred) == np.array(test_y)))
    return {"accuracy": round(acc, 4), "train_patches": len(train_x), "test_patches": len(test_x)}


def denoise(budget: float) -> dict:
    from bioimg.inference import predict
    from bioimg.metrics import psnr
    from bioimg.sample import sample_paths
    from bioimg.training import TrainConfig, fit
    import tifffile

    clean = tifffile.imread(sample_paths("nuclei3d")[0]).astype(np.float32)  # (Z, Y, X) real stack
    rng = np.random.default_rng(0)
    sigma = 0.15 * float(np.percentile(clean, 99.5) - np.percentile(clean, 0.5))
    noisy = clean + rng.normal(0, sigma, clean.shape).astype(np.float32)
    cfg = TrainConfig(task="denoise", epochs=40, steps_per_epoch=20, time_budget=budget,
                      patch_size=(16, 64, 64), batch_size=4, seed=0)
    model = fit(noisy, None, cfg)
    den = predict(model, noisy).image
    rng_ = float(clean.max() - clean.min())
    p0, p1 = psnr(clean, noisy, data_range=rng_), psnr(clean, den, data_range=rng_)
    return {"psnr_noisy": round(p0, 2), "psnr_denoised": round(p1, 2), "gain_db": round(p1 - p0, 2)}


def _dice(pred: np.ndarray, truth: np.ndarray) -> float:
    pred, truth = pred > 0, truth > 0
    return round(float(2 * (pred & truth).sum() / max(pred.sum() + truth.sum(), 1)), 4)


def _train_cli(argv: list) -> tuple[int, str]:
    """Run ``bioimg train``; return (exit code, the printed "labels: ..." decision line)."""
    import contextlib
    import io

    from bioimg.cli import main as cli

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = cli(["train"] + argv)
    text = buf.getvalue()
    sys.stdout.write(text)
    return rc, next((line for line in text.splitlines() if line.startswith("labels:")), "")


def masks(budget: float) -> dict:
    """Binary mask and instance ids, both with --task segment, on the nuclei split."""
    import tifffile

    from bioimg.cli import main as cli
    from bioimg.modelfile import read_info

    image = tifffile.imread(SHARED / "nuclei2d" / "image.tif")
    labels = tifffile.imread(SHARED / "nuclei2d" / "labels.tif")
    split = int(image.shape[0] * 0.75)
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        tifffile.imwrite(tmp / "train.tif", image[:split])
        tifffile.imwrite(tmp / "test.tif", image[split:])
        tifffile.imwrite(tmp / "binary.tif", (labels[:split] > 0).astype(np.uint8))
        tifffile.imwrite(tmp / "ids.tif", labels[:split])
        for name in ("binary", "ids"):
            model = tmp / f"{name}.bioimg"
            rc, decision = _train_cli(["--task", "segment", "--image", str(tmp / "train.tif"), "--labels",
                                       str(tmp / f"{name}.tif"), "--out", str(model), "--epochs", "100",
                                       "--steps-per-epoch", "20", "--time-budget", str(budget),
                                       "--patch-size", "96"])
            assert rc == 0, f"train {name}: exit {rc}"
            assert cli(["predict", str(tmp / "test.tif"), "--model", str(model), "--output",
                        str(tmp / name), "--overwrite"]) == 0
            pred = tifffile.imread(tmp / name / "test_labels.tif")
            out[name] = {"decision": decision, "out_channels": read_info(model)[0].config["out_channels"],
                         "foreground_dice": _dice(pred, labels[split:])}
    return out


def brain3d(budget: float) -> dict:
    """A 3D binary brain mask through ``bioimg train/predict`` with NIfTI files (defaults for 3D)."""
    import nibabel as nib

    from bioimg.cli import main as cli
    from bioimg.io import read

    t1, gm, wm = _mni()
    affine = nib.load(SHARED / "mri" / "mni152_t1.nii.gz").affine @ np.diag([2, 2, 2, 1])
    t1, mask = t1[::2, ::2, ::2], ((gm + wm) / 255 > 0.5)[::2, ::2, ::2].astype(np.uint8)
    cut = int(t1.shape[1] * 0.7)  # (x, y, z): train on the posterior 70 %, test on the anterior slab
    out = {"shape": list(t1.shape), "train_y": [0, cut], "test_y": [cut, t1.shape[1]]}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for name, arr in (("t1", t1[:, :cut]), ("mask", mask[:, :cut]), ("test", t1[:, cut:])):
            nib.save(nib.Nifti1Image(np.ascontiguousarray(arr), affine), tmp / f"{name}.nii.gz")
        t0 = time.perf_counter()
        rc, decision = _train_cli(["--task", "segment", "--image", str(tmp / "t1.nii.gz"), "--labels",
                                   str(tmp / "mask.nii.gz"), "--out", str(tmp / "brain.bioimg"),
                                   "--time-budget", str(budget), "--epochs", "100"])
        out["train_s"] = round(time.perf_counter() - t0)
        assert rc == 0, f"train: exit {rc}"
        assert cli(["predict", str(tmp / "test.nii.gz"), "--model", str(tmp / "brain.bioimg"),
                    "--output", str(tmp / "pred")]) == 0
        written = next(p for p in (tmp / "pred").iterdir() if p.name.startswith("test_labels"))
        pred = read(written).data
        # bioimg.io reads NIfTI (x, y, z) as ZYX: compare in the reader's layout
        nib.save(nib.Nifti1Image(np.ascontiguousarray(mask[:, cut:]), affine), tmp / "truth.nii.gz")
        truth = read(tmp / "truth.nii.gz").data
        assert pred.shape == truth.shape, (pred.shape, truth.shape)
        out.update(decision=decision, output=written.name, dice_heldout=_dice(pred, truth))
    return out


def mri(budget: float) -> dict:
    from _quality_volumes import mri as run
    return run(budget)


def nuclei3d(budget: float) -> dict:
    from _quality_volumes import nuclei3d as run
    return run(budget)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", choices=("nuclei", "brain", "tissue", "denoise", "masks", "brain3d", "mri",
                                       "nuclei3d"))
    ap.add_argument("--budget", type=float, default=None,
                    help="training seconds per task (default 170; masks 60, brain3d 180, mri and nuclei3d 300)")
    args = ap.parse_args()
    jobs = {"nuclei": nuclei, "brain": brain, "tissue": tissue, "denoise": denoise, "masks": masks,
            "brain3d": brain3d, "mri": mri, "nuclei3d": nuclei3d}
    default_budget = {"masks": 60.0, "brain3d": 180.0, "mri": 300.0, "nuclei3d": 300.0}
    for name, fn in jobs.items():
        if args.only and name != args.only:
            continue
        t0 = time.perf_counter()
        result = fn(args.budget or default_budget.get(name, 170.0))
        print(f"{name}: {result}  ({time.perf_counter() - t0:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
