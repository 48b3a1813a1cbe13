import Kernels

/// A node of the reverse-mode graph: the parents an op read and the pullback that maps the gradient of
/// its output to gradients of those parents. Leaves (tensors made with `requiringGradient()`) have none.
final class GraphNode {
    let parents: [GraphNode?]
    /// `(outputGradient, needed) -> parentGradients`; `needed[i]` says whether parent i's gradient is
    /// wanted, so ops can skip work (a frozen conv weight needs no backward-weights pass).
    private(set) var pullback: ((Tensor, [Bool]) -> [Tensor?])?
    /// Whether `gradients(of:wrt:)` ran the pullback and let go of the tensors it saved.
    private(set) var released = false

    init(parents: [GraphNode?], pullback: ((Tensor, [Bool]) -> [Tensor?])?) {
        self.parents = parents
        self.pullback = pullback
    }

    /// Runs the pullback once and frees what it captured (the op's saved inputs and outputs), as PyTorch's
    /// `backward()` does without `retain_graph`: backward's peak memory no longer holds every activation.
    func pullOnce(_ gradient: Tensor, _ needed: [Bool]) -> [Tensor?] {
        precondition(!released, "gradients(of:wrt:) ran through this graph already; its saved tensors are freed: record the loss again")
        defer { (pullback, released) = (nil, true) }
        return pullback!(gradient, needed)
    }
}

/// The no-grad switch, task-local so that concurrent tasks (and tests) do not see each other's.
private enum GradientMode {
    @TaskLocal static var disabled = false
}

/// Whether ops currently record the autodiff graph.
public var isRecordingGradients: Bool { !GradientMode.disabled }

/// Runs `body` without recording the autodiff graph (PyTorch's `torch.no_grad()`).
public func withoutGradients<T>(_ body: () throws -> T) rethrows -> T {
    try GradientMode.$disabled.withValue(true) { try body() }
}

extension Tensor {
    /// Whether gradients can flow to this tensor (it is a leaf that requires them or depends on one).
    public var requiresGradient: Bool { node != nil }

    /// The same values as a leaf of the graph, so that `gradients(of:wrt:)` can differentiate with respect to it.
    public func requiringGradient() -> Tensor {
        Tensor(shape: shape, layout: layout, buffer: buffer, node: GraphNode(parents: [], pullback: nil))
    }

    /// The same values cut off from the graph (PyTorch's `detach()`).
    public func detached() -> Tensor {
        node == nil ? self : Tensor(shape: shape, layout: layout, buffer: buffer)
    }

    /// Whether an op on `inputs` records its pullback (`recording`): gradients are being recorded and some input is
    /// in the graph.
    static func records(_ inputs: [Tensor]) -> Bool { isRecordingGradients && inputs.contains { $0.node != nil } }

    /// Attaches a graph node to a freshly computed `self` whose value was computed from `inputs`.
    /// `pullback(g, needed)` returns one gradient per input (nil where not needed), each with the
    /// shape of its input; it runs without recording. Captured outputs must be the node-less `self`.
    public func recording(_ inputs: [Tensor], _ pullback: @escaping (Tensor, [Bool]) -> [Tensor?]) -> Tensor {
        guard Tensor.records(inputs) else { return self }
        let node = GraphNode(parents: inputs.map(\.node), pullback: pullback)
        return Tensor(shape: shape, layout: layout, buffer: buffer, node: node)
    }
}

/// Errors of gradient computation.
public enum GradientError: Error, CustomStringConvertible {
    case notScalar([Int])
    case notALeaf(index: Int)

    public var description: String {
        switch self {
        case .notScalar(let s): return "gradients(of:) needs a one-element loss, got shape \(s)"
        case .notALeaf(let i): return "wrt[\(i)] does not require gradients; call requiringGradient() on it first"
        }
    }
}

