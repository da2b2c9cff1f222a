"""``bioimg denoise``: self-supervised (Noise2Void) denoising of noisy stacks, or a trained model."""
from __future__ import annotations

import sys
from pathlib import Path

from ._inputs import expand_inputs, parse_sizes, stem
from ._outputs import output_suffix


def run(args) -> int:
    from tqdm import tqdm

    from bioimg.inference import predict
    from bioimg.io import read
    from bioimg.modelfile import load_model
    from bioimg.training import TrainConfig, Trainer

    from ._progress import drive_training
    from .predict import write_prediction

    inputs = expand_inputs(args.inputs)
    images = [read(p) for p in inputs]
    if args.model:
        model = load_model(args.model)
        if model.task != "denoise":
            from . import CLIError
            raise CLIError(f"{args.model} is a {model.task} model, not a denoising model")
    else:
        config = TrainConfig(task="denoise", epochs=args.epochs, steps_per_epoch=args.steps_per_epoch,
                             time_budget=args.time_budget, patch_size=parse_sizes(args.patch_size),
                             batch_size=args.batch_size, seed=args.seed)
        trainer = Trainer(images, None, config)
        drive_training(trainer, "self-supervised training")
        model = trainer.result
        if args.save_model:
            model.save(args.save_model)
            print(f"model written to {args.save_model}")
    out_dir = Path(args.output)
    out_dir.mkdir(parents=True, exist_ok=True)
    for path, img in tqdm(list(zip(inputs, images)), desc="denoise", unit="file", file=sys.stderr):
        pred = predict(model, img)
        for w in write_prediction(img, pred, out_dir, stem(path), False, output_suffix(path)):
            print(w)
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("denoise", help="denoise stacks (self-supervised, no clean data needed)")
    p.add_argument("inputs", nargs="+", help="noisy image files, folders or globs")
    p.add_argument("--output", required=True,
                   help="output folder: NAME_denoised in the input's format (NIfTI/DICOM -> .nii.gz, "
                   "OME-TIFF -> .ome.tif, else .tif)")
    p.add_argument("--model", help="use a trained denoising model instead of training on the inputs")
    p.add_argument("--save-model", help="write the self-supervised model here (.bioimg)")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--steps-per-epoch", type=int, default=50)
    p.add_argument("--time-budget", type=float)
    p.add_argument("--patch-size")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=run)
