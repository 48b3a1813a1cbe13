/// The activation a batch-norm pass applies on its way out: ReLU (`max(v, 0)`, NaN to 0, as `Tensor.relu`) or ReLU6
/// (`min(max(v, 0), 6)`, NaN kept, as `Tensor.relu6`). Its gradient passes where the output `y` is above 0, and for
/// ReLU6 also below 6 (PyTorch's `hardtanh_backward`).
public enum Rectifier: Sendable {
    case relu, relu6

    /// The activation of one value.
    @inline(__always) func callAsFunction(_ v: Float) -> Float {
        switch self {
        case .relu: return v > 0 ? v : 0
        case .relu6: let y = 0 > v ? 0 : v; return y > 6 ? 6 : y
        }
    }

    /// Whether the gradient passes where the output is `y`.
    @inline(__always) func passes(output y: Float) -> Bool {
        switch self {
        case .relu: return y > 0
        case .relu6: return y > 0 && y < 6
        }
    }
}

/// The loops batch norm and channel statistics are built from, for both layouts (`inner` 1, 8 or 16):
/// per-(sample, channel) sums, shifted moments and gradient dot products, and a per-channel affine map. Each touches the activation once; on the blocked layouts the inner loop is one block (8 or 16 lanes) wide.
/// Per-(sample, channel) results are indexed `n * channels + c`.
public enum BatchNormKernels {
    /// Sums over space of `x - shift` and of `(x - shift)²` for every (sample, channel). `shift` is indexed
    /// by channel, or by `n * channels + c` when `perSample`. Shifting by a value near the mean keeps the
    /// one-pass variance `E[(x-k)²] - E[x-k]²` accurate.
    public static func shiftedMoments(_ x: FloatBuffer, _ s: ChannelShape, shift: [Float], perSample: Bool)
        -> (sums: [Float], squares: [Float]) {
        var sums = [Float](repeating: 0, count: s.batch * s.channels), squares = sums
        guard s.count > 0 else { return (sums, squares) }
        shift.withUnsafeBufferPointer { k in
            sums.withUnsafeMutableBufferPointer { su in
                squares.withUnsafeMutableBufferPointer { sq in
                    let k = k.baseAddress!, su = su.baseAddress!, sq = sq.baseAddress!, xp = x.pointer
                    let blocks = s.blocks, sp = s.spatial, inner = s.inner, channels = s.channels
                    parallelChunks(s.batch * blocks, costPerItem: sp * inner) { r in
                        for nb in r {
                            let n = nb / blocks, c0 = (nb % blocks) &* inner
                            let o = n &* channels &+ c0, ko = perSample ? o : c0
                            let base = xp + nb &* sp &* inner
                            switch inner {
                            case 16: blockMoments(base, sp, k + ko, su + o, sq + o, SIMD16<Float>.self)
                            case 8: blockMoments(base, sp, k + ko, su + o, sq + o, SIMD8<Float>.self)
                            default:
                                let (a, b) = planeMoments(base, sp, k[ko])
                                su[o] = a
                                sq[o] = b
                            }
                        }
                    }
                }
            }
        }
        return (sums, squares)
    }

    /// Sums over space of `x` for every (sample, channel) (`channelSums`, bias gradients).
    public static func sums(_ x: FloatBuffer, _ s: ChannelShape) -> [Float] {
        var sums = [Float](repeating: 0, count: s.batch * s.channels)
        guard s.count > 0 else { return sums }
        sums.withUnsafeMutableBufferPointer { su in
            let su = su.baseAddress!, xp = x.pointer
            let blocks = s.blocks, sp = s.spatial, inner = s.inner, channels = s.channels
            parallelChunks(s.batch * blocks, costPerItem: sp * inner) { r in
                for nb in r {
                    let o = nb / blocks &* channels &+ nb % blocks &* inner
                    let base = xp + nb &* sp &* inner
                    switch inner {
                    case 16: store(blockSum(base, sp, SIMD16<Float>.self), su + o)
                    case 8: store(blockSum(base, sp, SIMD8<Float>.self), su + o)
                    default: su[o] = planeMoments(base, sp, 0).0
                    }
                }
            }
        }
        return sums
    }

