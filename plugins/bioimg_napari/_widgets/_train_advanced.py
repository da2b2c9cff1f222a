"""The Train widget's "Advanced" fields: patch, batch, epochs, steps, learning rate, model size, seed."""
from __future__ import annotations

from magicgui.widgets import Container, FloatSpinBox, LineEdit, SpinBox
from qtpy.QtCore import Qt
from qtpy.QtWidgets import QToolButton


def build_advanced(self) -> None:
    """Model size and loop bounds of the Train widget ``self``, folded behind an "Advanced" toggle."""
    self.patch = LineEdit(value="auto", label="patch size", name="patch")
    self.patch.tooltip = "Training patch size: one number (64) or one per axis (16,64,64); auto fits the image."
    self.batch = FloatSpinBox(value=0, min=0, max=1024, step=1, label="batch size", name="batch")
    self.batch.tooltip = ("Patches per step: larger is smoother but slower and uses more memory; "
                          "auto: 8 in 2D, 2 in 3D.")
    self.epochs = SpinBox(value=20, min=1, max=100_000, label="epochs (max)", name="epochs")
    self.epochs.tooltip = ("Upper bound on epochs; with a time budget an epoch also ends every budget/10, "
                           "so validation runs about 10 times.")
    self.steps = SpinBox(value=50, min=1, max=100_000, label="steps per epoch", name="steps")
    self.steps.tooltip = "Upper bound on training steps per epoch (validation follows each epoch)."
    self.lr = FloatSpinBox(value=3e-3, min=1e-6, max=1.0, step=1e-3, label="learning rate", name="lr")
    self.lr.native.setDecimals(5)
    self.lr.tooltip = "Peak learning rate of the cosine schedule (AdamW); lower it if training diverges."
    # FloatSpinBox with 0 decimals: magicgui's int SpinBox cannot show "auto" for 0
    self.depth = FloatSpinBox(value=0, min=0, max=6, step=1, label="depth", name="depth")
    self.depth.tooltip = "Network depth (down-sampling levels); auto: 3 in 2D, 2 in 3D."
    self.base_width = FloatSpinBox(value=0, min=0, max=256, step=4, label="base width", name="base_width")
    self.base_width.tooltip = "Channels of the first layer (doubled at each level); auto: 16."
    for w in (self.batch, self.depth, self.base_width):
        w.native.setDecimals(0)
        w.native.setSpecialValueText("auto")
    self.seed = SpinBox(value=0, min=0, max=2**31 - 1, label="seed", name="seed")
    self.seed.tooltip = "Random seed: the same seed and inputs give the same model on this machine."
    self.advanced = Container(labels=True, widgets=[self.patch, self.batch, self.epochs, self.steps,
                                                    self.lr, self.depth, self.base_width, self.seed])
    self.advanced.native.layout().setContentsMargins(12, 0, 0, 0)
    self.advanced.visible = False
    self.advanced_toggle = QToolButton()
    self.advanced_toggle.setText("Advanced")
    self.advanced_toggle.setCheckable(True)
    self.advanced_toggle.setToolButtonStyle(Qt.ToolButtonTextBesideIcon)
    self.advanced_toggle.setArrowType(Qt.RightArrow)
    self.advanced_toggle.setAutoRaise(True)
    self.advanced_toggle.setToolTip("Show or hide the patch size, batch, epochs, learning rate, model "
                                    "size and seed.")
    self.advanced_toggle.toggled.connect(lambda unfolded: fold(self, unfolded))
    layout = self.form.native.parentWidget().layout()  # wherever the base put the form: right below it
    at = layout.indexOf(self.form.native) + 1
    layout.insertWidget(at, self.advanced_toggle)
    layout.insertWidget(at + 1, self.advanced.native)


def fold(self, unfolded: bool) -> None:
    """Show or hide the Advanced fields."""
    self.advanced.visible = unfolded
    self.advanced_toggle.setArrowType(Qt.DownArrow if unfolded else Qt.RightArrow)
