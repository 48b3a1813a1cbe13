import Kernels

extension Tensor {
    /// PyTorch's `F.linear`: `self [N, in] · weightᵀ + bias` with `weight [out, in]`, `bias [out]`;
    /// result `[N, out]`. All three products (forward, input and weight gradients) go through `Gemm.sgemm`.
    public func linear(_ weight: Tensor, bias: Tensor? = nil) -> Tensor {
        precondition(rank == 2 && weight.rank == 2 && weight.shape[1] == shape[1],
                     "linear: input \(shape) and weight \(weight.shape) do not match ([N, in] and [out, in])")
        let n = shape[0], inputs = shape[1], outputs = weight.shape[0]
        if let bias { precondition(bias.shape == [outputs], "linear: bias must be [\(outputs)], got \(bias.shape)") }
        let x = converted(to: .plain), w = weight.converted(to: .plain), b = bias?.converted(to: .plain)
        let out = Tensor(uninitializedShape: [n, outputs])
        if let b {
            for row in 0..<n { BatchKernels.copy(b.buffer, from: 0, to: out.buffer, at: row * outputs, count: outputs) }
        }
        Gemm.sgemm(transposeA: false, transposeB: true, m: n, n: outputs, k: inputs,
                   x.buffer, w.buffer, beta: b == nil ? 0 : 1, out.buffer)
        var parents = [self, weight]
        if let bias { parents.append(bias) }
        return out.recording(parents) { g, need in
            let g = g.converted(to: .plain)
            var grads: [Tensor?] = [need[0] ? gemmProduct(g, w, m: n, n: inputs, k: outputs) : nil,  // dx = g · W
                                    need[1] ? gemmProduct(g, x, transposeA: true, m: outputs, n: inputs, k: n) : nil]  // dW = gᵀ · x
            if need.count > 2 { grads.append(need[2] ? g.columnSums() : nil) }
            return grads
        }
    }

    /// The matrix product of 2-D tensors `[m, k] · [k, n]` (PyTorch's `matmul` for matrices), via `Gemm.sgemm`.
    public func matmul(_ other: Tensor) -> Tensor {
        precondition(rank == 2 && other.rank == 2 && shape[1] == other.shape[0],
                     "matmul: shapes \(shape) and \(other.shape) do not multiply")
        let m = shape[0], k = shape[1], n = other.shape[1]
        let a = converted(to: .plain), b = other.converted(to: .plain)
        return gemmProduct(a, b, m: m, n: n, k: k).recording([self, other]) { g, need in
            let g = g.converted(to: .plain)
            return [need[0] ? gemmProduct(g, b, transposeB: true, m: m, n: k, k: n) : nil,  // dA = g · Bᵀ
                    need[1] ? gemmProduct(a, g, transposeA: true, m: k, n: n, k: m) : nil]  // dB = Aᵀ · g
        }
    }

    /// Column sums of a plain 2-D tensor (`ones[1, N] · self`), no graph.
    private func columnSums() -> Tensor {
        let ones = Tensor(repeating: 1, shape: [1, shape[0]])
        let out = Tensor(uninitializedShape: [shape[1]])
        Gemm.sgemm(transposeA: false, transposeB: false, m: 1, n: shape[1], k: shape[0], ones.buffer, buffer, out.buffer)
        return out
    }
}

/// The `[m, n]` product `op(a) · op(b)` of plain matrices (`op` transposes where asked), no graph.
private func gemmProduct(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false,
                         m: Int, n: Int, k: Int) -> Tensor {
    let out = Tensor(uninitializedShape: [m, n])
    Gemm.sgemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, a.buffer, b.buffer, out.buffer)
    return out
}
