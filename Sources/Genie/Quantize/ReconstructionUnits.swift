import NN
import Tensors

/// The modules reconstructed one at a time, in BRECQ order, found from the model's dataflow and its module paths
/// alone (docs/METHOD.md, "Reconstruction units"), so zoo models and imported graphs follow one rule:
///
/// 1. Trace one forward pass on `input`. A value that every path from the input to the output passes through is
///    a *cut*; between two consecutive cuts the dataflow either is one op or *branches* (a residual connection,
///    a squeeze-excite gate).
/// 2. The conv and linear layers of a branching span form a *block*: the innermost module holding exactly those
///    layers that reads the cut before the span and writes the cut closing it, or a value past it by steps
///    without layers (`layer1.0` with the ReLU after its Add; `features.3`, not `features.3.conv`, whose output
///    comes before the Add). The blocks' shallowest depth is the network's block level (2 for torchvision's
///    ResNets and MobileNetV2, 3 for its RegNets and MnasNet); deeper blocks are dissolved.
/// 3. Every other layer joins the consecutive layers that share its path down to the block level, when one
///    module holds exactly them and runs as one (MobileNetV2's `features.2`, which has no residual connection);
///    a layer alone is its own unit (`conv1`, `fc`).
///
/// Every unit is a module called once per forward pass: an imported graph's blocks are its bound scopes
/// (`GraphModule.bindScopes`).
///
/// A network without branches (VGG-like) is reconstructed layer by layer. Returns the unit paths in forward order.
public func reconstructionUnits(of model: Module, input: Tensor) -> [String] {
    // Each module's first call (input and output values), and the layers in the order they run.
    var calls: [String: (input: ObjectIdentifier?, output: ObjectIdentifier?)] = [:]
    var layers: [(path: String, output: ObjectIdentifier?)] = []
    let hooks = model.namedModules().filter { !$0.path.isEmpty }.map { path, module in
        (module, module.addForwardHook { module, input, output in
            guard calls[path] == nil else { return }
            calls[path] = (input.recordedValue, output.recordedValue)
            if module is Conv2d || module is Linear { layers.append((path, output.recordedValue)) }
        })
    }
    model.setTraining(false)
    let x = input.slice(batch: 0..<1).requiringGradient()
    let graph = RecordedGraph(from: x, to: model(x))
    for (module, id) in hooks { module.removeHook(id) }

    // Cuts: positions that no edge of the topologically ordered dataflow jumps over.
    var jumps = [Int](repeating: 0, count: graph.values.count + 1)
    for (child, parents) in graph.parents.enumerated() {
        for parent in parents where child - parent > 1 { jumps[parent + 1] += 1; jumps[child] -= 1 }
    }
    var cuts: [Int] = [], open = 0
    for position in graph.values.indices {
        open += jumps[position]
        if open == 0 { cuts.append(position) }
    }
    let position = Dictionary(graph.values.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
    func place(_ value: ObjectIdentifier?) -> Int? { value.flatMap { position[$0] } }
    // The span (index of the cut that ends it) of each layer's output; nil for a layer off the path to the output.
    let span = layers.map { layer in place(layer.output).map { p in cuts.firstIndex { $0 >= p }! } }
    let outputs = layers.compactMap { place($0.output) }

    func holds(_ path: String, exactly group: [String]) -> Bool {
        guard let module = model.module(at: path), calls[path] != nil else { return false }  // a graph's scope must run as one
        return Set(module.namedModules(prefix: path).filter { $0.module is Conv2d || $0.module is Linear }.map(\.path)) == Set(group)
    }
    func prefixes(of path: String) -> [String] {
        let parts = path.split(separator: ".")
        return (1...parts.count).map { parts.prefix($0).joined(separator: ".") }
    }

    // Blocks: the innermost module holding exactly a branching span's layers, from the cut before the span to
    // the span's closing cut or past it by layer-free steps (a ResNet block's ReLU after its Add).
    var blocks: [Int: String] = [:]
    for s in cuts.indices.dropFirst() where cuts[s] - cuts[s - 1] > 1 {
        let group = layers.indices.filter { span[$0] == s }.map { layers[$0].path }
        guard !group.isEmpty else { continue }
        blocks[s] = prefixes(of: group[0]).last { path in
            guard holds(path, exactly: group), let call = calls[path], place(call.input) == cuts[s - 1],
                  let end = place(call.output), end >= cuts[s] else { return false }
            return !outputs.contains { $0 > cuts[s] && $0 <= end }
        }
    }
    guard let depth = blocks.values.map({ $0.split(separator: ".").count }).min() else { return layers.map(\.path) }
    blocks = blocks.filter { $0.value.split(separator: ".").count == depth }

    // Units in forward order: blocks whole, other layers grouped by their path at the block level.
    var units: [String] = [], pending: [String] = [], pendingScope = ""
    func flush() {
        if pending.count > 1, holds(pendingScope, exactly: pending) { units.append(pendingScope) } else { units += pending }
        pending = []
    }
    for (i, layer) in layers.enumerated() {
        if let s = span[i], let block = blocks[s] {
            flush()
            if units.last != block { units.append(block) }
            continue
        }
        let parts = layer.path.split(separator: ".")
        let scope = parts.prefix(depth).joined(separator: ".")
        if scope != pendingScope || parts.count <= depth { flush() }
        pending.append(layer.path)
        pendingScope = scope
    }
    flush()
    return units
}
