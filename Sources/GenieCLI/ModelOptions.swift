import ArgumentParser
import Foundation
import Genie
import Models
import NN
import Tensors

/// The model flags every command taking `--weights` shares. Flags override what the weights file records.
struct ModelOptions: ParsableArguments {
    @Option(help: "Architecture: \(ModelSpec.architectures.joined(separator: ", ")) (default: from the weights file).")
    var arch: String?
    @Option(help: "Weights file (safetensors, PyTorch state-dict keys), or an ONNX file (.onnx; needs --mean and --std).")
    var weights: String?
    @Option(help: "Number of classes (default: from the weights file, else 10).")
    var numClasses: Int?
    @Option(help: "Input channels (default: from the weights file, else 1).")
    var inChannels: Int?
    @Option(help: "Input height and width (default: from the weights file, else 28).")
    var imageSize: Int?
    @Option(parsing: .upToNextOption, help: "Per-channel mean of pixels/255 (default: from the file, else 0.2860).")
    var mean: [Float] = []
    @Option(parsing: .upToNextOption, help: "Per-channel std of pixels/255 (default: from the file, else 0.3530).")
    var std: [Float] = []
    @Option(help: "MobileNetV2 width multiplier.")
    var widthMult: Double?
    @Option(help: "MobileNetV2 stem stride, 1 or 2 (default: from the weights file; 2, torchvision's, for a file genie did not write).")
    var stemStride: Int?

    /// What the flags override in the weights file's spec.
    var overrides: ModelOverrides {
        ModelOverrides(arch: arch, numClasses: numClasses, inChannels: inChannels, imageSize: imageSize,
                       mean: mean.isEmpty ? nil : mean, std: std.isEmpty ? nil : std, widthMult: widthMult, stemStride: stemStride)
    }

    /// The flags given, by name (`--quantized` files record their model and preprocessing, and refuse them).
    var given: [String] {
        let flags: [(String, Bool)] = [("--arch", arch != nil), ("--weights", weights != nil), ("--num-classes", numClasses != nil),
                                       ("--in-channels", inChannels != nil), ("--image-size", imageSize != nil),
                                       ("--mean", !mean.isEmpty), ("--std", !std.isEmpty), ("--width-mult", widthMult != nil),
                                       ("--stem-stride", stemStride != nil)]
        return flags.filter(\.1).map(\.0)
    }

    /// The spec (file metadata overridden by flags) and the model with the weights loaded.
    func load() throws -> (spec: ModelSpec, model: Module) {
        guard let weights else { throw ValidationError("--weights FILE is required") }
        return try loadModel(weights: URL(fileURLWithPath: weights), overrides: overrides)
    }
}

/// Prints `record` as one line of JSON on standard output (snake_case keys, sorted).
func printJSON<Record: Encodable>(_ record: Record) throws {
    print(String(decoding: try reportJSON(record), as: UTF8.self))
}

/// Writes a line to standard error (progress and logs stay off standard output, which `--json` owns).
func log(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}
