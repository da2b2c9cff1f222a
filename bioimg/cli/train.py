"""``bioimg train``: train a model from images and labels and write a .bioimg file.

``--out`` is written once, atomically, when the run ends (finished or time
budget reached); meanwhile the best model lives in memory, so a kill at any
moment leaves an existing ``--out`` as it was. Ctrl-C / SIGTERM: see
``_interrupt``.
"""
from __future__ import annotations

import time
from pathlib import Path

from . import CLIError
from ._inputs import expand_inputs, parse_sizes
from ._interrupt import StopOnSignal, check_output, interrupted_path


def run(args) -> int:
    from bioimg.io import read
    from bioimg.io._atomic import remove_stale
    from bioimg.models import summary
    from bioimg.training import TrainConfig, Trainer
    from bioimg.training.checkpoint import state_path

    from ._progress import drive_training

    out = Path(args.out)
    check_output(out)
    state = state_path(out)
    for target in (out, interrupted_path(out), state):  # temporary files of a crashed earlier run
        remove_stale(target)
    if state.exists() and not args.resume:
        print(f"note: {state.name} of an interrupted run will be replaced (--resume continues it)")
    images = expand_inputs(args.image, "image")
    labels = expand_inputs(args.labels, "labels") if args.labels else None
    if labels is not None and len(labels) != len(images):
        raise CLIError(f"got {len(images)} image file(s) but {len(labels)} label file(s)")
    if args.task in ("segment", "instance") and labels is None:
        raise CLIError(f"--task {args.task} needs --labels")
    if args.task == "classify" and labels is None and not args.image_classes:
        raise CLIError("--task classify needs --labels (objects painted with class ids) or --image-classes")
    model_kwargs = {k: v for k, v in (("depth", args.depth), ("base_width", args.base_width),
                                      ("norm", args.norm)) if v is not None}
    config = TrainConfig(task=args.task, model=args.model, model_kwargs=model_kwargs,
                         patch_size=parse_sizes(args.patch_size), batch_size=args.batch_size,
                         epochs=args.epochs, steps_per_epoch=args.steps_per_epoch,
                         time_budget=args.time_budget, lr=args.lr, seed=args.seed,
                         val_fraction=args.val_fraction, patience=args.patience,
                         class_names=args.class_names, label_kind=args.label_kind,
                         checkpoint_every=max(0, args.checkpoint_every), volume=args.volume)
    imgs = [read(p) for p in images]
    labs = [read(p) for p in labels] if labels else None  # Images: errors name the file
    start = time.perf_counter()
    # The best model stays in memory until the run ends; the resumable state (m.state.npz) is written
    # every --checkpoint-every steps and on Ctrl-C, and removed when the run ends.
    trainer = Trainer(imgs, labs, config, image_classes=args.image_classes, init=args.init,
                      state_file=state, resume=args.resume)
    if args.resume:
        print(f"resuming from {state} (step {trainer.resumed_step})")
    if trainer.init_message:
        print(trainer.init_message)
    plan = trainer.label_plan
    if plan is not None:
        print(plan.message + (f"\nnote: {plan.note}" if plan.note else ""))
    if getattr(trainer, "volume", None) is not None:
        print(trainer.volume.message)
    print(summary(trainer.net))
    # Signals stay caught through the save: a Ctrl-C then cannot cut the final write short.
    with StopOnSignal(trainer.cancel) as stop:
        epochs = drive_training(trainer, f"train {args.task}")
        signum, signame = stop.signum, stop.name
        dest = interrupted_path(out) if signum else out
        trainer.result.save(dest)
    last = epochs[-1] if epochs else None
    best = trainer.history[(last.best_epoch or len(trainer.history)) - 1] if trainer.history else {}
    scores = ", ".join(f"{name} {best[key]:.3f}" for name, key in
                       (("val loss", "val_loss"), (last.metric_name if last else "", "val_metric"))
                       if best.get(key) is not None)
    print(f"trained {len(trainer.history)} epoch(s) in {time.perf_counter() - start:.1f} s; "
          f"best epoch {last.best_epoch if last else '-'}" + (f": {scores}" if scores else ""))
    if signum:
        kept = f"{out} left unchanged" if out.exists() else f"{out} not written"
        print(f"interrupted ({signame}): {kept}; best model so far written to {dest}; "
              f"continue with the same command and --resume (state in {state.name})")
        return 128 + signum
    print(f"model written to {out}")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("train", help="train a segmentation/classification/denoising model")
    p.add_argument("--task", choices=("segment", "instance", "classify", "denoise"), default="segment")
    p.add_argument("--image", nargs="+", required=True, help="image files, folders or globs")
    p.add_argument("--labels", nargs="+", help="label files (same order as images)")
    p.add_argument("--image-classes", nargs="+", type=int, help="classify: one class id (1..K) per image")
    p.add_argument("--out", required=True,
                   help="output model file (.bioimg), replaced atomically only when training ends "
                   "(finished or --time-budget reached). Ctrl-C/SIGTERM stops after the current "
                   "step, leaves --out as it was and writes the best model so far next to it "
                   "(m.bioimg -> m.interrupted.bioimg; exit code 130, 143 for SIGTERM); a second "
                   "Ctrl-C quits without saving")
    p.add_argument("--init", metavar="MODEL",
                   help="fine-tune: start from this model's weights, architecture and normalization "
                   "(a .bioimg file or any model bioimg predict reads); labels with another number of "
                   "classes get a new head")
    p.add_argument("--resume", action="store_true",
                   help="continue an interrupted run (same command) from its state file next to --out "
                   "(m.bioimg -> m.state.npz): weights, optimizer, schedule, step, random state, time used")
    p.add_argument("--checkpoint-every", type=int, default=100, metavar="N",
                   help="write the resumable state every N steps (default 100; 0: only on Ctrl-C)")
    p.add_argument("--model", help="architecture (unet, classifier, autoencoder)")
    p.add_argument("--depth", type=int)
    p.add_argument("--base-width", type=int)
    p.add_argument("--norm", choices=("batch", "group", "none"))
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--steps-per-epoch", type=int, default=50)
    p.add_argument("--time-budget", type=float, help="stop after this many seconds")
    p.add_argument("--patch-size", help="e.g. 128 or 32,64,64")
    p.add_argument("--batch-size", type=int, default=None,
                   help="patches per step (default: 8 in 2D, 2 in 3D)")
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--val-fraction", type=float, default=0.15)
    p.add_argument("--patience", type=int, help="early stopping after N epochs without improvement")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--class-names", nargs="+")
    p.add_argument("--label-kind", choices=("auto", "sparse", "binary", "multiclass", "instance"),
                   default="auto", help="what label values mean (default: detected; see README "
                   "'What label values mean')")
    p.add_argument("--volume", choices=("auto", "off"), default="auto",
                   help="segment, binary single-object labels on 3D images with a physical voxel size "
                   "(e.g. brain masks in MRI): 'auto' trains a 2D U-Net on slices along 3 axes at a "
                   "working resolution fitted to the object, with MRI-robust normalization, augmentation "
                   "and clean-up (printed when used); 'off': plain 3D patches")
    p.set_defaults(func=run)
