# Driver (ours) for the 3D and 2D U-Nets of https://github.com/wolny/pytorch-3dunet (MIT, (c) 2018
# Adrian Wolny). Their package files are not copied into this repository (too long): run_programs.py
# extracts pytorch3dunet/{__init__,__version__}.py and unet3d/{model,buildingblocks,se,utils,losses}.py
# verbatim from a local snapshot into the working directory; this script trains each model a few steps
# with their losses, the way their trainer does (forward, loss, backward, optimizer step, eval).
import torch
from torch import optim

from pytorch3dunet.unet3d.losses import BCEDiceLoss, DiceLoss
from pytorch3dunet.unet3d.model import ResidualUNet3D, ResidualUNetSE3D, UNet2D, UNet3D

torch.manual_seed(0)
cases = [
    (UNet3D(1, 2, f_maps=8, num_levels=3, num_groups=4), (2, 1, 16, 16, 16), DiceLoss(normalization="sigmoid")),
    (ResidualUNet3D(1, 1, f_maps=8, num_levels=3, num_groups=4), (1, 1, 16, 16, 16), BCEDiceLoss(1.0)),
    (ResidualUNetSE3D(1, 1, f_maps=8, num_levels=2, num_groups=4), (1, 1, 8, 16, 16), BCEDiceLoss(1.0)),
    (UNet2D(3, 2, f_maps=8, num_levels=3, num_groups=4, layer_order="cbr"), (2, 3, 32, 32),
     DiceLoss(normalization="softmax")),
]
for model, shape, loss_fn in cases:
    x = torch.randn(*shape)
    target = (torch.rand(shape[0], model.final_conv.out_channels, *shape[2:]) > 0.5).float()
    opt = optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-5)
    model.train()
    losses = []
    for _ in range(3):
        opt.zero_grad()
        loss = loss_fn(model(x), target)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    model.eval()
    with torch.no_grad():
        pred = model(x)
    print(type(model).__name__, tuple(pred.shape), ["%.4f" % v for v in losses])
    assert pred.shape == target.shape and float(pred.min()) >= 0.0 and float(pred.max()) <= 1.0
