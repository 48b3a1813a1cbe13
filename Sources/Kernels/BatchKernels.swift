/// Row copies for batching: a tensor's rows (samples) are contiguous in both layouts.
public enum BatchKernels {
    /// Copies `count` floats from `src[from...]` to `dst[at...]`.
    public static func copy(_ src: FloatBuffer, from: Int, to dst: FloatBuffer, at: Int, count: Int) {
        guard count > 0 else { return }
        (dst.pointer + at).update(from: src.pointer + from, count: count)
    }

    /// Copies `chunk`-float pieces: for each of `outer` groups, `src[o * srcStride + srcOffset ..< + chunk]`
    /// to `dst[o * dstStride + dstOffset ..< + chunk]` (concatenation and its gradient along any axis).
    public static func copyChunks(_ src: FloatBuffer, srcStride: Int, srcOffset: Int,
                                  _ dst: FloatBuffer, dstStride: Int, dstOffset: Int, outer: Int, chunk: Int) {
        guard chunk > 0 else { return }
        let s = src.pointer, d = dst.pointer
        parallelChunks(outer, costPerItem: chunk) { r in
            for o in r {
                let to: Int = o &* dstStride &+ dstOffset
                let from: Int = o &* srcStride &+ srcOffset
                (d + to).update(from: s + from, count: chunk)
            }
        }
    }

    /// `dst[i] = src[indices[i]]` for rows of `rowSize` floats.
    public static func gatherRows(_ src: FloatBuffer, _ dst: FloatBuffer, rowSize: Int, indices: [Int]) {
        let s = src.pointer, d = dst.pointer
        parallelChunks(indices.count, costPerItem: rowSize) { r in
            for i in r { (d + i &* rowSize).update(from: s + indices[i] &* rowSize, count: rowSize) }
        }
    }

    /// `dst[indices[i]] += src[i]` for rows of `rowSize` floats, into a zeroed `dst` of `rows` rows.
    public static func scatterAddRows(_ src: FloatBuffer, _ dst: FloatBuffer, rowSize: Int, rows: Int, indices: [Int]) {
        let s = src.pointer, d = dst.pointer
        d.update(repeating: 0, count: rows * rowSize)
        for (i, k) in indices.enumerated() {
            let dr = d + k &* rowSize, sr = s + i &* rowSize
            for j in 0..<rowSize { dr[j] += sr[j] }
        }
    }
}

/// Whole-buffer reductions for losses.
public enum LossKernels {
    /// `sum((a - b)²)` over `count` floats, accumulated in double per 4096-float piece.
    public static func squaredErrorSum(_ a: FloatBuffer, _ b: FloatBuffer, count: Int) -> Double {
        let piece = 4096, pieces = (count + piece - 1) / piece
        var partial = [Double](repeating: 0, count: pieces)
        let ap = a.pointer, bp = b.pointer
        partial.withUnsafeMutableBufferPointer { out in
            let out = out.baseAddress
            parallelChunks(pieces, costPerItem: piece) { r in
                for k in r {
                    let lo = k &* piece, hi = Swift.min(lo &+ piece, count)
                    var acc = SIMD16<Float>()
                    var i = lo
                    while i &+ 16 <= hi {
                        let d = load16(ap + i) - load16(bp + i)
                        acc += d * d
                        i &+= 16
                    }
                    var s = Double(acc.sum())
                    while i < hi {
                        let d = ap[i] - bp[i]
                        s += Double(d * d)
                        i &+= 1
                    }
                    out![k] = s
                }
            }
        }
        return partial.reduce(0, +)
    }
}
