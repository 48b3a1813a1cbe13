#if canImport(Glibc)
import Glibc
#endif

/// Row-wise log-softmax over the last axis of a row-major `[rows, cols]` buffer.
public enum SoftmaxKernels {
    /// `out[r, j] = (x[r, j] - max_r) - log(sum_j exp(x[r, j] - max_r))`.
    public static func logSoftmax(_ x: FloatBuffer, _ out: FloatBuffer, rows: Int, cols: Int) {
        let xp = x.pointer, op = out.pointer
        parallelChunks(rows, costPerItem: cols * 8) { r in
            for row in r {
                let xr = xp + row &* cols, orow = op + row &* cols
                var m = -Float.infinity
                for j in 0..<cols { m = Swift.max(m, xr[j]) }
                var s: Double = 0
                for j in 0..<cols { s += Double(expf(xr[j] - m)) }
                let logSum = Float(Glibc.log(s))
                for j in 0..<cols { orow[j] = (xr[j] - m) - logSum }  // max first: exact for large logits
            }
        }
    }

    /// The gradient of log-softmax: `dx[r, j] = g[r, j] - exp(y[r, j]) * sum_j g[r, j]` for output `y`.
    public static func logSoftmaxBackward(_ g: FloatBuffer, _ y: FloatBuffer, _ dx: FloatBuffer, rows: Int, cols: Int) {
        let gp = g.pointer, yp = y.pointer, dp = dx.pointer
        parallelChunks(rows, costPerItem: cols * 8) { r in
            for row in r {
                let gr = gp + row &* cols, yr = yp + row &* cols, dr = dp + row &* cols
                var s: Float = 0
                for j in 0..<cols { s += gr[j] }
                for j in 0..<cols { dr[j] = gr[j] - expf(yr[j]) * s }
            }
        }
    }
}
