"""Checks ONNX files written by `genie export` against genie itself (scripts/check_onnx.sh runs it).

    check_onnx.py GENIE_LOGITS.safetensors GENIE_JSON --exact FLOAT_BIASES.onnx --deployed INT32_BIASES.onnx

GENIE_LOGITS and GENIE_JSON come from `genie evaluate --quantized FILE --json --logits GENIE_LOGITS`. Each ONNX
file is validated with the ONNX checker and run with onnxruntime on the Fashion-MNIST test set (normalized with
the mean and std its metadata records):

- exact: the export with float32 biases (`genie export --float-biases`), run without onnxruntime's
  WeightBiasQuantization transformer (which rounds float biases to int32 at load). Same model as genie's, so the
  logits must agree to float tolerance, except on the images where a float rounding difference (oneDNN and
  onnxruntime sum convolutions in different orders) lands an activation on the other side of a rounding midpoint.
  Such a flip moves one activation by one step, so the check fails when more than 5% of images differ and the
  logits moved by more than 0.5% of their range (the mean over images, as for `deployed` below), or when more than
  0.5% of predictions differ. (The MobileNetV2 W4A4 of check_onnx.sh, at genie's softbit rate for 20 iterations:
  logits within 1e-4 on 94.94% of images, moved 0.149% of their range, 99.91% of predictions the same.)
- deployed: the default export (int32 biases), run as onnxruntime runs it by default, on the first 2000 images. The
  int32 biases round the quantized model's float biases to the accumulator grid (step s_a * s_w), and in a 2- or
  4-bit network that moves some predictions either way (a few percent in ResNet-20, far more in a poorly quantized
  MobileNetV2; docs/ONNX.md): top-1 must stay within 2 points (a wrongly encoded bias costs far more), unless the
  logits moved by less than 2% of their range (each image's largest change over its largest minus its smallest
  logit, the mean over images): a model at chance, such as the untrained ONNX fixtures after 20 iterations, has
  logits so close together that moves that small flip its predictions (the MobileNetV2 fixture at W4A4 on an AVX2
  CPU: top-1 7.65% against 9.70%, the logits moved 0.8% of their range; three other models of check_onnx.sh moved
  1.5-5.8% there; a wrongly encoded bias would move them by their whole range).

Exits 1 when a check fails.
"""
import argparse
import gzip
import json
import struct
import sys

import numpy as np
import onnx
import onnxruntime as ort

DATA = "/usr/share/datasets/fashion-mnist"


def idx(path):
    """An IDX file (gzip) as a uint8 array."""
    with gzip.open(path) as f:
        data = f.read()
    rank = data[3]
    shape = struct.unpack(">" + "I" * rank, data[4:4 + 4 * rank])
    return np.frombuffer(data, np.uint8, offset=4 + 4 * rank).reshape(shape)


def safetensors_f32(path, name):
    """One F32 tensor of a safetensors file."""
    with open(path, "rb") as f:
        data = f.read()
    (size,) = struct.unpack("<Q", data[:8])
    entry = json.loads(data[8:8 + size])[name]
    assert entry["dtype"] == "F32", entry
    start, end = entry["data_offsets"]
    return np.frombuffer(data[8 + size + start:8 + size + end], np.float32).reshape(entry["shape"])


def check_rounding():
    """onnxruntime's QuantizeLinear rounds half to even and saturates to the type, as genie's quantizers assume."""
    from onnx import TensorProto, helper
    x = np.array([0.25, 0.75, 1.25, -0.25, -0.75, 3.9, 100, -100], np.float32)  # halves and out-of-range values, scale 0.5
    expected = {TensorProto.INT8: [0, 2, 2, 0, -2, 8, 127, -128], TensorProto.UINT8: [0, 2, 2, 0, 0, 8, 200, 0],
                TensorProto.INT4: [0, 2, 2, 0, -2, 7, 7, -8], TensorProto.UINT4: [0, 2, 2, 0, 0, 8, 15, 0]}
    for dtype, levels in expected.items():
        graph = helper.make_graph(
            [helper.make_node("QuantizeLinear", ["x", "s", "z"], ["q"]), helper.make_node("DequantizeLinear", ["q", "s", "z"], ["y"])],
            "rounding", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [len(x)])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [len(x)])],
            [helper.make_tensor("s", TensorProto.FLOAT, [], [0.5]), helper.make_tensor("z", dtype, [], [0])])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)], ir_version=10)
        y = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(["y"], {"x": x})[0]
        assert list(y / 0.5) == levels, (TensorProto.DataType.Name(dtype), y / 0.5, levels)
    print("onnxruntime QuantizeLinear rounds half to even and saturates (int8, uint8, int4, uint4): ok")