    /// Per-lane sums over the `n` positions of one blocked (sample, block) plane.
    @inline(__always)
    static func blockSum<V: ChannelLanes>(_ x: UnsafeMutablePointer<Float>, _ n: Int, _: V.Type) -> V {
        let w = V.scalarCount
        var a = V(), b = V()
        var p = 0
        while p &+ 2 <= n {
            a += load(x + p &* w)
            b += load(x + (p &+ 1) &* w)
            p &+= 2
        }
        if p < n { a += load(x + p &* w) }
        return a + b
    }

    /// Per-lane sums of `x - k` and `(x - k)²` over the `n` positions of one blocked (sample, block) plane.
    @inline(__always)
    static func blockMoments<V: ChannelLanes>(_ x: UnsafeMutablePointer<Float>, _ n: Int, _ k: UnsafePointer<Float>,
                                              _ sums: UnsafeMutablePointer<Float>, _ squares: UnsafeMutablePointer<Float>,
                                              _: V.Type) {
        let w = V.scalarCount, kv: V = load(k)
        var a = V(), b = a
        for p in 0..<n {
            let v: V = load(x + p &* w) - kv
            a += v
            b += v * v
        }
        store(a, sums)
        store(b, squares)
    }

    /// Sums of `x - k` and `(x - k)²` over `n` contiguous floats, 16 lanes at a time.
    @inline(__always)
    static func planeMoments(_ x: UnsafeMutablePointer<Float>, _ n: Int, _ k: Float) -> (Float, Float) {
        let kv = SIMD16<Float>(repeating: k)
        var a = SIMD16<Float>(), b = a
        var p = 0
        while p &+ 16 <= n {
            let v = load16(x + p) - kv
            a += v
            b += v * v
            p &+= 16
        }
        var ta = a.sum(), tb = b.sum()
        while p < n {
            let v = x[p] - k
            ta += v
            tb += v * v
            p &+= 1
        }
        return (ta, tb)
    }

    /// Sums over space of `g` and of `g * (x - center)` for every (sample, channel); `center` is per channel.
    /// With `rectified`, `g` is first masked where the gradient through a fused activation whose output was `y`
    /// does not pass, and the masked gradient is written to `masked`: one pass instead of two.
    public static func dotSums(_ g: FloatBuffer, _ x: FloatBuffer, _ s: ChannelShape, center: [Float],
                               rectified: (y: FloatBuffer, masked: FloatBuffer, by: Rectifier)? = nil) -> (sums: [Float], dots: [Float]) {
        var sums = [Float](repeating: 0, count: s.batch * s.channels), dots = sums
        guard s.count > 0 else { return (sums, dots) }
        center.withUnsafeBufferPointer { m in
            sums.withUnsafeMutableBufferPointer { su in
                dots.withUnsafeMutableBufferPointer { dt in
                    let m = m.baseAddress!, su = su.baseAddress!, dt = dt.baseAddress!
                    let gp = g.pointer, xp = x.pointer
                    let blocks = s.blocks, sp = s.spatial, inner = s.inner, channels = s.channels
                    parallelChunks(s.batch * blocks, costPerItem: 2 * sp * inner) { r in
                        for nb in r {
                            let n = nb / blocks, c0 = (nb % blocks) &* inner
                            let o = n &* channels &+ c0
                            let off = nb &* sp &* inner
                            let gb = gp + off, xb = xp + off
                            let mask = rectified.map { ($0.y.pointer + off, $0.masked.pointer + off, $0.by) }
                            switch inner {
                            case 16: blockDots(gb, xb, mask, sp, m + c0, su + o, dt + o, SIMD16<Float>.self)
                            case 8: blockDots(gb, xb, mask, sp, m + c0, su + o, dt + o, SIMD8<Float>.self)
                            default: (su[o], dt[o]) = planeDots(gb, xb, mask, sp, m[c0])
                            }
                        }
                    }
                }
            }
        }
        return (sums, dots)
    }

