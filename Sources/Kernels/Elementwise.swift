/// Flat elementwise loops over float buffers, split over both cores when large.
/// `@inlinable` so that the closure passed in is specialized and inlined at the call site.
/// They take the buffer objects, not pointers, so that the buffers stay alive for the whole loop.
public enum Loops {
    /// `out[i] = f(a[i])` for `i < count`.
    @inlinable
    public static func map(_ a: FloatBuffer, _ out: FloatBuffer, _ count: Int, _ f: (Float) -> Float) {
        let a = a.pointer, out = out.pointer
        parallelChunks(count) { r in
            for i in r { out[i] = f(a[i]) }
        }
    }

    /// `out[i] = f(a[i], b[i])` for `i < count`.
    @inlinable
    public static func zip(_ a: FloatBuffer, _ b: FloatBuffer, _ out: FloatBuffer, _ count: Int,
                           _ f: (Float, Float) -> Float) {
        let a = a.pointer, b = b.pointer, out = out.pointer
        parallelChunks(count) { r in
            for i in r { out[i] = f(a[i], b[i]) }
        }
    }

    /// `out[i] = f(a[i], b[i], c[i])` for `i < count`.
    @inlinable
    public static func zip3(_ a: FloatBuffer, _ b: FloatBuffer, _ c: FloatBuffer, _ out: FloatBuffer,
                            _ count: Int, _ f: (Float, Float, Float) -> Float) {
        let a = a.pointer, b = b.pointer, c = c.pointer, out = out.pointer
        parallelChunks(count) { r in
            for i in r { out[i] = f(a[i], b[i], c[i]) }
        }
    }

    /// `out = f(a, channel)` over a 4-D buffer stored as `[batch, blocks, spatial, inner]`, where
    /// channel `c = block * inner + lane` and `inner` is 1 (plain NCHW) or `Reorder.block` (oneDNN's nChw16c).
    @inlinable
    public static func channelMap(_ a: FloatBuffer, _ out: FloatBuffer,
                                  batch: Int, channels: Int, spatial: Int, inner: Int,
                                  _ f: (Float, Int) -> Float) {
        let a = a.pointer, out = out.pointer
        let blocks = (channels + inner - 1) / inner
        parallelChunks(batch * blocks, costPerItem: spatial * inner) { r in
            for nb in r {
                let cb = nb % blocks
                let base = nb &* spatial &* inner
                if inner == 1 {
                    for s in 0..<spatial { out[base &+ s] = f(a[base &+ s], cb) }
                } else {
                    for s in 0..<spatial {
                        let o = base &+ s &* inner
                        for l in 0..<inner { out[o &+ l] = f(a[o &+ l], cb &* inner &+ l) }
                    }
                }
            }
        }
    }
}
