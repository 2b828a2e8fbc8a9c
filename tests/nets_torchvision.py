"""The torchvision models issue 13 names (random weights, never downloaded) and a U-Net.

``CLASSIFICATION`` and ``SEGMENTATION`` are torchvision builder names; :func:`build` makes
one with ``weights=None`` (segmentation: ``weights_backbone=None`` too).  Import needs torch
only; torchvision is imported inside :func:`build`.
"""

from __future__ import annotations

from typing import Any

CLASSIFICATION = (
    "alexnet",
    "vgg16",
    "resnet18",
    "resnet50",
    "resnext50_32x4d",
    "wide_resnet50_2",
    "densenet121",
    "googlenet",
    "inception_v3",
    "squeezenet1_0",
    "shufflenet_v2_x1_0",
    "mobilenet_v2",
    "mobilenet_v3_small",
    "mobilenet_v3_large",
    "mnasnet1_0",
    "efficientnet_b0",
    "efficientnet_v2_s",
    "regnet_y_400mf",
    "convnext_tiny",
    "vit_b_16",
    "swin_t",
    "maxvit_t",
)
SEGMENTATION = ("fcn_resnet50", "deeplabv3_resnet50", "lraspp_mobilenet_v3_large")


def build(name: str) -> Any:
    """A torchvision model with random weights (nothing is downloaded)."""
    import torchvision

    kwargs: dict[str, Any] = {"weights": None}
    if name in SEGMENTATION:
        kwargs["weights_backbone"] = None
    if name in ("googlenet", "inception_v3"):
        kwargs["init_weights"] = False  # skips scipy's slow truncated normal and a warning
    return torchvision.models.get_model(name, **kwargs)


def published_gmacs(name: str) -> float | None:
    """torchvision's published "GFLOPS" (MACs x 1e-9, 224x224) for a classification model,
    from the weights' metadata shipped in the package (the first weights entry)."""
    import torchvision

    weights = torchvision.models.get_model_weights(name)
    for w in weights:
        ops = w.meta.get("_ops")
        if ops is not None and w.transforms.keywords.get("crop_size", 224) == 224:
            return float(ops)
    return None


def unet(torch: Any, depth: int = 3, base: int = 4) -> Any:
    """A small U-Net (Ronneberger et al. 2015 with 'same' convs): ``depth`` 2x2 max pools
    down, transposed 2x2 stride-2 convs up, skip connections joined by ``torch.cat`` — which
    only lines up when every pooled size is even, so sizes must be multiples of
    ``2 ** depth``."""
    nn = torch.nn

    def block(cin: int, cout: int) -> Any:
        return nn.Sequential(
            nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU(), nn.Conv2d(cout, cout, 3, padding=1)
        )

    class UNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            chans = [base * 2**i for i in range(depth + 1)]
            self.down = nn.ModuleList(
                [block(1 if i == 0 else chans[i - 1], chans[i]) for i in range(depth)]
            )
            self.pool = nn.MaxPool2d(2)
            self.mid = block(chans[depth - 1], chans[depth])
            self.up = nn.ModuleList(
                [
                    nn.ConvTranspose2d(chans[i + 1], chans[i], 2, stride=2)
                    for i in reversed(range(depth))
                ]
            )
            self.dec = nn.ModuleList(
                [block(2 * chans[i], chans[i]) for i in reversed(range(depth))]
            )
            self.head = nn.Conv2d(chans[0], 2, 1)

        def forward(self, x: Any) -> Any:
            skips = []
            for down in self.down:
                x = down(x)
                skips.append(x)
                x = self.pool(x)
            x = self.mid(x)
            for up, dec, skip in zip(self.up, self.dec, reversed(skips)):
                x = dec(torch.cat([up(x), skip], dim=1))
            return self.head(x)

    return UNet()


def unet_upsample(torch: Any, depth: int = 3, base: int = 4, mode: str = "nearest") -> Any:
    """:func:`unet` with ``nn.Upsample(scale_factor=2, mode=mode)`` and a 1x1 conv instead of
    each transposed conv (the "resize-convolution" U-Net): the same valid sizes, multiples
    of ``2 ** depth``."""
    nn = torch.nn
    model = unet(torch, depth=depth, base=base)
    chans = [base * 2**i for i in range(depth + 1)]
    model.up = nn.ModuleList(
        [
            nn.Sequential(
                nn.Upsample(scale_factor=2, mode=mode), nn.Conv2d(chans[i + 1], chans[i], 1)
            )
            for i in reversed(range(depth))
        ]
    )
    return model


def brute_sizes(torch: Any, model: Any, channels: int, other: int, stop: int) -> list[int]:
    """The sizes ``1 .. stop - 1`` of the first spatial axis (the second at ``other``) on which
    ``model`` runs: build the input and call it, catching PyTorch's errors."""
    model.eval()
    ok = []
    for n in range(1, stop):
        try:
            with torch.no_grad():
                model(torch.zeros(1, channels, n, other))
        except RuntimeError:
            continue
        ok.append(n)
    return ok
