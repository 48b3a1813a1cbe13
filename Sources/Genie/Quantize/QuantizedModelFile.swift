import Foundation
import Models
import NN
import Tensors

/// The quantized-model file (docs/FORMAT.md): a safetensors file with each quantized layer's integer weight
/// codes (packed two per byte at 4 bits or fewer), per-channel step sizes and zero points, the activation
/// step sizes, and the full-precision rest of the model under its PyTorch keys; for an imported graph, also the
/// graph (`GraphDefinition`).
public enum QuantizedModelFile {
    public static let format = "genie-quantized/1"
    /// The entry holding an imported graph's definition (a serialized ONNX model, U8).
    static let graphKey = "graph"

    /// Serializes a quantized model built from `spec`. Refuses, naming the layer and channel, a quantizer that
    /// `load` would refuse (`WeightQuantizer.invalidity`, a step size that is not positive and finite).
    public static func make(_ model: Module, spec: ModelSpec, metadata extra: [String: String]) throws -> SafeTensors {
        var file = SafeTensors(metadata: spec.metadata.merging(extra) { $1 })
        file.metadata["format"] = format
        if let graph = model as? GraphModule {
            // Serializing a message read or built here cannot fail (no required fields in proto3, no Any fields).
            let bytes: [UInt8] = try! graph.definition.serializedBytes()
            file.entries[graphKey] = .init(dtype: .u8, shape: [bytes.count], bytes: bytes)
        }
        let layers = model.quantizedLayers
        var activations: [ActivationQuantizer] = []
        var table: [LayerRecord] = []
        for (path, layer) in layers {
            var row = LayerRecord(path: path)
            if let wq = layer.weightQuantizer {
                if let problem = wq.invalidity { throw GenieError("cannot save the quantized model: layer \(path): \(problem)") }
                let codes = wq.codes.scalars.map { UInt8($0) }
                file.entries[path + ".weight_codes"] = .init(dtype: .u8, shape: [packedCount(codes.count, bits: wq.bits)],
                                                            bytes: pack(codes, bits: wq.bits))
                file.entries[path + ".weight_shape"] = int64(wq.softbits.value.shape)
                file.set(path + ".weight_scale", wq.scale.value.reshaped(to: [-1]))
                file.entries[path + ".weight_zero_point"] = int32(wq.zeroPoint.scalars.map { Int32($0) })
                row.weightBits = wq.bits
            }
            if let aq = layer.inputQuantizer, layer.quantizesInput, let scale = aq.scale {
                if let problem = aq.invalidity { throw GenieError("cannot save the quantized model: layer \(path): \(problem)") }
                let id = activations.firstIndex { $0 === aq } ?? { activations.append(aq); return activations.count - 1 }()
                file.set("activation.\(id).scale", scale.value)
                file.entries["activation.\(id).signed"] = .init(dtype: .u8, shape: [], bytes: [aq.signed ? 1 : 0])
                row.inputQuantizer = id
                row.inputBits = aq.bits
            }
            table.append(row)
        }
        let quantizedWeights = Set(layers.map { $0.path + ".layer.weight" })
        for (key, value, isInteger) in model.stateDict() where !quantizedWeights.contains(key) && !key.contains(".layer.weight") {
            let fpKey = key.replacingOccurrences(of: ".layer.", with: ".")
            if isInteger { file.entries[fpKey] = int64(value.scalars.map { Int($0) }, shape: value.shape) } else { file.set(fpKey, value) }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        file.metadata["layers"] = String(decoding: try encoder.encode(table), as: UTF8.self)
        return file
    }

    /// Rebuilds the quantized model (hard mode, every input quantizer on) from a file; errors name the file.
    public static func load(_ file: SafeTensors, source: String) throws -> (ModelSpec, Module) {
        func fail(_ s: String) -> GenieError { GenieError("quantized model \(source): \(s)") }
        guard file.metadata["format"] == format else {
            throw fail("is not a quantized model (no format '\(format)' in its metadata); quantize it with `genie quantize` first")
        }
        guard let spec = ModelSpec(metadata: file.metadata) else { throw fail("records no model architecture") }
        guard let layersJSON = file.metadata["layers"]?.data(using: .utf8),
              let table = try? JSONDecoder().decode([LayerRecord].self, from: layersJSON) else {
            throw fail("has no valid layer table")
        }
        let model: Module
        if let graph = file.entries[graphKey] {
            guard graph.dtype == .u8, spec.arch == ONNXImport.arch else { throw fail("holds a graph that is not U8 bytes of arch '\(ONNXImport.arch)'") }
            model = try GraphDefinition.model(graph.bytes, spec: spec, source: source)
        } else if spec.arch == ONNXImport.arch {
            throw fail("records an imported graph (arch '\(ONNXImport.arch)') but holds no '\(graphKey)' entry")
        } else {
            model = try spec.validated().build()
        }
        var fp: [String: Tensor] = [:]
        for (key, entry) in file.entries where !key.hasPrefix("activation.") && !key.contains(".weight_") && key != graphKey {
            fp[key] = Tensor(shape: entry.shape, scalars: entry.floats)
        }
        var activations: [Int: ActivationQuantizer] = [:]
        for row in table {
            let path = row.path
            guard let original = model.module(at: path), isQuantizable(original) else {
                throw fail("names a layer that \(spec.arch) does not have or does not quantize: \(path)")
            }
            var quantizer: ActivationQuantizer?
            if let id = row.inputQuantizer, let bits = row.inputBits {
                guard (2...8).contains(bits) else { throw fail("layer \(path): input bits \(bits) outside 2...8") }
                if activations[id] == nil {
                    guard let scale = try? file.tensor("activation.\(id).scale"), scale.count == 1,
                          let signed = file.entries["activation.\(id).signed"] else {
                        throw fail("misses activation quantizer \(id) or its step size is not one number")
                    }
                    let restored = ActivationQuantizer(bits: bits, scale: scale.item, signed: signed.bytes.first == 1)
                    if let problem = restored.invalidity { throw fail("activation quantizer \(id): \(problem)") }
                    activations[id] = restored
                }
                quantizer = activations[id]
            }
            var weightQuantizer: WeightQuantizer?
            if original is Conv2d || original is Linear {
                guard let bits = row.weightBits else { throw fail("layer \(path) has no weight bits") }
                weightQuantizer = try loadWeight(file, path: path, bits: bits, original: original, fail: fail)
                fp[path + ".weight"] = Tensor.zeros(weightQuantizer!.softbits.value.shape)  // replaced by the codes
            }
            let layer = QuantizedLayer(original, weightQuantizer: weightQuantizer, inputQuantizer: quantizer)
            layer.quantizesInput = quantizer != nil
            model.replace(path, with: layer)
        }
        let keys = Set(model.stateDict().map(\.key))
        var state: [String: Tensor] = [:]
        for (k, v) in fp {
            // A quantized layer's own tensors (bias) sit under `.layer.` in the model.
            let key = keys.contains(k) ? k : k.lastIndex(of: ".").map { k[..<$0] + ".layer" + k[$0...] } ?? k
            guard state.updateValue(v, forKey: key) == nil else { throw fail("holds tensor '\(key)' twice") }
        }
        try model.loadStateDict(state, source: source)
        model.setTraining(false)
        return (spec, model)
    }

    /// The weight quantizer of layer `path` from its codes, shape, step sizes and zero points, checked against
    /// the layer it replaces.
    static func loadWeight(_ file: SafeTensors, path: String, bits: Int, original: Module,
                           fail: (String) -> GenieError) throws -> WeightQuantizer {
        guard (2...8).contains(bits) else { throw fail("layer \(path): weight bits \(bits) outside 2...8") }
        guard let codes = file.entries[path + ".weight_codes"], let shape = file.entries[path + ".weight_shape"],
              let scale = try? file.tensor(path + ".weight_scale"), let zero = file.entries[path + ".weight_zero_point"] else {
            throw fail("misses the quantized weight of layer \(path)")
        }
        let expected = ((original as? Conv2d)?.weight ?? (original as? Linear)?.weight)?.value.shape ?? []
        let stored = shape.floats
        guard !expected.isEmpty, stored.count == expected.count, zip(stored, expected).allSatisfy({ $0 == Float($1) }) else {
            throw fail("layer \(path): weight shape \(stored.map { $0.isFinite ? "\(Int($0))" : "\($0)" }) but the model's is \(expected)")
        }
        let count = expected.reduce(1, *), channels = expected[0]
        guard packedCount(count, bits: bits) == codes.bytes.count, scale.count == channels, zero.shape.reduce(1, *) == channels else {
            throw fail("layer \(path): codes, step sizes or zero points do not fit weight shape \(expected)")
        }
        let unpacked = unpack(codes.bytes, count: count, bits: bits)
        guard unpacked.allSatisfy({ Int($0) < 1 << bits }) else { throw fail("layer \(path): codes outside 0...\((1 << bits) - 1)") }
        let channelShape = [channels] + Array(repeating: 1, count: expected.count - 1)
        let quantizer = WeightQuantizer(codes: Tensor(shape: expected, scalars: unpacked.map(Float.init)),
                                        scale: scale.reshaped(to: channelShape), zeroPoint: Tensor(shape: channelShape, scalars: zero.floats),
                                        bits: bits)
        if let problem = quantizer.invalidity { throw fail("layer \(path): \(problem)") }
        return quantizer
    }

    /// One row of the file's layer table (the `layers` metadata, a JSON array; docs/FORMAT.md).
    struct LayerRecord: Codable {
        var path: String
        var weightBits: Int?
        /// Which `activation.ID.*` quantizer the layer's input uses, and its bits.
        var inputQuantizer: Int?
        var inputBits: Int?

        enum CodingKeys: String, CodingKey {
            case path, weightBits = "weight_bits", inputQuantizer = "input_quantizer", inputBits = "input_bits"
        }
    }

    static func packedCount(_ count: Int, bits: Int) -> Int { bits <= 4 ? (count + 1) / 2 : count }

    /// Codes packed two per byte (low nibble first) at 4 bits or fewer, one per byte otherwise.
    static func pack(_ codes: [UInt8], bits: Int) -> [UInt8] {
        guard bits <= 4 else { return codes }
        return stride(from: 0, to: codes.count, by: 2).map { i in
            codes[i] | (i + 1 < codes.count ? codes[i + 1] << 4 : 0)
        }
    }

    static func unpack(_ bytes: [UInt8], count: Int, bits: Int) -> [UInt8] {
        guard bits <= 4 else { return Array(bytes.prefix(count)) }
        return (0..<count).map { i in i % 2 == 0 ? bytes[i / 2] & 0x0F : bytes[i / 2] >> 4 }
    }

    static func int64(_ values: [Int], shape: [Int]? = nil) -> SafeTensors.Entry {
        .init(int64: values.map(Int64.init), shape: shape ?? [values.count])
    }

    static func int32(_ values: [Int32]) -> SafeTensors.Entry {
        .init(int32: values, shape: [values.count])
    }
}
