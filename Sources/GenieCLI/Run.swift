import ArgumentParser
import Foundation
import Genie

extension Preset: ExpressibleByArgument {}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Zero-shot GENIE in one command: distill, quantize, evaluate; prints full-precision and quantized top-1.")

    @OptionGroup var model: ModelOptions
    @OptionGroup var bitWidths: BitWidthOptions
    @Option(help: "quick (256 images, 500 distillation and 1000 reconstruction iterations: 6-11 minutes for ResNet-20 on 2 cores) or paper (GENIE's budget: 1024 images, 4000 and 20,000 iterations: many hours).")
    var preset = Preset.quick
    @Option(help: "genie (genie's defaults), genie-paper (GENIE-D and GENIE-M exactly as the paper sets them up), brecq or rtn (ablations on GENIE-D images); see `genie quantize --help`.")
    var method = QuantMethod.genie
    @Option(help: "Images to distill, a positive multiple of 32 (default: the preset's).") var images: Int?
    @Option(help: "Distillation iterations per batch (default: the preset's).") var distillIterations: Int?
    @Option(help: "Reconstruction iterations per unit (default: the preset's).") var iterations: Int?
    @Option(help: "Run folder (images, grid, quantized model, report).") var out = "runs/genie"
    @Option(help: "Random seed.") var seed: UInt64 = 0
    @OptionGroup var test: TestDataOptions
    @Flag(help: "Print one JSON object with the result.") var json = false

    func validate() throws {
        guard distillIterations ?? 1 > 0, iterations ?? 1 > 0 else { throw ValidationError("--distill-iterations and --iterations must be positive") }
    }

    func run() throws {
        if let images { try checkCalibrationCount(images, source: "--images") }
        var run = RunConfiguration(weights: URL(fileURLWithPath: model.weights ?? Run.bundledModel),
                                   folder: URL(fileURLWithPath: out), preset: preset)
        run.model = model.overrides
        (run.weightBits, run.activationBits, run.seed, run.method) = (bitWidths.wbits, bitWidths.abits, seed, method)
        run.budget.images = images ?? run.budget.images
        run.budget.distillIterations = distillIterations ?? run.budget.distillIterations
        run.budget.reconstructionIterations = iterations ?? run.budget.reconstructionIterations
        run.testData = try test.testData()
        run.bits = try bitWidths.plan()
        let report = try run.run(quiet: json, log: log)
        if json {
            try printJSON(report)
        } else {
            print(String(format: "%@ W%dA%d (zero-shot %@, preset %@): full precision %.2f%%, quantized %.2f%% (%.0f s); see %@/report.md",
                         report.arch, report.wbits, report.abits, method.rawValue, preset.rawValue, report.fpTop1, report.quantTop1, report.seconds, out))
        }
    }

    /// The committed ResNet-20, found beside the working directory or the executable's package.
    static var bundledModel: String {
        let candidates = ["models/resnet20.safetensors",
                          URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                              .deletingLastPathComponent().appendingPathComponent("models/resnet20.safetensors").path]
        return candidates.first { FileManager.default.fileExists(atPath: $0) } ?? candidates[0]
    }
}
