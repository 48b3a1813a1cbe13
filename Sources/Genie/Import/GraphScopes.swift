import NN
import Tensors

extension GraphModule {
    /// A layer scope whose steps form one piece of the graph: contiguous, reading one value from before them and
    /// writing one value read after them.
    struct Span {
        var path: String, steps: Range<Int>, entry: String, exit: String
    }

    /// Finds the scopes that form one piece of the graph and makes calling them run their steps. A scope's steps
    /// are those that run its layers and those whose node name places them in it (PyTorch names each node after
    /// the modules it ran in: `/layer1/layer1.0/relu_1/Relu` ran in `layer1.0`); they form one piece when they are
    /// contiguous, read one value from before them and write one value read after them.
    func bindScopes() {
        spans = [:]
        let scopes = steps.map { GraphModule.scope(ofNode: $0.node) }
        for (path, scope) in namedModules().compactMap({ e in (e.module as? LayerScope).map { (e.path, $0) } }) where !path.isEmpty {
            (scope.graph, scope.span) = (nil, nil)
            func inside(_ i: Int) -> Bool {
                [steps[i].layer, scopes[i]].contains { $0.map { $0 == path || $0.hasPrefix(path + ".") } ?? false }
            }
            guard let first = steps.indices.first(where: inside), let last = steps.indices.last(where: inside),
                  (first...last).allSatisfy(inside) else { continue }
            let piece = steps[first...last]
            let produced = Set(piece.map(\.output))
            let entries = Set(piece.flatMap(\.inputs)).subtracting(produced)
            let read = Set(steps[(last + 1)...].flatMap(\.inputs) + [output])
            guard entries.count == 1, !read.contains(entries.first!), produced.intersection(read) == [steps[last].output] else { continue }
            let span = Span(path: path, steps: first..<(last + 1), entry: entries.first!, exit: steps[last].output)
            (scope.graph, scope.span) = (self, span)
            spans[first, default: []].append(span)
        }
        for start in spans.keys { spans[start]!.sort { $0.path.count < $1.path.count } }  // outermost first
    }

    /// The module path PyTorch records in a node's name: `/features/features.3/conv/conv.0/conv.0.0/Conv` ran in
    /// `features.3.conv.0.0` (a name `a.0` under `a` is `a`'s child `0`); nil for a node at the top or unnamed.
    public static func scope(ofNode name: String) -> String? {
        let parts = name.split(separator: "/").dropLast().map(String.init)
        guard name.hasPrefix("/"), !parts.isEmpty else { return nil }
        var path: [String] = []
        for part in parts {
            if let previous = path.last, part.hasPrefix(previous + ".") { path[path.count - 1] = part } else { path.append(part) }
        }
        return path.joined(separator: ".")
    }

    /// Runs `range` of the steps on `values`, calling the outermost bound scope inside `scope` (nil: the whole
    /// graph) where one starts, so that its hooks run.
    func execute(_ range: Range<Int>, _ values: inout [String: Tensor], within scope: String?) {
        var i = range.lowerBound
        while i < range.upperBound {
            if let span = spans[i]?.first(where: { span in
                span.steps.upperBound <= range.upperBound && scope.map { span.path.hasPrefix($0 + ".") } ?? true
            }) {
                values[span.exit] = module(at: span.path)!(values[span.entry]!)
                for done in releases[span.steps] { for name in done { values[name] = nil } }
                i = span.steps.upperBound
                continue
            }
            values[steps[i].output] = steps[i].run(self, steps[i].inputs.map { values[$0]! })
            for name in releases[i] { values[name] = nil }
            i += 1
        }
    }

    /// Runs a bound scope's `span` on its input `x`.
    func run(_ span: Span, _ x: Tensor) -> Tensor {
        var values = [span.entry: x]
        execute(span.steps, &values, within: span.path)
        return values[span.exit]!
    }
}
