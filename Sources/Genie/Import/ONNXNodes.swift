import Foundation
import NN
import ONNX
import Tensors

/// The node-building half of the ONNX importer: each op becomes a step of the `GraphModule` (with its layer, named
/// after its weight) or, for shape computations, a value folded at load time. The values it reads are decoded in
/// ONNXImport.swift.
extension GraphReader {
    /// Checks node `n` against the values it reads and adds its step, layer or folded constant.
    mutating func add(_ n: Onnx_NodeProto) throws {
        guard let output = n.output.first, !output.isEmpty, shapes[output] == nil, constants[output] == nil else {
            throw fail("its output is missing or written twice")
        }
        switch n.opType {
        case "Constant":
            guard let value = attribute("value"), value.hasT else { throw fail("only tensor constants ('value') are read") }
            constants[output] = try constant(value.t)
        case "Shape":
            let x = try tensor(0)
            constants[output] = .ints([x.shape.count], [Self.batch] + x.shape.dropFirst())
        case "Gather":
            let data = try ints(0), indices = try ints(1), d = known(0)!.dims, id = known(1)!.dims
            guard d.count == 1, int("axis", 0) == 0, id.count <= 1, indices.allSatisfy({ (-data.count..<data.count).contains($0) }) else {
                throw fail("only gathers from a folded 1-D shape are read")
            }
            constants[output] = .ints(id, indices.map { data[$0 < 0 ? $0 + data.count : $0] })
        case "Unsqueeze":
            let v = try ints(0), d = known(0)!.dims
            let axes = try intList("axes") ?? ints(1)
            guard d.isEmpty, axes == [0] else { throw fail("only a scalar of a folded shape is unsqueezed") }
            constants[output] = .ints([1], v)
        case "Concat" where n.input.indices.allSatisfy({ isFoldedInts($0) }):
            let parts = try n.input.indices.map { try ints($0) }
            guard n.input.indices.allSatisfy({ known($0)!.dims.count == 1 }) else { throw fail("only 1-D folded shapes are concatenated") }
            constants[output] = .ints([parts.map(\.count).reduce(0, +)], parts.flatMap { $0 })
        case let op where ["Add", "Sub", "Mul", "Div"].contains(op) && n.input.count == 2 && isFoldedInts(0) && isFoldedInts(1):
            try foldArithmetic(output)
        case "Cast" where isFoldedInts(0):  // torch casts folded sizes to int64 (`to` 7)
            guard [6, 7].contains(int("to", 0)) else { throw fail("only casts of folded sizes to int32 or int64 are read") }
            constants[output] = known(0)
        case "Concat": try concat(output)
        case "Transpose": try transpose(output)
        case "Slice": try slice(output)
        case "Split": try split()
        case "Conv": try conv(output)
        case "BatchNormalization": try batchNorm(output)
        case "Gemm", "MatMul": try linear(output)
        case "Relu": try elementwise(output) { $0.relu() }
        case "Sigmoid": try elementwise(output) { $0.sigmoid() }
        case "Clip": try clip(output)
        case "Add": try broadcasting(output, +)
        case "Mul": try broadcasting(output, *)  // SiLU (x * sigmoid(x)) and squeeze-excite scales
        case "MaxPool", "AveragePool": try pool(output)
        case "GlobalAveragePool":
            let x = try tensor(0)
            guard x.shape.count == 4 else { throw fail("needs a 4-D input, got \(x.shape)") }
            step(output, [x.name], [1, x.shape[1], 1, 1]) { _, xs in xs[0].adaptiveAvgPool2d(outputSize: 1) }
        case "ReduceMean":  // MNASNet's x.mean([2, 3]): the global average
            let x = try tensor(0), axes = try intList("axes") ?? (node.input.count > 1 ? ints(1) : [])
            let keep = int("keepdims", 1) != 0
            guard x.shape.count == 4, Set(axes.map { $0 < 0 ? $0 + 4 : $0 }) == [2, 3] else { throw fail("only the mean over axes 2 and 3 is read") }
            step(output, [x.name], keep ? [1, x.shape[1], 1, 1] : [1, x.shape[1]]) { _, xs in
                let mean = xs[0].adaptiveAvgPool2d(outputSize: 1)
                return keep ? mean : mean.flattened()
            }
        case "Flatten":
            let x = try tensor(0)
            guard int("axis", 1) == 1, x.shape.count >= 2 else { throw fail("only axis 1 is read") }
            step(output, [x.name], [1, x.shape.dropFirst().reduce(1, *)]) { _, xs in xs[0].flattened() }
        case "Reshape": try reshape(output)
        case "Identity" where known(0) != nil:  // PyTorch writes one initializer for equal ones, the others Identity of it
            constants[output] = known(0)
        case "Identity" where ShortcutIdentities.isShortcut(n):  // a residual block's skip connection, quantized as the zoo's
            let x = try tensor(0)
            try layerStep(output, x.name, x.shape, path: GraphModule.scope(ofNode: n.name)!, Function.identity())
        case "Identity", "Dropout": try elementwise(output) { $0 }
        default:
            throw GenieError("\(source): node '\(n.name)' has op \(n.opType), which genie does not import yet (docs/ONNX.md lists the ops it reads)")
        }
    }

