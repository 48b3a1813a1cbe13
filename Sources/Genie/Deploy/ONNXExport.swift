import Foundation
import Models
import NN
import ONNX
import Tensors

/// Exports quantized models to ONNX in QDQ form (docs/ONNX.md): integer weight initializers with per-channel
/// `DequantizeLinear`, a `QuantizeLinear`/`DequantizeLinear` pair per quantized activation, int32 biases behind
/// quantized inputs, everything else in float32. Batch norms are folded first (`foldBatchNorms`).
public enum ONNXExport {
    /// The opsets the exporter writes: 13 brought per-channel `DequantizeLinear`; 21 brought int4/uint4.
    public static let opsets = 13...23

    /// The ONNX file of the quantized-model file `file` (read from `source`, which errors name).
    public static func export(quantizedFile file: SafeTensors, source: String, opset: Int, integerBiases: Bool = true) throws
        -> (onnx: [UInt8], folded: [FoldedBatchNorm]) {
        try checkOpset(opset)
        let (spec, model) = try QuantizedModelFile.load(file, source: source)
        let folded = foldBatchNorms(model, sample: Tensor.zeros([1, spec.inChannels, spec.imageSize, spec.imageSize]))
        var metadata = file.metadata.filter { !["layers", "format"].contains($0.key) }
        metadata["source"] = source.trimmingCharacters(in: ["'"])
        return (try export(model, spec: spec, opset: opset, integerBiases: integerBiases, metadata: metadata), folded)
    }

    /// The ONNX file of a (folded) quantized model: input `input` [N, C, H, W] (normalized images, float32),
    /// output `logits` [N, classes]; `metadata` and the spec's normalization go into the metadata properties.
    /// `integerBiases`: biases behind quantized inputs as int32 (what integer runtimes need; onnxruntime rounds float
    /// ones so itself at load) rather than float32 (exactly the quantized model's).
    public static func export(_ model: Module, spec: ModelSpec, opset: Int, integerBiases: Bool = true,
                              metadata: [String: String] = [:]) throws -> [UInt8] {
        try checkOpset(opset)
        let graph = ONNXGraph(opset: opset, integerBiases: integerBiases)
        graph.readByWideWeights = Set(model.quantizedLayers.filter { $0.layer.weightQuantizer.map(graph.storesWide) ?? false }
            .compactMap { $0.layer.inputQuantizer.map(ObjectIdentifier.init) })
        let logits = try graph.emit(model, "", "input")
        graph.rename(logits, to: "logits")
        var properties = metadata.merging(spec.metadata) { $1 }
        properties["input"] = "float32 [N, \(spec.inChannels), \(spec.imageSize), \(spec.imageSize)]: (pixels / 255 - mean) / std"
        properties["output"] = "float32 [N, \(spec.numClasses)] logits"
        properties["biases"] = integerBiases ? "int32 (scale s_a * s_w) behind quantized inputs, float32 elsewhere" : "float32"
        return graph.serialized(input: [spec.inChannels, spec.imageSize, spec.imageSize], classes: spec.numClasses,
                                metadata: properties)
    }

    /// What is wrong with `opset`, or nil when the exporter writes it.
    public static func opsetProblem(_ opset: Int) -> String? {
        if opset < opsets.lowerBound {
            return "opset \(opset) cannot express the quantized model: per-channel weight scales (DequantizeLinear with an "
                + "axis) need opset \(opsets.lowerBound); use an opset from \(opsets.lowerBound) to \(opsets.upperBound) "
                + "(21 and later store 4-bit values as int4/uint4)"
        }
        if opset > opsets.upperBound {
            return "opset \(opset) is newer than the exporter writes; use an opset from \(opsets.lowerBound) to \(opsets.upperBound)"
        }
        return nil
    }

    static func checkOpset(_ opset: Int) throws {
        if let problem = opsetProblem(opset) { throw GenieError(problem) }
    }

    /// The IR version of the first ONNX release with `opset` (onnx.helper.VERSION_TABLE).
    static func irVersion(opset: Int) -> Int {
        switch opset { case ...14: 7; case 15...18: 8; case 19...20: 9; case 21...22: 10; default: 11 }
    }
}

