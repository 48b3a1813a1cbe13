#if canImport(Glibc)
import Glibc
#endif

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
/// operation in their order, so the weight and its softbit gradient are the same bits. The naive twin is
/// `WeightQuantizer`'s composed form (Tests/GenieTests/FusedQuantizerTests.swift).
public enum QuantizerKernels {
    /// `weight = s[c]·(clamp(B + h(V) + z[c], 0, levels) − z[c])`, and `sigmoid = σ(V)` for the pullback when given.
    public static func softWeight(softbits: FloatBuffer, base: FloatBuffer, scale: FloatBuffer, zeroPoint: FloatBuffer,
                                  weight: FloatBuffer, sigmoid: FloatBuffer?, shape q: SoftQuantizerShape) {
        let v = softbits.pointer, b = base.pointer, s = scale.pointer, z = zeroPoint.pointer
        let w = weight.pointer, y = sigmoid?.pointer
        let stretch = q.zeta - q.gamma, gamma = q.gamma, levels = q.levels, n = q.perChannel
        withExtendedLifetime((softbits, base, scale, zeroPoint, weight, sigmoid)) {
            parallelChunks(q.channels, costPerItem: n * 16) { r in
                for c in r {
                    let sc = s[c], zc = z[c], row = c &* n
                    for i in row..<(row &+ n) {
                        let sig = 1 / (1 + expf(-v[i]))
                        y?[i] = sig
                        let h = clamp(sig * stretch + gamma, 0, 1)
                        w[i] = sc * (clamp(b[i] + h + zc, 0, levels) - zc)
                    }
                }
            }
        }
    }

    /// The pullback of `softWeight` for the weight's gradient `g`, from its `sigmoid`: into `softbitGradient` (when given)
    /// `g·s·1[0 ≤ B + h + z ≤ levels]·1[0 ≤ σ·(ζ − γ) + γ ≤ 1]·(ζ − γ)·σ(1 − σ)` (PyTorch's clamp passes the gradient
    /// at the bounds), and into `scaleGradient` (when given) the per-channel `Σ g·(clamp(B + h + z, 0, levels) − z)`.
    public static func softWeightPullback(gradient: FloatBuffer, sigmoid: FloatBuffer, base: FloatBuffer, scale: FloatBuffer,
                                          zeroPoint: FloatBuffer, softbitGradient: FloatBuffer?, scaleGradient: FloatBuffer?,
                                          shape q: SoftQuantizerShape) {
        let g = gradient.pointer, y = sigmoid.pointer, b = base.pointer, s = scale.pointer, z = zeroPoint.pointer
        let dv = softbitGradient?.pointer, ds = scaleGradient?.pointer
        let stretch = q.zeta - q.gamma, gamma = q.gamma, levels = q.levels, n = q.perChannel
        withExtendedLifetime((gradient, sigmoid, base, scale, zeroPoint, softbitGradient, scaleGradient)) {
            parallelChunks(q.channels, costPerItem: n * 8) { r in
                for c in r {
                    let sc = s[c], zc = z[c], row = c &* n
                    var sum = 0.0
                    for i in row..<(row &+ n) {
                        let sig = y[i], stretched = sig * stretch + gamma
                        let x = b[i] + clamp(stretched, 0, 1) + zc
                        if ds != nil { sum += Double(g[i] * (clamp(x, 0, levels) - zc)) }
                        guard let dv else { continue }
                        let passes = x >= 0 && x <= levels && stretched >= 0 && stretched <= 1
                        dv[i] = (passes ? g[i] * sc : 0) * stretch * (sig * (1 - sig))
                    }
                    ds?[c] = Float(sum)
                }
            }
        }
    }

    /// AdaRound's regularizer `Σ (1 − |2h(V) − 1|^β)` over `count` softbits and, into `softbitGradient` when given, its
    /// gradient in V, in one pass. The gradient of `|u|^β` is taken as `β·|u|^β / |u|`: one `powf` where the composed
    /// ops call it twice (`β·|u|^(β−1)`), equal up to float rounding.
    public static func roundingLoss(softbits: FloatBuffer, count: Int, beta: Float, zeta: Float, gamma: Float,
                                    softbitGradient: FloatBuffer?) -> Double {
        let v = softbits.pointer, dv = softbitGradient?.pointer
        let stretch = zeta - gamma
        return withExtendedLifetime((softbits, softbitGradient)) {
            Loops.reduce(count) { lo, hi in
                var sum = 0.0
                for i in lo..<hi {
                    let sig = 1 / (1 + expf(-v[i])), stretched = sig * stretch + gamma
                    let u = clamp(stretched, 0, 1) * 2 - 1, a = Swift.abs(u)
                    let p = powf(a, beta)
                    sum += Double(1 - p)
                    guard let dv else { continue }
                    let du = a > 0 ? -(beta * p / a) * (u > 0 ? 1 : -1) : 0
                    let passes = stretched >= 0 && stretched <= 1
                    dv[i] = (passes ? du * 2 : 0) * stretch * (sig * (1 - sig))
                }
                return sum
            }
        }
    }

    /// `min(max(x, lower), upper)` as the composed ops' clamp computes it (strict comparisons).
    @inline(__always)
    static func clamp(_ x: Float, _ lower: Float, _ upper: Float) -> Float {
        let y = lower > x ? lower : x
        return y > upper ? upper : y
    }
}
