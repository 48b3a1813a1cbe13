import Kernels

extension Tensor {
    /// The sum of all scalars, as a rank-0 tensor (float partial sums added up in double precision).
    public func sum() -> Tensor {
        let total = Loops.sum(buffer, count)
        let shape = self.shape, layout = self.layout
        return Tensor(Float(total)).recording([self]) { g, _ in
            [Tensor(repeating: g.item, shape: shape, layout: layout)]
        }
    }

    /// The mean of all scalars, as a rank-0 tensor.
    public func mean() -> Tensor { sum() * (1 / Float(Swift.max(count, 1))) }

    /// Per-channel sums of a 4-D tensor over batch and space: shape `[C]`.
    public func channelSums() -> Tensor {
        let (_, c, _, _) = channelView
        let shape = self.shape
        return Tensor(shape: [c], scalars: channelSums(channelShape)).recording([self]) { g, _ in
            [g.reshaped(to: [1, c, 1, 1]).broadcast(to: shape)]
        }
    }

    /// Sums over the given axes (plain layout), keeping them as size 1 when `keepingDimensions`.
    public func sum(alongAxes axes: [Int], keepingDimensions: Bool = false) -> Tensor {
        let axes = Set(axes.map { $0 < 0 ? $0 + rank : $0 })
        precondition(axes.allSatisfy { $0 >= 0 && $0 < rank }, "axes \(axes) out of range for shape \(shape)")
        let kept = shape.enumerated().map { axes.contains($0.offset) ? 1 : $0.element }
        let summed = sum(toShape: kept)
        return keepingDimensions ? summed : summed.reshaped(to: shape.enumerated().filter { !axes.contains($0.offset) }.map(\.element))
    }

    /// Means over the given axes.
    public func mean(alongAxes axes: [Int], keepingDimensions: Bool = false) -> Tensor {
        let n = axes.map { shape[$0 < 0 ? $0 + rank : $0] }.reduce(1, *)
        return sum(alongAxes: axes, keepingDimensions: keepingDimensions) * (1 / Float(n))
    }

    /// The same scalars under a new shape (converts to plain first); one dimension may be -1.
    public func reshaped(to newShape: [Int]) -> Tensor {
        var target = newShape
        if let i = newShape.firstIndex(of: -1) {
            let known = newShape.filter { $0 != -1 }.reduce(1, *)
            precondition(known > 0 && count % known == 0, "cannot reshape \(shape) to \(newShape)")
            target[i] = count / known
        }
        precondition(target.reduce(1, *) == count, "cannot reshape \(shape) (\(count) scalars) to \(newShape)")
        if target == shape { return self }
        let plain = converted(to: .plain)
        let original = shape
        return Tensor(shape: target, layout: .plain, buffer: plain.buffer).recording([plain]) { g, _ in
            [g.reshaped(to: original)]
        }
    }

    /// `[N, ...]` to `[N, rest]` (PyTorch's `flatten(1)`).
    public func flattened() -> Tensor { reshaped(to: [shape[0], -1]) }
}