/// ONNX tensor element types (TensorProto.DataType) the exporter writes.
public enum ONNXType: Int, Sendable {
    case float = 1, uint8 = 2, int8 = 3, uint16 = 4, int16 = 5, int32 = 6, int64 = 7, uint4 = 21, int4 = 22

    /// The integers the type holds.
    public var range: ClosedRange<Int> {
        switch self {
        case .uint4: 0...15
        case .int4: -8...7
        case .uint8: 0...255
        case .int8: -128...127
        case .uint16: 0...65535
        case .int16: -32768...32767
        case .int32, .float: Int(Int32.min)...Int(Int32.max)
        case .int64: Int.min...Int.max
        }
    }

    /// Little-endian raw data of integers of this type; 4-bit values two per byte, the first in the low nibble.
    public func raw(_ values: [Int]) -> [UInt8] {
        switch self {
        case .uint4, .int4:
            return stride(from: 0, to: values.count, by: 2).map { i in
                UInt8(values[i] & 0xF) | (i + 1 < values.count ? UInt8(values[i + 1] & 0xF) << 4 : 0)
            }
        case .uint8, .int8: return values.map { UInt8(truncatingIfNeeded: $0) }
        case .uint16, .int16: return values.flatMap { UInt16(truncatingIfNeeded: $0).littleEndianBytes }
        case .int32: return values.flatMap { Int32($0).littleEndianBytes }
        case .int64: return values.flatMap { Int64($0).littleEndianBytes }
        case .float: return values.flatMap { Float($0).bitPattern.littleEndianBytes }
        }
    }
}

/// A node attribute (AttributeProto).
enum ONNXAttribute {
    case int(String, Int), ints(String, [Int]), float(String, Float)

    var proto: Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        switch self {
        case let .int(name, v): a.name = name; a.i = Int64(v); a.type = .int
        case let .float(name, v): a.name = name; a.f = v; a.type = .float
        case let .ints(name, vs): a.name = name; a.ints = vs.map(Int64.init); a.type = .ints
        }
        return a
    }
}

/// The graph under construction, written by walking the module tree.
final class ONNXGraph {
    let opset: Int, integerBiases: Bool
    /// The nodes and initializers so far (appended to directly by `emitSteps` only, with `unique` names).
    var nodes: [Onnx_NodeProto] = []
    var initializers: [Onnx_TensorProto] = []
    private var names: Set<String> = ["input", "logits"]
    /// The dequantized output for each (activation quantizer, value) already quantized.
    private var quantized: [String: String] = [:]
    private var activationIDs: [ObjectIdentifier: Int] = [:]
    /// The activation quantizers read by a layer whose weights are stored wider than 4 bits (`storesWide`).
    var readByWideWeights: Set<ObjectIdentifier> = []

    init(opset: Int, integerBiases: Bool) {
        self.opset = opset
        self.integerBiases = integerBiases
    }

    /// `base`, or `base_2`, `base_3`, ... : a name no value of the graph has yet.
    func unique(_ base: String) -> String {
        var name = base, i = 1
        while names.contains(name) { i += 1; name = "\(base)_\(i)" }
        names.insert(name)
        return name
    }

    /// Adds a node with one output, named after `name`, and returns the output.
    @discardableResult
    func node(_ op: String, _ inputs: [String], _ name: String, _ attributes: [ONNXAttribute] = []) -> String {
        var n = Onnx_NodeProto()
        n.opType = op
        n.name = unique(name)
        n.input = inputs
        n.output = [n.name]
        n.attribute = attributes.map(\.proto)
        nodes.append(n)
        return n.name
    }

    func floats(_ name: String, _ values: [Float], dims: [Int]) -> String {
        initializer(name, .float, dims, values.flatMap { $0.bitPattern.littleEndianBytes })
    }

    func integers(_ name: String, _ type: ONNXType, _ values: [Int], dims: [Int]) -> String {
        initializer(name, type, dims, type.raw(values))
    }

    private func initializer(_ name: String, _ type: ONNXType, _ dims: [Int], _ raw: [UInt8]) -> String {
        var t = Onnx_TensorProto()
        t.name = unique(name)
        t.dataType = Int32(type.rawValue)
        t.dims = dims.map(Int64.init)
        t.rawData = Data(raw)
        initializers.append(t)
        return t.name
    }