    /// A rectifier's output `y` in a plane, where the masked gradient goes, and the rectifier.
    typealias PlaneMask = (y: UnsafeMutablePointer<Float>, masked: UnsafeMutablePointer<Float>, by: Rectifier)

    /// Per-lane sums of `g` and `g * (x - m)` over the `n` positions of one blocked (sample, block) plane,
    /// `g` masked by the rectifier's gradient at `y` (and stored) when `mask` is given.
    @inline(__always)
    static func blockDots<V: ChannelLanes>(_ g: UnsafeMutablePointer<Float>, _ x: UnsafeMutablePointer<Float>,
                                           _ mask: PlaneMask?, _ n: Int,
                                           _ m: UnsafePointer<Float>, _ sums: UnsafeMutablePointer<Float>,
                                           _ dots: UnsafeMutablePointer<Float>, _: V.Type) {
        let w = V.scalarCount, mv: V = load(m)
        var a = V(), b = a
        @inline(__always) func masked(by pass: (V, V) -> V, _ y: UnsafeMutablePointer<Float>, _ out: UnsafeMutablePointer<Float>) {
            for p in 0..<n {
                let j = p &* w
                let gv = pass(load(g + j), load(y + j))
                store(gv, out + j)
                a += gv
                b += gv * (load(x + j) - mv)
            }
        }
        if let (y, out, rectifier) = mask {
            switch rectifier {
            case .relu: masked(by: V.passingPositive, y, out)
            case .relu6: masked(by: V.passingInsideSix, y, out)
            }
        } else {
            for p in 0..<n {
                let gv: V = load(g + p &* w)
                a += gv
                b += gv * (load(x + p &* w) - mv)
            }
        }
        store(a, sums)
        store(b, dots)
    }

    /// `blockDots` over `n` contiguous floats of one plain (sample, channel) plane, 16 lanes at a time.
    @inline(__always)
    static func planeDots(_ g: UnsafeMutablePointer<Float>, _ x: UnsafeMutablePointer<Float>,
                          _ mask: PlaneMask?, _ n: Int, _ m: Float) -> (Float, Float) {
        let mv = SIMD16<Float>(repeating: m)
        var a = SIMD16<Float>(), b = a
        var p = 0
        while p &+ 16 <= n {
            var gv = load16(g + p)
            if let (y, masked, rectifier) = mask {
                let yv = load16(y + p)
                gv = rectifier == .relu ? .passingPositive(gv, yv) : .passingInsideSix(gv, yv)
                store16(gv, masked + p)
            }
            a += gv
            b += gv * (load16(x + p) - mv)
            p &+= 16
        }
        var ta = a.sum(), tb = b.sum()
        while p < n {
            var gv = g[p]
            if let (y, masked, rectifier) = mask {
                gv = rectifier.passes(output: y[p]) ? gv : 0
                masked[p] = gv
            }
            ta += gv
            tb += gv * (x[p] - m)
            p &+= 1
        }
        return (ta, tb)
    }

    /// `out = a * p + b * q + d` with coefficients per channel, or per (sample, channel) when `perSample`;
    /// `q` and `b` may be absent (then `out = a * p + d`); with `rectifier`, `out` is its activation of that (fused
    /// batch norm, residual add and ReLU or ReLU6). `out` may not alias `p` or `q`.
    public static func affine(_ p: FloatBuffer, _ q: FloatBuffer?, _ out: FloatBuffer, _ s: ChannelShape,
                              a: [Float], b: [Float]?, d: [Float], perSample: Bool, rectifier: Rectifier? = nil) {
        guard s.count > 0 else { return }
        let bq = b ?? a
        a.withUnsafeBufferPointer { a in
            bq.withUnsafeBufferPointer { b in
                d.withUnsafeBufferPointer { d in
                    let a = a.baseAddress!, b = b.baseAddress!, d = d.baseAddress!
                    let pp = p.pointer, qp = q?.pointer, op = out.pointer
                    let blocks = s.blocks, sp = s.spatial, inner = s.inner, channels = s.channels
                    parallelChunks(s.batch * blocks, costPerItem: sp * inner) { r in
                        for nb in r {
                            let n = nb / blocks, c0 = (nb % blocks) &* inner
                            let ko = perSample ? n &* channels &+ c0 : c0
                            let off = nb &* sp &* inner
                            let pb = pp + off, ob = op + off
                            switch inner {
                            case 16: blockAffine(pb, qp.map { $0 + off }, ob, sp, a + ko, b + ko, d + ko, rectifier, SIMD16<Float>.self)
                            case 8: blockAffine(pb, qp.map { $0 + off }, ob, sp, a + ko, b + ko, d + ko, rectifier, SIMD8<Float>.self)
                            default: planeAffine(pb, qp.map { $0 + off }, ob, sp, a[ko], b[ko], d[ko], rectifier)
                            }
                        }
                    }
                }
            }
        }
    }
}

