"""Classification set-up for the training loop: crops and classes from image classes or painted objects."""
from __future__ import annotations

from .crops import object_crops, object_size
from .labels import classify_plan, label_name
from .prep import check_patch, labels_spatial
from .sampling import PatchSampler
from .targets import check_labels
from .tasks import ClassifyTask


def classify_task(trainer, labels, image_classes, ndim, multiple, model_kw) -> ClassifyTask:
    """Build the ``ClassifyTask`` of ``trainer`` (sets its patch, class names and label plan)."""
    cfg = trainer.config
    crops, classes = [], []
    if image_classes is not None:
        if len(image_classes) != len(trainer.images):
            raise ValueError(f"got {len(trainer.images)} images but {len(image_classes)} image classes")
        trainer.patch = trainer._patch(ndim, multiple, [im.shape[1:] for im in trainer.images])
        for im, c in zip(trainer.images, image_classes):
            sampler = PatchSampler([im], [None], trainer.patch, trainer.rng)
            crops += [sampler.sample()[0] for _ in range(8)]
            classes += [int(c)] * 8
    elif labels is not None:
        names = [label_name(lab, i, len(labels)) for i, lab in enumerate(labels)]
        labs = [check_labels(labels_spatial(lab, im.shape[1:], n), n)
                for lab, im, n in zip(labels, trainer.images, names)]
        size = (cfg.crop_size,) * ndim if cfg.crop_size else object_size(labs[0], multiple)
        trainer.patch = check_patch(size, ndim, multiple)
        for im, lab in zip(trainer.images, labs):
            c, k = object_crops(im, lab, trainer.patch)
            crops += c
            classes += k
    else:
        raise ValueError("classification needs image_classes (one per image) or object labels")
    if not crops:
        raise ValueError("labels are empty: paint at least one object per class")
    k = max(classes)
    if k < 2:
        raise ValueError("classification needs at least two classes (ids 1 and 2)")
    model_kw["num_classes"] = k
    trainer.class_names = trainer.class_names or [f"class {i}" for i in range(1, k + 1)]
    trainer.label_plan = classify_plan(k, from_objects=labels is not None)
    return ClassifyTask(crops, [c - 1 for c in classes], cfg, trainer.rng, k)