    /// Renames the graph's last value (the model output).
    func rename(_ value: String, to name: String) {
        guard let i = nodes.lastIndex(where: { $0.output == [value] }) else { return }
        nodes[i].output = [name]
    }

    // MARK: Walking the model

    /// Appends the nodes computing module `m` (at `path`) of value `x`; returns the output value. Only generic
    /// cases: leaf layers, containers, imported graphs and the zoo's blocks and models, which state their dataflow
    /// once (`DataflowModule`) for their forward pass and this export alike.
    func emit(_ m: Module, _ path: String, _ x: String) throws -> String {
        switch m {
        case let layer as QuantizedLayer:
            return try quantizedLayer(layer, path, x)
        case let graph as GraphModule:  // an imported graph (GraphExport.swift): its nodes, each layer emitted here
            return try emitSteps(of: graph, x)
        case let composite as DataflowModule:
            return try composite.flow(x, ONNXDataflow(graph: self, module: composite, path: path))
        case let conv as Conv2d:
            return convolution(conv, path, x, weight: floats(path + ".weight", conv.weight.value.scalars, dims: conv.weight.value.shape),
                               bias: conv.bias.map { floats(path + ".bias", $0.value.scalars, dims: [conv.outChannels]) })
        case let linear as Linear:
            return gemm(path, x, weight: floats(path + ".weight", linear.weight.value.scalars, dims: linear.weight.value.shape),
                        bias: linear.bias.map { floats(path + ".bias", $0.value.scalars, dims: [linear.outFeatures]) })
        case let bn as BatchNorm2d:
            return try batchNormalization(bn, path, x)
        case is Sequential:
            return try m.childNames.reduce(x) { try emit(m.child($1), Self.path(path, $1), $0) }
        case is Dropout:
            return x
        case let f as Function:
            return try function(f, path, x)
        default:
            throw GenieError("ONNX export: module '\(path)' (\(type(of: m))) has no ONNX form")
        }
    }

    /// The dotted path of child `name` of the module at `path`.
    static func path(_ path: String, _ name: String) -> String { path.isEmpty ? name : path + "." + name }

    private func function(_ f: Function, _ path: String, _ x: String) throws -> String {
        switch f.name {
        case "Identity": return x
        case "ReLU": return node("Relu", [x], path)
        case "ReLU6" where opset >= 21:  // onnxruntime (1.32) fails to load a Clip feeding an int4/uint4 QuantizeLinear
            return node("Min", [node("Relu", [x], path + ".relu"), floats(path + ".max", [6], dims: [])], path)
        case "ReLU6": return node("Clip", [x, floats(path + ".min", [0], dims: []), floats(path + ".max", [6], dims: [])], path)
        case "Tanh": return node("Tanh", [x], path)
        case "Flatten": return node("Flatten", [x], path, [.int("axis", 1)])
        case "AdaptiveAvgPool2d": return node("GlobalAveragePool", [x], path)
        default: throw GenieError("ONNX export: module '\(path)' (\(f.name)) has no ONNX form")
        }
    }

    private func convolution(_ conv: Conv2d, _ path: String, _ x: String, weight: String, bias: String?) -> String {
        let k = conv.kernelSize, s = conv.stride, p = conv.padding
        return node("Conv", [x, weight] + (bias.map { [$0] } ?? []), path, [
            .ints("kernel_shape", [k, k]), .ints("strides", [s, s]), .ints("pads", [p, p, p, p]),
            .ints("dilations", [1, 1]), .int("group", conv.groups),
        ])
    }

    private func gemm(_ path: String, _ x: String, weight: String, bias: String?) -> String {
        node("Gemm", [x, weight] + (bias.map { [$0] } ?? []), path, [.int("transB", 1)])
    }

    private func batchNormalization(_ bn: BatchNorm2d, _ path: String, _ x: String) throws -> String {
        guard let mean = bn.runningMean?.value.scalars, let variance = bn.runningVar?.value.scalars else {
            throw GenieError("ONNX export: batch norm '\(path)' has no running statistics")
        }
        let n = bn.numFeatures
        return node("BatchNormalization", [
            x, floats(path + ".weight", bn.weight?.value.scalars ?? Array(repeating: 1, count: n), dims: [n]),
            floats(path + ".bias", bn.bias?.value.scalars ?? Array(repeating: 0, count: n), dims: [n]),
            floats(path + ".running_mean", mean, dims: [n]), floats(path + ".running_var", variance, dims: [n]),
        ], path, [.float("epsilon", bn.epsilon)])
    }

