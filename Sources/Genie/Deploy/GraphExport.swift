import Foundation
import ONNX

extension ONNXGraph {
    /// Appends an imported graph's nodes on the value `x` and returns its output value: each node that runs a layer
    /// is written by `emit` from the layer the graph runs now (quantized, its batch norm folded); every other node
    /// as it was read, with the initializers it reads (the shape sub-graphs too, which onnxruntime computes). Value
    /// names are made unique in this graph.
    func emitSteps(of graph: GraphModule, _ x: String) throws -> String {
        let definition = graph.definition.graph, parameters = GraphDefinition.parameters(of: definition)
        var layers: [String: (path: String, input: String)] = [:]
        for step in graph.steps { if let path = step.layer { layers[step.output] = (path, step.inputs[0]) } }
        var values = [graph.input: x]
        func value(_ name: String, of node: Onnx_NodeProto) throws -> String {
            guard let value = values[name] else {
                throw GenieError("ONNX export: node '\(node.name)' (\(node.opType)) reads '\(name)', which the graph does not compute")
            }
            return value
        }
        for t in definition.initializer where !parameters.contains(t.name) {
            var copy = t
            copy.name = unique(t.name)
            values[t.name] = copy.name
            initializers.append(copy)
        }
        for node in definition.node {
            if let output = node.output.first, let layer = layers[output] {
                guard let module = graph.module(at: layer.path) else { throw GenieError("ONNX export: the graph has no layer '\(layer.path)'") }
                values[output] = try emit(module, layer.path, value(layer.input, of: node))
                continue
            }
            if node.opType == "Identity" && node.output.allSatisfy(parameters.contains) { continue }  // a parameter, read by its layers
            var copy = node
            copy.name = unique(node.name.isEmpty ? node.opType : node.name)
            copy.input = try node.input.map { $0.isEmpty ? $0 : try value($0, of: node) }
            copy.output = node.output.map { name in
                guard !name.isEmpty else { return name }
                values[name] = unique(name)
                return values[name]!
            }
            nodes.append(adapted(copy))
        }
        return try value(graph.output, of: definition.node.last ?? Onnx_NodeProto())
    }

    /// A copied node in this graph's opset: ReduceMean's `axes` attribute became an input in opset 18.
    private func adapted(_ node: Onnx_NodeProto) -> Onnx_NodeProto {
        guard opset >= 18, node.opType == "ReduceMean", let i = node.attribute.firstIndex(where: { $0.name == "axes" }) else { return node }
        var node = node
        let axes = node.attribute.remove(at: i).ints.map { Int($0) }
        node.input.append(integers(node.name + ".axes", .int64, axes, dims: [axes.count]))
        return node
    }
}
