import ArgumentParser
import Data
import Foundation
import Genie
import Models
import Tensors

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Zero-shot GENIE in one command: distill, quantize, evaluate; prints full-precision and quantized top-1.")

    @OptionGroup var model: ModelOptions
    @Option(help: "Weight bits.") var wbits = 4
    @Option(help: "Activation bits.") var abits = 4
    @Option(help: "Per-layer bits overriding --wbits/--abits and the 8-bit first and last layers: 'NAME=W[/A],...' or @FILE (as `genie quantize --bits`).")
    var bits: String?
    @Option(help: "quick (256 images, 500 distillation and 1000 reconstruction iterations: 6-11 minutes for ResNet-20 on 2 cores) or paper (GENIE's budget: 1024 images, 4000 and 20,000 iterations: many hours).")
    var preset = "quick"
    @Option(help: "Distillation iterations per batch (default: the preset's).") var distillIterations: Int?
    @Option(help: "Reconstruction iterations per unit (default: the preset's).") var iterations: Int?
    @Option(help: "Run folder (images, grid, quantized model, report).") var out = "runs/genie"
    @Option(help: "Random seed.") var seed: UInt64 = 0
    @Option(help: "An image folder in torchvision's ImageFolder layout to measure accuracy on (default: Fashion-MNIST's test set).")
    var data: String?
    @OptionGroup var preprocessing: PreprocessingOptions
    @Flag(help: "Print one JSON object with the result.") var json = false

    /// The budgets: (images, distillation iterations, reconstruction iterations per unit).
    static let presets: [String: (images: Int, distill: Int, reconstruct: Int)] = [
        "quick": (256, 500, 1000), "paper": (1024, 4000, 20_000),
    ]

    func run() throws {
        guard var budget = Run.presets[preset] else { throw ValidationError("--preset must be quick or paper, got '\(preset)'") }
        guard distillIterations ?? 1 > 0, iterations ?? 1 > 0 else { throw ValidationError("--distill-iterations and --iterations must be positive") }
        budget.distill = distillIterations ?? budget.distill
        budget.reconstruct = iterations ?? budget.reconstruct
        try checkBits(weights: wbits, activations: abits)
        var options = model
        if options.weights == nil { options.weights = Run.bundledModel }
        let (spec, net) = try options.load()
        let plan = try bitWidthPlan(bits, model: net, arch: spec.arch)
        let folder = try createFolder(out, flag: "--out")
        let test = try TestData(data: data, preprocessing: preprocessing, spec: spec, batchSize: 500)
        let start = Date()
        log("[1/4] full-precision accuracy")
        let fp = try test.evaluate(net, quiet: json).accuracy

        log("[2/4] GENIE-D: distilling \(budget.images) images, \(budget.distill) iterations per batch")
        var distill = DistillConfig()
        distill.iterations = budget.distill
        distill.seed = seed
        let imagesURL = folder.appendingPathComponent("images.safetensors")
        let set = try distillImages(spec: spec, model: net, total: budget.images, config: distill, shard: .whole,
                                    partial: folder.appendingPathComponent("images.partial"), quiet: json, log: log)
        try DistilledFile.write(set, spec: spec, config: distill, total: budget.images, shard: .whole, to: imagesURL)
        try? FileManager.default.removeItem(at: folder.appendingPathComponent("images.partial"))

        log("[3/4] GENIE-M: W\(wbits)A\(abits), \(budget.reconstruct) iterations per unit")
        var reconstruction = ReconstructionConfig()
        reconstruction.iterations = budget.reconstruct
        reconstruction.seed = seed
        let quantizedURL = folder.appendingPathComponent("quantized.safetensors")
        let (quantized, units) = try quantizeModelWithReport(spec: spec, model: net, calibration: set.images, weightBits: wbits,
                                                             activationBits: abits, plan: plan, config: reconstruction,
                                                             checkpoint: folder.appendingPathComponent("quantized.checkpoint"),
                                                             quiet: json, log: log)
        try QuantizedModelFile.make(quantized, spec: spec, metadata: [
            "method": "genie", "wbits": "\(wbits)", "abits": "\(abits)", "bits": "\(plan)", "iterations": "\(budget.reconstruct)",
            "seed": "\(seed)", "calibration_images": "\(budget.images)"]).write(to: quantizedURL)
        try writeUnitReport(units, beside: quantizedURL, quiet: json)
        try? FileManager.default.removeItem(at: folder.appendingPathComponent("quantized.checkpoint"))

        log("[4/4] quantized accuracy")
        let q = try test.evaluate(quantized, quiet: json).accuracy
        let seconds = Date().timeIntervalSince(start)
        let report: [String: Any] = [
            "arch": spec.arch, "wbits": wbits, "abits": abits, "bits": "\(plan)", "preset": preset, "seed": seed,
            "size_bytes": units.size.totalBytes, "fp32_size_bytes": units.size.fp32TotalBytes,
            "fp_top1": fp.top1, "quant_top1": q.top1, "test_data": test.name, "test_images": fp.count, "images": budget.images, "distill_iterations": budget.distill,
            "reconstruction_iterations": budget.reconstruct, "seconds": seconds,
            "distill_initial_loss": set.initialLosses, "distill_final_loss": set.finalLosses,
        ]
        let jsonData = try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys, .prettyPrinted])
        try AtomicFile.write([UInt8](jsonData), to: folder.appendingPathComponent("report.json"))
        let markdown = """
            # GENIE zero-shot quantization: \(spec.arch) W\(wbits)A\(abits)

            | model | top-1 (\(test.name), \(fp.count) images) |
            |---|---|
            | full precision | \(String(format: "%.2f", fp.top1))% |
            | GENIE W\(wbits)A\(abits) (zero-shot) | \(String(format: "%.2f", q.top1))% |

            Preset `\(preset)`: \(budget.images) distilled images, \(budget.distill) distillation iterations per batch,
            \(budget.reconstruct) reconstruction iterations per unit, seed \(seed); \(String(format: "%.0f", seconds)) s in all.
            Files: `images.safetensors`, `images.png`, `quantized.safetensors`, and its unit report `quantized.units.json`
            and `quantized.units.svg`. Model size \(units.size.totalBytes) bytes (float32: \(units.size.fp32TotalBytes)).

            """
        try AtomicFile.write(markdown, to: folder.appendingPathComponent("report.md"))
        if json {
            printJSON(report)
        } else {
            print(String(format: "%@ W%dA%d (zero-shot GENIE, preset %@): full precision %.2f%%, quantized %.2f%% (%.0f s); see %@/report.md",
                         spec.arch, wbits, abits, preset, fp.top1, q.top1, seconds, out))
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