    // MARK: Quantized layers

    private func quantizedLayer(_ layer: QuantizedLayer, _ path: String, _ x: String) throws -> String {
        var input = x, inputScale: Float?
        if layer.quantizesInput, let aq = layer.inputQuantizer, let scale = aq.scale?.value.item {
            input = quantizeActivation(aq, x)
            inputScale = scale
        }
        guard let wq = layer.weightQuantizer else { return try emit(layer.layer, path + ".layer", input) }
        let weight = dequantizedWeight(wq, path)
        switch layer.layer {
        case let conv as Conv2d:
            return convolution(conv, path, input, weight: weight,
                               bias: conv.bias.map { bias($0.value.scalars, path, inputScale, wq) })
        case let linear as Linear:
            return gemm(path, input, weight: weight, bias: linear.bias.map { bias($0.value.scalars, path, inputScale, wq) })
        default:
            throw GenieError("ONNX export: quantized layer '\(path)' wraps a \(type(of: layer.layer))")
        }
    }

    /// `x̂ = s · round_half_even(clamp(x / s, Qn, Qp))` as QuantizeLinear/DequantizeLinear (which round half to even
    /// and saturate to the integer type: int4/uint4 at 4 bits from opset 21, int8/uint8 otherwise); a Clip to
    /// `[Qn·s, Qp·s]` first when the type's range is wider than `[Qn, Qp]` (exact: a value clipped there rounds to
    /// Qn or Qp, as clamping first does). One pair per quantized tensor, however many layers read it.
    private func quantizeActivation(_ aq: ActivationQuantizer, _ x: String) -> String {
        let key = "\(ObjectIdentifier(aq).hashValue) \(x)"
        if let done = quantized[key] { return done }
        let id = activationIDs[ObjectIdentifier(aq)] ?? activationIDs.count
        activationIDs[ObjectIdentifier(aq)] = id
        let s = aq.scale!.value.item, (qn, qp) = aq.range
        // int4/uint4 only for exactly 4 bits: onnxruntime (1.32) fails to load a Clip feeding a 4-bit QuantizeLinear.
        // Nor for an input of a layer with weights stored in 8 bits or more (`storesWide`): onnxruntime fuses the two
        // into a QLinearConv, then refuses its mixed uint4/uint8 inputs.
        let small = opset >= 21 && aq.bits == 4 && !readByWideWeights.contains(ObjectIdentifier(aq))
        let type: ONNXType = aq.signed ? (small ? .int4 : .int8) : (small ? .uint4 : .uint8)
        let name = "activation\(id)"
        let scale = floats(name + ".scale", [s], dims: []), zero = integers(name + ".zero_point", type, [0], dims: [])
        var input = x
        if type.range != Int(qn)...Int(qp) {
            input = node("Clip", [x, floats(name + ".min", [qn * s], dims: []), floats(name + ".max", [qp * s], dims: [])], name + ".clip")
        }
        let q = node("QuantizeLinear", [input, scale, zero], name + ".quantize")
        let dq = node("DequantizeLinear", [q, scale, zero], name + ".dequantize")
        quantized[key] = dq
        return dq
    }

    /// `W = s · (q − z)` per output channel: the codes and zero points in the narrowest integer type the opset has
    /// that holds both (uint4/int4 from opset 21 at 4 bits or fewer, else uint8/int8, then 16-bit from opset 21);
    /// a channel whose weights all have one sign can have a zero point outside every such type: then the layer
    /// stores `q − z` as int32 without a zero point.
    private func dequantizedWeight(_ wq: WeightQuantizer, _ path: String) -> String {
        let shape = wq.softbits.value.shape, channels = shape[0]
        let codes = wq.codes.scalars.map { Int($0) }, zero = wq.zeroPoint.scalars.map { Int($0) }
        let scale = floats(path + ".weight_scale", wq.scale.value.scalars, dims: [channels])
        let inputs: [String]
        if let type = weightType(wq) {
            inputs = [integers(path + ".weight_quantized", type, codes, dims: shape), scale,
                      integers(path + ".weight_zero_point", type, zero, dims: [channels])]
        } else {
            let perChannel = codes.count / channels
            inputs = [integers(path + ".weight_quantized", .int32, codes.indices.map { codes[$0] - zero[$0 / perChannel] }, dims: shape), scale]
        }
        return node("DequantizeLinear", inputs, path + ".weight", [.int("axis", 0)])
    }

