import NN

/// A `DataflowModule`'s flow written into an ONNX graph: values are the graph's value names, a child's call is the
/// child's nodes (`ONNXGraph.emit`), and each operation one node named after the module's path.
struct ONNXDataflow: Dataflow {
    typealias Failure = any Error
    let graph: ONNXGraph, module: Module, path: String

    func call(_ name: String, _ x: String) throws -> String {
        try graph.emit(module.child(name), ONNXGraph.path(path, name), x)
    }

    func add(_ a: String, _ b: String) -> String { graph.node("Add", [a, b], ONNXGraph.path(path, "add")) }

    func flatten(_ x: String) -> String { graph.node("Flatten", [x], ONNXGraph.path(path, "flatten"), [.int("axis", 1)]) }

    func globalAveragePool(_ x: String) -> String { graph.node("GlobalAveragePool", [x], ONNXGraph.path(path, "avgpool")) }

    func maxPool(_ x: String, kernelSize k: Int, stride s: Int, padding p: Int) -> String {
        graph.node("MaxPool", [x], path, [.ints("kernel_shape", [k, k]), .ints("strides", [s, s]), .ints("pads", [p, p, p, p])])
    }
}
