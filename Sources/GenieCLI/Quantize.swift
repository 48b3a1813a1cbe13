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
    @OptionGroup var preprocessing: PreprocessingOptions
    @Option(help: "Baseline: this many standard-normal images.") var noise: Int?

    /// The calibration tensor in the model's normalized input space.
    func load(spec: ModelSpec, seed: UInt64) throws -> Tensor {
        let given = [calib != nil, real != nil || realFolder != nil, noise != nil].filter { $0 }.count
        guard given == 1 else { throw ValidationError("give exactly one of --calib FILE, --real N, --real-folder DIR [--real N], --noise N") }
        guard realFolder != nil || (preprocessing.resize == nil && preprocessing.crop == nil) else {
            throw ValidationError("--resize and --crop apply to image files (--real-folder DIR)")
        }
        let normalization = Normalization(mean: spec.mean, std: spec.std)
        if let calib {
            let file = try SafeTensors(contentsOf: URL(fileURLWithPath: calib))
            guard let images = try? file.tensor("images") else { throw GenieError("--calib '\(calib)' holds no 'images' tensor") }
            try checkCalibration(images, spec: spec, source: "--calib '\(calib)'")
            return images
        }
        if let realFolder {
            let folder = try ImageFolder(URL(fileURLWithPath: realFolder))
            if let real { try checkCalibrationCount(real, source: "--real") }
            let indices = try real.map { try folder.randomIndices(count: $0, seed: seed) }
            let images = try folder.load(indices, preprocessing: preprocessing.preprocessing(spec))
            let calibration = try normalization.apply(images.images)
            try checkCalibration(calibration, spec: spec, source: "--real-folder '\(realFolder)'")
            return calibration
        }
        if let real {
            try checkCalibrationCount(real, source: "--real")
            return try normalization.apply(FashionMNIST.load(split: .train).randomSubset(count: real, seed: seed).images)
        }
        var rng = SeededGenerator(seed: seed)
        guard let noise else { throw ValidationError("give exactly one of --calib FILE, --real N, --real-folder DIR, --noise N") }
        try checkCalibrationCount(noise, source: "--noise")
        return Tensor.randomNormal([noise, spec.inChannels, spec.imageSize, spec.imageSize], using: &rng)
    }
}

struct Quantize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "GENIE-M: quantize a model by block reconstruction on calibration images (resumable per unit).",
        discussion: """
            The default of 20,000 iterations per unit is GENIE's full budget: an hour or more for ResNet-20 (11 \
            units) on 2 cores, longer for larger models. For a first look try --iterations 500.
            """)

    @OptionGroup var model: ModelOptions
    @OptionGroup var calibration: CalibrationOptions
    @Option(help: "Weight bits (2...8).") var wbits = 4
    @Option(help: "Activation bits (2...8).") var abits = 4
    @Option(help: "Per-layer bits overriding --wbits/--abits and the 8-bit first and last layers: 'NAME=W[/A],...' (a layer or unit name and all layers under it), or @FILE with one entry a line (docs/FORMAT.md).")
    var bits: String?
    @Option(help: "genie (joint step size and softbits), brecq (fixed step size) or rtn (round to nearest).")
    var method = "genie"
    @Option(help: "Reconstruction iterations per unit.") var iterations = 20_000
    @Option(help: "Rounding-regularizer weight lambda.") var roundWeight: Float = 1
    @Option(help: "Random seed.") var seed: UInt64 = 0
    @Option(help: "Output quantized-model file; progress is kept in OUT.checkpoint until done.") var out: String
    @Flag(help: "Print one JSON object with the result.") var json = false

    func run() throws {
        guard let method = QuantMethod(rawValue: method) else { throw ValidationError("--method must be genie, brecq or rtn, got '\(self.method)'") }
        try checkBits(weights: wbits, activations: abits)
        guard iterations >= 1 else { throw ValidationError("--iterations must be positive") }
        try checkWritable(out, flag: "--out")
        let (spec, net) = try model.load()
        let plan = try bitWidthPlan(bits, model: net, arch: spec.arch)
        let images = try calibration.load(spec: spec, seed: seed)
        var config = ReconstructionConfig()
        config.method = method
        config.iterations = iterations
        config.roundingWeight = roundWeight
        config.seed = seed
        let start = Date()
        let checkpoint = URL(fileURLWithPath: out + ".checkpoint")
        let (quantized, report) = try quantizeModelWithReport(spec: spec, model: net, calibration: images, weightBits: wbits,
                                                              activationBits: abits, plan: plan, config: config,
                                                              checkpoint: checkpoint, quiet: json, log: log)
        let file = try QuantizedModelFile.make(quantized, spec: spec, metadata: [
            "method": method.rawValue, "wbits": "\(wbits)", "abits": "\(abits)", "bits": "\(plan)", "iterations": "\(iterations)",
            "seed": "\(seed)", "calibration_images": "\(images.shape[0])"])
        try file.write(to: URL(fileURLWithPath: out))
        try writeUnitReport(report, beside: URL(fileURLWithPath: out), quiet: json)
        try? FileManager.default.removeItem(at: checkpoint)
        let seconds = Date().timeIntervalSince(start)
        if json {
            printJSON(["out": out, "seconds": seconds, "method": method.rawValue, "wbits": wbits, "abits": abits, "bits": "\(plan)",
                       "units_report": unitReportFiles(beside: URL(fileURLWithPath: out)).json.path,
                       "size_bytes": report.size.totalBytes, "fp32_size_bytes": report.size.fp32TotalBytes])
        } else {
            print(String(format: "quantized %@ to W%dA%d (%@) in %.0f s; saved %@", spec.arch, wbits, abits, method.rawValue, seconds, out))
        }
    }
}