    /// The integer type `dequantizedWeight` stores `wq`'s codes and zero points in; nil for int32 `q − z`.
    func weightType(_ wq: WeightQuantizer) -> ONNXType? {
        let codes = wq.codes.scalars, zero = wq.zeroPoint.scalars
        let (low, high) = (Int(min(codes.min()!, zero.min()!)), Int(max(codes.max()!, zero.max()!)))
        let candidates: [ONNXType] = (opset >= 21 && wq.bits <= 4 ? [.uint4, .int4] : []) + [.uint8, .int8]
            + (opset >= 21 ? [.uint16, .int16] : [])
        return candidates.first { $0.range.contains(low) && $0.range.contains(high) }
    }

    /// Whether `wq` is stored wider than 4 bits: then its layer's input is not stored as int4/uint4 either
    /// (onnxruntime fuses the pair into a QLinearConv, which refuses mixed 4- and 8-bit inputs).
    func storesWide(_ wq: WeightQuantizer) -> Bool { weightType(wq).map { $0 != .uint4 && $0 != .int4 } ?? true }

    /// The bias: int32 with scale `s_a · s_w` per channel behind a quantized input (what QDQ runtimes fuse into
    /// integer convolutions; off by at most half a step of the accumulator) when `integerBiases`, float32 otherwise
    /// or when a channel's value does not fit int32.
    private func bias(_ b: [Float], _ path: String, _ inputScale: Float?, _ wq: WeightQuantizer) -> String {
        if integerBiases, let sa = inputScale {
            let scales = wq.scale.value.scalars.map { sa * $0 }
            let steps = zip(b, scales).map { (Double($0) / Double($1)).rounded(.toNearestOrEven) }
            if scales.allSatisfy(\.isNormal), steps.allSatisfy({ abs($0) < Double(Int32.max) }) {
                let q = integers(path + ".bias_quantized", .int32, steps.map { Int($0) }, dims: [b.count])
                return node("DequantizeLinear", [q, floats(path + ".bias_scale", scales, dims: [b.count])], path + ".bias",
                            [.int("axis", 0)])
            }
        }
        return floats(path + ".bias", b, dims: [b.count])
    }

    // MARK: Serialization

    func serialized(input: [Int], classes: Int, metadata: [String: String]) -> [UInt8] {
        var model = Onnx_ModelProto()
        model.irVersion = Int64(ONNXExport.irVersion(opset: opset))
        model.producerName = "genie-swift"
        model.graph.name = "genie"
        model.graph.node = nodes
        model.graph.initializer = initializers
        model.graph.input = [Self.valueInfo("input", dims: [nil] + input)]
        model.graph.output = [Self.valueInfo("logits", dims: [nil, classes])]
        var domain = Onnx_OperatorSetIdProto()
        domain.version = Int64(opset)
        model.opsetImport = [domain]
        model.metadataProps = metadata.sorted { $0.key < $1.key }.map { key, value in
            var p = Onnx_StringStringEntryProto()
            (p.key, p.value) = (key, value)
            return p
        }
        // Serializing a message built here cannot fail (no required fields in proto3, no Any fields).
        return try! model.serializedBytes()
    }

    /// A float32 tensor value; a nil dimension is the batch size `N`.
    private static func valueInfo(_ name: String, dims: [Int?]) -> Onnx_ValueInfoProto {
        var v = Onnx_ValueInfoProto()
        v.name = name
        v.type.tensorType.elemType = Int32(ONNXType.float.rawValue)
        v.type.tensorType.shape.dim = dims.map { d in
            var dim = Onnx_TensorShapeProto.Dimension()
            if let d { dim.dimValue = Int64(d) } else { dim.dimParam = "N" }
            return dim
        }
        return v
    }
}
