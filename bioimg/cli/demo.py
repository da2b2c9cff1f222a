"""``bioimg demo``: the end-to-end job on the real nuclei sample.

Normalizes the image, trains a 2D U-Net (instance segmentation: background /
interior / boundary) on the top 75 %, predicts the bottom 25 %, reports
precision / recall / F1 at IoU 0.5 and 0.7 against the hand-drawn masks
(next to a classical Otsu + watershed baseline), and writes the labels
(TIFF), an overlay PNG, a learning-curve PNG and the model file.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np


def classical_baseline(image: np.ndarray) -> np.ndarray:
    """Gaussian + Otsu + distance-transform watershed (the field's classical anchor)."""
    from scipy import ndimage as ndi
    from skimage.feature import peak_local_max
    from skimage.filters import gaussian, threshold_otsu
    from skimage.segmentation import watershed

    smooth = gaussian(image.astype(np.float32), 1.0)
    mask = smooth > threshold_otsu(smooth)
    dist = ndi.distance_transform_edt(mask)
    peaks = peak_local_max(dist, min_distance=5, labels=ndi.label(mask)[0], exclude_border=False)
    markers = np.zeros(mask.shape, dtype=np.int32)
    markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1)
    return watershed(-dist, markers, mask=mask)


def run(args) -> int:
    from bioimg.inference import predict
    from bioimg.io import read, write
    from bioimg.metrics import format_table, match_instances_at
    from bioimg.models import summary
    from bioimg.sample import sample_paths
    from bioimg.training import TrainConfig, Trainer

    from ._figures import loss_curve_png, overlay_png
    from ._progress import drive_training

    t_start = time.perf_counter()
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    img_path, lab_path = sample_paths("nuclei2d")
    image, truth = read(img_path), read(lab_path)
    split = int(image.data.shape[0] * 0.75)
    train_img = image.with_data(np.asarray(image.data[:split]))
    train_lab = np.asarray(truth.data[:split])
    test_img = image.with_data(np.asarray(image.data[split:]))
    test_lab = np.asarray(truth.data[split:])
    print(f"nuclei sample {image.data.shape} {image.data.dtype}: training on rows 0-{split - 1} "
          f"({int(np.unique(train_lab).size - 1)} nuclei), testing on rows {split}-{image.data.shape[0] - 1}")
    config = TrainConfig(task="instance", epochs=args.epochs, steps_per_epoch=args.steps_per_epoch,
                         time_budget=args.time_budget, batch_size=args.batch_size,
                         patch_size=(args.patch, args.patch), seed=args.seed, lr=args.lr,
                         model_kwargs={"depth": 3, "base_width": args.width})
    trainer = Trainer(train_img, train_lab, config)  # written once, at the end: a rerun never half-replaces it
    print(summary(trainer.net))
    t_train = time.perf_counter()
    drive_training(trainer, "training U-Net")
    train_time = time.perf_counter() - t_train
    model = trainer.result
    model.save(out / "nuclei_unet.bioimg")
    pred = predict(model, test_img)
    labels = pred.labels
    write(out / "nuclei_test_labels.tif", test_img.with_data(labels))
    rows = []
    for name, lab in (("bioimg U-Net", labels), ("Otsu + watershed", classical_baseline(test_img.data))):
        for m in match_instances_at(lab, test_lab, thresholds=(0.5, 0.7)):
            rows.append({"method": name, "IoU": m["thresh"], "precision": round(m["precision"], 3),
                         "recall": round(m["recall"], 3), "F1": round(m["f1"], 3),
                         "TP": m["tp"], "FP": m["fp"], "FN": m["fn"]})
    overlay_png(np.asarray(test_img.data), labels, out / "nuclei_test_overlay.png",
                truth=test_lab)
    loss_curve_png(trainer.history, out / "learning_curve.png", "mean IoU")
    print(format_table(rows))
    print(f"training {train_time:.0f} s, total {time.perf_counter() - t_start:.0f} s; "
          f"outputs in {out}/ (labels TIFF, overlay PNG, learning curve PNG, model)")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("demo", help="train and evaluate a nuclei U-Net on the real sample (main job)")
    p.add_argument("--output", default="bioimg-demo", help="output folder (default bioimg-demo)")
    p.add_argument("--time-budget", type=float, default=150.0, help="training seconds (default 150)")
    p.add_argument("--epochs", type=int, default=60)
    p.add_argument("--steps-per-epoch", type=int, default=20)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--patch", type=int, default=96)
    p.add_argument("--width", type=int, default=16, help="U-Net base width")
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=run)
