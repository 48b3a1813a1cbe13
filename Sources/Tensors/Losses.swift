import Kernels

extension Tensor {
    /// Log-softmax over the last axis (PyTorch's `log_softmax(dim=-1)`), with max subtraction.
    public func logSoftmax() -> Tensor {
        precondition(rank >= 1, "logSoftmax needs at least one axis")
        let cols = shape[rank - 1], rows = cols == 0 ? 0 : count / cols
        let x = converted(to: .plain)
        let out = Tensor(uninitializedShape: shape)
        SoftmaxKernels.logSoftmax(x.buffer, out.buffer, rows: rows, cols: cols)
        return out.recording([self]) { g, _ in
            let g = g.converted(to: .plain)
            let dx = Tensor(uninitializedShape: out.shape)
            SoftmaxKernels.logSoftmaxBackward(g.buffer, out.buffer, dx.buffer, rows: rows, cols: cols)
            return [dx]
        }
    }
}

/// PyTorch's `F.cross_entropy(logits, labels)` with mean reduction: `-mean_n log_softmax(logits)[n, labels[n]]`
/// for logits `[N, K]`. The gradient is `(softmax - onehot) / N`.
public func crossEntropy(logits: Tensor, labels: [Int]) -> Tensor {
    precondition(logits.rank == 2 && logits.shape[0] == labels.count,
                 "crossEntropy: logits \(logits.shape) need shape [N, K] with N = \(labels.count) labels")
    let n = logits.shape[0], k = logits.shape[1]
    precondition(labels.allSatisfy { $0 >= 0 && $0 < k }, "crossEntropy: labels must lie in 0..<\(k)")
    let logProbabilities = withoutGradients { logits.logSoftmax() }
    let lp = logProbabilities.scalars
    let total = labels.enumerated().reduce(0.0) { $0 - Double(lp[$1.offset * k + $1.element]) }
    let loss = Tensor(Float(total / Double(max(n, 1))))
    return loss.recording([logits]) { g, _ in
        let scale = g.item / Float(max(n, 1))
        var d = lp.map { expf($0) * scale }
        for (row, label) in labels.enumerated() { d[row * k + label] -= scale }
        return [Tensor(shape: [n, k], scalars: d)]
    }
}

/// PyTorch's `F.mse_loss(a, b)` with mean reduction: `mean((a - b)²)` over equal shapes (any layouts).
public func mseLoss(_ a: Tensor, _ b: Tensor) -> Tensor {
    precondition(a.shape == b.shape, "mseLoss: shapes differ, \(a.shape) vs \(b.shape)")
    let bb = b.converted(to: a.layout)
    let count = a.count
    let loss = Tensor(Float(LossKernels.squaredErrorSum(a.buffer, bb.buffer, count: count) / Double(max(count, 1))))
    return loss.recording([a, b]) { g, need in
        let scale = 2 * g.item / Float(max(count, 1))
        let da = Tensor(uninitializedShape: a.shape, layout: a.layout)
        Loops.zip(a.buffer, bb.buffer, da.buffer, count, ScaledDifference(scale: scale))
        return [need[0] ? da : nil, need[1] ? -da : nil]
    }
}

#if canImport(Glibc)
import Glibc
#endif
