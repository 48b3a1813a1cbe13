/// Elementwise functions as values: a struct whose stored properties are the parameters (a scalar
/// operand, clamp bounds) and whose `callAsFunction` is the function. `Loops` is generic over them, so
/// each loop is specialized for its function and inlined into a flat loop the compiler vectorizes.
/// (A closure passed down through `parallelChunks` is not inlined: it costs a call per element, ~10x.)
public protocol UnaryFunction {
    func callAsFunction(_ x: Float) -> Float
}

/// A function of two floats as a value; see `UnaryFunction`.
public protocol BinaryFunction {
    func callAsFunction(_ x: Float, _ y: Float) -> Float
}

/// A function of three floats as a value; see `UnaryFunction`.
public protocol TernaryFunction {
    func callAsFunction(_ x: Float, _ y: Float, _ z: Float) -> Float
}

/// Flat elementwise loops over float buffers, split over both cores when large. Generic and
/// `@inlinable`, so they are specialized for the function at the call site.
/// They take the buffer objects, not pointers, so that the buffers stay alive for the whole loop.
public enum Loops {
    /// `out[i] = f(a[i])` for `i < count`.
    @inlinable
    public static func map<F: UnaryFunction>(_ a: FloatBuffer, _ out: FloatBuffer, _ count: Int, _ f: F) {
        let a = a.pointer, out = out.pointer
        parallelChunks(count) { r in
            let a = a + r.lowerBound, out = out + r.lowerBound
            for i in 0..<r.count { out[i] = f(a[i]) }
        }
    }

    /// `out[i] = f(a[i], b[i])` for `i < count`.
    @inlinable
    public static func zip<F: BinaryFunction>(_ a: FloatBuffer, _ b: FloatBuffer, _ out: FloatBuffer, _ count: Int,
                                              _ f: F) {
        let a = a.pointer, b = b.pointer, out = out.pointer
        parallelChunks(count) { r in
            let a = a + r.lowerBound, b = b + r.lowerBound, out = out + r.lowerBound
            for i in 0..<r.count { out[i] = f(a[i], b[i]) }
        }
    }

    /// `out[i] = f(a[i], b[i], c[i])` for `i < count`.
    @inlinable
    public static func zip3<F: TernaryFunction>(_ a: FloatBuffer, _ b: FloatBuffer, _ c: FloatBuffer,
                                                _ out: FloatBuffer, _ count: Int, _ f: F) {
        let a = a.pointer, b = b.pointer, c = c.pointer, out = out.pointer
        parallelChunks(count) { r in
            let a = a + r.lowerBound, b = b + r.lowerBound, c = c + r.lowerBound, out = out + r.lowerBound
            for i in 0..<r.count { out[i] = f(a[i], b[i], c[i]) }
        }
    }

    /// `out = f(a, v[channel])` over a 4-D buffer stored as `[batch, blocks, spatial, inner]`, where
    /// channel `c = block * inner + lane`, `inner` is 1 (plain NCHW) or `Reorder.block` (oneDNN's
    /// nChw8c or nChw16c), and `v` holds one float per channel.
    @inlinable
    public static func channelZip<F: BinaryFunction>(_ a: FloatBuffer, _ v: FloatBuffer, _ out: FloatBuffer,
                                                     batch: Int, channels: Int, spatial: Int, inner: Int, _ f: F) {
        let a = a.pointer, v = v.pointer, out = out.pointer
        let blocks = (channels + inner - 1) / inner, plane = spatial * inner
        parallelChunks(batch * blocks, costPerItem: plane) { r in
            for nb in r {
                let c0 = nb % blocks &* inner, base = nb &* plane
                switch inner {
                case 16: blockPlane(a + base, v + c0, out + base, spatial, SIMD16<Float>.self, f)
                case 8: blockPlane(a + base, v + c0, out + base, spatial, SIMD8<Float>.self, f)
                default:
                    let vc = v[c0], a = a + base, out = out + base
                    for i in 0..<plane { out[i] = f(a[i], vc) }
                }
            }
        }
    }

    /// One blocked plane of `channelZip`: `n` positions of `V.scalarCount` lanes, lane `l` paired with `v[l]`.
    /// The lane values are held in a vector so that the unrolled lane loop becomes vector code.
    @inlinable @inline(__always)
    static func blockPlane<V: SIMD, F: BinaryFunction>(_ a: UnsafeMutablePointer<Float>, _ v: UnsafeMutablePointer<Float>,
                                                       _ out: UnsafeMutablePointer<Float>, _ n: Int, _: V.Type,
                                                       _ f: F) where V.Scalar == Float {
        let lanes = V.scalarCount, vv = UnsafeRawPointer(v).loadUnaligned(as: V.self)
        for p in 0..<n {
            let x = UnsafeRawPointer(a + p &* lanes).loadUnaligned(as: V.self)
            var y = V()
            for l in 0..<lanes { y[l] = f(x[l], vv[l]) }
            UnsafeMutableRawPointer(out + p &* lanes).storeBytes(of: y, as: V.self)
        }
    }

    /// The sum of `count` floats: float vector sums over 4096-float pieces, added up in double.
    public static func sum(_ a: FloatBuffer, _ count: Int) -> Double {
        let ap = a.pointer
        return reduce(count) { lo, hi in
            var s0 = SIMD8<Float>(), s1 = s0
            var i = lo
            while i &+ 16 <= hi {
                s0 += load(ap + i)
                s1 += load(ap + (i &+ 8))
                i &+= 16
            }
            var s = Double((s0 + s1).sum())
            while i < hi {
                s += Double(ap[i])
                i &+= 1
            }
            return s
        }
    }

    /// The dot product of `count` floats of `a` and `b`, in pieces as `sum`.
    public static func dot(_ a: FloatBuffer, _ b: FloatBuffer, _ count: Int) -> Double {
        let ap = a.pointer, bp = b.pointer
        return reduce(count) { lo, hi in
            var s0 = SIMD8<Float>(), s1 = s0
            var i = lo
            while i &+ 16 <= hi {
                s0 += load(ap + i) * load(bp + i)
                s1 += load(ap + (i &+ 8)) * load(bp + (i &+ 8))
                i &+= 16
            }
            var s = Double((s0 + s1).sum())
            while i < hi {
                s += Double(ap[i] * bp[i])
                i &+= 1
            }
            return s
        }
    }

    /// `piece(lo, hi)` over 4096-float pieces of `0..<count` on all workers, added up in double.
    @inline(__always)
    static func reduce(_ count: Int, _ piece: (Int, Int) -> Double) -> Double {
        let size = 4096, pieces = (count + size - 1) / size
        guard pieces > 0 else { return 0 }
        var partial = [Double](repeating: 0, count: pieces)
        partial.withUnsafeMutableBufferPointer { out in
            let out = out.baseAddress!
            parallelChunks(pieces, costPerItem: size) { r in
                for k in r { out[k] = piece(k &* size, Swift.min(k &* size &+ size, count)) }
            }
        }
        return partial.reduce(0, +)
    }
}
