import Foundation
import Tensors

extension RunConfiguration {
    /// Zero-shot GENIE end to end: measures the full-precision model, distills `budget.images` images (GENIE-D),
    /// quantizes on them (GENIE-M), measures the quantized model, and writes into `folder` the images
    /// (`images.safetensors`, `images.png`), the model (`quantized.safetensors`) and the report (`report.json`,
    /// `report.md`). An interrupted run started again resumes. `log` gets a line per stage and warnings;
    /// `quiet` silences the progress bars and the table of units.
    public func run(quiet: Bool = false, log: (String) -> Void = { _ in }) throws -> RunReport {
        try validate()
        let (spec, net) = try loadModel(weights: weights, overrides: model)
        try bits.validate(against: net, arch: spec.arch)
        do { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) } catch {
            throw RunFolderError(path: folder.relativePath)
        }
        guard FileManager.default.isWritableFile(atPath: folder.path) else { throw RunFolderError(path: folder.relativePath) }
        let test = try TestSet(testData, spec: spec)
        let start = Date()
        var distill = DistillConfig(method: method == .geniePaper ? .geniePaper : .genie)
        distill.iterations = budget.distillIterations
        distill.seed = seed
        var reconstruction = ReconstructionConfig(method: method)
        reconstruction.iterations = budget.reconstructionIterations
        reconstruction.seed = seed
        let estimate = logTimeEstimate(log) {
            try self.estimate(spec: spec, model: net, test: test, distill: distill, reconstruction: reconstruction, log: log)
        }
        var took = PhaseSeconds()
        var phaseStart = Date()

        log("[1/4] full-precision accuracy")
        let fp = try test.evaluate(net, quiet: quiet, log: log).accuracy
        took.evaluate = secondsSince(phaseStart)

        log("[2/4] GENIE-D: distilling \(budget.images) images, \(budget.distillIterations) iterations per batch")
        phaseStart = Date()
        let set = try distillImages(spec: spec, model: net, total: budget.images, config: distill, shard: .whole,
                                    partial: folder.appendingPathComponent("images.partial"), quiet: quiet, log: log)
        try Checkpoint.finish(folder.appendingPathComponent("images.partial")) {
            try DistilledFile.write(set, spec: spec, config: distill, total: budget.images, shard: .whole,
                                    to: folder.appendingPathComponent("images.safetensors"))
        }
        took.distill = secondsSince(phaseStart)

        log("[3/4] GENIE-M (\(method.rawValue)): W\(weightBits)A\(activationBits), \(budget.reconstructionIterations) iterations per unit")
        phaseStart = Date()
        let quantizedURL = folder.appendingPathComponent("quantized.safetensors")
        let (quantized, units) = try quantizeModelWithReport(
            spec: spec, model: net, calibration: set.images, weightBits: weightBits, activationBits: activationBits, plan: bits,
            config: reconstruction, checkpoint: folder.appendingPathComponent("quantized.checkpoint"), quiet: quiet, log: log)
        try writeQuantizedModel(quantized, report: units, spec: spec, seed: seed, to: quantizedURL,
                                replacing: folder.appendingPathComponent("quantized.checkpoint"))
        took.reconstruct = secondsSince(phaseStart)
        if !quiet { log(units.table) }

        log("[4/4] quantized accuracy")
        phaseStart = Date()
        let q = try test.evaluate(quantized, quiet: quiet, log: log).accuracy
        took.evaluate! += secondsSince(phaseStart)
        if let estimate { log("estimate vs actual: \(estimate.comparison(with: took))") }
        let report = RunReport(
            arch: spec.arch, wbits: weightBits, abits: activationBits, bits: "\(bits)", sizeBytes: units.size.totalBytes,
            fp32SizeBytes: units.size.fp32TotalBytes, preset: preset, seed: seed, fpTop1: fp.top1,
            quantTop1: q.top1, testData: test.name, testImages: fp.count, images: budget.images,
            distillIterations: budget.distillIterations, reconstructionIterations: budget.reconstructionIterations,
            seconds: Date().timeIntervalSince(start), distillInitialLoss: set.initialLosses, distillFinalLoss: set.finalLosses,
            estimateSeconds: estimate, phaseSeconds: took)
        try AtomicFile.write([UInt8](reportJSON(report, pretty: true)), to: folder.appendingPathComponent("report.json"))
        try AtomicFile.write(report.markdown, to: folder.appendingPathComponent("report.md"))
        return report
    }
}

/// The run's folder cannot be made, or made files in (a file is in the way, or no permission).
public struct RunFolderError: Error, Equatable, CustomStringConvertible {
    /// The folder, as the configuration gave it.
    public let path: String
    /// Why, without the folder's name.
    public let reason = "cannot create the folder or write in it (a file is in the way, or no permission)"
    public var description: String { "run folder '\(path)': \(reason)" }

    /// The error for the folder `path`.
    public init(path: String) { self.path = path }
}
