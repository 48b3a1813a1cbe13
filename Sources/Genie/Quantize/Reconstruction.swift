import Foundation
import NN
import Tensors

/// How the weights of each unit are reconstructed. Each method's settings are one row of `ReconstructionConfig(method:)`.
public enum QuantMethod: String, CaseIterable, Sendable {
    /// GENIE-M with genie's default settings: the paper's, with the softbits' learning rate scaled to the budget.
    case genie
    /// GENIE-M exactly as the paper and its reference code set it up; kept as it is when genie's defaults change.
    case geniePaper = "genie-paper"
    /// BRECQ: AdaRound softbits with the weight step sizes fixed at their initial value, rounding weight 0.01, no QDrop.
    case brecq
    /// Round to nearest at the initial step sizes, no reconstruction (activation step sizes still calibrated).
    case rtn
}

/// Hyper-parameters of the block reconstruction (docs/METHOD.md, "Reconstructing one unit" and "Method settings").
public struct ReconstructionConfig: Sendable {
    public private(set) var method: QuantMethod
    public var iterations = 20_000
    /// Whether the weight step sizes learn with the softbits (GENIE-M) or stay at their initial value (AdaRound).
    public var learnsWeightScales: Bool
    public var weightScaleLearningRate: Float
    public var activationScaleLearningRate: Float
    /// The softbits' Adam learning rate: the method's fixed rate, or for `genie` `budgetSoftbitLearningRate(iterations:)`
    /// of the current `iterations`. Setting it fixes the rate.
    public var softbitLearningRate: Float {
        get { fixedSoftbitLearningRate ?? Self.budgetSoftbitLearningRate(iterations: iterations) }
        set { fixedSoftbitLearningRate = newValue }
    }
    private var fixedSoftbitLearningRate: Float?
    public var roundingWeight: Float
    /// The fraction of the iterations before the rounding regularizer starts.
    public var warmup: Float
    public var betaStart: Float, betaEnd: Float
    /// QDrop's probability that an activation element keeps its full-precision value while its unit is
    /// reconstructed, at the unit's input and in each activation quantizer; 0 quantizes every element.
    public var dropProbability: Float
    public var seed: UInt64 = 0

    /// GENIE-M with genie's default settings.
    public init() { self.init(method: .genie) }

    /// `method`'s settings, one row per method: the one place each method's defaults are set.
    public init(method: QuantMethod) {
        switch method {
        case .geniePaper:  // GENIE's reference code: QDrop's learning rates, its own rounding weight
            self.init(method, learnsWeightScales: true, rates: (1e-4, 4e-5, 1e-3), roundingWeight: 1, warmup: 0.2, betas: (20, 2),
                      dropProbability: 0.5)
        case .genie:  // the paper's, but the softbits' rate follows the budget (BENCHMARKS.md, "The softbits' learning rate follows the budget")
            self = ReconstructionConfig(method: .geniePaper)
            (self.method, fixedSoftbitLearningRate) = (.genie, nil)
        case .brecq:  // BRECQ's code (main_imagenet.py): AdaRound's weight 0.01, no QDrop; activation rate as GENIE's
            self.init(method, learnsWeightScales: false, rates: (0, 4e-5, 1e-3), roundingWeight: 0.01, warmup: 0.2, betas: (20, 2),
                      dropProbability: 0)
        case .rtn:  // no reconstruction: only the activation step-size search runs
            self.init(method, learnsWeightScales: false, rates: (0, 0, 0), roundingWeight: 0, warmup: 0, betas: (0, 0),
                      dropProbability: 0)
        }
    }

    private init(_ method: QuantMethod, learnsWeightScales: Bool, rates: (weightScale: Float, activationScale: Float, softbit: Float),
                 roundingWeight: Float, warmup: Float, betas: (start: Float, end: Float), dropProbability: Float) {
        (self.method, self.learnsWeightScales, self.roundingWeight, self.warmup) = (method, learnsWeightScales, roundingWeight, warmup)
        (weightScaleLearningRate, activationScaleLearningRate) = (rates.weightScale, rates.activationScale)
        fixedSoftbitLearningRate = rates.softbit
        (betaStart, betaEnd, self.dropProbability) = (betas.start, betas.end, dropProbability)
    }

    /// genie's softbit learning rate for `iterations` per unit: GENIE's 1e-3 at its 20,000 iterations, and inversely
    /// proportional to the iterations below that, so that a shorter budget moves the softbits as far in all (Adam's
    /// steps are about the rate each); held at 4e-2 below 500 iterations rather than extrapolated.
    public static func budgetSoftbitLearningRate(iterations: Int) -> Float {
        1e-3 * 20_000 / Float(min(max(iterations, 500), 20_000))
    }

