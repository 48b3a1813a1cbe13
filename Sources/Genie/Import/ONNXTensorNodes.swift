import ONNX
import Tensors

/// The importer's ops that move tensors between axes (ShuffleNet's channel split, join and shuffle) and the
/// integer arithmetic of the shape sub-graphs that size them, folded at load time.
extension GraphReader {
    /// Whether input `i` is a folded integer value (a shape, a size computed from one, an integer constant).
    func isFoldedInts(_ i: Int) -> Bool {
        if case .ints? = known(i) { true } else { false }
    }

    /// `Add`, `Sub`, `Mul` or `Div` of folded integers (`x.size(1) // 2`), one of them a single value or both of one
    /// shape. The batch size is not known at load time, so arithmetic on it is refused.
    mutating func foldArithmetic(_ output: String) throws {
        let a = try ints(0), b = try ints(1), dims = [known(0)!.dims, known(1)!.dims]
        guard !a.isEmpty, !b.isEmpty, a.count == b.count || a.count == 1 || b.count == 1, !(a + b).contains(Self.batch) else {
            throw fail("only arithmetic on folded sizes of one shape, or by a single value, is read (not on the batch size)")
        }
        let count = max(a.count, b.count)
        let values = try (0..<count).map { i in
            let (x, y) = (a[a.count == 1 ? 0 : i], b[b.count == 1 ? 0 : i])
            let (value, overflow): (Int, Bool) = switch node.opType {
            case "Add": x.addingReportingOverflow(y)
            case "Sub": x.subtractingReportingOverflow(y)
            case "Mul": x.multipliedReportingOverflow(by: y)
            default: y == 0 ? (0, true) : x.dividedReportingOverflow(by: y)  // ONNX's integer Div truncates, as Swift's
            }
            guard !overflow else { throw fail("\(node.opType) of \(x) and \(y) overflows or divides by zero") }
            return value
        }
        constants[output] = .ints(a.count >= b.count ? dims[0] : dims[1], values)
    }

    /// An axis attribute or value of a tensor of `rank`, negative counting from the end; the batch axis (0) is
    /// refused, since the graph is checked at batch 1 and runs at any batch.
    func axis(_ value: Int, rank: Int) throws -> Int {
        let axis = value < 0 ? value + rank : value
        guard axis >= 1, axis < rank else { throw fail("axis \(value) is the batch axis or outside the \(rank) axes") }
        return axis
    }

    /// `Concat` of computed tensors (torch.cat): shapes equal except along `axis`.
    mutating func concat(_ output: String) throws {
        let parts = try node.input.indices.map { try tensor($0) }
        guard let first = parts.first, let value = attribute("axis")?.i else { throw fail("needs inputs and an axis") }
        let axis = try axis(Int(clamping: value), rank: first.shape.count)
        guard parts.allSatisfy({ p in p.shape.count == first.shape.count
                && p.shape.indices.allSatisfy { $0 == axis || p.shape[$0] == first.shape[$0] } }) else {
            throw fail("shapes \(parts.map(\.shape)) differ off axis \(axis)")
        }
        var shape = first.shape
        shape[axis] = parts.map { $0.shape[axis] }.reduce(0, +)
        guard shape.reduce(1, *) <= Self.maxElements else { throw fail("output \(shape) is too large") }
        step(output, parts.map(\.name), shape) { _, xs in Tensor.concatenated(xs, axis: axis) }
    }

    /// `Transpose` by a permutation that keeps the batch first (ShuffleNet's `x.transpose(1, 2)`).
    mutating func transpose(_ output: String) throws {
        let x = try tensor(0), rank = x.shape.count
        let perm = intList("perm") ?? Array((0..<rank).reversed())
        guard perm.sorted() == Array(0..<rank), perm.first == 0 else {
            throw fail("perm \(perm) is not a permutation of the \(rank) axes of \(x.shape) that keeps the batch first")
        }
        step(output, [x.name], perm.map { x.shape[$0] }) { _, xs in xs[0].transposed(perm) }
    }

    /// `Slice` with step 1 along axes other than the batch: starts, ends, axes and steps as constant inputs (from
    /// opset 10; torch.chunk's halves) or attributes (before).
    mutating func slice(_ output: String) throws {
        let x = try tensor(0), rank = x.shape.count
        func list(_ i: Int, _ name: String) throws -> [Int]? {
            if i < node.input.count, !node.input[i].isEmpty { return try ints(i) }
            return node.input.count > 1 ? nil : intList(name)
        }
        guard let starts = try list(1, "starts"), let ends = try list(2, "ends") else { throw fail("needs starts and ends") }
        let axes = try (list(3, "axes") ?? Array(0..<starts.count)).map { try axis($0, rank: rank) }
        let steps = try list(4, "steps") ?? starts.map { _ in 1 }
        guard ends.count == starts.count, axes.count == starts.count, steps.count == starts.count, Set(axes).count == axes.count,
              steps.allSatisfy({ $0 == 1 }), !(starts + ends).contains(Self.batch) else {
            throw fail("starts \(starts), ends \(ends), axes \(axes) and steps \(steps) must be of one length, on distinct axes, with step 1")
        }
        var shape = x.shape
        var ranges: [(axis: Int, range: Range<Int>)] = []
        for (k, axis) in axes.enumerated() {
            let d = x.shape[axis]
            func clamped(_ i: Int) -> Int { min(max(i < 0 ? i + d : i, 0), d) }  // ONNX's rule for out-of-range indices
            let (lower, upper) = (clamped(starts[k]), clamped(ends[k]))
            guard lower < upper else { throw fail("slice \(starts[k])..<\(ends[k]) of axis \(axis) of \(x.shape) is empty") }
            ranges.append((axis, lower..<upper))
            shape[axis] = upper - lower
        }
        step(output, [x.name], shape) { _, xs in ranges.reduce(xs[0]) { $0.slice(axis: $1.axis, $1.range) } }
    }

    /// `Split` along an axis other than the batch into the node's outputs, one step each: sizes from the `split`
    /// input (opset 13) or attribute (before), else equal parts (`num_outputs` from opset 18: the last one smaller).
    mutating func split() throws {
        let x = try tensor(0), outputs = node.output
        let axis = try axis(int("axis", 0), rank: x.shape.count), d = x.shape[axis]
        let sizes: [Int]
        if node.input.count > 1, !node.input[1].isEmpty {
            sizes = try ints(1)
        } else if let given = intList("split") {
            sizes = given
        } else {
            let chunk = outputs.isEmpty ? 0 : (d + outputs.count - 1) / outputs.count
            guard attribute("num_outputs") != nil || (chunk > 0 && d % outputs.count == 0) else {
                throw fail("\(d) channels of axis \(axis) do not split into \(outputs.count) equal parts")
            }
            sizes = (0..<outputs.count).map { max(0, min(chunk, d - $0 * chunk)) }
        }
        guard sizes.count == outputs.count, sizes.allSatisfy({ $0 > 0 }), sizes.reduce(0, +) == d else {
            throw fail("split \(sizes) of axis \(axis) (size \(d)) into \(outputs.count) outputs: needs one positive size per output, adding up to \(d)")
        }
        guard outputs.allSatisfy({ !$0.isEmpty && shapes[$0] == nil && constants[$0] == nil }), Set(outputs).count == outputs.count else {
            throw fail("an output is missing or written twice")
        }
        var start = 0
        for (name, size) in zip(outputs, sizes) {
            var shape = x.shape
            shape[axis] = size
            let range = start..<(start + size)
            step(name, [x.name], shape) { _, xs in xs[0].slice(axis: axis, range) }
            start += size
        }
    }
}
