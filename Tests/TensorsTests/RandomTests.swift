import Testing
import Tensors

@Suite struct RandomTests {
    @Test func bernoulliMaskDecidesEachEntryByTheNextHalfOfTheGeneratorsOutput() {
        var fast = SeededGenerator(seed: 3), naive = fast
        let p: Float = 0.3, count = 1001
        let mask = Tensor.bernoulli([count], probability: p, using: &fast)
        var expected: [Float] = []
        while expected.count < count {
            let word = naive.next()
            for half in [word & 0xFFFF_FFFF, word >> 32] where expected.count < count {
                expected.append(Double(half) / 0x1p32 < Double(p) ? 1 : 0)
            }
        }
        #expect(mask.scalars == expected)
        // An odd count leaves half a word unused; the stream goes on from the next word.
        #expect(fast.next() == naive.next())
    }

    @Test func blockedBernoulliMaskEqualsThePlainMaskOfTheSameSeed() {
        let shape = [3, 32, 7, 5]
        var a = SeededGenerator(seed: 9), b = a
        let plain = Tensor.bernoulli(shape, probability: 0.5, using: &a)
        let blocked = Tensor.bernoulli(shape, probability: 0.5, layout: .blocked, using: &b)
        #expect(blocked.layout == .blocked)
        #expect(blocked.scalars == plain.scalars)
        #expect(a.next() == b.next())
    }

    @Test func bernoulliMaskKeepsTheRequestedFraction() {
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
