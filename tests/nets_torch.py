"""Hand-written PyTorch builders of torchvision's classification networks (no torchvision here).

Each builder follows torchvision's source (``torchvision/models/*.py``) layer for layer, with
the same attribute names, so ``torch.fx`` node names match torchvision's:

- ``alexnet``: ``features`` + ``AdaptiveAvgPool2d((6, 6))`` + ``classifier``;
- ``vgg16``: configuration "D", no batch norm, ``AdaptiveAvgPool2d((7, 7))``;
- ``resnet18`` / ``resnet50``: ``BasicBlock`` / ``Bottleneck`` (v1.5: the stride is on the
  3x3 conv), projection shortcuts ``downsample = Sequential(conv1x1, BatchNorm2d)``;
- ``mobilenet_v2``: width 1.0, inverted residuals with ReLU6, last channel 1280,
  ``Dropout(0.2)`` + ``Linear(1280, 1000)``.

torch is imported lazily so that importing this module never needs it.

The blocks repeat each other as torchvision's source does (``BasicBlock`` and ``Bottleneck``
forward passes, say): a transcription on purpose, so that what the import tests trace is
what torchvision users trace.  Do not factor them.
"""

from __future__ import annotations

from typing import Any


def _nn() -> Any:
    import torch.nn as nn

    return nn


def alexnet(num_classes: int = 1000) -> Any:
    import torch

    nn = _nn()

    class AlexNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.features = nn.Sequential(
                nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(kernel_size=3, stride=2),
                nn.Conv2d(64, 192, kernel_size=5, padding=2),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(kernel_size=3, stride=2),
                nn.Conv2d(192, 384, kernel_size=3, padding=1),
                nn.ReLU(inplace=True),
                nn.Conv2d(384, 256, kernel_size=3, padding=1),
                nn.ReLU(inplace=True),
                nn.Conv2d(256, 256, kernel_size=3, padding=1),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(kernel_size=3, stride=2),
            )
            self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
            self.classifier = nn.Sequential(
                nn.Dropout(p=0.5),
                nn.Linear(256 * 6 * 6, 4096),
                nn.ReLU(inplace=True),
                nn.Dropout(p=0.5),
                nn.Linear(4096, 4096),
                nn.ReLU(inplace=True),
                nn.Linear(4096, num_classes),
            )

        def forward(self, x: Any) -> Any:
            x = self.features(x)
            x = self.avgpool(x)
            x = torch.flatten(x, 1)
            return self.classifier(x)

    return AlexNet()


def vgg16(num_classes: int = 1000) -> Any:
    import torch

    nn = _nn()
    cfg_d: list[Any] = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M"]
    cfg_d += [512, 512, 512, "M", 512, 512, 512, "M"]

    class VGG(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            layers: list[Any] = []
            in_channels = 3
            for v in cfg_d:
                if v == "M":
                    layers += [nn.MaxPool2d(kernel_size=2, stride=2)]
                else:
                    layers += [nn.Conv2d(in_channels, v, kernel_size=3, padding=1)]
                    layers += [nn.ReLU(inplace=True)]
                    in_channels = v
            self.features = nn.Sequential(*layers)
            self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
            self.classifier = nn.Sequential(
                nn.Linear(512 * 7 * 7, 4096),
                nn.ReLU(True),
                nn.Dropout(p=0.5),
                nn.Linear(4096, 4096),
                nn.ReLU(True),
                nn.Dropout(p=0.5),
                nn.Linear(4096, num_classes),
            )

        def forward(self, x: Any) -> Any:
            x = self.features(x)
            x = self.avgpool(x)
            x = torch.flatten(x, 1)
            return self.classifier(x)

    return VGG()


def _conv3x3(in_planes: int, out_planes: int, stride: int = 1) -> Any:
    return _nn().Conv2d(in_planes, out_planes, 3, stride=stride, padding=1, bias=False)


def _conv1x1(in_planes: int, out_planes: int, stride: int = 1) -> Any:
    return _nn().Conv2d(in_planes, out_planes, 1, stride=stride, bias=False)


def _resnet(block_kind: str, layers: list[int], num_classes: int = 1000) -> Any:
    import torch

    nn = _nn()

    # independent on purpose: BasicBlock and Bottleneck transcribe torchvision (module docstring)
    class BasicBlock(nn.Module):
        expansion = 1

        def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: Any = None):
            super().__init__()
            self.conv1 = _conv3x3(inplanes, planes, stride)
            self.bn1 = nn.BatchNorm2d(planes)
            self.relu = nn.ReLU(inplace=True)
            self.conv2 = _conv3x3(planes, planes)
            self.bn2 = nn.BatchNorm2d(planes)
            self.downsample = downsample
            self.stride = stride

        def forward(self, x: Any) -> Any:
            identity = x
            out = self.conv1(x)
            out = self.bn1(out)
            out = self.relu(out)
            out = self.conv2(out)
            out = self.bn2(out)
            if self.downsample is not None:
                identity = self.downsample(x)
            out += identity
            out = self.relu(out)
            return out

    class Bottleneck(nn.Module):
        expansion = 4

        def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: Any = None):
            super().__init__()
            width = planes  # base_width 64, groups 1
            self.conv1 = _conv1x1(inplanes, width)
            self.bn1 = nn.BatchNorm2d(width)
            self.conv2 = _conv3x3(width, width, stride)
            self.bn2 = nn.BatchNorm2d(width)
            self.conv3 = _conv1x1(width, planes * self.expansion)
            self.bn3 = nn.BatchNorm2d(planes * self.expansion)
            self.relu = nn.ReLU(inplace=True)
            self.downsample = downsample
            self.stride = stride

        def forward(self, x: Any) -> Any:
            identity = x
            out = self.conv1(x)
            out = self.bn1(out)
            out = self.relu(out)
            out = self.conv2(out)
            out = self.bn2(out)
            out = self.relu(out)
            out = self.conv3(out)
            out = self.bn3(out)
            if self.downsample is not None:
                identity = self.downsample(x)
            out += identity
            out = self.relu(out)
            return out

    block = BasicBlock if block_kind == "basic" else Bottleneck

    class ResNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inplanes = 64
            self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)
            self.bn1 = nn.BatchNorm2d(64)
            self.relu = nn.ReLU(inplace=True)
            self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
            self.layer1 = self._make_layer(64, layers[0])
            self.layer2 = self._make_layer(128, layers[1], stride=2)
            self.layer3 = self._make_layer(256, layers[2], stride=2)
            self.layer4 = self._make_layer(512, layers[3], stride=2)
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc = nn.Linear(512 * block.expansion, num_classes)

        def _make_layer(self, planes: int, blocks: int, stride: int = 1) -> Any:
            downsample = None
            if stride != 1 or self.inplanes != planes * block.expansion:
                downsample = nn.Sequential(
                    _conv1x1(self.inplanes, planes * block.expansion, stride),
                    nn.BatchNorm2d(planes * block.expansion),
                )
            out = [block(self.inplanes, planes, stride, downsample)]
            self.inplanes = planes * block.expansion
            for _ in range(1, blocks):
                out.append(block(self.inplanes, planes))
            return nn.Sequential(*out)

        def forward(self, x: Any) -> Any:
            x = self.conv1(x)
            x = self.bn1(x)
            x = self.relu(x)
            x = self.maxpool(x)
            x = self.layer1(x)
            x = self.layer2(x)
            x = self.layer3(x)
            x = self.layer4(x)
            x = self.avgpool(x)
            x = torch.flatten(x, 1)
            return self.fc(x)

    return ResNet()


