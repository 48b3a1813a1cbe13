import CDNNL

/// Row-major single-precision matrix products.
public enum Gemm {
    /// `c = alpha * op(a) * op(b) + beta * c`, all row-major: `op(a)` is `m x k`, `op(b)` is `k x n`, `c` is
    /// `m x n`; `op(x)` is `x` or its transpose. Leading dimensions are the stored row lengths (`transposeA ? m : k`
    /// for `a`, `transposeB ? k : n` for `b`, `n` for `c`). oneDNN's sgemm runs on the engine's OpenMP threads;
    /// OpenBLAS's own thread pool spun against them (GENIE-D's workload ran 17% faster after the switch).
    public static func sgemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
                             alpha: Float = 1, _ a: FloatBuffer, _ b: FloatBuffer,
                             beta: Float = 0, _ c: FloatBuffer) {
        guard m > 0 && n > 0 else { return }
        if k == 0 {
            scale(c, count: m * n, by: beta)
            return
        }
        let status = dnnl_sgemm(CChar(UInt8(ascii: transposeA ? "T" : "N")), CChar(UInt8(ascii: transposeB ? "T" : "N")),
                                Int64(m), Int64(n), Int64(k), alpha, a.pointer, Int64(transposeA ? m : k),
                                b.pointer, Int64(transposeB ? k : n), beta, c.pointer, Int64(n))
        precondition(status == dnnl_success, "dnnl_sgemm failed (\(status)) on \(m)x\(k) by \(k)x\(n)")
    }

    /// The naive twin of `sgemm`: triple loop, double accumulation.
    public static func naive(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
                             alpha: Float = 1, _ a: FloatBuffer, _ b: FloatBuffer,
                             beta: Float = 0, _ c: FloatBuffer) {
        withExtendedLifetime((a, b, c)) {
            let a = a.pointer, b = b.pointer, c = c.pointer
            for i in 0..<m {
                for j in 0..<n {
                    var s = 0.0
                    for l in 0..<k {
                        let x = transposeA ? a[l * m + i] : a[i * k + l]
                        let y = transposeB ? b[j * k + l] : b[l * n + j]
                        s += Double(x) * Double(y)
                    }
                    c[i * n + j] = alpha * Float(s) + (beta == 0 ? 0 : beta * c[i * n + j])
                }
            }
        }
    }

    static func scale(_ c: FloatBuffer, count: Int, by beta: Float) {
        let p = c.pointer
        if beta == 0 { p.update(repeating: 0, count: count) } else { for i in 0..<count { p[i] *= beta } }
    }
}
