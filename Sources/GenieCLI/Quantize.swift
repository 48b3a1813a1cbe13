import ArgumentParser
import Data
import Foundation
import Genie
import Models
import NN
import Tensors

/// Where calibration images come from.
struct CalibrationOptions: ParsableArguments {
    @Option(help: "Distilled images from `genie distill` (zero-shot).") var calib: String?
    @Option(help: "Few-shot: this many random Fashion-MNIST training images (or, with --real-folder, random images of the folder).")
    var real: Int?
    @Option(help: "Few-shot: a folder of JPEG/PNG images (flat, or one subfolder per class), all of them or --real N picked by --seed.")
    var realFolder: String?
    /// The preprocessing of image files: those of --real-folder and, in `quantize --evaluate`, of --data.
    @OptionGroup var preprocessing: PreprocessingOptions
    @Option(help: "Baseline: this many standard-normal images.") var noise: Int?

    /// The source the flags name, and how errors name it.
    func source() throws -> (source: CalibrationSource, label: String) {
        let given = [calib != nil, real != nil || realFolder != nil, noise != nil].filter { $0 }.count
        guard given == 1 else { throw ValidationError("give exactly one of --calib FILE, --real N, --real-folder DIR [--real N], --noise N") }
        if let calib { return (.distilled(URL(fileURLWithPath: calib)), "--calib '\(calib)'") }
        if let realFolder {
            return (.folder(URL(fileURLWithPath: realFolder), count: real, resize: preprocessing.resize, crop: preprocessing.crop),
                    "--real-folder '\(realFolder)'")
        }
        if let real { return (.fashionMNIST(count: real), "--real") }
        return (.noise(count: noise!), "--noise")
    }

    /// The calibration tensor in the model's normalized input space.
    func load(spec: ModelSpec, seed: UInt64) throws -> Tensor {
        let (source, label) = try source()
        return try source.images(for: spec, seed: seed, label: label)
    }
}

extension QuantMethod: ExpressibleByArgument {}

