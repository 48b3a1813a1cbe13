#!/usr/bin/env bash
# Regenerates Sources/ONNX/onnx.pb.swift, the ONNX message types, run by hand (the file is committed: neither the
# build nor CI needs protoc). Generated from onnx.proto3 of ONNX 1.23.2 (made from the PyPI wheel's onnx.in.proto by
# the wheel's own onnx/gen_proto.py, as ONNX's build does) by protoc 3.21.12 (Debian's protobuf-compiler) with
# protoc-gen-swift 1.39.0, built from the swift-protobuf package in a scratch folder outside the repository.
# Bump ONNX_VERSION and the swift-protobuf version together with Package.swift's dependency.
set -euo pipefail
cd "$(dirname "$0")/.."
ONNX_VERSION=1.23.2
SWIFT_PROTOBUF_VERSION=1.39.0

command -v protoc >/dev/null || { echo "needs protoc: apt-get install -y protobuf-compiler" >&2; exit 1; }
work=$(mktemp -d /tmp/genie-proto.XXXXXX)
trap 'rm -rf "$work"' EXIT

pip download -q --no-deps --only-binary :all: "onnx==$ONNX_VERSION" -d "$work/wheel"
unzip -q -o "$work"/wheel/onnx-*.whl 'onnx/onnx.in.proto' 'onnx/gen_proto.py' -d "$work"
(cd "$work/onnx" && /usr/bin/python3 -c "
import gen_proto
source = open('onnx.in.proto').read()
open('onnx.proto3', 'w').write(gen_proto.translate(source, proto=3, onnx_ml=False, package_name='onnx'))")

git clone -q --depth 1 --branch "$SWIFT_PROTOBUF_VERSION" https://github.com/apple/swift-protobuf "$work/swift-protobuf"
(cd "$work/swift-protobuf" && swift build -c release --product protoc-gen-swift)
protoc --plugin=protoc-gen-swift="$work/swift-protobuf/.build/release/protoc-gen-swift" \
    --swift_out=Sources/ONNX --swift_opt=Visibility=Public -I "$work/onnx" "$work/onnx/onnx.proto3"
echo "wrote Sources/ONNX/onnx.pb.swift (ONNX $ONNX_VERSION, protoc $(protoc --version), swift-protobuf $SWIFT_PROTOBUF_VERSION)"
