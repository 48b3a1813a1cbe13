import Foundation
import Models
import NN
import Tensors

/// Checks that a count of calibration images suits GENIE-M, which reconstructs on slices of 32; `source`
/// (a flag, a file) names them in the error.
public func checkCalibrationCount(_ count: Int, source: String = "calibration") throws {
    guard count >= 32, count % 32 == 0 else {
        throw GenieError("\(source): \(count) calibration images, but GENIE-M needs a positive multiple of 32 (it reconstructs on slices of 32)")
    }
}

/// Checks calibration images against `spec`'s model: shape `[N, C, H, W]`, N a positive multiple of 32, all
/// finite; `source` (a flag, a file) names them in the error.
public func checkCalibration(_ images: Tensor, spec: ModelSpec, source: String = "calibration") throws {
    let expected = [spec.inChannels, spec.imageSize, spec.imageSize]
    guard images.rank == 4, Array(images.shape.dropFirst()) == expected else {
        throw GenieError("\(source): the images have shape \(images.shape) but the model takes [N, \(expected.map(String.init).joined(separator: ", "))]")
    }
    try checkCalibrationCount(images.shape[0], source: source)
    guard images.scalars.allSatisfy(\.isFinite) else { throw GenieError("\(source): the images contain NaN or infinite values") }
}

/// What a GENIE-M checkpoint must match to be resumed: the settings, and hashes of the weights and images.
struct ReconstructionSettings: Encodable {
    var method: String, weightBits: Int, activationBits: Int, iterations: Int, seed: UInt64, roundingWeight: Float
    var softbitLearningRate: Float
    var images: Int, weights: String, calibration: String
    /// The per-layer bit widths (`BitWidthPlan`'s text), nil when there are none.
    var bits: String?

    init(config: ReconstructionConfig, weightBits: Int, activationBits: Int, plan: BitWidthPlan, images: Int, weights: String,
         calibration: String) {
        (method, iterations, seed, roundingWeight) = (config.method.rawValue, config.iterations, config.seed, config.roundingWeight)
        softbitLearningRate = config.softbitLearningRate
        (self.weightBits, self.activationBits, self.images, self.weights, self.calibration) = (weightBits, activationBits, images, weights, calibration)
        bits = plan.isEmpty ? nil : "\(plan)"
    }
}

/// GENIE-M end to end: wraps a copy of the full-precision model with quantizers, reconstructs it unit by unit
/// on `calibration`, and returns the quantized model in hard mode. After every unit the model so far is
/// saved to `checkpoint` (when given); a run with the same settings resumes after the last finished unit.
/// `plan` overrides the bits of some layers; `losses` receives each unit's reconstruction loss (also kept
/// in the checkpoint).
public func quantizeModel(spec: ModelSpec, model fullPrecision: Module, calibration: Tensor, weightBits: Int,
                          activationBits: Int, plan: BitWidthPlan = BitWidthPlan(), config: ReconstructionConfig,
                          checkpoint: URL?, losses: ReconstructionLog = ReconstructionLog(), quiet: Bool = false,
                          log: (String) -> Void = { _ in }) throws -> Module {
    try checkCalibration(calibration, spec: spec)
    try plan.validate(against: fullPrecision, arch: spec.arch)
    let student = fullPrecision.copy()
    try quantize(student, weightBits: weightBits, activationBits: activationBits,
                 sample: calibration.slice(batch: 0..<min(2, calibration.shape[0])), seed: config.seed, plan: plan)
    let reconstructor = try Reconstructor(teacher: fullPrecision, student: student, calibration: calibration, config: config)
    let progress = checkpoint.map {
        reconstructionCheckpoint(at: $0, model: fullPrecision, calibration: calibration, weightBits: weightBits,
                                 activationBits: activationBits, plan: plan, config: config)
    }
    var first = 0
    if let progress, let (saved, done) = progress.load() {
        let (_, restored) = try QuantizedModelFile.load(saved, source: progress.url.path)
        for unit in reconstructor.units.prefix(done) {
            for (path, layer) in restored.quantizedLayers where path == unit || path.hasPrefix(unit + ".") {
                student.replace(path, with: layer)
            }
        }
        first = done
        losses.units = saved.metadata["unit_losses"].flatMap { try? JSONDecoder().decode([UnitLoss].self, from: Data($0.utf8)) } ?? []
        log("resuming from \(progress.url.path): \(done) of \(reconstructor.units.count) units done")
    }
    var bar: ProgressBar?
    var saved = first  // units whose result is in the checkpoint
    do {
        try reconstructor.run(from: first, progress: { p in
            if p.iteration == 1 {
                bar = ProgressBar("unit \(p.unit + 1)/\(p.units) \(p.path)", total: p.iterations, quiet: quiet)
            }
            losses.record(p)
            bar?.update(p.iteration, ["rec": String(format: "%.4f", p.reconstructionLoss),
                                      "round": String(format: "%.1f", p.roundingLoss)])
        }, finished: { unit, seconds in
            losses.finish(reconstructor.units[unit], seconds: seconds)
            guard let progress else { return }
            let unitLosses = String(decoding: try JSONEncoder().encode(losses.units), as: UTF8.self)
            try progress.save(QuantizedModelFile.make(student, spec: spec, metadata: ["unit_losses": unitLosses]), done: unit + 1)
            saved = unit + 1
        })
    } catch let error as GenieError where saved > 0 {
        throw GenieError("\(error); the \(saved) unit\(saved == 1 ? "" : "s") finished before it are kept in '\(progress!.url.path)'")
    }
    if !reconstructor.mirroredChannels.isEmpty {
        let layers = reconstructor.mirroredChannels.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }
        log("learned step sizes crossed zero in \(reconstructor.mirroredChannels.values.reduce(0, +)) channels (\(layers.joined(separator: ", "))); stored mirrored, with positive step sizes")
    }
    for (_, layer) in student.quantizedLayers { layer.quantizesInput = layer.inputQuantizer != nil }
    student.setTraining(false)
    return student
}
