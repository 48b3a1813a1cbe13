#if canImport(Glibc)
import Glibc
#endif
import Kernels

/// A seeded, reproducible random number generator (xoshiro256**, seeded through SplitMix64).
/// Every random draw in the toolkit takes one of these, so a seed reproduces a run exactly.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var s: (UInt64, UInt64, UInt64, UInt64)

    /// A generator whose stream is a pure function of `seed`.
    public init(seed: UInt64) {
        var x = seed
        func splitMix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s = (splitMix(), splitMix(), splitMix(), splitMix())
    }

    /// A generator for an independent stream keyed by `(seed, stream)`, e.g. one per batch.
    public init(seed: UInt64, stream: UInt64) {
        self.init(seed: seed ^ (stream &* 0xD1B5_4A32_D192_ED03 &+ 0x8CB9_2BA7_2F3D_8DD7))
    }

    public mutating func next() -> UInt64 {
        let result = ((s.1 &* 5) << 7 | (s.1 &* 5) >> 57) &* 9
        let t = s.1 << 17
        s.2 ^= s.0; s.3 ^= s.1; s.1 ^= s.2; s.0 ^= s.3
        s.2 ^= t
        s.3 = s.3 << 45 | s.3 >> 19
        return result
    }

    /// A uniform float in [0, 1) with 24 random bits.
    public mutating func nextUnitFloat() -> Float { Float(next() >> 40) * 0x1p-24 }

    /// A standard normal float (Box-Muller).
    public mutating func nextNormal() -> Float {
        let u1 = Double(next() >> 11) * 0x1p-53, u2 = Double(next() >> 11) * 0x1p-53
        return Float((-2 * Glibc.log(1 - u1)).squareRoot() * Glibc.cos(2 * Double.pi * u2))
    }
}

extension Tensor {
    /// Samples from N(mean, std²).
    public static func randomNormal(_ shape: [Int], mean: Float = 0, std: Float = 1,
                                    using rng: inout SeededGenerator) -> Tensor {
        fill(shape) { mean + std * rng.nextNormal() }
    }

    /// Samples from U[lower, upper).
    public static func randomUniform(_ shape: [Int], lower: Float = 0, upper: Float = 1,
                                     using rng: inout SeededGenerator) -> Tensor {
        fill(shape) { lower + (upper - lower) * rng.nextUnitFloat() }
    }

    /// A 0/1 mask whose entries are 1 with probability `p`, stored in `layout`. The entries are drawn in memory
    /// order (`RandomKernels.bernoulli`), so a seed gives the same mask for the same shape, layout and block width.
    public static func bernoulli(_ shape: [Int], probability p: Float, layout: Layout = .plain,
                                 using rng: inout SeededGenerator) -> Tensor {
        let mask = Tensor(uninitializedShape: shape, layout: layout)
        RandomKernels.bernoulli(mask.buffer, count: mask.count, probability: p, using: &rng)
        return mask
    }

    private static func fill(_ shape: [Int], _ draw: () -> Float) -> Tensor {
        Tensor(uninitializedShape: shape, layout: .plain, buffer: FloatBuffer(capacity: shape.reduce(1, *), drawing: draw))
    }
}
