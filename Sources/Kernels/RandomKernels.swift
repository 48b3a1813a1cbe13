import CKernels

/// The random mask loop of QDrop and dropout, vectorized in C (Sources/CKernels/Bernoulli.c): sixteen xoshiro128**
/// generators stepped together, seeded from the caller's generator. Drawing one float per output of the caller's
/// generator through a closure cost 8% of a reconstruction step; this loop costs under 2% (both measured by `perf`).
public enum RandomKernels {
    /// Writes `count` floats into `out`, each 1 with probability `p` and else 0: the sixteen lanes start from 64
    /// words of `generator` (32 outputs, low half first) and float `i` is 1 when lane `i % 16`'s draw at step
    /// `i / 16` is below `p · 2³²`. The floats are independent of the variant and of the memory order they land in.
    @inlinable
    public static func bernoulli<Generator: RandomNumberGenerator>(
        _ out: FloatBuffer, count: Int, probability p: Float, using generator: inout Generator,
        variant: VectorMath.Variant = VectorMath.best
    ) {
        precondition(count <= out.capacity, "a mask of \(count) floats in a buffer of \(out.capacity)")
        let seed = (0..<32).flatMap { _ -> [UInt32] in
            let word = generator.next()
            return [UInt32(truncatingIfNeeded: word), UInt32(truncatingIfNeeded: word >> 32)]
        }
        let threshold = (Double(max(0, min(1, p))) * 0x1p32).rounded()
        if threshold >= 0x1p32 {  // every 32-bit draw is below p · 2³²
            out.pointer.update(repeating: 1, count: count)
        } else {
            fill(seed, threshold: UInt32(threshold), out.pointer, count, variant)
        }
    }

    @usableFromInline
    static func fill(_ seed: [UInt32], threshold: UInt32, _ out: UnsafeMutablePointer<Float>, _ count: Int,
                     _ variant: VectorMath.Variant) {
        precondition(variant.isSupported, "this CPU does not run the \(variant) variant")
        seed.withUnsafeBufferPointer { ck_bernoulli(variant.rawValue, $0.baseAddress!, threshold, out, count) }
    }
}
