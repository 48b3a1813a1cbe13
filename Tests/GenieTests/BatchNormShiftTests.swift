import Genie
import NN
import Tensors
import Testing

/// The batch-norm shift's per-layer figure is the median over channels: a wrong preprocessing moves every channel,
/// while a model trained elsewhere may carry a few channels whose running statistics lag their weights.
@Suite struct BatchNormShiftTests {
    /// A batch norm on 16-channel images whose running statistics are the images' own moments, each channel's
    /// variance then multiplied by `varianceFactor(c)` and its mean moved by `meanShift(c)` standard deviations.
    static func firstLayerDivergence(varianceFactor: (Int) -> Float, meanShift: (Int) -> Float) -> BatchNormShift {
        var rng = SeededGenerator(seed: 7)
        let images = Tensor.randomNormal([64, 16, 8, 8], using: &rng)
        let (mean, std) = images.channelMoments(unbiased: false)
        let norm = BatchNorm2d(16)
        let (m, s) = (mean.scalars, std.scalars)
        norm.runningMean!.value = Tensor(shape: [16], scalars: (0..<16).map { m[$0] + meanShift($0) * s[$0] })
        norm.runningVar!.value = Tensor(shape: [16], scalars: (0..<16).map { s[$0] * s[$0] * varianceFactor($0) })
        return BatchNormShift(model: Sequential([norm]), images: images)
    }

    @Test func oneStaleChannelDoesNotWarnButEveryChannelMovedDoes() throws {
        let matching = Self.firstLayerDivergence(varianceFactor: { _ in 1 }, meanShift: { _ in 0 })
        #expect(matching.input < 1e-6 && matching.warning() == nil, "\(matching)")

        // One channel of 16 with a third of its variance stored: 0.45 on its own, 0.028 as a mean over the channels.
        let stale = Self.firstLayerDivergence(varianceFactor: { $0 == 5 ? 1 / 3 : 1 }, meanShift: { _ in 0 })
        #expect(stale.input < 1e-6 && stale.warning() == nil, "\(stale)")

        // Every channel's mean a fifth of a standard deviation off, as a wrong mean/std moves them: 0.02 each.
        let moved = Self.firstLayerDivergence(varianceFactor: { _ in 1 }, meanShift: { _ in 0.2 })
        #expect(abs(moved.input - 0.02) < 1e-3, "\(moved)")
        #expect(moved.warning()?.contains("the first batch norm") == true, "\(moved)")
    }
}
