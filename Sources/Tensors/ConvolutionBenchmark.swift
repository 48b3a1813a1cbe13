import Foundation
import Kernels

/// Speed of a 3x3, padding-1 convolution as training runs it (C -> C channels, blocked activations when C fills whole
/// channel blocks, as tensors are stored; ResNet-20's first stage is 16 channels on 28x28 maps), per pass, next to the
/// machine's FP32 peak.
public struct ConvBenchResult: Sendable {
    /// GFLOP/s (2 N O C H W 9 / median time) of forward, backward-data and backward-weights.
    public var forward, backwardData, backwardWeights: Double
    /// GFLOP/s of sgemm (oneDNN's) on square matrices of 2048: the measured peak both cores reach.
    public var peak: Double
    /// The forward pass's kernels (`Convolution.implementation`).
    public var implementation: String
}

/// Times each pass of the `channels`-channel conv layer on `side x side` maps and an sgemm, medians over `iterations`
/// after warm-up.
public func benchmarkConvolution(batch: Int, channels: Int = 16, side: Int = 28, iterations: Int) -> ConvBenchResult {
    // 8 channels fill a block on AVX2 (nChw8c) but not on AVX-512 (nChw16c): there they stay plain, as a tensor would.
    let blocked = Tensor.canBlock([batch, channels, side, side])
    let s = ConvShape(batch: batch, inChannels: channels, height: side, width: side, outChannels: channels, kernelHeight: 3,
                      kernelWidth: 3, padHeight: 1, padWidth: 1, sourceBlocked: blocked, destinationBlocked: blocked)
    var rng = SeededGenerator(seed: 7)
    let (x, w, g) = (Tensor.randomNormal([s.sourceCount], using: &rng), Tensor.randomNormal([s.weightCount], using: &rng),
                     Tensor.randomNormal([s.destinationCount], using: &rng))
    let (y, dx, dw) = (FloatBuffer(capacity: s.destinationCount), FloatBuffer(capacity: s.sourceCount),
                       FloatBuffer(capacity: s.weightCount))
    let convFlop = Double(2 * s.batch * s.outChannels * s.inChannels * s.outHeight * s.outWidth * 9)
    let forward = medianSeconds(iterations) { Convolution.forward(s, source: x.buffer, weights: w.buffer, bias: nil, destination: y) }
    let data = medianSeconds(iterations) { Convolution.backwardData(s, diffDestination: g.buffer, weights: w.buffer, diffSource: dx) }
    let weights = medianSeconds(iterations) {
        Convolution.backwardWeights(s, source: x.buffer, diffDestination: g.buffer, diffWeights: dw, diffBias: nil)
    }
    let n = 2048
    let (a, b, c) = (Tensor.randomNormal([n * n], using: &rng), Tensor.randomNormal([n * n], using: &rng), FloatBuffer(capacity: n * n))
    let gemm = medianSeconds(max(3, iterations / 4)) {
        Gemm.sgemm(transposeA: false, transposeB: false, m: n, n: n, k: n, a.buffer, b.buffer, c)
    }
    return ConvBenchResult(forward: convFlop / forward / 1e9, backwardData: convFlop / data / 1e9,
                           backwardWeights: convFlop / weights / 1e9, peak: 2 * pow(Double(n), 3) / gemm / 1e9,
                           implementation: Convolution.implementation(s, .forward))
}

/// The median (the upper middle for an even count) wall time of `iterations` calls of `body`, after 3 untimed ones.
private func medianSeconds(_ iterations: Int, _ body: () -> Void) -> Double {
    for _ in 0..<3 { body() }
    let times = (0..<iterations).map { _ in
        let start = Date()
        body()
        return Date().timeIntervalSince(start)
    }.sorted()
    return times[times.count / 2]
}
