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
