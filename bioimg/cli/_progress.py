"""tqdm progress for training runs."""
from __future__ import annotations

import sys

from tqdm import tqdm


def drive_training(trainer, desc: str = "training") -> list:
    """Run ``trainer`` to the end with one progress bar; return the events of each epoch."""
    epochs = []
    cfg = trainer.config
    total = cfg.epochs * cfg.steps_per_epoch
    with tqdm(total=total, desc=desc, unit="step", file=sys.stderr, mininterval=0.5,
              dynamic_ncols=True) as bar:
        for ev in trainer.run():
            if ev.kind == "step":
                bar.update(1)
                bar.set_postfix(loss=f"{ev.loss:.3f}", refresh=False)
            elif ev.kind == "epoch":
                epochs.append(ev)
                post = {"loss": f"{ev.loss:.3f}"}
                if ev.val_loss is not None:
                    post["val"] = f"{ev.val_loss:.3f}"
                if ev.val_metric is not None:
                    post[ev.metric_name or "metric"] = f"{ev.val_metric:.3f}"
                bar.set_postfix(post)
            else:
                bar.set_postfix_str(ev.message)
    return epochs
