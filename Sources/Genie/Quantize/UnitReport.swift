import Foundation
import Models
import NN
import Tensors

/// What GENIE-M did to each reconstruction unit, and what it cost: written beside the quantized model as JSON
/// (`unitReportFiles`) with an SVG plot of the error along the network (docs/FORMAT.md, "The unit report").
/// A unit that stands out can be given more bits with a `BitWidthPlan`.
public struct UnitReport: Codable, Sendable {
    public static let currentFormat = "genie-unit-report/1"

    public var format = UnitReport.currentFormat
    public var arch: String
    public var method: String
    /// The requested bit widths and the per-layer overrides (`BitWidthPlan`'s text, empty for none).
    public var weightBits: Int, activationBits: Int, bits: String
    public var iterations: Int
    public var calibrationImages: Int
    /// The units in reconstruction order.
    public var units: [Unit]
    /// The relative MSE of the quantized model's logits against the full-precision model's, and the share of
    /// calibration images on which both pick the same class.
    public var logitsError: Double, top1Agreement: Double
    public var size: Size

    /// One reconstruction unit.
    public struct Unit: Codable, Sendable {
        /// Its layers' distinct bit widths, `W4A4` (`-` for none), for tables and plots.
        public var bitsLabel: String {
            Set(layers.filter { $0.weightBits != nil }.map { "W\($0.weightBits!)A\($0.inputBits.map(String.init) ?? "-")" })
                .sorted().joined(separator: " ")
        }

        public var path: String
        public var layers: [Layer]
        /// The mean reconstruction loss over the first and the last iterations (`UnitLoss`); nil for rtn.
        public var lossBefore: Float?, lossAfter: Float?
        /// Relative MSE `Σ(y_q − y)² / Σy²` of the unit's output in the quantized model against the full-precision
        /// model's, on the calibration images: the error accumulated up to and including this unit.
        public var outputError: Double
        /// The unit's reconstruction wall time in seconds (`UnitLoss.seconds`); nil for rtn.
        public var seconds: Double?
    }

    /// One quantized layer of a unit (`weightBits` nil for a shortcut identity, `inputBits` nil for the image).
    public struct Layer: Codable, Sendable {
        public var path: String
        public var weightBits: Int?, inputBits: Int?
        public var weights: Int
    }

    /// Model sizes in bytes: the quantized weights at their bits (`Σ n·b / 8`) against float32, and everything
    /// else kept in float32 (biases, batch norm, per-channel step sizes and zero points) counted in both totals.
    public struct Size: Codable, Sendable {
        public var weights: Int
        public var weightBytes: Int, fp32WeightBytes: Int
        public var otherBytes: Int
        public var totalBytes: Int, fp32TotalBytes: Int

        init(weights: Int, weightBytes: Int, otherBytes: Int) {
            self.weights = weights
            self.weightBytes = weightBytes
            fp32WeightBytes = 4 * weights
            self.otherBytes = otherBytes
            totalBytes = weightBytes + otherBytes
            fp32TotalBytes = fp32WeightBytes + otherBytes
        }
    }

    /// Measures `quantized` (hard mode, from `quantizeModel`) against `fullPrecision` on `calibration`.
    public init(spec: ModelSpec, fullPrecision: Module, quantized: Module, calibration: Tensor, losses: [UnitLoss],
                weightBits: Int, activationBits: Int, plan: BitWidthPlan, config: ReconstructionConfig) {
        arch = spec.arch
        method = config.method.rawValue
        self.weightBits = weightBits
        self.activationBits = activationBits
        bits = plan.description
        iterations = config.iterations
        calibrationImages = calibration.shape[0]
        let paths = reconstructionUnits(of: fullPrecision, input: calibration)
        let errors = Self.outputErrors(fullPrecision, quantized, units: paths, calibration: calibration)
        let layers = quantized.quantizedLayers
        units = zip(paths, errors.units).map { path, error in
            let loss = losses.first { $0.unit == path }
            let mine = layers.filter { $0.path == path || $0.path.hasPrefix(path + ".") }.map { path, layer in
                Layer(path: path, weightBits: layer.weightQuantizer?.bits, inputBits: layer.inputQuantizer?.bits,
                      weights: layer.weightQuantizer?.softbits.value.count ?? 0)
            }
            return Unit(path: path, layers: mine, lossBefore: loss?.before, lossAfter: loss?.after, outputError: error,
                        seconds: loss?.seconds)
        }
        logitsError = errors.logits
        top1Agreement = errors.agreement
        let weights = units.flatMap(\.layers).map(\.weights).reduce(0, +)
        let bitsSum = units.flatMap(\.layers).map { $0.weights * ($0.weightBits ?? 0) }.reduce(0, +)
        let parameters = fullPrecision.namedParameters().map(\.parameter.value.count).reduce(0, +)
        let channels = layers.compactMap(\.layer.weightQuantizer).map(\.scale.value.count).reduce(0, +)
        let activations = Set(layers.compactMap { $0.layer.inputQuantizer.map(ObjectIdentifier.init) }).count
        size = Size(weights: weights, weightBytes: (bitsSum + 7) / 8, otherBytes: 4 * (parameters - weights) + 8 * channels + 4 * activations)
    }

