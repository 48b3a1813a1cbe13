import Testing
import Tensors

@Suite struct ArithmeticTests {
    var rng = SeededGenerator(seed: 1)

    @Test mutating func broadcastingBinaryOpsMatchExpectedValues() {
        let a = Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        let b = Tensor(shape: [3], scalars: [10, 20, 30])
        #expect((a + b).scalars == [11, 22, 33, 14, 25, 36])
        #expect((a * Tensor(shape: [2, 1], scalars: [2, 3])).scalars == [2, 4, 6, 12, 15, 18])
        #expect((a - 1).scalars == [0, 1, 2, 3, 4, 5])
        #expect((2 / Tensor(shape: [2], scalars: [1, 4])).scalars == [2, 0.5])
    }

    @Test mutating func binaryGradientsThroughBroadcasting() {
        let a = Tensor.randomNormal([2, 3, 4], using: &rng)
        let b = Tensor.randomUniform([3, 1], lower: 1, upper: 2, using: &rng)
        checkGradients([a, b]) { $0[0] + $0[1] }
        checkGradients([a, b]) { $0[0] - $0[1] }
        checkGradients([a, b]) { $0[0] * $0[1] }
        checkGradients([a, b]) { $0[0] / $0[1] }
        checkGradients([b]) { 3 / $0[0] }
    }

    @Test mutating func channelBroadcastInBothLayouts() {
        let x = Tensor.randomNormal([2, 16, 3, 3], using: &rng)
        let v = Tensor.randomNormal([1, 16, 1, 1], using: &rng)
        let plain = x * v + v
        let blocked = x.converted(to: .blocked) * v + v
        #expect(blocked.layout == .blocked)
        #expect(maxAbsDifference(plain, blocked) == 0)
        checkGradients([x.converted(to: .blocked), v]) { $0[0] * $0[1] - $0[1] }
    }

    @Test mutating func unaryGradients() {
        let x = Tensor.randomNormal([3, 5], using: &rng)
        let pos = Tensor.randomUniform([3, 5], lower: 0.5, upper: 2, using: &rng)
        checkGradients([x]) { $0[0].tanh() }
        checkGradients([x]) { $0[0].sigmoid() }
        checkGradients([x]) { $0[0].exp() }
        checkGradients([x]) { $0[0].leakyRelu(slope: 0.2) }
        checkGradients([x]) { $0[0].squared() }
        checkGradients([pos]) { $0[0].log() }
        checkGradients([pos]) { $0[0].sqrt() }
        checkGradients([pos]) { $0[0].pow(2.4) }
        checkGradients([x]) { $0[0].clamped(-0.5, 0.5) }
    }

    @Test mutating func straightThroughRoundingPassesGradientUnchanged() {
        let x = Tensor(shape: [4], scalars: [0.5, 1.5, -0.4, 2.6]).requiringGradient()
        #expect(x.rounded().scalars == [0, 2, 0, 3])
        let g = gradients(of: (x.roundedSTE() * Tensor(shape: [4], scalars: [1, 2, 3, 4])).sum(), wrt: [x])[0]
        #expect(g.scalars == [1, 2, 3, 4])
        let g0 = gradients(of: (x.rounded() * x).sum(), wrt: [x])[0]
        #expect(g0.scalars == [0, 2, 0, 3])
    }

    @Test mutating func reductionsAndReshapes() {
        let x = Tensor.randomNormal([2, 16, 2, 3], using: &rng)
        let sums = x.converted(to: .blocked).channelSums()
        #expect(maxAbsDifference(sums, x.sum(alongAxes: [0, 2, 3])) < 1e-5)
        checkGradients([x.converted(to: .blocked)]) { $0[0].channelSums() }
        checkGradients([x]) { $0[0].mean(alongAxes: [1], keepingDimensions: true) }
        checkGradients([x.converted(to: .blocked)]) { $0[0].flattened() }
    }

    @Test func seededGeneratorIsReproducible() {
        var a = SeededGenerator(seed: 7), b = SeededGenerator(seed: 7), c = SeededGenerator(seed: 7, stream: 1)
        let x = Tensor.randomNormal([100], using: &a), y = Tensor.randomNormal([100], using: &b)
        #expect(x.scalars == y.scalars)
        #expect(Tensor.randomNormal([100], using: &c).scalars != x.scalars)
        let m = x.scalars.reduce(0, +) / 100
        #expect(abs(m) < 0.3)
    }
}