    mutating func step(_ output: String, _ inputs: [String], _ shape: [Int], layer: String? = nil,
                               _ run: @escaping (GraphModule, [Tensor]) -> Tensor) {
        shapes[output] = shape
        steps.append(.init(node: node.name, op: node.opType, inputs: inputs, output: output, layer: layer, run: run))
    }

    mutating func elementwise(_ output: String, _ f: @escaping (Tensor) -> Tensor) throws {
        let x = try tensor(0)
        step(output, [x.name], x.shape) { _, xs in f(xs[0]) }
    }

    /// Adds `layer`, named after its weight initializer `weight` (`a.b.weight` -> `a.b`), as the step's module.
    private mutating func layerStep(_ output: String, _ x: String, _ shape: [Int], weight: String, _ layer: Module) throws {
        var path = weight.hasSuffix(".weight") ? String(weight.dropLast(7)) : weight.replacingOccurrences(of: ".", with: "_")
        if path.isEmpty || path.split(separator: ".", omittingEmptySubsequences: false).contains(where: \.isEmpty) {
            path = weight.replacingOccurrences(of: ".", with: "_")
        }
        try layerStep(output, x, shape, path: path, layer)
    }

    /// Adds `layer` at `path` as the step's module.
    private mutating func layerStep(_ output: String, _ x: String, _ shape: [Int], path: String, _ layer: Module) throws {
        guard !layers.contains(where: { $0.path == path || $0.path.hasPrefix(path + ".") || path.hasPrefix($0.path + ".") }) else {
            throw fail("its layer '\(path)' clashes with another layer's name (shared weights are not read)")
        }
        layers.append((path, layer))
        guard shape.reduce(1, *) <= Self.maxElements else { throw fail("output \(shape) is too large") }
        step(output, [x], shape, layer: path) { g, xs in g.module(at: path)!(xs[0]) }
    }

    private mutating func conv(_ output: String) throws {
        let x = try tensor(0), w = try floats(1), groups = int("group", 1)
        let bias = node.input.count > 2 && !node.input[2].isEmpty ? try floats(2) : nil
        guard x.shape.count == 4, w.dims.count == 4, w.dims[2] == w.dims[3], groups >= 1, w.dims[0] % groups == 0,
              x.shape[1] == w.dims[1] * groups, bias == nil || bias!.dims == [w.dims[0]], w.dims[0] > 0 else {
            throw fail("weight \(w.dims) (groups \(groups)) does not fit input \(x.shape)")
        }
        let k = w.dims[2], strides = intList("strides") ?? [1, 1], pads = intList("pads") ?? [0, 0, 0, 0]
        guard intList("kernel_shape").map({ $0 == [k, k] }) ?? true, (intList("dilations") ?? [1, 1]) == [1, 1],
              strides.count == 2, strides[0] == strides[1], strides[0] >= 1, pads.count == 4, Set(pads).count == 1, pads[0] >= 0,
              pads[0] < k, ["", "NOTSET"].contains(String(decoding: attribute("auto_pad")?.s ?? Data(), as: UTF8.self)) else {
            throw fail("only square kernels with equal strides, equal explicit pads (smaller than the kernel) and no dilation are read")
        }
        let s = strides[0], p = pads[0], size = (x.shape[2] + 2 * p - k) / s + 1
        guard x.shape[2] + 2 * p >= k else { throw fail("kernel \(k) is larger than the padded input \(x.shape)") }
        let conv = Conv2d(x.shape[1], w.dims[0], kernelSize: k, stride: s, padding: p, groups: groups, bias: bias != nil)
        conv.weight.value = Tensor(shape: w.dims, scalars: w.values)
        if let bias { conv.bias!.value = Tensor(shape: bias.dims, scalars: bias.values) }
        try layerStep(output, x.name, [1, w.dims[0], size, size], weight: w.name, conv)
    }

