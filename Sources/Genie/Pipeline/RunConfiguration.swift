import Foundation
import Models

/// The budgets of a zero-shot run.
public enum Preset: String, CaseIterable, Codable, Sendable {
    /// 256 images, 500 distillation and 1000 reconstruction iterations: 6-11 minutes for ResNet-20 on 2 cores.
    case quick
    /// GENIE's budget: 1024 images, 4000 distillation and 20,000 reconstruction iterations: many hours on a CPU.
    case paper

    /// The preset's budget.
    public var budget: Budget {
        switch self {
        case .quick: Budget(images: 256, distillIterations: 500, reconstructionIterations: 1000)
        case .paper: Budget(images: 1024, distillIterations: 4000, reconstructionIterations: 20_000)
        }
    }
}

/// How much work a zero-shot run does.
public struct Budget: Codable, Sendable, Equatable {
    /// Distilled calibration images (a positive multiple of 32).
    public var images: Int
    /// GENIE-D iterations per batch of images.
    public var distillIterations: Int
    /// GENIE-M iterations per unit.
    public var reconstructionIterations: Int

    /// A budget of `images` distilled images and the given iterations.
    public init(images: Int, distillIterations: Int, reconstructionIterations: Int) {
        (self.images, self.distillIterations, self.reconstructionIterations) = (images, distillIterations, reconstructionIterations)
    }
}

/// Everything a zero-shot GENIE run (distill, quantize, evaluate) needs; `run()` carries it out.
public struct RunConfiguration: Sendable {
    /// The full-precision model's weights file and what overrides its recorded spec.
    public var weights: URL
    public var model = ModelOverrides()
    /// Bits of weights and activations (2...8; GENIE keeps the first and last layers at 8).
    public var weightBits = 4
    public var activationBits = 4
    /// Per-layer bit widths overriding those (and GENIE's 8-bit first and last layers); empty by default.
    public var bits = BitWidthPlan()
    /// The budget's name in reports; `budget` starts as its budget.
    public var preset: Preset
    public var budget: Budget
    /// The GENIE-M method; `.geniePaper` distills with GENIE-D's paper settings too (`DistillMethod.geniePaper`),
    /// every other method with genie's GENIE-D.
    public var method = QuantMethod.genie
    /// The seed of distillation and reconstruction: equal seeds give equal files.
    public var seed: UInt64 = 0
    /// The folder the run writes: images, their grid, the quantized model, the report (made if missing).
    public var folder: URL
    /// The images the full-precision and quantized accuracies are measured on.
    public var testData = TestData.fashionMNIST

    /// A run of `preset`'s budget on the model in `weights`, writing into `folder`.
    public init(weights: URL, folder: URL, preset: Preset = .quick) {
        (self.weights, self.folder, self.preset, budget) = (weights, folder, preset, preset.budget)
    }

    /// Throws if a setting cannot work, before any file is read.
    public func validate() throws {
        guard (2...8).contains(weightBits), (2...8).contains(activationBits) else {
            throw GenieError("bit widths must be in 2...8, got W\(weightBits)A\(activationBits)")
        }
        guard budget.distillIterations >= 1, budget.reconstructionIterations >= 1 else {
            throw GenieError("the distillation and reconstruction iterations must be positive, got \(budget.distillIterations) and \(budget.reconstructionIterations)")
        }
        try checkCalibrationCount(budget.images, source: "the budget's images")
    }
}
