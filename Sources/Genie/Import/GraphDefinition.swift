import Foundation
import Models
import ONNX
import Tensors

/// What a quantized-model file records of an imported graph (docs/FORMAT.md, "Imported graphs"): the ONNX model
/// it was read from without the values of its layers' parameters, which the file holds under their state-dict
/// keys (quantized weights as codes). Every other initializer (a `Clip` bound, a `Reshape` shape) keeps its value.
enum GraphDefinition {
    /// The ops whose inputs after the first are a layer's parameters (`GraphReader`'s layers).
    static let layerOps: Set<String> = ["Conv", "BatchNormalization", "Gemm", "MatMul"]

    /// The values that are layer parameters: the inputs after the first of layer nodes, and the initializers
    /// that `Identity` nodes copy into them (PyTorch writes one initializer for equal ones).
    static func parameters(of graph: Onnx_GraphProto) -> Set<String> {
        var names = Set(graph.node.filter { layerOps.contains($0.opType) }.flatMap { $0.input.dropFirst() })
        for node in graph.node.reversed() where node.opType == "Identity" && node.output.contains(where: names.contains) {
            names.formUnion(node.input)
        }
        return names
    }

    /// `model` with no data in the initializers that are layer parameters (their names, types and dims kept).
    static func stripped(_ model: Onnx_ModelProto) -> Onnx_ModelProto {
        var model = model
        let parameters = parameters(of: model.graph)
        for i in model.graph.initializer.indices where parameters.contains(model.graph.initializer[i].name) {
            model.graph.initializer[i].rawData = Data()
            model.graph.initializer[i].floatData = []
        }
        return model
    }

    /// The graph of a recorded definition (the serialized `stripped` model) with every layer parameter zero, for
    /// the caller to load: checked against `spec` (the file's input shape and classes). Errors name `source`.
    static func model(_ bytes: [UInt8], spec: ModelSpec, source: String) throws -> GraphModule {
        func fail(_ s: String) -> GenieError { GenieError("quantized model \(source): its graph \(s)") }
        let recorded: Onnx_ModelProto
        do { recorded = try Onnx_ModelProto(serializedBytes: bytes) } catch { throw fail("is not an ONNX model (protobuf: \(error))") }
        var filled = recorded
        let parameters = parameters(of: recorded.graph)
        var total = 0
        for (i, t) in recorded.graph.initializer.enumerated() where parameters.contains(t.name) && t.rawData.isEmpty && t.floatData.isEmpty {
            let cap = GraphReader.maxElements + 1  // capped after each factor, so damaged dims cannot overflow
            let count = t.dims.reduce(1) { min($0 * min(max(Int(clamping: $1), 0), cap), cap) }
            total += count
            guard t.dataType == 1, total <= GraphReader.maxElements else {
                throw fail("has a parameter '\(t.name)' of data type \(t.dataType) or too many values (\(t.dims))")
            }
            filled.graph.initializer[i].rawData = Data(count: 4 * count)
        }
        var reader = GraphReader(source: "quantized model \(source): its graph")
        let (model, shape) = try reader.read(filled.graph)
        guard (shape.channels, shape.size, shape.classes) == (spec.inChannels, spec.imageSize, spec.numClasses) else {
            throw fail("takes [\(shape.channels), \(shape.size), \(shape.size)] images to \(shape.classes) classes, but the file "
                + "records [\(spec.inChannels), \(spec.imageSize), \(spec.imageSize)] and \(spec.numClasses)")
        }
        guard spec.mean.count == spec.inChannels, spec.std.count == spec.inChannels, spec.std.allSatisfy({ $0 > 0 && $0.isFinite }) else {
            throw fail("takes \(spec.inChannels) channels, but the file's mean and std are \(spec.mean) and \(spec.std)")
        }
        model.definition = recorded
        return model
    }
}