    private mutating func batchNorm(_ output: String) throws {
        let x = try tensor(0), c = x.shape.count >= 2 ? x.shape[1] : 0
        let parameters = try (1...4).map { try floats($0) }
        guard x.shape.count == 4, parameters.allSatisfy({ $0.dims == [c] }), node.output.count == 1 || int("training_mode", 0) == 0 else {
            throw fail("needs scale, bias, mean and variance of the \(c) input channels of \(x.shape), in inference mode")
        }
        let epsilon = attribute("epsilon")?.f ?? 1e-5, momentum = attribute("momentum")?.f ?? 0.9
        guard epsilon > 0, epsilon.isFinite, (0...1).contains(momentum), parameters[3].values.allSatisfy({ $0 >= 0 }) else {
            throw fail("epsilon \(epsilon), momentum \(momentum) or a negative variance")
        }
        // ONNX's momentum weighs the running value; PyTorch's (genie's) the batch value.
        let bn = BatchNorm2d(c, epsilon: epsilon, momentum: 1 - momentum)
        let t = parameters.map { Tensor(shape: [c], scalars: $0.values) }
        (bn.weight!.value, bn.bias!.value, bn.runningMean!.value, bn.runningVar!.value) = (t[0], t[1], t[2], t[3])
        try layerStep(output, x.name, x.shape, weight: parameters[0].name, bn)
    }

    /// `Gemm` (transA 0, alpha and beta 1) or `MatMul` by a constant matrix: a `Linear`.
    private mutating func linear(_ output: String) throws {
        let x = try tensor(0), w = try floats(1), gemm = node.opType == "Gemm"
        let transposed = gemm && int("transB", 0) == 1
        let bias = gemm && node.input.count > 2 && !node.input[2].isEmpty ? try floats(2) : nil
        guard x.shape.count == 2, w.dims.count == 2, !gemm || (int("transA", 0) == 0 && (attribute("alpha")?.f ?? 1) == 1
                                                                && (attribute("beta")?.f ?? 1) == 1) else {
            throw fail("only [N, features] times a constant matrix is read, got \(x.shape) and \(w.dims)")
        }
        let (outFeatures, inFeatures) = transposed ? (w.dims[0], w.dims[1]) : (w.dims[1], w.dims[0])
        guard inFeatures == x.shape[1], bias.map({ $0.values.count == outFeatures }) ?? true, outFeatures > 0 else {
            throw fail("weight \(w.dims) does not fit input \(x.shape)")
        }
        let linear = Linear(inFeatures, outFeatures, bias: bias != nil)
        let matrix = Tensor(shape: w.dims, scalars: w.values)
        linear.weight.value = transposed ? matrix : Tensor(shape: [outFeatures, inFeatures], scalars:
            (0..<outFeatures).flatMap { o in (0..<inFeatures).map { w.values[$0 * outFeatures + o] } })
        if let bias { linear.bias!.value = Tensor(shape: [outFeatures], scalars: bias.values) }
        try layerStep(output, x.name, [1, outFeatures], weight: transposed ? w.name : w.name + "_transposed", linear)
    }

