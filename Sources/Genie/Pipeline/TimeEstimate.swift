import Foundation
import Models
import NN
import Tensors

/// Seconds of each phase of a run (an estimate or what it took); a command that runs one phase fills that one.
public struct PhaseSeconds: Codable, Sendable, Equatable {
    /// GENIE-D: distilling the images still to make.
    public var distill: Double?
    /// GENIE-M: reconstructing the units still to do.
    public var reconstruct: Double?
    /// Measuring top-1 (the full-precision and the quantized model, in a run).
    public var evaluate: Double?

    public init(distill: Double? = nil, reconstruct: Double? = nil, evaluate: Double? = nil) {
        (self.distill, self.reconstruct, self.evaluate) = (distill, reconstruct, evaluate)
    }

    /// The phases present, in run order.
    var phases: [(name: String, seconds: Double)] {
        [("distill", distill), ("reconstruct", reconstruct), ("evaluate", evaluate)].compactMap { name, s in s.map { (name, $0) } }
    }

    /// One line: each phase's `m:ss` and the total, e.g. "distill 2:10, reconstruct 5:02 (total 7:12)".
    public var summary: String {
        let parts = phases.map { "\($0.name) \(ProgressBar.clock($0.seconds))" }.joined(separator: ", ")
        return phases.count > 1 ? "\(parts) (total \(ProgressBar.clock(phases.map(\.seconds).reduce(0, +))))" : parts
    }

    /// One line comparing this estimate with what the phases took, e.g. "distill 2:10 vs 2:21 (-8%)".
    public func comparison(with actual: PhaseSeconds) -> String {
        let took = Dictionary(uniqueKeysWithValues: actual.phases.map { ($0.name, $0.seconds) })
        return phases.compactMap { name, estimate in
            took[name].map { "\(name) \(ProgressBar.clock(estimate)) vs \(ProgressBar.clock($0))"
                + ($0 > 0 ? String(format: " (%+.0f%%)", 100 * (estimate - $0) / $0) : "") }
        }.joined(separator: ", ")
    }
}

/// Runs `estimate` before a long phase and logs its result and how long timing took; an estimate that fails is logged
/// and skipped (nil): it never stops the job.
public func logTimeEstimate(_ log: (String) -> Void, _ estimate: () throws -> PhaseSeconds) -> PhaseSeconds? {
    let start = Date()
    do {
        let phases = try estimate()
        log("estimate: \(phases.summary) (timed in \(String(format: "%.0f", secondsSince(start))) s)")
        return phases
    } catch {
        log("no time estimate: \(error)")
        return nil
    }
}

/// Seconds since `start`.
func secondsSince(_ start: Date) -> Double { Date().timeIntervalSince(start) }

extension TestSet {
    /// Expected seconds of `evaluate(model)`: the batch-norm shift's pass over `sample()`, then batches of the
    /// evaluation's own size (reading and forward): an untimed first one, then the faster of the next two (noise only
    /// slows a batch down), scaled to the set's count. The size matters: the full-precision MobileNetV2 at 28x28 ran
    /// 15-25% slower per image at 500 than at 64. So does the untimed batch: its first batch of 500 took 2.5 times as
    /// long as the next, a cost the evaluation after this estimate does not pay again (BENCHMARKS.md, "The
    /// evaluation estimate"). Costs the sample's pass and three batches.
    public func estimatedEvaluationSeconds(of model: Module) throws -> Double {
        model.setTraining(false)
        let start = Date()
        guard count > 0, let sample = try sample() else { return 0 }
        withoutGradients { _ = model(sample) }
        let shift = secondsSince(start)
        let last = (count - 1) / batchSize
        let perImage = try [0, 1, 2].map { b in
            let start = Date(), batch = min(b, last)
            let positions = Array((batch * batchSize)..<min(count, (batch + 1) * batchSize))
            if let images = try self.images(at: positions) { withoutGradients { _ = model(images) } }
            return secondsSince(start) / Double(positions.count)
        }
        return shift + perImage.dropFirst().min()! * Double(count)
    }
}

extension RunConfiguration {
    /// The expected seconds of each phase of `run()` on this machine (distill, reconstruct, evaluate both models),
    /// from timed iterations of each (`estimateDistillation`, `estimateReconstruction`,
    /// `TestSet.estimatedEvaluationSeconds`); a run started again estimates what it has left. `log` gets one line per
    /// unit of GENIE-M.
    func estimate(spec: ModelSpec, model: Module, test: TestSet, distill: DistillConfig,
                  reconstruction: ReconstructionConfig, log: (String) -> Void) throws -> PhaseSeconds {
        let distillSeconds = try estimateDistillation(spec: spec, model: model, total: budget.images, config: distill, shard: .whole,
                                                      partial: folder.appendingPathComponent("images.partial"))
        let done = reconstructionUnitsDone(at: folder.appendingPathComponent("quantized.checkpoint"), model: model, calibration: nil,
                                           images: budget.images, weightBits: weightBits, activationBits: activationBits,
                                           plan: bits, config: reconstruction)
        let units = try estimateReconstruction(spec: spec, model: model, images: budget.images, weightBits: weightBits,
                                               activationBits: activationBits, plan: bits, config: reconstruction, from: done)
        log("estimate of GENIE-M per unit: " + units.units.map { "\($0.path) \(ProgressBar.clock($0.seconds))" }.joined(separator: ", "))
        let evaluation = try test.estimatedEvaluationSeconds(of: model) + test.estimatedEvaluationSeconds(of: units.quantized)
        return PhaseSeconds(distill: distillSeconds, reconstruct: units.seconds, evaluate: evaluation)
    }
}
