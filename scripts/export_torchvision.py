"""Exports a torchvision model's state_dict to safetensors for genie-swift.

Usage: /usr/bin/python3 scripts/export_torchvision.py ARCH OUT.safetensors [--weights FILE.pth]
       [--num-classes K] [--metadata KEY=VALUE ...]
ARCH is a torchvision.models constructor name (resnet18, resnet50, mobilenet_v2, ...). With --weights, the
state_dict saved by torch.save(model.state_dict()) is exported as it is (any input channels, width or class
count: pass the same options to genie's --in-channels, --width-mult, --num-classes); without it, a freshly
initialized ARCH (ImageNet weights cannot be downloaded here).
"""
import argparse
import os
import sys

import torch
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixtures import save  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("arch")
    parser.add_argument("out")
    parser.add_argument("--weights")
    parser.add_argument("--num-classes", type=int, default=1000)
    parser.add_argument("--metadata", nargs="*", default=[], help="extra KEY=VALUE metadata")
    args = parser.parse_args()
    if args.weights:
        state = torch.load(args.weights, map_location="cpu")
        state = state.get("state_dict", state)
    else:
        state = getattr(torchvision.models, args.arch)(num_classes=args.num_classes).state_dict()
    metadata = {"source": f"torchvision.models.{args.arch}"}
    metadata.update(item.split("=", 1) for item in args.metadata)
    save(args.out, state, metadata)
    print(f"wrote {len(state)} tensors to {args.out}")


if __name__ == "__main__":
    main()