/// The nodes `root` depends on, and itself, in post-order (parents first), with whether each is a target or
/// depends on one. Iterative: the graphs of deep nets are long.
private func postOrder(from root: GraphNode, targets isTarget: (GraphNode) -> Bool)
    -> (order: [GraphNode], reaches: [ObjectIdentifier: Bool]) {
    var order: [GraphNode] = []
    var reaches: [ObjectIdentifier: Bool] = [:]
    var stack: [(GraphNode, Int)] = [(root, 0)]
    while let (node, next) = stack.popLast() {
        let id = ObjectIdentifier(node)
        if next == 0 && reaches[id] != nil { continue }
        if next < node.parents.count {
            stack.append((node, next + 1))
            if let p = node.parents[next], reaches[ObjectIdentifier(p)] == nil { stack.append((p, 0)) }
        } else {
            reaches[id] = isTarget(node) || node.parents.contains { $0.map { reaches[ObjectIdentifier($0)] == true } ?? false }
            order.append(node)
        }
    }
    return (order, reaches)
}

/// Gradients of a one-element `loss` with respect to each tensor of `wrt`, each with that tensor's
/// shape and layout; zeros where the loss does not depend on it. Walks only the part of the graph
/// between `wrt` and `loss`, and frees each op's saved tensors once its pullback ran: a graph is
/// differentiated once (record the loss again for another call).
public func gradients(of loss: Tensor, wrt: [Tensor]) -> [Tensor] {
    precondition(loss.count == 1, GradientError.notScalar(loss.shape).description)
    for (i, t) in wrt.enumerated() { precondition(t.node != nil, GradientError.notALeaf(index: i).description) }
    let targets = Set(wrt.map { ObjectIdentifier($0.node!) })
    guard let root = loss.node else { return wrt.map { Tensor(repeating: 0, shape: $0.shape, layout: $0.layout) } }

    let (order, reaches) = postOrder(from: root) { targets.contains(ObjectIdentifier($0)) }

    var grads: [ObjectIdentifier: Tensor] = [ObjectIdentifier(root): Tensor(repeating: 1, shape: loss.shape)]
    withoutGradients {
        for node in order.reversed() {
            let id = ObjectIdentifier(node)
            guard reaches[id] == true, node.pullback != nil || node.released, let g = grads[id] else { continue }
            if !targets.contains(id) { grads[id] = nil }  // free intermediate gradients early
            let needed = node.parents.map { $0.map { reaches[ObjectIdentifier($0)] == true } ?? false }
            let parentGrads = node.pullOnce(g, needed)
            for (p, pg) in zip(node.parents, parentGrads) {
                guard let p, let pg, reaches[ObjectIdentifier(p)] == true else { continue }
                let pid = ObjectIdentifier(p)
                grads[pid] = grads[pid].map { $0.accumulating(pg) } ?? pg
            }
        }
    }
    return wrt.map { t in
        grads[ObjectIdentifier(t.node!)].map { $0.converted(to: t.layout) }
            ?? Tensor(repeating: 0, shape: t.shape, layout: t.layout)
    }
}

extension Tensor {
    /// `self + other` for gradient accumulation: same shape, any layouts, no graph.
    func accumulating(_ other: Tensor) -> Tensor {
        precondition(shape == other.shape, "gradient shapes differ: \(shape) vs \(other.shape)")
        let rhs = other.converted(to: layout)
        let out = Tensor(uninitializedShape: shape, layout: layout)
        Loops.zip(buffer, rhs.buffer, out.buffer, count, Add())
        return out
    }
}

extension Tensor {
    /// The identity of the recorded value this tensor holds (nil when no graph was recorded for it): tensors
    /// with equal identities are the same value of a traced computation.
    public var recordedValue: ObjectIdentifier? { node.map(ObjectIdentifier.init) }
}

/// The dataflow that recording gradients traced between a leaf `input` (`requiringGradient()`) and `output`:
/// every recorded value on a path from one to the other, with the values each was computed from.
public struct RecordedGraph {
    /// The values, each after the values it was computed from: `input`'s first, `output`'s last.
    public let values: [ObjectIdentifier]
    /// For each value (an index into `values`), the indices of the values it was computed from.
    public let parents: [[Int]]

    public init(from input: Tensor, to output: Tensor) {
        guard let source = input.node, let sink = output.node else { values = []; parents = []; return }
        let (all, reaches) = postOrder(from: sink) { $0 === source }
        let order = all.filter { reaches[ObjectIdentifier($0)] == true }
        values = order.map(ObjectIdentifier.init)
        let index = Dictionary(uniqueKeysWithValues: values.enumerated().map { ($1, $0) })
        parents = order.map { node in node.parents.compactMap { $0.flatMap { index[ObjectIdentifier($0)] } } }
    }
}
