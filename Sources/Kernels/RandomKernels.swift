/// Random fills whose loops would be too slow drawn one float at a time through a closure.
public enum RandomKernels {
    /// Writes 0/1 floats, 1 with probability `p`, over `batch x channels` planes of `spatial` floats stored with
    /// `inner` channels interleaved (1 plain, 8 or 16 blocked), drawn in logical NCHW order whatever `inner` is.
    /// Each 64-bit output of `generator` decides two floats by its low then its high 32 bits (a float is 1 when its
    /// 32 bits are below `p · 2³²`). Drawing a float at a time through a closure cost 8% of a reconstruction step,
    /// and a branch on the comparison mispredicts at p = 0.5; this loop has neither (measured).
    @inlinable
    public static func bernoulli<Generator: RandomNumberGenerator>(
        _ out: FloatBuffer, probability p: Float, batch: Int, channels: Int, spatial: Int, inner: Int,
        using generator: inout Generator
    ) {
        let threshold = UInt64((Double(max(0, min(1, p))) * 0x1p32).rounded())
        // 1.0's bit pattern when `bits` (below 2³²) is under the threshold, else 0.0's.
        func decide(_ bits: UInt64) -> Float {
            Float(bitPattern: UInt32(truncatingIfNeeded: (bits &- threshold) >> 63) &* 0x3F80_0000)
        }
        // A plain tensor is one run; a blocked one keeps each channel's plane at a stride of `inner`.
        let (runs, length) = inner == 1 ? (1, batch * channels * spatial) : (batch * channels, spatial)
        var pending: UInt64? = nil
        for run in 0..<runs {
            let (n, c) = run.quotientAndRemainder(dividingBy: channels)
            let plane: Int = (n &* (channels / inner) &+ c / inner) &* spatial &* inner
            let d = out.pointer + (plane &+ c % inner)
            var i = 0
            if let high = pending, length > 0 { d[0] = decide(high); pending = nil; i = 1 }
            while i &+ 1 < length {
                let word = generator.next()
                d[i &* inner] = decide(word & 0xFFFF_FFFF)
                d[(i &+ 1) &* inner] = decide(word >> 32)
                i &+= 2
            }
            if i < length {
                let word = generator.next()
                d[i &* inner] = decide(word & 0xFFFF_FFFF)
                pending = word >> 32
            }
        }
    }
}