    /// `Clip` with constant bounds (inputs from opset 11, attributes before); `[0, 6]` is ReLU6.
    private mutating func clip(_ output: String) throws {
        func bound(_ i: Int, _ name: String, _ fallback: Float) throws -> Float {
            if i < node.input.count, !node.input[i].isEmpty {
                let b = try floats(i)
                guard b.values.count == 1 else { throw fail("its bound must be a scalar") }
                return b.values[0]
            }
            return attribute(name)?.f ?? fallback
        }
        let low = try bound(1, "min", -.infinity), high = try bound(2, "max", .infinity)
        guard !low.isNaN, !high.isNaN, low <= high else { throw fail("bounds \(low), \(high)") }
        try elementwise(output, low == 0 && high == 6 ? { $0.relu6() } : { $0.clamped(low, high) })
    }

    /// `Add` or `Mul` of two tensors of one rank whose dimensions are equal or 1 (`[N, C, H, W] * [N, C, 1, 1]`).
    private mutating func broadcasting(_ output: String, _ f: @escaping (Tensor, Tensor) -> Tensor) throws {
        let a = try tensor(0), b = try tensor(1)
        guard a.shape.count == b.shape.count, zip(a.shape, b.shape).allSatisfy({ $0 == $1 || $0 == 1 || $1 == 1 }) else {
            throw fail("shapes \(a.shape) and \(b.shape) do not broadcast (equal ranks, dimensions equal or 1)")
        }
        step(output, [a.name, b.name], zip(a.shape, b.shape).map(max)) { _, xs in f(xs[0], xs[1]) }
    }

    private mutating func pool(_ output: String) throws {
        let x = try tensor(0), kernel = intList("kernel_shape") ?? [], strides = intList("strides") ?? [1, 1]
        let pads = intList("pads") ?? [0, 0, 0, 0], average = node.opType == "AveragePool"
        guard x.shape.count == 4, kernel.count == 2, kernel[0] == kernel[1], (1...4096).contains(kernel[0]), strides.count == 2,
              strides[0] == strides[1], strides[0] >= 1, pads.count == 4, Set(pads).count == 1, pads[0] >= 0,
              pads[0] <= kernel[0] / 2, x.shape[2] + 2 * pads[0] >= kernel[0], int("ceil_mode", 0) == 0,
              (intList("dilations") ?? [1, 1]) == [1, 1], !average || pads[0] == 0 || int("count_include_pad", 0) == 1 else {
            throw fail("only square windows with equal strides and pads (at most half the window), floor mode, "
                + "and padding counted in averages (PyTorch's default) are read; input \(x.shape)")
        }
        let (k, s, p) = (kernel[0], strides[0], pads[0]), size = (x.shape[2] + 2 * p - k) / s + 1
        step(output, [x.name], [1, x.shape[1], size, size]) { _, xs in
            average ? xs[0].avgPool2d(kernelSize: k, stride: s, padding: p) : xs[0].maxPool2d(kernelSize: k, stride: s, padding: p)
        }
    }

    /// `Reshape` to a folded shape whose first dimension is the batch (`x.view(x.size(0), ...)`, or 0 or -1).
    private mutating func reshape(_ output: String) throws {
        let x = try tensor(0), target = try ints(1), perImage = x.shape.dropFirst().reduce(1, *)
        guard int("allowzero", 0) == 0, target.count >= 1, target.count <= 8 else { throw fail("shape \(target)") }
        var rest = target.dropFirst().enumerated().map { i, d in d == 0 && i + 1 < x.shape.count ? x.shape[i + 1] : d }
        let inferred = rest.firstIndex(of: -1)
        // Capped at maxElements + 1 after each factor, so a damaged shape cannot overflow.
        let known = rest.filter { $0 != -1 }.reduce(1) { min($0 * min(max($1, 0), Self.maxElements + 1), Self.maxElements + 1) }
        guard [Self.batch, 0, -1].contains(target[0]), rest.allSatisfy({ $0 > 0 || $0 == -1 }), rest.filter({ $0 == -1 }).count <= 1,
              target[0] != -1 || inferred == nil, known > 0, inferred == nil ? known == perImage : perImage % known == 0 else {
            throw fail("reshapes \(x.shape) to \(target.map { $0 == Self.batch ? "N" : "\($0)" }); the first dimension must stay the batch")
        }
        if let inferred { rest[inferred] = perImage / known }
        step(output, [x.name], [1] + rest) { _, xs in xs[0].reshaped(to: [xs[0].shape[0]] + rest) }
    }
}