extension BatchNormKernels {
    /// `out = a * p + b * q + d` (or `a * p + d` without `q`), through `rectifier` when given, over the `n`
    /// positions of one blocked plane, with per-lane coefficients.
    @inline(__always)
    static func blockAffine<V: ChannelLanes>(_ p: UnsafeMutablePointer<Float>, _ q: UnsafeMutablePointer<Float>?,
                                             _ out: UnsafeMutablePointer<Float>, _ n: Int, _ a: UnsafePointer<Float>,
                                             _ b: UnsafePointer<Float>, _ d: UnsafePointer<Float>, _ rectifier: Rectifier?,
                                             _: V.Type) {
        // maxBlend(0, v) is v > 0 ? v : 0, as Tensor.relu (NaN -> 0); without a rectifier, values pass untouched.
        switch rectifier {
        case .relu: blockAffine(p, q, out, n, a, b, d) { V.maxBlend(V(), $0) }
        case .relu6: blockAffine(p, q, out, n, a, b, d) { V.relu6($0) }
        case nil: blockAffine(p, q, out, n, a, b, d) { (v: V) in v }
        }
    }

    @inline(__always)
    static func blockAffine<V: ChannelLanes>(_ p: UnsafeMutablePointer<Float>, _ q: UnsafeMutablePointer<Float>?,
                                             _ out: UnsafeMutablePointer<Float>, _ n: Int, _ a: UnsafePointer<Float>,
                                             _ b: UnsafePointer<Float>, _ d: UnsafePointer<Float>, _ finish: (V) -> V) {
        let w = V.scalarCount, av: V = load(a), dv: V = load(d)
        if let q {
            let bv: V = load(b)
            for i in 0..<n {
                let j = i &* w
                store(finish(av * load(p + j) + bv * load(q + j) + dv), out + j)
            }
        } else {
            for i in 0..<n {
                let j = i &* w
                store(finish(av * load(p + j) + dv), out + j)
            }
        }
    }

    /// The scalar loops of `affine` for plain layouts: `out = a * p + b * q + d` (or `a * p + d`), through `rectifier`.
    @inline(__always)
    static func planeAffine(_ p: UnsafeMutablePointer<Float>, _ q: UnsafeMutablePointer<Float>?, _ out: UnsafeMutablePointer<Float>,
                            _ n: Int, _ a: Float, _ b: Float, _ d: Float, _ rectifier: Rectifier?) {
        func run(_ finish: (Float) -> Float) {
            if let q {
                for i in 0..<n { out[i] = finish(a * p[i] + b * q[i] + d) }
            } else {
                for i in 0..<n { out[i] = finish(a * p[i] + d) }
            }
        }
        switch rectifier {
        case .relu: run { Rectifier.relu($0) }
        case .relu6: run { Rectifier.relu6($0) }
        case nil: run { $0 }
        }
    }
}

/// Naive twins of `BatchNormKernels`, indexing every scalar through its logical (n, c, p) coordinates.
public enum NaiveBatchNormKernels {
    @inline(__always)
    static func offset(_ s: ChannelShape, _ n: Int, _ c: Int, _ p: Int) -> Int {
        ((n * s.blocks + c / s.inner) * s.spatial + p) * s.inner + c % s.inner
    }

