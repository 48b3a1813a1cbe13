import Testing
import Tensors
import Data

@Suite struct NormalizationTests {
    @Test func appliesAndInvertsPerChannel() throws {
        let norm = Normalization(mean: [0.5, 0.25, 0], std: [0.5, 0.25, 2])
        let x = Tensor(shape: [2, 3, 1, 2], scalars: [1, 0, 0.5, 0.25, 2, 4, 0, 1, 0, 0.75, -2, 0])
        let y = try norm.apply(x)
        #expect(y.scalars == [1, -1, 1, 0, 1, 2, -1, 1, -1, 2, -1, 0])
        #expect(maxDifference(try norm.invert(y).scalars, x.scalars) < 1e-6)
        let fashion = FashionMNIST.normalization
        #expect(maxDifference(try fashion.apply(Tensor(shape: [1, 1, 1, 2], scalars: [0.2860, 1])).scalars, [0, (1 - 0.2860) / 0.3530]) < 1e-6)
    }

    @Test func worksOnTheBlockedLayoutAndIsDifferentiable() throws {
        let norm = Normalization(mean: Array(repeating: 0.5, count: 16), std: (0..<16).map { 1 + Float($0) })
        var rng = SeededGenerator(seed: 4)
        let x = Tensor.randomNormal([2, 16, 3, 3], using: &rng)
        let plain = try norm.apply(x).scalars, blocked = try norm.apply(x.converted(to: .blocked)).scalars
        #expect(maxDifference(plain, blocked) < 1e-6)
        let xg = x.requiringGradient()
        let g = gradients(of: try norm.apply(xg).sum(), wrt: [xg])[0].scalars
        #expect(maxDifference(g, (0..<(2 * 16 * 9)).map { 1 / (1 + Float(($0 / 9) % 16)) }) < 1e-6)
    }

    @Test func channelMismatchIsAnError() {
        let x = Tensor.zeros([1, 3, 2, 2])
        #expect(outcome { try FashionMNIST.normalization.apply(x) } == "Normalization(mean: [0.286], std: [0.353]): is for 1 channel(s) but the images have shape [1, 3, 2, 2] (3 channels)")
        #expect(outcome { try FashionMNIST.normalization.invert(Tensor.zeros([3, 2])) }.contains("not [N, C, H, W]"))
        #expect(outcome { try Normalization(mean: [0], std: [0]).apply(Tensor.zeros([1, 1, 1, 1])) }.contains("positive finite stds"))
    }
}

func maxDifference(_ a: [Float], _ b: [Float]) -> Float {
    a.count == b.count ? zip(a, b).map { abs($0 - $1) }.max() ?? 0 : .infinity
}
