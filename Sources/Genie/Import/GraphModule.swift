import NN
import ONNX
import Tensors

/// A network defined by a graph (an imported ONNX file): steps run in order on named values. Its layers with
/// parameters (`Conv2d`, `BatchNorm2d`, `Linear`) are submodules at the paths the file's initializer names give
/// (`layer1.0.conv1.weight` is the weight of the `Conv2d` at `layer1.0.conv1`), so state dicts, batch-norm hooks
/// and quantization see them as in a zoo model; a step finds its layer by path each time, so replacing a layer
/// (quantized wrappers, swing convolutions) changes what the graph runs.
public final class GraphModule: Module {
    /// One node: the values it reads (graph input, earlier outputs or constants) and the value it writes; `layer`
    /// is the path of the layer it runs, if it runs one.
    struct Step {
        var node: String, op: String, inputs: [String], output: String, layer: String? = nil
        var run: (GraphModule, [Tensor]) -> Tensor
    }

    let steps: [Step]
    let input: String, output: String
    /// The ONNX model the graph was read from, without its layers' parameter values (`GraphDefinition`): what a
    /// quantized-model file records to rebuild the graph, and what the ONNX export walks.
    var definition = Onnx_ModelProto()
    /// For each step, the values whose last reader it is (freed after it runs).
    let releases: [[String]]
    /// The scopes that run as one piece of the graph, by their first step, outermost first (`bindScopes`).
    var spans: [Int: [Span]] = [:]

    init(steps: [Step], input: String, output: String) {
        self.steps = steps
        self.input = input
        self.output = output
        var last: [String: Int] = [:]
        for (i, step) in steps.enumerated() { for name in step.inputs { last[name] = i } }
        releases = steps.indices.map { i in last.filter { $0.value == i && $0.key != output }.map(\.key) }
        super.init()
    }

    /// The same graph (its steps find their layers by path, so they are shared) over a copy of the layers.
    override public func copy() -> Module {
        let copy = GraphModule(steps: steps, input: input, output: output).adopting(self)
        copy.definition = definition
        copy.bindScopes()
        return copy
    }

    /// Registers `layer` at a dotted `path`, making a plain container for each missing parent.
    func add(_ layer: Module, at path: String) {
        var parent: Module = self
        let parts = path.split(separator: ".").map(String.init)
        for part in parts.dropLast() {
            if !parent.childNames.contains(part) { parent.register(part, LayerScope()) }
            parent = parent.child(part)
        }
        parent.register(parts.last!, layer)
    }

    override public func forward(_ x: Tensor) -> Tensor {
        var values = [input: x]
        execute(steps.indices, &values, within: nil)
        return values[output]!
    }
}

/// A container of layers at a common path prefix of a graph (`layer1`, `layer1.0`). When its steps form one piece
/// of the graph (`GraphModule.bindScopes`), calling it runs them, so that hooks and reconstruction see it as they
/// see a zoo model's block; otherwise it runs nothing itself.
public final class LayerScope: Module {
    /// The graph and the piece of it this scope runs (nil: it runs nothing).
    weak var graph: GraphModule?
    var span: GraphModule.Span?

    override public func copy() -> Module { LayerScope(copying: self) }

    override public func forward(_ x: Tensor) -> Tensor {
        guard let graph, let span else { preconditionFailure("this layer scope is not one piece of its graph and cannot run alone") }
        return graph.run(span, x)
    }
}