struct Quantize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "GENIE-M: quantize a model by block reconstruction on calibration images (resumable per unit).",
        discussion: """
            The default of 20,000 iterations per unit is GENIE's full budget: an hour or more for ResNet-20 (11 \
            units) on 2 cores, longer for larger models. For a first look try --iterations 500.
            """)

    @OptionGroup var model: ModelOptions
    @OptionGroup var calibration: CalibrationOptions
    @OptionGroup var bitWidths: BitWidthOptions
    @Option(help: "genie (joint step size and softbits, genie's defaults), genie-paper (GENIE exactly as the paper sets it up: rounding weight 1, 20% warm-up, beta 20 to 2, QDrop 0.5, learning rates 1e-4/4e-5/1e-3), brecq (BRECQ: fixed step size, rounding weight 0.01, no QDrop) or rtn (round to nearest).")
    var method = QuantMethod.genie
    @Option(help: "Reconstruction iterations per unit.") var iterations = 20_000
    @Option(help: "Rounding-regularizer weight lambda (default: the method's, 1 for genie, 0.01 for brecq; genie-paper fixes it).")
    var roundWeight: Float?
    @Option(help: "The softbits' Adam learning rate (default: the method's; genie's is 20 / --iterations, kept within 1e-3...4e-2, so GENIE's 1e-3 at its 20,000 iterations; 1e-3 for brecq; genie-paper fixes it).")
    var softbitLr: Float?
    @Option(help: "Random seed.") var seed: UInt64 = 0
    @Option(help: "Output quantized-model file; progress is kept in OUT.checkpoint until done.") var out: String
    @Flag(help: "Then measure the quantized model's top-1 on Fashion-MNIST's test set (or --data DIR).") var evaluate = false
    @Option(help: "With --evaluate: an image folder in torchvision's ImageFolder layout to measure top-1 on (read with --resize/--crop, as `evaluate --data` reads it).") var data: String?
    @Flag(help: "Print one JSON object with the result.") var json = false

    /// The `--json` record.
    struct Record: Encodable {
        var out: String, seconds: Double, method: String, wbits: Int, abits: Int, bits: String, calibrationImages: Int
        /// The unit report's JSON file, and the quantized and float32 model sizes in bytes.
        var unitsReport: String, sizeBytes: Int, fp32SizeBytes: Int
        /// With `--evaluate`: the quantized model's top-1 (and top-5) in percent and the test images' count.
        var top1: Double?, top5: Double?, testImages: Int?
        /// The expected seconds of reconstruction (and evaluation), estimated before they started, and what they took.
        var estimateSeconds: PhaseSeconds?, phaseSeconds: PhaseSeconds
    }

    func validate() throws {
        guard iterations >= 1 else { throw ValidationError("--iterations must be positive") }
        if let roundWeight {
            guard roundWeight >= 0, roundWeight.isFinite else { throw ValidationError("--round-weight must be finite and not negative, got \(roundWeight)") }
            guard method != .geniePaper else { throw ValidationError("--round-weight: genie-paper fixes the rounding weight at the paper's 1; use --method genie to change it") }
        }
        if let softbitLr {
            guard softbitLr > 0, softbitLr.isFinite else { throw ValidationError("--softbit-lr must be positive and finite, got \(softbitLr)") }
            guard method != .geniePaper else { throw ValidationError("--softbit-lr: genie-paper fixes the softbits' learning rate at the paper's 1e-3; use --method genie to change it") }
        }
        guard data == nil || evaluate else { throw ValidationError("--data goes with --evaluate") }
        if calibration.realFolder == nil && data == nil { try calibration.preprocessing.checkUnused(without: "--real-folder or --data") }
    }

    func run() throws {
        try checkWritable(out, flag: "--out")
        let (spec, net) = try model.load()
        let plan = try bitWidths.plan(model: net, arch: spec.arch)
        let (wbits, abits) = (bitWidths.wbits, bitWidths.abits)
        let images = try calibration.load(spec: spec, seed: seed)
        let (resize, crop) = (calibration.preprocessing.resize, calibration.preprocessing.crop)
        let test = try evaluate ? TestSet(data.map { .folder(URL(fileURLWithPath: $0), resize: resize, crop: crop) } ?? .fashionMNIST, spec: spec) : nil
        var config = ReconstructionConfig(method: method)
        config.iterations = iterations
        config.roundingWeight = roundWeight ?? config.roundingWeight
        if let softbitLr { config.softbitLearningRate = softbitLr }
        config.seed = seed
        let checkpoint = URL(fileURLWithPath: out + ".checkpoint")
        let estimate = logTimeEstimate(log) {
            let done = reconstructionUnitsDone(at: checkpoint, model: net, calibration: images, images: images.shape[0], weightBits: wbits,
                                               activationBits: abits, plan: plan, config: config)
            let units = try estimateReconstruction(spec: spec, model: net, images: images.shape[0], weightBits: wbits,
                                                   activationBits: abits, plan: plan, config: config, from: done)
            return PhaseSeconds(reconstruct: units.seconds, evaluate: try test?.estimatedEvaluationSeconds(of: units.quantized))
        }
        let start = Date()
        let (quantized, report) = try quantizeModelWithReport(spec: spec, model: net, calibration: images, weightBits: wbits,
                                                              activationBits: abits, plan: plan, config: config,
                                                              checkpoint: checkpoint, quiet: json, log: log)
        try writeQuantizedModel(quantized, report: report, spec: spec, seed: seed, to: URL(fileURLWithPath: out), replacing: checkpoint)
        showUnitReport(report, beside: URL(fileURLWithPath: out), quiet: json)
        var record = Record(out: out, seconds: Date().timeIntervalSince(start), method: method.rawValue, wbits: wbits, abits: abits,
                            bits: "\(plan)", calibrationImages: images.shape[0],
                            unitsReport: unitReportFiles(beside: URL(fileURLWithPath: out)).json.path,
                            sizeBytes: report.size.totalBytes, fp32SizeBytes: report.size.fp32TotalBytes,
                            estimateSeconds: estimate, phaseSeconds: PhaseSeconds(reconstruct: Date().timeIntervalSince(start)))
        if let test {
            let evaluationStart = Date()
            let accuracy = try test.evaluate(quantized, quiet: json, log: log, advice: TestDataOptions.shiftAdvice).accuracy
            (record.top1, record.top5, record.testImages) = (accuracy.top1, accuracy.top5, accuracy.count)
            record.phaseSeconds.evaluate = Date().timeIntervalSince(evaluationStart)
        }
        if let estimate { log("estimate vs actual: \(estimate.comparison(with: record.phaseSeconds))") }
        if json {
            try printJSON(record)
        } else {
            print(String(format: "quantized %@ to W%dA%d (%@) in %.0f s; saved %@", spec.arch, wbits, abits, method.rawValue, record.seconds, out)
                  + (record.top1.map { String(format: "; top-1 %.2f%% on %@", $0, test!.name) } ?? ""))
        }
    }
}
