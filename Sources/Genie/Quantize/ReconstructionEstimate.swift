import Foundation
import Models
import NN
import Tensors

/// GENIE-M's expected duration on this machine, unit by unit (`estimateReconstruction`).
public struct ReconstructionEstimate {
    /// The units still to reconstruct (after those a checkpoint holds), with their expected seconds.
    public var units: [(path: String, seconds: Double)]
    /// A copy of the model quantized as GENIE-M leaves it (hard), whose forward pass costs what the result's will.
    public var quantized: Module
    /// The expected seconds of all of them.
    public var seconds: Double { units.map(\.seconds).reduce(0, +) }
}

/// Iterations each unit runs to time GENIE-M: the first (with the unit's set-up), 2-5 without the rounding term, 6-12
/// with it.
let reconstructionProbe = (iterations: 12, warmup: Float(0.5))

/// Times GENIE-M before it runs, on stand-ins that cost what the real work costs: a quantized copy of `model`
/// reconstructs each unit from `first` on for `reconstructionProbe.iterations` iterations, on the unit's inputs for 32
/// random images repeated to `images` (so the mini-batch is GENIE's, `images` / 32), and one forward pass of both
/// models over 32 images times the collection of each unit's inputs (both models over all images). A unit's estimate
/// is that collection, its first iteration as timed (with the activation step-size searches and the optimizers'
/// set-up, which run once, before it), and its other iterations without and with the rounding term (which starts at
/// the warm-up's end and slows the wide units most) at the fastest rate timed in each, as GENIE-D's estimate takes:
/// noise only slows an iteration down, and the first one or two iterations of each phase are one-offs that allocate
/// and first touch its buffers (Adam's new state, the rounding term's), which on ResNet-18's widest units took 2-8
/// times a later iteration (BENCHMARKS.md, "Time estimate"). Whatever the budget, the probe costs two forward passes
/// of both models over 32 images, then per unit 12 iterations and the forward pass of the quantized copy that
/// initializes the unit's activation step sizes.
public func estimateReconstruction(spec: ModelSpec, model fullPrecision: Module, images: Int, weightBits: Int,
                                   activationBits: Int, plan: BitWidthPlan = BitWidthPlan(), config: ReconstructionConfig,
                                   from first: Int = 0) throws -> ReconstructionEstimate {
    try checkCalibrationCount(images)
    var rng = SeededGenerator(seed: config.seed, stream: .max)
    let sample = Tensor.randomNormal([32, spec.inChannels, spec.imageSize, spec.imageSize], using: &rng)
    let student = fullPrecision.copy()
    try quantize(student, weightBits: weightBits, activationBits: activationBits, sample: sample.slice(batch: 0..<2),
                 seed: config.seed, plan: plan)
    var probe = config
    (probe.iterations, probe.warmup) = reconstructionProbe
    let repeated = { (x: Tensor) in Tensor.concatenated(Array(repeating: x, count: images / 32), axis: 0) }
    let reconstructor = try Reconstructor(teacher: fullPrecision, student: student, calibration: repeated(sample), config: probe)
    var estimate = ReconstructionEstimate(units: [], quantized: student)
    guard config.method != .rtn, first < reconstructor.units.count else { return estimate }

    var teacherSeen: [String: (input: Tensor, output: Tensor)] = [:], studentSeen: [String: Tensor] = [:]
    let hooks = reconstructor.units.flatMap { path in
        let (t, s) = (fullPrecision.module(at: path)!, student.module(at: path)!)
        return [(t, t.addForwardHook { _, x, y in teacherSeen[path] = (x, y) }), (s, s.addForwardHook { _, x, _ in studentSeen[path] = x })]
    }
    withoutGradients { _ = fullPrecision(sample); _ = student(sample) }
    for (module, id) in hooks { module.removeHook(id) }
    let forwardStart = Date()
    withoutGradients { _ = fullPrecision(sample); _ = student(sample) }
    let collectSeconds = Date().timeIntervalSince(forwardStart) * Double(images / 32)

    let plainIterations = (1...config.iterations).filter { config.roundingBeta(at: $0) == nil }.count
    let firstRounding = (1...probe.iterations).first { probe.roundingBeta(at: $0) != nil }!  // 1-based
    for unit in first..<reconstructor.units.count {
        let path = reconstructor.units[unit]
        let stand = (repeated(teacherSeen[path]!.input), repeated(teacherSeen[path]!.output), repeated(studentSeen[path]!))
        var ticks = [Date()]
        try reconstructor.reconstruct(unit: unit, collected: stand) { _ in ticks.append(Date()) }
        let seconds = zip(ticks, ticks.dropFirst()).map { $1.timeIntervalSince($0) }
        let plain = seconds[1..<(firstRounding - 1)].min()!, rounding = seconds[(firstRounding - 1)...].min()!
        estimate.units.append((path, collectSeconds + seconds[0] + Double(max(plainIterations - 1, 0)) * plain
                                     + Double(config.iterations - max(plainIterations, 1)) * rounding))
    }
    for (_, layer) in student.quantizedLayers { layer.quantizesInput = layer.inputQuantizer != nil }
    return estimate
}

/// The GENIE-M checkpoint at `url` for these settings: `quantizeModel` saves its finished units there and resumes
/// after them.
func reconstructionCheckpoint(at url: URL, model: Module, calibration: Tensor, weightBits: Int, activationBits: Int,
                              plan: BitWidthPlan, config: ReconstructionConfig) -> Checkpoint {
    Checkpoint(at: url, settings: ReconstructionSettings(config: config, weightBits: weightBits, activationBits: activationBits, plan: plan,
                                                         images: calibration.shape[0], weights: model.weightsHash,
                                                         calibration: valueHash([calibration])), steps: "units")
}

/// The units the GENIE-M checkpoint at `url` holds for these settings (0 without one): what a run resumes after.
/// Without the calibration images (`genie run` before it distills them again, to the same images) every setting
/// but the images' hash must match.
public func reconstructionUnitsDone(at url: URL, model: Module, calibration: Tensor?, images: Int, weightBits: Int,
                                    activationBits: Int, plan: BitWidthPlan = BitWidthPlan(), config: ReconstructionConfig) -> Int {
    let stand = calibration ?? Tensor.zeros([images])
    let checkpoint = reconstructionCheckpoint(at: url, model: model, calibration: stand, weightBits: weightBits,
                                              activationBits: activationBits, plan: plan, config: config)
    if calibration != nil { return checkpoint.load()?.done ?? 0 }
    guard let file = try? SafeTensors(contentsOf: url), let saved = file.metadata["run"],
          let done = file.metadata["\(checkpoint.steps)_done"].flatMap(Int.init) else { return 0 }
    let settings = { (json: String) -> NSDictionary? in
        guard var fields = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any] else { return nil }
        fields["calibration"] = nil
        return fields as NSDictionary
    }
    return settings(saved).map { $0 == settings(checkpoint.fingerprint) } == true ? done : 0
}
