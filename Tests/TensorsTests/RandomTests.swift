import Testing
import Kernels
import Tensors

/// The mask loop against its naive twin, xoshiro128** one lane at a time, in every variant this CPU runs.
@Suite struct RandomTests {
    static let variants = VectorMath.Variant.allCases.filter(\.isSupported)

    /// xoshiro128** as its authors define it, one generator.
    struct ScalarXoshiro128 {
        var s: [UInt32]
        mutating func next() -> UInt32 {
            func rotl(_ x: UInt32, _ k: UInt32) -> UInt32 { (x << k) | (x >> (32 - k)) }
            let result = rotl(s[1] &* 5, 7) &* 9, t = s[1] << 9
            s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]
            s[2] ^= t
            s[3] = rotl(s[3], 11)
            return result
        }
    }

    /// The mask the kernel's contract describes, from a copy of the generator it is given.
    static func naiveMask(count: Int, probability p: Float, using generator: inout SeededGenerator) -> [Float] {
        let words = (0..<32).flatMap { _ -> [UInt32] in
            let w = generator.next()
            return [UInt32(truncatingIfNeeded: w), UInt32(truncatingIfNeeded: w >> 32)]
        }
        var lanes = (0..<16).map { lane in ScalarXoshiro128(s: (0..<4).map { words[$0 * 16 + lane] }) }
        let threshold = (Double(p) * 0x1p32).rounded()
        var mask: [Float] = []
        while mask.count < count {
            for lane in 0..<16 where mask.count < count { mask.append(Double(lanes[lane].next()) < threshold ? 1 : 0) }
        }
        return mask
    }

    @Test(arguments: variants)
    func maskEqualsSixteenScalarXoshiroLanes(variant: VectorMath.Variant) {
        for count in [0, 1, 15, 16, 17, 1001] {
            var fast = SeededGenerator(seed: 3), naive = fast
            let out = FloatBuffer(capacity: count)
            RandomKernels.bernoulli(out, count: count, probability: 0.3, using: &fast, variant: variant)
            #expect(out.scalars(count: count) == Self.naiveMask(count: count, probability: 0.3, using: &naive),
                    "\(variant), \(count) floats")
            #expect(fast.next() == naive.next(), "a mask takes exactly 32 outputs of the generator")
        }
    }

    @Test func blockedMaskHoldsThePlainMasksFloatsInMemoryOrder() {
        let shape = [3, 32, 7, 5]
        var a = SeededGenerator(seed: 9), b = a
        let plain = Tensor.bernoulli(shape, probability: 0.5, using: &a)
        let blocked = Tensor.bernoulli(shape, probability: 0.5, layout: .blocked, using: &b)
        #expect(blocked.layout == .blocked)
        #expect(blocked.buffer.scalars(count: plain.count) == plain.buffer.scalars(count: plain.count))
    }

    @Test func maskKeepsTheRequestedFraction() {
        var rng = SeededGenerator(seed: 5)
        let n = 200_000
        for p: Float in [0.1, 0.5, 0.9] {
            let ones = Tensor.bernoulli([n], probability: p, using: &rng).scalars.reduce(0, +)
            let sigma = (Double(n) * Double(p) * Double(1 - p)).squareRoot()
            #expect(abs(Double(ones) - Double(n) * Double(p)) < 5 * sigma, "p \(p): \(ones) ones of \(n)")
        }
        #expect(Tensor.bernoulli([1000], probability: 0, using: &rng).scalars.allSatisfy { $0 == 0 })
        #expect(Tensor.bernoulli([1000], probability: 1, using: &rng).scalars.allSatisfy { $0 == 1 })
        #expect(Tensor.bernoulli([0, 16, 2, 2], probability: 0.5, layout: .blocked, using: &rng).count == 0)
    }
}