    /// The rounding regularizer's exponent at `iteration` (1-based, as BRECQ counts before it compares), or nil
    /// during the warm-up, when only the reconstruction loss is minimized: beta anneals linearly from
    /// `betaStart` at the end of the warm-up to `betaEnd` at the last iteration.
    public func roundingBeta(at iteration: Int) -> Float? {
        let warmupIterations = Int(warmup * Float(iterations))
        guard iteration >= warmupIterations else { return nil }
        let progressed = Float(iteration - warmupIterations) / Float(max(iterations - warmupIterations, 1))
        return betaEnd + (betaStart - betaEnd) * max(0, 1 - progressed)
    }
}

/// Progress of one unit's reconstruction.
public struct UnitProgress {
    public var unit: Int, units: Int, path: String
    public var iteration: Int, iterations: Int
    public var reconstructionLoss: Float, roundingLoss: Float
}

/// GENIE-M's block reconstruction (docs/METHOD.md, "Reconstructing one unit") of a quantized `student` against its
/// full-precision `teacher` on calibration images, one unit at a time in model order.
public final class Reconstructor {
    public let teacher: Module, student: Module
    public let calibration: Tensor
    public let config: ReconstructionConfig
    /// The unit paths, in order.
    public let units: [String]
    /// Layers of the finished units whose learned step sizes crossed zero, and how many channels did
    /// (stored mirrored, see `freeze`).
    public private(set) var mirroredChannels: [String: Int] = [:]

    /// `calibration` holds N images in the model's normalized input space; N must be a multiple of 32.
    public init(teacher: Module, student: Module, calibration: Tensor, config: ReconstructionConfig) throws {
        guard calibration.shape[0] >= 32, calibration.shape[0] % 32 == 0 else {
            throw GenieError("calibration needs a positive multiple of 32 images (GENIE's slices of 32), got \(calibration.shape[0])")
        }
        self.teacher = teacher
        self.student = student
        self.calibration = calibration
        self.config = config
        units = reconstructionUnits(of: teacher, input: calibration)
        teacher.setTraining(false)
        student.setTraining(false)
    }

    /// Reconstructs units `first..<units.count`; `finished(i, seconds)` runs after unit i is frozen (to save
    /// progress), with the wall time of its reconstruction (collecting its data, the iterations, freezing).
    public func run(from first: Int = 0, progress: (UnitProgress) -> Void = { _ in },
                    finished: (Int, Double) throws -> Void = { _, _ in }) throws {
        if config.method == .rtn {
            let start = Date()
            calibrateRoundToNearest()
            try finished(units.count - 1, Date().timeIntervalSince(start))
            return
        }
        for unit in first..<units.count {
            let start = Date()
            try reconstruct(unit: unit, progress: progress)
            try finished(unit, Date().timeIntervalSince(start))
        }
    }

    /// The quantized layers of a unit of the student and the distinct activation quantizers they apply.
    func layers(of unit: Int) -> (layers: [QuantizedLayer], activations: [ActivationQuantizer]) {
        let layers = student.module(at: units[unit])!.quantizedLayers.map(\.layer)
        var activations: [ActivationQuantizer] = []
        for q in layers.compactMap(\.inputQuantizer) where !activations.contains(where: { $0 === q }) { activations.append(q) }
        return (layers, activations)
    }

    /// Round to nearest: every input quantizer on, hard, initialized in forward order on 32 images.
    func calibrateRoundToNearest() {
        for (_, layer) in student.quantizedLayers { layer.quantizesInput = true }
        _ = withoutGradients { student(calibration.slice(batch: 0..<32)) }
    }

    /// Teacher input and output of the unit and the student's input to it, over all calibration images.
    func collect(unit: Int) -> (teacherInput: Tensor, teacherOutput: Tensor, studentInput: Tensor) {
        let n = calibration.shape[0]
        var xfp = BatchStack(total: n), yfp = BatchStack(total: n), xq = BatchStack(total: n)
        let t = teacher.module(at: units[unit])!, s = student.module(at: units[unit])!
        let tid = t.addForwardHook { _, input, output in xfp.append(input); yfp.append(output) }
        let sid = s.addForwardHook { _, input, _ in xq.append(input) }
        defer { t.removeHook(tid); s.removeHook(sid) }
        withoutGradients {
            for start in stride(from: 0, to: n, by: 32) {
                let slice = calibration.slice(batch: start..<(start + 32))
                _ = teacher(slice)
                _ = student(slice)
            }
        }
        return (xfp.tensor, yfp.tensor, xq.tensor)
    }

