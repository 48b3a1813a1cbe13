import Kernels

extension Tensor {
    /// PyTorch's `x.permute(perm)` (ONNX's `Transpose`): output dimension k is input dimension `perm[k]`. The
    /// result is plain; the gradient permutes back.
    public func transposed(_ perm: [Int]) -> Tensor {
        precondition(perm.sorted() == Array(0..<rank), "transposed: \(perm) is not a permutation of the \(rank) axes of \(shape)")
        if perm == Array(0..<rank) { return self }
        let plain = converted(to: .plain)
        let out = Tensor(uninitializedShape: perm.map { shape[$0] })
        PermuteKernels.permute(plain.buffer, out.buffer, shape: shape, perm: perm)
        var inverse = perm
        for (k, axis) in perm.enumerated() { inverse[axis] = k }
        return out.recording([plain]) { g, _ in [g.transposed(inverse)] }
    }

    /// Indices `range` along `axis` (PyTorch's `x.narrow(axis, start, length)`, ONNX's `Slice` with step 1 and
    /// `Split`). Keeps the blocked layout for a batch slice, or for a channel slice on block boundaries; else plain.
    public func slice(axis: Int, _ range: Range<Int>) -> Tensor {
        let axis = axis < 0 ? axis + rank : axis
        precondition(axis >= 0 && axis < rank && range.lowerBound >= 0 && range.upperBound <= shape[axis],
                     "slice: range \(range) on axis \(axis) out of bounds for shape \(shape)")
        var outShape = shape
        outShape[axis] = range.count
        let layout: Layout = layout == .blocked && axis <= 1 && Tensor.canBlock(outShape)
            && (axis == 0 || range.lowerBound % channelBlock == 0) ? .blocked : .plain
        let x = converted(to: layout)
        // Blocked storage [N, C/block, H, W, block] holds whole channel blocks per sample, so a slice on block
        // boundaries is the same chunk copy as in plain layout (as in `concatenated`).
        let inner = shape[(axis + 1)...].reduce(1, *), outer = shape[..<axis].reduce(1, *)
        let stride = shape[axis] * inner, chunk = range.count * inner, offset = range.lowerBound * inner
        let out = Tensor(uninitializedShape: outShape, layout: layout)
        BatchKernels.copyChunks(x.buffer, srcStride: stride, srcOffset: offset, out.buffer, dstStride: chunk, dstOffset: 0,
                                outer: outer, chunk: chunk)
        let original = shape
        return out.recording([x]) { g, _ in
            let dx = Tensor(repeating: 0, shape: original, layout: layout)
            BatchKernels.copyChunks(g.converted(to: layout).buffer, srcStride: chunk, srcOffset: 0, dx.buffer, dstStride: stride,
                                    dstOffset: offset, outer: outer, chunk: chunk)
            return [dx]
        }
    }
}
