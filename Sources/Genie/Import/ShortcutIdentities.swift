import ONNX

/// The shortcut identities of an imported graph (docs/METHOD.md, "Shortcut identities"): the zoo's residual
/// blocks register their skip connection as an identity module (`layer1.0.identity`, `features.3.identity`),
/// which GENIE-M quantizes like a layer's input; an imported graph gets the same modules at the same paths.
enum ShortcutIdentities {
    /// The op and the last scope name of an inserted identity node: `/layer1/layer1.0/identity/Identity`.
    static let op = "Identity", scopeName = "identity"

    /// Whether `node` is a shortcut identity: an `Identity` whose node name places it in a scope named `identity`
    /// (or `identity_1`, ... when one scope holds several residual additions).
    static func isShortcut(_ node: Onnx_NodeProto) -> Bool {
        guard node.opType == op, let scope = GraphModule.scope(ofNode: node.name) else { return false }
        let last = scope.split(separator: ".").last.map(String.init) ?? scope
        return last == scopeName || (last.hasPrefix(scopeName + "_") && Int(last.dropFirst(scopeName.count + 1)) != nil)
    }

    /// `graph` with an identity node before each skip connection: for every `Add` in a scope that PyTorch's node
    /// names give (`/layer1/layer1.0/Add` ran in `layer1.0`), each input that another node (or the graph output)
    /// also reads is read through a new `Identity` node in the scope `<scope of the Add>.identity`. An `Add` whose
    /// inputs only it reads (a downsample shortcut's, or one that already reads an identity) is left as it is, so
    /// rewriting a rewritten graph changes nothing.
    static func inserted(into graph: Onnx_GraphProto) -> Onnx_GraphProto {
        let constants = Set(graph.initializer.map(\.name))
        var readers: [String: Int] = [:]
        for name in graph.node.flatMap(\.input) + graph.output.map(\.name) { readers[name, default: 0] += 1 }
        var taken = Set(graph.node.flatMap { $0.input + $0.output } + graph.input.map(\.name) + constants)
        var scopes = Set(graph.node.compactMap { GraphModule.scope(ofNode: $0.name) })
        func fresh(_ base: String, in used: Set<String>) -> String {
            var name = base, n = 0
            while used.contains(name) { n += 1; name = "\(base)_\(n)" }
            return name
        }
        var rewritten = graph
        rewritten.node = []
        for var node in graph.node {
            if node.opType == "Add", let scope = GraphModule.scope(ofNode: node.name) {
                let prefix = node.name.split(separator: "/").dropLast().joined(separator: "/")
                for (i, input) in node.input.enumerated() where !input.isEmpty && !constants.contains(input) && readers[input, default: 0] > 1 {
                    let path = fresh(scope + "." + scopeName, in: scopes)
                    scopes.insert(path)
                    var identity = Onnx_NodeProto()
                    identity.opType = op
                    identity.name = "/\(prefix)/\(path.split(separator: ".").last!)/\(op)"
                    identity.input = [input]
                    identity.output = [fresh(identity.name + "_output_0", in: taken)]
                    taken.insert(identity.output[0])
                    node.input[i] = identity.output[0]
                    rewritten.node.append(identity)
                }
            }
            rewritten.node.append(node)
        }
        return rewritten
    }
}