    /// The relative MSE of each unit's output and of the logits, and the top-1 agreement, over `calibration`
    /// in slices of 32.
    static func outputErrors(_ teacher: Module, _ student: Module, units: [String], calibration: Tensor)
        -> (units: [Double], logits: Double, agreement: Double) {
        var error = [Double](repeating: 0, count: units.count + 1), reference = error
        var agree = 0, outputs: [Int: Tensor] = [:]
        func accumulate(_ i: Int, _ y: Tensor) {
            error[i] += Double((y - outputs[i]!).squared().sum().item)
            reference[i] += Double(outputs[i]!.squared().sum().item)
        }
        func hooks(_ model: Module, _ body: @escaping (Int, Tensor) -> Void) -> [(Module, Int)] {
            units.enumerated().map { i, path in
                let m = model.module(at: path)!
                return (m, m.addForwardHook { _, _, y in body(i, y) })
            }
        }
        let n = calibration.shape[0]
        for start in stride(from: 0, to: n, by: 32) {
            let slice = calibration.slice(batch: start..<min(start + 32, n))
            let teacherHooks = hooks(teacher) { i, y in outputs[i] = y }
            let expected = withoutGradients { teacher(slice) }
            teacherHooks.forEach { $0.0.removeHook($0.1) }
            let studentHooks = hooks(student, accumulate)
            let logits = withoutGradients { student(slice) }
            studentHooks.forEach { $0.0.removeHook($0.1) }
            outputs[units.count] = expected
            accumulate(units.count, logits)
            let classes = expected.shape[1], values = expected.scalars
            let predicted = (0..<slice.shape[0]).map { row in
                (0..<classes).max { values[row * classes + $0] < values[row * classes + $1] || values[row * classes + $0] == values[row * classes + $1] && $0 > $1 }!
            }
            agree += topKHits(logits, labels: predicted, k: 1)
        }
        let relative = zip(error, reference).map { $1 > 0 ? $0 / $1 : $0 }
        return (Array(relative.dropLast()), relative.last!, Double(agree) / Double(n))
    }

    /// The unit whose output error rises most over the unit before it: the first candidate for more bits.
    public var worstUnit: Unit? {
        zip(units, [0] + units.map(\.outputError)).max { $0.0.outputError - $0.1 < $1.0.outputError - $1.1 }?.0
    }

    /// A plain-text table for the terminal: one row per unit (its reconstruction loss before -> after, its
    /// output error, its layers' bits), then the logits' error and the sizes.
    public var table: String {
        let pad = { (text: String, width: Int) in text.padding(toLength: max(width, text.count), withPad: " ", startingAt: 0) }
        let rows = units.map { u in
            let loss = u.lossBefore.map { String(format: "%.4f -> %.4f", $0, u.lossAfter!) } ?? "-"
            let error: String = String(format: "%.2e", u.outputError)
            return pad(u.path, 16) + pad(loss, 24) + pad(error, 12) + u.bitsLabel
        }
        let kib = { (bytes: Int) -> String in String(format: "%.1f KiB", Double(bytes) / 1024) }
        let header: String = pad("unit", 16) + pad("reconstruction loss", 24) + pad("output err", 12) + "bits"
        let logits = String(format: "logits: relative error %.2e, top-1 agreement %.1f%% on %d calibration images",
                            logitsError, 100 * top1Agreement, calibrationImages)
        let weights = "size: weights \(kib(size.weightBytes)) (float32 \(kib(size.fp32WeightBytes)))"
        let total = "model \(kib(size.totalBytes)) (float32 \(kib(size.fp32TotalBytes)))"
        return ([header] + rows + [logits, weights + "; " + total]).joined(separator: "\n")
    }

    /// Writes the JSON report and its SVG plot (`unitReportFiles(beside:)`), atomically.
    public func write(beside model: URL) throws {
        let (json, svg) = unitReportFiles(beside: model)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        try AtomicFile.write(Array(try encoder.encode(self)), to: json)
        try AtomicFile.write(plot, to: svg)
    }
}

/// The unit report files of the quantized model at `model`: `NAME.units.json` and `NAME.units.svg` for
/// `NAME.safetensors`.
public func unitReportFiles(beside model: URL) -> (json: URL, svg: URL) {
    let base = model.pathExtension == "safetensors" ? model.deletingPathExtension() : model
    return (URL(fileURLWithPath: base.path + ".units.json"), URL(fileURLWithPath: base.path + ".units.svg"))
}

/// Writes `model` (from `quantizeModelWithReport`) to `url`, its metadata recording how `report` says it was made
/// and the `seed`, removes the checkpoint `progress` the file replaces, and writes the unit report beside it.
public func writeQuantizedModel(_ model: Module, report: UnitReport, spec: ModelSpec, seed: UInt64, to url: URL,
                                replacing progress: URL) throws {
    try Checkpoint.finish(progress) {
        try QuantizedModelFile.make(model, spec: spec, metadata: [
            "method": report.method, "wbits": "\(report.weightBits)", "abits": "\(report.activationBits)", "bits": report.bits,
            "iterations": "\(report.iterations)", "seed": "\(seed)", "calibration_images": "\(report.calibrationImages)",
        ]).write(to: url)
    }
    try report.write(beside: url)
}

/// `quantizeModel`, then the unit report of the model it returns (measured on the same calibration images).
public func quantizeModelWithReport(spec: ModelSpec, model: Module, calibration: Tensor, weightBits: Int, activationBits: Int,
                                    plan: BitWidthPlan, config: ReconstructionConfig, checkpoint: URL?, quiet: Bool = false,
                                    log: (String) -> Void = { _ in }) throws -> (model: Module, report: UnitReport) {
    let losses = ReconstructionLog()
    let quantized = try quantizeModel(spec: spec, model: model, calibration: calibration, weightBits: weightBits,
                                      activationBits: activationBits, plan: plan, config: config, checkpoint: checkpoint,
                                      losses: losses, quiet: quiet, log: log)
    let report = UnitReport(spec: spec, fullPrecision: model, quantized: quantized, calibration: calibration,
                            losses: losses.units, weightBits: weightBits, activationBits: activationBits, plan: plan,
                            config: config)
    return (quantized, report)
}