def run(path, images, disabled_optimizers=()):
    """The checked model's metadata and its logits on `images` (pixels in [0, 1])."""
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    meta = {p.key: p.value for p in model.metadata_props}
    mean = np.array([float(v) for v in meta["mean"].split(",")], np.float32).reshape(1, -1, 1, 1)
    std = np.array([float(v) for v in meta["std"].split(",")], np.float32).reshape(1, -1, 1, 1)
    x = ((images - mean) / std).astype(np.float32)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"],
                                   disabled_optimizers=list(disabled_optimizers))
    logits = np.concatenate([session.run(["logits"], {"input": x[i:i + 500]})[0] for i in range(0, len(x), 500)])
    return model.opset_import[0].version, meta, logits


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("genie_logits")
    parser.add_argument("genie_json")
    parser.add_argument("--exact", required=True, help="the export with --float-biases")
    parser.add_argument("--deployed", required=True, help="the default export (int32 biases)")
    args = parser.parse_args()

    images = idx(f"{DATA}/t10k-images-idx3-ubyte.gz")[:, None].astype(np.float32) / np.float32(255)
    labels = idx(f"{DATA}/t10k-labels-idx1-ubyte.gz").astype(np.int64)
    genie = safetensors_f32(args.genie_logits, "logits")
    with open(args.genie_json) as f:
        genie_top1 = json.load(f)["top1"]
    scale = np.maximum(1, np.abs(genie).max(1))  # per image: float tolerances are relative to the largest logit

    check_rounding()
    failures = []
    # The exact check on all images; the deployed one, looser, on the first 2000 (time).
    for mode, path, disabled, n in [("exact", args.exact, ["WeightBiasQuantization"], len(images)),
                                    ("deployed", args.deployed, [], 2000)]:
        opset, meta, logits = run(path, images[:n], disabled)
        assert logits.shape == genie[:n].shape, (logits.shape, genie.shape)
        top1 = 100 * float(np.mean(logits.argmax(1) == labels[:n]))
        reference = genie_top1 if n == len(genie) else 100 * float(np.mean(genie[:n].argmax(1) == labels[:n]))
        agree = 100 * float(np.mean(logits.argmax(1) == genie[:n].argmax(1)))
        diff = np.abs(logits - genie[:n]).max(1)
        equal = 100 * float(np.mean(diff <= 1e-4 * scale[:n]))
        # How far the logits moved, against how far genie's spread apart: each image's largest logit change over its
        # range of logits (largest minus smallest), the mean over images.
        spread = np.maximum(genie[:n].max(1) - genie[:n].min(1), np.finfo(np.float32).tiny)
        moved = float(np.mean(diff / spread))
        print(f"{mode:8} {path} (opset {opset}, {meta['arch']} W{meta['wbits']}A{meta['abits']}, {n} images): "
              f"top-1 onnxruntime {top1:.2f}%, genie {reference:.2f}%; same prediction on {agree:.2f}% of images; "
              f"logits equal to 1e-4 (relative) on {equal:.2f}% of images; |ORT - genie| max {diff.max():.3g}, "
              f"mean {np.abs(logits - genie[:n]).mean():.3g}; moved {100 * moved:.3g}% of the logits' range")
        if mode == "exact":
            if abs(top1 - reference) > 0.1:
                failures.append(f"{mode}: top-1 differs by more than 0.1 points")
            if (equal < 95 and moved > 0.005) or agree < 99.5:
                failures.append(f"{mode}: logits differ beyond float tolerance on more than 5% of images and moved by "
                                "more than 0.5% of their range, or predictions differ on more than 0.5%")
        elif abs(top1 - reference) > 2 and moved > 0.02:
            failures.append(f"{mode}: top-1 differs by more than 2 points, and the logits moved by more than 2% of "
                            "their range")
    for f in failures:
        print("FAIL " + f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