def resnet18(num_classes: int = 1000) -> Any:
    return _resnet("basic", [2, 2, 2, 2], num_classes)


def resnet50(num_classes: int = 1000) -> Any:
    return _resnet("bottleneck", [3, 4, 6, 3], num_classes)


def _make_divisible(v: float, divisor: int = 8) -> int:
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


def mobilenet_v2(num_classes: int = 1000) -> Any:
    import torch
    import torch.nn.functional as F

    nn = _nn()

    class Conv2dNormActivation(nn.Sequential):
        def __init__(self, inp: int, oup: int, kernel_size: int = 3, stride: int = 1, groups=1):
            padding = (kernel_size - 1) // 2
            super().__init__(
                nn.Conv2d(inp, oup, kernel_size, stride, padding, groups=groups, bias=False),
                nn.BatchNorm2d(oup),
                nn.ReLU6(inplace=True),
            )

    class InvertedResidual(nn.Module):
        def __init__(self, inp: int, oup: int, stride: int, expand_ratio: int) -> None:
            super().__init__()
            hidden_dim = round(inp * expand_ratio)
            self.use_res_connect = stride == 1 and inp == oup
            layers: list[Any] = []
            if expand_ratio != 1:
                layers.append(Conv2dNormActivation(inp, hidden_dim, kernel_size=1))
            layers += [
                Conv2dNormActivation(hidden_dim, hidden_dim, stride=stride, groups=hidden_dim),
                nn.Conv2d(hidden_dim, oup, 1, 1, 0, bias=False),
                nn.BatchNorm2d(oup),
            ]
            self.conv = nn.Sequential(*layers)

        def forward(self, x: Any) -> Any:
            if self.use_res_connect:
                return x + self.conv(x)
            return self.conv(x)

    class MobileNetV2(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            input_channel, last_channel = 32, 1280
            settings = [
                [1, 16, 1, 1],
                [6, 24, 2, 2],
                [6, 32, 3, 2],
                [6, 64, 4, 2],
                [6, 96, 3, 1],
                [6, 160, 3, 2],
                [6, 320, 1, 1],
            ]
            input_channel = _make_divisible(input_channel * 1.0)
            self.last_channel = _make_divisible(last_channel * max(1.0, 1.0))
            features: list[Any] = [Conv2dNormActivation(3, input_channel, stride=2)]
            for t, c, n, s in settings:
                output_channel = _make_divisible(c * 1.0)
                for i in range(n):
                    stride = s if i == 0 else 1
                    features.append(InvertedResidual(input_channel, output_channel, stride, t))
                    input_channel = output_channel
            features.append(Conv2dNormActivation(input_channel, self.last_channel, kernel_size=1))
            self.features = nn.Sequential(*features)
            self.classifier = nn.Sequential(
                nn.Dropout(p=0.2), nn.Linear(self.last_channel, num_classes)
            )

        def forward(self, x: Any) -> Any:
            x = self.features(x)
            x = F.adaptive_avg_pool2d(x, (1, 1))
            x = torch.flatten(x, 1)
            return self.classifier(x)

    return MobileNetV2()


BUILDERS = {
    "alexnet": alexnet,
    "vgg16": vgg16,
    "resnet18": resnet18,
    "resnet50": resnet50,
    "mobilenet_v2": mobilenet_v2,
}
