"""Exports a torchvision model's state_dict to safetensors for genie-swift.

Usage: /usr/bin/python3 scripts/export_torchvision.py ARCH OUT.safetensors [--weights FILE.pth] [--num-classes K]
ARCH is a torchvision.models constructor name (resnet18, resnet50, mobilenet_v2, ...). With --weights, a
checkpoint saved by torch.save(model.state_dict()) is loaded first (ImageNet weights cannot be downloaded here).
"""
import argparse
import os
import sys

import torch
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixtures import save  # noqa: E402

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("arch")
parser.add_argument("out")
parser.add_argument("--weights")
parser.add_argument("--num-classes", type=int, default=1000)
args = parser.parse_args()
model = getattr(torchvision.models, args.arch)(num_classes=args.num_classes)
if args.weights:
    state = torch.load(args.weights, map_location="cpu")
    model.load_state_dict(state.get("state_dict", state) if isinstance(state, dict) else state)
save(args.out, model.state_dict(), {"source": f"torchvision.models.{args.arch}"})
print(f"wrote {len(model.state_dict())} tensors to {args.out}")
