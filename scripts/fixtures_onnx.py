"""Writes the ONNX-import fixtures (run with /usr/bin/python3; needs python3-torchvision, torch 1.13):

- Tests/Fixtures/onnx/<name>.onnx: torchvision designs with a 1-channel stem and 10 classes, randomly initialized
  (torch.manual_seed) with non-trivial batch norms (random affine parameters, running statistics from a few
  train-mode passes on random data), exported as docs/ONNX.md says: `torch.onnx.export(model.eval(), x, f,
  training=torch.onnx.TrainingMode.PRESERVE, opset_version=13)` with a dynamic batch. Small widths keep the files
  small: resnet_small is torchvision's ResNet (BasicBlock, [1, 1, 1, 1]) at widths 8-64, mobilenet_v2 is
  torchvision's mobilenet_v2(width_mult=0.25), regnet_x_small a RegNetX of RegNetX-600MF's design (grouped
  convolutions) at depth 6 and widths 16-64, mnasnet is torchvision's MNASNet(alpha=0.25), efficientnet_small is
  torchvision's EfficientNet-B0 design (SiLU, squeeze-excite) at width 0.25 and depth 0.34, shufflenet_v2 is
  torchvision's ShuffleNetV2([2, 2, 2], [8, 16, 32, 64, 128]) (channel shuffle: Reshape/Transpose, torch.chunk,
  Concat; MaxPool in the stem), also exported at opset 17 as shufflenet_v2_opset17, and resnet_bottleneck_small is
  torchvision's ResNet with Bottleneck blocks (resnet50's design) at [1, 1, 1, 1] and widths 8-64 (outputs x4).
- Tests/Fixtures/onnx/logits.safetensors: `input` [4, 1, 28, 28] (standard-normal, as normalized images) and
  `<name>.logits`, PyTorch's eval-mode logits of each model on it.
"""
import os
import sys

import torch
import torchvision
from torch import nn
from torchvision.models.efficientnet import EfficientNet, _efficientnet_conf
from torchvision.models.mnasnet import MNASNet
from torchvision.models.regnet import BlockParams, RegNet
from torchvision.models.resnet import BasicBlock, Bottleneck, ResNet
from torchvision.models.shufflenetv2 import ShuffleNetV2

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixtures import FIXTURES, save  # noqa: E402

OUT = os.path.join(FIXTURES, "onnx")


class SmallResNet(ResNet):
    """torchvision's ResNet (its forward, its layer names) with BasicBlocks at narrow widths and a 1-channel stem."""

    def __init__(self, widths=(8, 16, 32, 64), layers=(1, 1, 1, 1), num_classes=10, block=BasicBlock):
        nn.Module.__init__(self)
        self._norm_layer, self.dilation, self.groups, self.base_width = nn.BatchNorm2d, 1, 1, 64
        self.inplanes = widths[0]
        self.conv1 = nn.Conv2d(1, widths[0], kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, widths[0], layers[0])
        self.layer2 = self._make_layer(block, widths[1], layers[1], stride=2)
        self.layer3 = self._make_layer(block, widths[2], layers[2], stride=2)
        self.layer4 = self._make_layer(block, widths[3], layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(widths[3] * block.expansion, num_classes)


def resnet_bottleneck_small():
    """resnet50's design (Bottleneck blocks, outputs 4x the block width) at [1, 1, 1, 1] and widths 8-64."""
    return SmallResNet(block=Bottleneck)


def shufflenet_v2():
    """torchvision's ShuffleNetV2 at narrow widths: stem 8, stages 16-64 (two blocks each), conv5 128."""
    model = ShuffleNetV2([2, 2, 2], [8, 16, 32, 64, 128], num_classes=10)
    model.conv1[0] = nn.Conv2d(1, 8, 3, stride=2, padding=1, bias=False)
    return model


def mobilenet_v2():
    model = torchvision.models.mobilenet_v2(width_mult=0.25, num_classes=10)
    stem = model.features[0][0]
    model.features[0][0] = nn.Conv2d(1, stem.out_channels, 3, stride=2, padding=1, bias=False)
    return model


def regnet_x_small():
    """RegNetX-600MF is depth=16, w_0=48, w_a=36.97, w_m=2.24, group_width=24; this one is narrower and shallower."""
    model = RegNet(BlockParams.from_init_params(depth=6, w_0=16, w_a=8.0, w_m=2.0, group_width=8), num_classes=10)
    model.stem[0] = nn.Conv2d(1, model.stem[0].out_channels, 3, stride=2, padding=1, bias=False)
    return model


def mnasnet():
    model = MNASNet(0.25, num_classes=10)
    model.layers[0] = nn.Conv2d(1, model.layers[0].out_channels, 3, stride=2, padding=1, bias=False)
    return model


def efficientnet_small():
    setting, last_channel = _efficientnet_conf("efficientnet_b0", width_mult=0.25, depth_mult=0.34)
    model = EfficientNet(setting, 0.2, num_classes=10, last_channel=last_channel)
    model.features[0][0] = nn.Conv2d(1, model.features[0][0].out_channels, 3, stride=2, padding=1, bias=False)
    return model


def nontrivial_batch_norms(model):
    """Random affine parameters, then running statistics from train-mode passes on random data."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            nn.init.uniform_(m.weight, 0.5, 1.5)
            nn.init.normal_(m.bias, std=0.2)
    model.train()
    with torch.no_grad():
        for _ in range(4):
            model(torch.randn(16, 1, 28, 28) * 1.5 + 0.3)
    return model.eval()


def main():
    torch.manual_seed(0)
    torch.set_num_threads(2)
    os.makedirs(OUT, exist_ok=True)
    x = torch.randn(4, 1, 28, 28)
    tensors = {"input": x}
    for name, build in [("resnet_small", SmallResNet), ("mobilenet_v2", mobilenet_v2),
                        ("regnet_x_small", regnet_x_small), ("mnasnet", mnasnet), ("efficientnet_small", efficientnet_small),
                        ("shufflenet_v2", shufflenet_v2), ("resnet_bottleneck_small", resnet_bottleneck_small)]:
        model = nontrivial_batch_norms(build())
        export(model, x, name, opset=13)
        with torch.no_grad():
            tensors[name + ".logits"] = model(x)
        if name == "shufflenet_v2":  # the same model at opset 17, the newest torch 1.13 writes
            export(model, x, name + "_opset17", opset=17)
    save(os.path.join(OUT, "logits.safetensors"), tensors)


def export(model, x, name, opset):
    path = os.path.join(OUT, name + ".onnx")
    torch.onnx.export(model, x[:1], path, training=torch.onnx.TrainingMode.PRESERVE, opset_version=opset,
                      input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}})
    print(f"{path}: {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    main()
