/// The general (strided, single-threaded) broadcasting loops over row-major buffers; the common cases (equal shapes,
/// scalars, per-channel vectors) run in `Loops` instead. A stride is zero on a broadcast dimension.
public enum BroadcastKernels {
    /// `out[i] = x[offset(i)]` over every element of `shape`: `x` read with `strides`.
    public static func expand(_ x: FloatBuffer, _ out: FloatBuffer, shape: [Int], strides: [Int]) {
        let xp = x.pointer, op = out.pointer
        withExtendedLifetime((x, out)) { forEachIndex(shape, [strides]) { i, off in op[i] = xp[off[0]] } }
    }

    /// `out[offset(i)] += x[i]` over every element of `shape` (the adjoint of `expand`), into a zeroed `out`.
    public static func sumInto(_ x: FloatBuffer, _ out: FloatBuffer, shape: [Int], strides: [Int]) {
        let xp = x.pointer, op = out.pointer
        withExtendedLifetime((x, out)) { forEachIndex(shape, [strides]) { i, off in op[off[0]] += xp[i] } }
    }

    /// `out[i] = f(a[offsetA(i)], b[offsetB(i)])` over every element of `shape`.
    @inlinable
    public static func zip<F: BinaryFunction>(_ a: FloatBuffer, _ b: FloatBuffer, _ out: FloatBuffer, shape: [Int],
                                              strides: (a: [Int], b: [Int]), _ f: F) {
        let ap = a.pointer, bp = b.pointer, op = out.pointer
        withExtendedLifetime((a, b, out)) {
            forEachIndex(shape, [strides.a, strides.b]) { i, off in op[i] = f(ap[off[0]], bp[off[1]]) }
        }
    }

    /// Calls `body(outIndex, offsets)` for every element of a row-major `shape`, with the matching offset into each
    /// of the operands described by `strides`.
    @usableFromInline
    static func forEachIndex(_ shape: [Int], _ strides: [[Int]], _ body: (Int, [Int]) -> Void) {
        let count = shape.reduce(1, *)
        guard count > 0 else { return }
        var index = Array(repeating: 0, count: shape.count)
        var offsets = Array(repeating: 0, count: strides.count)
        for i in 0..<count {
            body(i, offsets)
            var d = shape.count - 1
            while d >= 0 {
                index[d] += 1
                for k in strides.indices { offsets[k] += strides[k][d] }
                if index[d] < shape[d] { break }
                for k in strides.indices { offsets[k] -= strides[k][d] * shape[d] }
                index[d] = 0
                d -= 1
            }
        }
    }
}
