/// A per-output-channel soft weight quantizer as the fused loops see it: `channels` rows of `perChannel` weights,
/// integers `0...levels`, and AdaRound's rectified sigmoid `h(v) = clamp(σ(v)·(ζ − γ) + γ, 0, 1)`.
public struct SoftQuantizerShape: Sendable {
    public var channels: Int, perChannel: Int
    public var levels: Float, zeta: Float, gamma: Float

    public init(channels: Int, perChannel: Int, levels: Float, zeta: Float, gamma: Float) {
        (self.channels, self.perChannel, self.levels, self.zeta, self.gamma) = (channels, perChannel, levels, zeta, gamma)
    }
}

/// GENIE-M's soft weight quantizer `W̃ = s·(clamp(B + h(V) + z, 0, levels) − z)` and AdaRound's rounding regularizer,
/// each one pass over the weights (the composed tensor ops took about twenty). Every step is the composed ops' own float
/// operation in their order, except the sigmoid and `|u|^β`, taken by `VectorMath`'s vectorized loops (within a few ulp
/// of libm's). The naive twin is `WeightQuantizer`'s composed form (Tests/GenieTests/FusedQuantizerTests.swift).
public enum QuantizerKernels {
    /// `weight = s[c]·(clamp(B + h(V) + z[c], 0, levels) − z[c])`, and `sigmoid = σ(V)` for the pullback. Each row
    /// takes two loops: the sigmoid, then the clamps (with libm calls in one loop they became branches, mispredicted on
    /// random softbits).
    public static func softWeight(softbits: FloatBuffer, base: FloatBuffer, scale: FloatBuffer, zeroPoint: FloatBuffer,
                                  weight: FloatBuffer, sigmoid: FloatBuffer, shape q: SoftQuantizerShape) {
        let v = softbits.pointer, b = base.pointer, s = scale.pointer, z = zeroPoint.pointer
        let w = weight.pointer, y = sigmoid.pointer
        let stretch = q.zeta - q.gamma, gamma = q.gamma, levels = q.levels, n = q.perChannel
        withExtendedLifetime((softbits, base, scale, zeroPoint, weight, sigmoid)) {
            parallelChunks(q.channels, costPerItem: n * 16) { r in
                for c in r {
                    let sc = s[c], zc = z[c], v = v + c &* n, b = b + c &* n, w = w + c &* n, y = y + c &* n
                    VectorMath.sigmoid(v, into: y, count: n)
                    for i in stride(from: 0, to: n, by: 8) {
                        let h = clamp(load8(y, i, n) * stretch + gamma, 0, 1)
                        store8(sc * (clamp(load8(b, i, n) + h + zc, 0, levels) - zc), w, i, n)
                    }
                }
            }
        }
    }

    /// The pullback of `softWeight` for the weight's gradient `g`, from its `sigmoid`: into `softbitGradient` (when given)
    /// `g·s·1[0 ≤ B + h + z ≤ levels]·1[0 ≤ σ·(ζ − γ) + γ ≤ 1]·(ζ − γ)·σ(1 − σ)` (PyTorch's clamp passes the gradient
    /// at the bounds), and into `scaleGradient` (when given) the per-channel `Σ g·(clamp(B + h + z, 0, levels) − z)`.
    /// The bounds are tested as `clamp(x) == x`, a select the loop vectorizes (`&&` became mispredicted branches).
    public static func softWeightPullback(gradient: FloatBuffer, sigmoid: FloatBuffer, base: FloatBuffer, scale: FloatBuffer,
                                          zeroPoint: FloatBuffer, softbitGradient: FloatBuffer?, scaleGradient: FloatBuffer?,
                                          shape q: SoftQuantizerShape) {
        let g = gradient.pointer, y = sigmoid.pointer, b = base.pointer, s = scale.pointer, z = zeroPoint.pointer
        let stretch = q.zeta - q.gamma, gamma = q.gamma, levels = q.levels, n = q.perChannel
        withExtendedLifetime((gradient, sigmoid, base, scale, zeroPoint, softbitGradient, scaleGradient)) {
            parallelChunks(q.channels, costPerItem: n * 8) { r in
                for c in r {
                    let sc = s[c], zc = z[c], g = g + c &* n, y = y + c &* n, b = b + c &* n
                    let dv = softbitGradient?.pointer.advanced(by: c &* n)
                    var sum = SIMD8<Float>()
                    for i in stride(from: 0, to: n, by: 8) {
                        let sig = load8(y, i, n), stretched = sig * stretch + gamma, h = clamp(stretched, 0, 1)
                        let x = load8(b, i, n) + h + zc, gv = load8(g, i, n)
                        sum += gv * (clamp(x, 0, levels) - zc)
                        guard let dv else { continue }
                        let inGrid = SIMD8<Float>().replacing(with: gv * sc, where: clamp(x, 0, levels) .== x)
                        store8(SIMD8<Float>().replacing(with: inGrid, where: h .== stretched) * stretch * (sig * (1 - sig)), dv, i, n)
                    }
                    scaleGradient?.pointer[c] = sum.sum()
                }
            }
        }
    }

