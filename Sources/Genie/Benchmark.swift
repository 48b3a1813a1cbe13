import Foundation
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
    (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)).flatMap(peakResidentMegabytes(status:)) ?? 0
}

/// VmHWM in MB from the text of `/proc/self/status`: the value follows a tab and, below 8 digits, padding spaces.
public func peakResidentMegabytes(status: String) -> Double? {
    guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
          let kb = Double(line.split(whereSeparator: \.isWhitespace).dropFirst().first ?? "") else { return nil }
    return kb / 1024
}

/// Runs `workload` on `spec`'s model (random weights, BN statistics made non-trivial) with `warmup`
/// untimed iterations, then `iterations` timed ones; returns the median.
public func benchmark(_ workload: BenchWorkload, spec: ModelSpec, batch: Int, iterations: Int, warmup: Int = 3) throws -> BenchResult {
    if workload == .distill && spec.imageSize % 4 != 0 {
        throw ModelSpecError(key: "image_size", reason: "must be a multiple of 4 for the distill workload (the generator starts at a quarter of it), got \(spec.imageSize)")
    }
    let model = spec.build(seed: 1)
    var rng = SeededGenerator(seed: 7)
    let shape = [batch, spec.inChannels, spec.imageSize, spec.imageSize]
    // Running statistics from a train-mode pass over 64 images, as the peer's, so that the BNS loss is not trivially zero.
    model.setTraining(true)
    _ = withoutGradients { model(Tensor.randomNormal([64] + shape.dropFirst(), using: &rng)) }
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
        let distiller = try Distiller(model: model, imageShape: Array(shape.dropFirst()), config: config)
        last = Date()
        _ = try distiller.distill(batch: 0, count: batch) { _, _ in tick() }
    case .reconstruct:
        // One GENIE-M unit: the first block (layer1.0; features.1 in MobileNetV2), W4A4, N = 32 x batch calibration images.
        var config = ReconstructionConfig()
        config.iterations = total + 1  // the first one also collects the unit's data: not timed
        let images = Tensor.randomNormal([32 * batch] + Array(shape.dropFirst()), using: &rng)
        let student = model.copy()
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

/// The middle value (the upper middle for an even count); 0 for none.
func median<C: Collection<Double>>(_ values: C) -> Double {
    let sorted = values.sorted()
    return sorted.isEmpty ? 0 : sorted[sorted.count / 2]
}
