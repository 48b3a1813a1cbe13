"""Hand check of the ONNX import on full-size torchvision models (run with /usr/bin/python3; docs/ONNX.md).

`export OUT NAME...` writes OUT/NAME.onnx (1-channel stem, 10 classes, random weights with non-trivial batch norms as in scripts/fixtures_onnx.py,
exported as docs/ONNX.md says) and OUT/NAME.npy, PyTorch's logits on the first 200 Fashion-MNIST test images;
`compare OUT NAME...` reads OUT/NAME.logits.safetensors from
`genie evaluate --weights OUT/NAME.onnx --mean 0.2860 --std 0.3530 --logits OUT/NAME.logits.safetensors`
and prints the largest difference relative to the largest PyTorch logit. The files are too large to commit.
"""
import gzip
import json
import os
import struct
import sys

import numpy as np
import torch
import torchvision
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixtures_onnx import nontrivial_batch_norms  # noqa: E402

RAW = gzip.open("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz").read()[16:]
IMAGES = (torch.tensor(np.frombuffer(RAW, np.uint8)[:200 * 784].astype(np.float32)).reshape(200, 1, 28, 28) / 255
          - 0.2860) / 0.3530
BUILDS = {
    "resnet18": lambda: torchvision.models.resnet18(num_classes=10),
    "resnet50": lambda: torchvision.models.resnet50(num_classes=10),
    "mobilenet_v2": lambda: torchvision.models.mobilenet_v2(num_classes=10),
    "regnet_x_600mf": lambda: torchvision.models.regnet.RegNet(torchvision.models.regnet.BlockParams.from_init_params(
        depth=16, w_0=48, w_a=36.97, w_m=2.24, group_width=24), num_classes=10),
    "mnasnet1_0": lambda: torchvision.models.mnasnet1_0(num_classes=10),
    "efficientnet_b0": lambda: torchvision.models.efficientnet_b0(num_classes=10),
    "shufflenet_v2_x1_0": lambda: torchvision.models.shufflenet_v2_x1_0(num_classes=10),
}


def one_channel_stem(model):
    """Replaces the first 3-channel convolution by a 1-channel one of the same geometry."""
    for name, m in model.named_modules():
        if isinstance(m, nn.Conv2d) and m.in_channels == 3:
            parent, _, child = name.rpartition(".")
            setattr(model.get_submodule(parent) if parent else model, child,
                    nn.Conv2d(1, m.out_channels, m.kernel_size, m.stride, m.padding, bias=m.bias is not None))
            return model


def export(out, name):
    torch.manual_seed(0)
    torch.set_num_threads(2)
    model = nontrivial_batch_norms(one_channel_stem(BUILDS[name]()))
    torch.onnx.export(model, IMAGES[:1], f"{out}/{name}.onnx", training=torch.onnx.TrainingMode.PRESERVE,
                      opset_version=13, input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}})
    with torch.no_grad():
        np.save(f"{out}/{name}.npy", model(IMAGES).numpy())
    print(f"{out}/{name}.onnx")


def compare(out, name):
    data = open(f"{out}/{name}.logits.safetensors", "rb").read()
    n = struct.unpack("<Q", data[:8])[0]
    entry = json.loads(data[8:8 + n])["logits"]
    begin, end = entry["data_offsets"]
    genie = np.frombuffer(data[8 + n + begin:8 + n + end], np.float32).reshape(entry["shape"])[:200]
    torch_logits = np.load(f"{out}/{name}.npy")
    relative = np.abs(genie - torch_logits).max() / np.abs(torch_logits).max()
    print(f"{name}: max |genie - torch| / max |torch| = {relative:.2e} on 200 images")


if __name__ == "__main__":
    action, out, names = sys.argv[1], sys.argv[2], sys.argv[3:]
    for name in names:
        (export if action == "export" else compare)(out, name)