    /// AdaRound's regularizer `Σ (1 − |2h(V) − 1|^β)` over `count` softbits and, into `softbitGradient` when given, its
    /// gradient in V, in one pass (tile by tile: the sigmoid and `|u|^β` loops apart from the clamps and masks). The
    /// gradient of `|u|^β` is taken as `β·|u|^β / |u|`: one power where the composed ops take two (`β·|u|^(β−1)`),
    /// equal up to float rounding.
    public static func roundingLoss(softbits: FloatBuffer, count: Int, beta: Float, zeta: Float, gamma: Float,
                                    softbitGradient: FloatBuffer?) -> Double {
        let v = softbits.pointer, dv = softbitGradient?.pointer
        let stretch = zeta - gamma
        let pieces = (count + tile - 1) / tile
        var partial = [Double](repeating: 0, count: pieces)
        withExtendedLifetime((softbits, softbitGradient)) {
            partial.withUnsafeMutableBufferPointer { out in
                let out = out.baseAddress!
                parallelChunks(pieces, costPerItem: tile * 16) { r in
                    withUnsafeTemporaryAllocation(of: Float.self, capacity: 3 * tile) { scratch in
                        let y = scratch.baseAddress!, a = y + tile, p = a + tile
                        for k in r {
                            let lo = k &* tile, n = Swift.min(tile, count &- lo), v = v + lo
                            VectorMath.sigmoid(v, into: y, count: n)
                            for i in stride(from: 0, to: n, by: 8) {
                                let u = clamp(load8(y, i, n) * stretch + gamma, 0, 1) * 2 - 1
                                store8(u.replacing(with: -u, where: u .< 0), a, i, n)
                            }
                            VectorMath.absPower(a, beta, into: p, count: n)
                            if let dv = dv.map({ $0 + lo }) {
                                for i in stride(from: 0, to: n, by: 8) {
                                    let sig = load8(y, i, n), stretched = sig * stretch + gamma, h = clamp(stretched, 0, 1)
                                    let av = load8(a, i, n), sign = SIMD8<Float>(repeating: -1).replacing(with: 1, where: h * 2 - 1 .> 0)
                                    let du = SIMD8<Float>().replacing(with: -(beta * load8(p, i, n) / av) * sign, where: av .> 0)
                                    store8(SIMD8<Float>().replacing(with: du * 2, where: h .== stretched) * stretch * (sig * (1 - sig)), dv, i, n)
                                }
                            }
                            for i in 0..<n { p[i] = 1 - p[i] }
                            out[k] = sumOf(p, n)
                        }
                    }
                }
            }
        }
        return partial.reduce(0, +)
    }

    /// Floats per tile of the loops that keep intermediate values on the stack.
    static let tile = 1024

    /// The sum of `n` floats: float vector sums, then double.
    static func sumOf(_ p: UnsafeMutablePointer<Float>, _ n: Int) -> Double {
        var s0 = SIMD8<Float>(), i = 0
        while i &+ 8 <= n {
            s0 += load(p + i)
            i &+= 8
        }
        var s = Double(s0.sum())
        while i < n {
            s += Double(p[i])
            i &+= 1
        }
        return s
    }

    /// `min(max(x, lower), upper)` lane by lane as the composed ops' clamp computes it (strict comparisons; a NaN
    /// stays NaN). Vector-with-vector blends: the scalar `replacing(with:where:)` forms did not vectorize (the fused
    /// fake quantizer's step ran 15% slower with them).
    @inline(__always)
    static func clamp(_ x: SIMD8<Float>, _ lower: Float, _ upper: Float) -> SIMD8<Float> {
        let lo = SIMD8<Float>(repeating: lower), hi = SIMD8<Float>(repeating: upper)
        let y = x.replacing(with: lo, where: x .< lo)
        return y.replacing(with: hi, where: y .> hi)
    }

    /// The 8 floats at `p + i`, or the `n − i` left there and zeros when fewer than 8 are.
    @inline(__always)
    static func load8(_ p: UnsafeMutablePointer<Float>, _ i: Int, _ n: Int) -> SIMD8<Float> {
        if i &+ 8 <= n { return load(p + i) }
        var v = SIMD8<Float>()
        for l in 0..<(n &- i) { v[l] = p[i &+ l] }
        return v
    }

    /// Stores `v` at `p + i`, only its first `n − i` lanes when fewer than 8 are left.
    @inline(__always)
    static func store8(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>, _ i: Int, _ n: Int) {
        if i &+ 8 <= n { return store(v, p + i) }
        for l in 0..<(n &- i) { p[i &+ l] = v[l] }
    }
}
