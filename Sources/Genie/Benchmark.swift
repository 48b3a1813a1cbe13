import Foundation
import Kernels
import Models
import NN
import Tensors

/// The workloads of `genie bench` (the same as scripts/peer_bench.py runs with PyTorch).
public enum BenchWorkload: String, CaseIterable, Sendable {
    case forward, distill, train, reconstruct
}

/// The result of a benchmark: the median time per iteration and images per second.
public struct BenchResult: Sendable {
    public var workload: BenchWorkload
    public var batch: Int
    public var iterations: Int
    public var medianSeconds: Double
    public var imagesPerSecond: Double { Double(batch) / medianSeconds }
    public var peakResidentMegabytes: Double
}

/// Peak resident memory of this process (VmHWM), in MB.
public func peakResidentMegabytes() -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
          let kb = Double(line.split(separator: " ").dropFirst().first ?? "") else { return 0 }
    return kb / 1024
}

/// Runs `workload` on `spec`'s model (random weights, BN statistics made non-trivial) with `warmup`
/// untimed iterations, then `iterations` timed ones; returns the median.
public func benchmark(_ workload: BenchWorkload, spec: ModelSpec, batch: Int, iterations: Int, warmup: Int = 3) throws -> BenchResult {
    let model = spec.build(seed: 1)
    var rng = SeededGenerator(seed: 7)
    let shape = [batch, spec.inChannels, spec.imageSize, spec.imageSize]
    // Running statistics from a train-mode pass, so that the BNS loss is not trivially zero.
    model.setTraining(true)
    _ = withoutGradients { model(Tensor.randomNormal(shape, using: &rng)) }
    model.setTraining(false)
    var times: [Double] = []
    var last = Date()
    let total = warmup + iterations
    func tick() {
        let now = Date()
        times.append(now.timeIntervalSince(last))
        last = now
    }
    switch workload {
    case .forward:
        let x = Tensor.randomNormal(shape, using: &rng)
        for _ in 0..<total { _ = withoutGradients { model(x) }; tick() }
    case .train:
        model.setTraining(true)
        let parameters = model.trainableParameters()
        let optimizer = SGD(parameters, learningRate: 0.1, momentum: 0.9, weightDecay: 5e-4, nesterov: true)
        let x = Tensor.randomNormal(shape, using: &rng)
        let labels = (0..<batch).map { $0 % spec.numClasses }
        for _ in 0..<total {
            let (_, grads) = valueAndGradients(of: parameters) { crossEntropy(logits: model(x), labels: labels) }
            optimizer.step(grads)
            tick()
        }
    case .distill:
        var config = DistillConfig()
        config.iterations = total
        config.batchSize = batch
        let distiller = try Distiller(model: model, copy: spec.build(), imageShape: Array(shape.dropFirst()), config: config)
        last = Date()
        _ = try distiller.distill(batch: 0, count: batch) { _, _ in tick() }
    case .reconstruct:
        // One GENIE-M unit: the first residual block, W4A4, N = 32 x batch calibration images.
        var config = ReconstructionConfig()
        config.iterations = total
        let images = Tensor.randomNormal([32 * batch] + Array(shape.dropFirst()), using: &rng)
        let student = spec.build(seed: 1)
        try student.loadState(of: model)
        try quantize(student, weightBits: 4, activationBits: 4, sample: images.slice(batch: 0..<2), seed: 0)
        let reconstructor = try Reconstructor(teacher: model, student: student, calibration: images, config: config)
        guard let unit = reconstructor.units.firstIndex(where: { $0.hasPrefix("layer1.0") }) ?? reconstructor.units.indices.dropFirst().first else {
            throw GenieError("the model has no residual block to reconstruct")
        }
        var started = false
        try reconstructor.reconstruct(unit: unit) { _ in
            if !started { started = true; last = Date(); return }  // skip the data collection
            tick()
        }
    }
    return BenchResult(workload: workload, batch: batch, iterations: iterations, medianSeconds: median(times.suffix(iterations)),
                       peakResidentMegabytes: peakResidentMegabytes())
}

/// Speed of the 16-channel 28x28 convolution as training runs it (3x3, pad 1, 16 -> 16, blocked
/// activations), per pass, next to the machine's FP32 peak.
public struct ConvBenchResult: Sendable {
    /// GFLOP/s (2 N O C H W 9 / median time) of forward, backward-data and backward-weights.
    public var forward, backwardData, backwardWeights: Double
    /// GFLOP/s of sgemm (oneDNN's) on square matrices of 2048: the measured peak both cores reach.
    public var peak: Double
}

/// Times each pass of the 16-channel conv layer and an sgemm, medians over `iterations` after warm-up.
public func benchmarkConvolution(batch: Int, iterations: Int) -> ConvBenchResult {
    let s = ConvShape(batch: batch, inChannels: 16, height: 28, width: 28, outChannels: 16, kernelHeight: 3,
                      kernelWidth: 3, padHeight: 1, padWidth: 1, sourceBlocked: true, destinationBlocked: true)
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
                           backwardWeights: convFlop / weights / 1e9, peak: 2 * pow(Double(n), 3) / gemm / 1e9)
}

/// The median wall time of `iterations` calls of `body`, after 3 untimed ones.
private func medianSeconds(_ iterations: Int, _ body: () -> Void) -> Double {
    for _ in 0..<3 { body() }
    return median((0..<iterations).map { _ in
        let start = Date()
        body()
        return Date().timeIntervalSince(start)
    })
}

/// The middle value (the upper middle for an even count).
private func median<C: Collection<Double>>(_ values: C) -> Double {
    let sorted = values.sorted()
    return sorted[sorted.count / 2]
}
