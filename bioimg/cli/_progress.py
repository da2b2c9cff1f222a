"""tqdm progress for training runs."""
from __future__ import annotations

import sys

from tqdm import tqdm


def drive_training(trainer, desc: str = "training") -> list:
    """Run ``trainer`` to the end with one progress bar; return the events of each epoch.

    With a time budget the bar counts seconds of the budget (its ETA is then
    the time left, not the remaining steps of the epoch bound at the current
    pace); otherwise it counts steps.
    """
    epochs = []
    cfg = trainer.config
    budget = cfg.time_budget
    total, unit = (float(budget), "s") if budget else (cfg.epochs * cfg.steps_per_epoch, "step")
    fmt = "{l_bar}{bar}| {n:.0f}/{total:.0f} s [{elapsed}<{remaining}{postfix}]" if budget else None
    with tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, mininterval=0.5,
              dynamic_ncols=True, bar_format=fmt) as bar:
        for ev in trainer.run():
            if budget:
                bar.update(min(ev.elapsed, budget) - bar.n)
            if ev.kind == "step":
                if not budget:
                    bar.update(1)
                bar.set_postfix(step=ev.step, loss=f"{ev.loss:.3f}", refresh=False)
            elif ev.kind == "epoch":
                epochs.append(ev)
                post = {"step": ev.step, "loss": f"{ev.loss:.3f}"}
                if ev.val_loss is not None:
                    post["val"] = f"{ev.val_loss:.3f}"
                if ev.val_metric is not None:
                    post[ev.metric_name or "metric"] = f"{ev.val_metric:.3f}"
                bar.set_postfix(post)
            else:
                bar.set_postfix_str(ev.message)
    return epochs
