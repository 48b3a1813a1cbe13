import Foundation

/// What a zero-shot run did and measured; `report.json` in the run's folder, `markdown` in `report.md`.
public struct RunReport: Codable, Sendable, Equatable {
    /// The version of this record's fields; it grows when a field changes meaning or goes away.
    public static let currentFormatVersion = 1
    /// The `currentFormatVersion` of the code that wrote it.
    public var formatVersion = RunReport.currentFormatVersion
    /// The architecture quantized (`ModelSpec.arch`).
    public var arch: String
    /// The weight and activation bits asked for (the first and last layers stay at 8).
    public var wbits: Int
    public var abits: Int
    /// The per-layer bit widths (`BitWidthPlan`'s text; empty when none).
    public var bits: String
    /// The quantized model's size (weights at their bits, step sizes, zero points) and the float32 model's, in bytes.
    public var sizeBytes: Int
    public var fp32SizeBytes: Int
    /// The budget's preset and the seed of distillation and reconstruction.
    public var preset: Preset
    public var seed: UInt64
    /// Top-1 accuracy in percent of the full-precision and the quantized model.
    public var fpTop1: Double
    public var quantTop1: Double
    /// The test images' name ("fashion-mnist" or the folder) and count.
    public var testData: String
    public var testImages: Int
    /// The budget spent: distilled images, distillation iterations per batch, reconstruction iterations per unit.
    public var images: Int
    public var distillIterations: Int
    public var reconstructionIterations: Int
    /// Wall-clock time of the whole run.
    public var seconds: Double
    /// GENIE-D's BNS loss of each batch at its first and last iteration.
    public var distillInitialLoss: [Float]
    public var distillFinalLoss: [Float]
    /// The expected seconds of each phase, estimated before the run started (`estimate_seconds`; absent when the
    /// estimate failed, and in reports written before it existed), and the seconds each phase took.
    public var estimateSeconds: PhaseSeconds?
    public var phaseSeconds: PhaseSeconds?

    /// The report as Markdown: the two accuracies in a table, the budget and the files written.
    public var markdown: String {
        let percent = { (x: Double) in String(format: "%.2f%%", x) }
        return """
            # GENIE zero-shot quantization: \(arch) W\(wbits)A\(abits)

            | model | top-1 (\(testData), \(testImages) images) |
            |---|---|
            | full precision | \(percent(fpTop1)) |
            | GENIE W\(wbits)A\(abits) (zero-shot) | \(percent(quantTop1)) |

            Preset `\(preset.rawValue)`: \(images) distilled images, \(distillIterations) distillation iterations per batch,
            \(reconstructionIterations) reconstruction iterations per unit, seed \(seed); \(String(format: "%.0f", seconds)) s in all.
            Files: `images.safetensors`, `images.png`, `quantized.safetensors`, and its unit report `quantized.units.json`
            and `quantized.units.svg`. Model size \(sizeBytes) bytes (float32: \(fp32SizeBytes)).

            """
    }
}

/// The JSON of a report or record: snake_case keys (`fp_top1`), sorted; one line unless `pretty`.
public func reportJSON<Report: Encodable>(_ report: Report, pretty: Bool = false) throws -> Data {
    let encoder = JSONEncoder()
    encoder.keyEncodingStrategy = .convertToSnakeCase
    encoder.outputFormatting = pretty ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
    return try encoder.encode(report)
}