    public static func shiftedMoments(_ x: FloatBuffer, _ s: ChannelShape, shift: [Float], perSample: Bool)
        -> (sums: [Float], squares: [Float]) {
        var sums = [Float](repeating: 0, count: s.batch * s.channels), squares = sums
        withExtendedLifetime(x) {
            for n in 0..<s.batch {
                for c in 0..<s.channels {
                    let k = Double(shift[perSample ? n * s.channels + c : c])
                    var a = 0.0, b = 0.0
                    for p in 0..<s.spatial {
                        let v = Double(x.pointer[offset(s, n, c, p)]) - k
                        a += v
                        b += v * v
                    }
                    sums[n * s.channels + c] = Float(a)
                    squares[n * s.channels + c] = Float(b)
                }
            }
        }
        return (sums, squares)
    }

    public static func sums(_ x: FloatBuffer, _ s: ChannelShape) -> [Float] {
        shiftedMoments(x, s, shift: [Float](repeating: 0, count: s.channels), perSample: false).sums
    }

    public static func dotSums(_ g: FloatBuffer, _ x: FloatBuffer, _ s: ChannelShape, center: [Float],
                               rectified: (y: FloatBuffer, masked: FloatBuffer, by: Rectifier)? = nil) -> (sums: [Float], dots: [Float]) {
        var sums = [Float](repeating: 0, count: s.batch * s.channels), dots = sums
        withExtendedLifetime((g, x, rectified?.y, rectified?.masked)) {
            for n in 0..<s.batch {
                for c in 0..<s.channels {
                    var a = 0.0, b = 0.0
                    for p in 0..<s.spatial {
                        let i = offset(s, n, c, p)
                        var gv = g.pointer[i]
                        if let rectified {
                            let y = rectified.y.pointer[i]
                            gv = y > 0 && (rectified.by == .relu || y < 6) ? gv : 0
                            rectified.masked.pointer[i] = gv
                        }
                        a += Double(gv)
                        b += Double(gv) * (Double(x.pointer[i]) - Double(center[c]))
                    }
                    sums[n * s.channels + c] = Float(a)
                    dots[n * s.channels + c] = Float(b)
                }
            }
        }
        return (sums, dots)
    }

    public static func affine(_ p: FloatBuffer, _ q: FloatBuffer?, _ out: FloatBuffer, _ s: ChannelShape,
                              a: [Float], b: [Float]?, d: [Float], perSample: Bool, rectifier: Rectifier? = nil) {
        withExtendedLifetime((p, q, out)) {
            for n in 0..<s.batch {
                for c in 0..<s.channels {
                    let k = perSample ? n * s.channels + c : c
                    for i in 0..<s.spatial {
                        let j = offset(s, n, c, i)
                        var v = a[k] * p.pointer[j] + d[k]
                        if let q, let b { v = a[k] * p.pointer[j] + b[k] * q.pointer[j] + d[k] }
                        switch rectifier {
                        case .relu: out.pointer[j] = v > 0 ? v : 0
                        case .relu6: out.pointer[j] = Swift.min(Swift.max(v, 0), 6)  // NaN kept, as Tensor.relu6
                        case nil: out.pointer[j] = v
                        }
                    }
                }
            }
        }
    }
}

extension BatchNormKernels {
    /// The first scalar (spatial position 0 of sample 0) of every channel, or of every (sample, channel)
    /// when `perSample`: a cheap shift for `shiftedMoments`.
    public static func firstElements(_ x: FloatBuffer, _ s: ChannelShape, perSample: Bool) -> [Float] {
        let samples = perSample ? s.batch : 1
        var out = [Float](repeating: 0, count: samples * s.channels)
        guard s.count > 0 else { return out }
        let p = x.pointer
        for n in 0..<samples {
            for c in 0..<s.channels {
                out[n * s.channels + c] = p[(n * s.blocks + c / s.inner) * s.spatial * s.inner + c % s.inner]
            }
        }
        return out
    }
}
