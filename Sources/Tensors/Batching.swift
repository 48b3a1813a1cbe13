import Kernels

extension Tensor {
    /// PyTorch's `torch.cat(tensors, dim: axis)`: shapes equal except along `axis`. The result keeps the
    /// first tensor's layout when the axis is the batch or (blocked) channel axis, else it is plain.
    public static func concatenated(_ tensors: [Tensor], axis: Int = 0) -> Tensor {
        precondition(!tensors.isEmpty, "concatenated needs at least one tensor")
        let first = tensors[0], rank = first.rank
        let axis = axis < 0 ? axis + rank : axis
        precondition(axis >= 0 && axis < rank, "concatenated: axis \(axis) out of range for rank \(rank)")
        for t in tensors {
            precondition(t.rank == rank && (0..<rank).allSatisfy { $0 == axis || t.shape[$0] == first.shape[$0] },
                         "concatenated: shape \(t.shape) does not match \(first.shape) off axis \(axis)")
        }
        var shape = first.shape
        shape[axis] = tensors.reduce(0) { $0 + $1.shape[axis] }
        // Blocked storage [N, C/block, H, W, block] is contiguous per sample and per channel block, so a
        // concatenation along N, or along C of blocked parts, is the same chunk copy as in plain layout.
        let layout: Layout = first.layout == .blocked && axis <= 1
            && tensors.allSatisfy({ Tensor.canBlock($0.shape) }) ? .blocked : .plain
        let parts = tensors.map { $0.converted(to: layout) }
        let outer = first.shape[..<axis].reduce(1, *)
        let inner = first.shape[(axis + 1)...].reduce(1, *)
        let out = Tensor(uninitializedShape: shape, layout: layout)
        let stride = shape[axis] * inner
        var offsets: [Int] = []
        var offset = 0
        for p in parts {
            offsets.append(offset)
            BatchKernels.copyChunks(p.buffer, srcStride: p.shape[axis] * inner, srcOffset: 0,
                                    out.buffer, dstStride: stride, dstOffset: offset, outer: outer,
                                    chunk: p.shape[axis] * inner)
            offset += p.shape[axis] * inner
        }
        return out.recording(tensors) { g, need in
            let g = g.converted(to: layout)
            return parts.indices.map { i in
                guard need[i] else { return nil }
                let p = parts[i], chunk = p.shape[axis] * inner
                let d = Tensor(uninitializedShape: p.shape, layout: layout)
                BatchKernels.copyChunks(g.buffer, srcStride: stride, srcOffset: offsets[i],
                                        d.buffer, dstStride: chunk, dstOffset: 0, outer: outer, chunk: chunk)
                return d
            }
        }
    }

    /// Samples `range` along axis 0 (PyTorch's `x[range]`), layout kept.
    public func slice(batch range: Range<Int>) -> Tensor {
        precondition(rank >= 1 && range.lowerBound >= 0 && range.upperBound <= shape[0],
                     "slice: range \(range) out of bounds for shape \(shape)")
        let row = shape[0] == 0 ? 0 : count / shape[0]
        var outShape = shape
        outShape[0] = range.count
        let out = Tensor(uninitializedShape: outShape, layout: layout)
        BatchKernels.copy(buffer, from: range.lowerBound * row, to: out.buffer, at: 0, count: range.count * row)
        let x = self
        return out.recording([self]) { g, _ in
            let g = g.converted(to: x.layout)
            let dx = Tensor(repeating: 0, shape: x.shape, layout: x.layout)
            BatchKernels.copy(g.buffer, from: 0, to: dx.buffer, at: range.lowerBound * row, count: range.count * row)
            return [dx]
        }
    }

    /// The samples at `indices` along axis 0, in that order, repeats allowed (PyTorch's `x[indices]`),
    /// layout kept; the gradient adds up over repeats.
    public func gathered(batch indices: [Int]) -> Tensor {
        precondition(rank >= 1 && indices.allSatisfy { $0 >= 0 && $0 < shape[0] },
                     "gathered: indices out of bounds for shape \(shape)")
        let row = shape[0] == 0 ? 0 : count / shape[0]
        var outShape = shape
        outShape[0] = indices.count
        let out = Tensor(uninitializedShape: outShape, layout: layout)
        BatchKernels.gatherRows(buffer, out.buffer, rowSize: row, indices: indices)
        let x = self
        return out.recording([self]) { g, _ in
            let g = g.converted(to: x.layout)
            let dx = Tensor(uninitializedShape: x.shape, layout: x.layout)
            BatchKernels.scatterAddRows(g.buffer, dx.buffer, rowSize: row, rows: x.shape[0], indices: indices)
            return [dx]
        }
    }
}

/// One tensor of `total` samples written batch by batch, in the first batch's layout, allocated once: a dataset of
/// activations that never holds its pieces and a joined copy at the same time (PyTorch: an empty tensor filled by
/// `out[i:j] = batch`). No gradient is recorded.
public struct BatchStack {
    public let total: Int
    private var storage: Tensor?
    private var filled = 0

    public init(total: Int) { self.total = total }

    /// Writes `batch`'s samples after those written so far; its per-sample shape must match the first batch's.
    public mutating func append(_ batch: Tensor) {
        if storage == nil { storage = Tensor(uninitializedShape: [total] + batch.shape.dropFirst(), layout: batch.layout) }
        let out = storage!, n = batch.shape[0]
        precondition(Array(batch.shape.dropFirst()) == Array(out.shape.dropFirst()) && filled + n <= total,
                     "BatchStack: a batch of shape \(batch.shape) does not fit \(out.shape) after \(filled) samples")
        let row = out.count / total
        BatchKernels.copy(batch.converted(to: out.layout).buffer, from: 0, to: out.buffer, at: filled * row, count: n * row)
        filled += n
    }

    /// The `total` samples; every one must have been written.
    public var tensor: Tensor {
        precondition(filled == total && storage != nil, "BatchStack: \(filled) of \(total) samples written")
        return storage!
    }
}