    /// Reconstructs unit `unit`; `collected` stands in for the unit's teacher input and output and student input over
    /// the calibration images, which are otherwise collected by running both models (a time estimate passes them).
    public func reconstruct(unit: Int, collected: (teacherInput: Tensor, teacherOutput: Tensor, studentInput: Tensor)? = nil,
                            progress: (UnitProgress) -> Void) throws {
        let (layers, _) = self.layers(of: unit)
        var rng = SeededGenerator(seed: config.seed, stream: UInt64(unit))
        for layer in layers {
            layer.quantizesInput = true
            layer.weightQuantizer?.soft = true
            if let q = layer.inputQuantizer { (q.training, q.dropProbability) = (true, config.dropProbability); q.reseed(rng.next()) }
        }
        let (xfp, yfp, xq) = collected ?? collect(unit: unit)
        // collect() initializes the unit's activation quantizers on its first 32 images; stand-ins must too, or the
        // step sizes would start only in the first iteration, after the optimizer is built, and never be learned.
        if collected != nil { _ = withoutGradients { student(calibration.slice(batch: 0..<32)) } }
        let activations = self.layers(of: unit).activations  // shared quantizers are known once initialized
        precondition(activations.allSatisfy { $0.scale != nil }, "unit '\(units[unit])': an activation quantizer saw no input")
        let weights = layers.compactMap(\.weightQuantizer)
        let weightScales = config.learnsWeightScales ? weights.map(\.scale) : []
        let activationScales = activations.compactMap(\.scale)
        let softbits = weights.map(\.softbits)
        let scaleOptimizer = Adam([ParameterGroup(weightScales, learningRate: config.weightScaleLearningRate),
                                   ParameterGroup(activationScales, learningRate: config.activationScaleLearningRate)])
        var cosine = CosineSchedule(scaleOptimizer, totalSteps: config.iterations)
        let softbitOptimizer = Adam(softbits, learningRate: config.softbitLearningRate)
        let parameters = scaleOptimizer.parameters + softbits
        let module = student.module(at: units[unit])!
        let n = calibration.shape[0], batch = n / 32
        var order: [Int] = []
        for t in 0..<config.iterations {
            if t % 32 == 0 { order = Array(0..<n).shuffled(using: &rng) }
            let index = Array(order[(t % 32 * batch)..<((t % 32 + 1) * batch)])
            let quantizedInput = xq.gathered(batch: index)
            let input = config.dropProbability == 0 ? quantizedInput : Tensor.select(
                Tensor.bernoulli(quantizedInput.shape, probability: 1 - config.dropProbability, layout: quantizedInput.layout,
                                 using: &rng), quantizedInput,
                xfp.gathered(batch: index))
            let target = yfp.gathered(batch: index)
            var rec = Float(0), round = Float(0)
            let (loss, grads) = valueAndGradients(of: parameters) {
                let out = module(input)
                // BRECQ's loss: summed over channels, averaged over the batch and positions.
                let recLoss = mseLoss(out, target) * Float(out.shape[1])
                rec = recLoss.item
                guard let beta = config.roundingBeta(at: t + 1) else { return recLoss }
                let roundLoss = weights.map { $0.roundingLoss(beta: beta) }.reduce(Tensor(0), +)
                round = roundLoss.item
                return recLoss + roundLoss * config.roundingWeight
            }
            guard loss.item.isFinite else {
                throw GenieError("unit \(unit + 1)/\(units.count) '\(units[unit])': the reconstruction loss became \(loss.item) at iteration \(t + 1)")
            }
            scaleOptimizer.step(Array(grads.prefix(scaleOptimizer.parameters.count)))
            softbitOptimizer.step(Array(grads.suffix(softbits.count)))
            cosine.step()
            progress(UnitProgress(unit: unit, units: units.count, path: units[unit], iteration: t + 1,
                                  iterations: config.iterations, reconstructionLoss: rec, roundingLoss: round))
        }
        for layer in layers {
            layer.weightQuantizer?.soft = false
            layer.inputQuantizer?.training = false
        }
        try freeze(unit: unit)
    }

    /// Puts a finished unit's weight quantizers in their canonical form and checks them. Adam can carry a
    /// weight step size through zero (docs/METHOD.md, "Weight step sizes stay positive"); the unconstrained
    /// reference keeps such a channel, and `s·(q − z)` equals `|s|·(q' − z')` with the codes and zero point
    /// mirrored, so the same weight is stored with a positive step size. Anything still unfit for a file
    /// (a step size of zero, not finite) stops the run naming the unit, layer and channel.
    func freeze(unit: Int) throws {
        for (path, m) in student.module(at: units[unit])!.namedModules(prefix: units[unit]) {
            guard let layer = m as? QuantizedLayer, let wq = layer.weightQuantizer else { continue }
            let flipped = wq.scale.value.scalars.filter { $0 < 0 }.count
            if flipped > 0 {
                layer.weightQuantizer = wq.scaled(by: [Double](repeating: 1, count: wq.scale.value.count))
                mirroredChannels[path] = flipped
            }
            if let problem = layer.weightQuantizer!.invalidity {
                throw GenieError("unit \(unit + 1)/\(units.count) '\(units[unit])': layer \(path): weight quantizer \(problem)")
            }
            if let problem = layer.inputQuantizer?.invalidity {
                throw GenieError("unit \(unit + 1)/\(units.count) '\(units[unit])': layer \(path): \(problem)")
            }
        }
    }
}
