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
    @Option(help: "MobileNetV2 stem stride (1 or 2).")
    var stemStride: Int?

    /// The spec (file metadata overridden by flags) and the model with the weights loaded.
    func load() throws -> (spec: ModelSpec, model: Module) {
        guard let weights else { throw ValidationError("--weights FILE is required") }
        let url = URL(fileURLWithPath: weights)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw GenieError("--weights: no such file '\(weights)'")
        }
        if url.pathExtension.lowercased() == "onnx" {  // the graph defines the network (docs/ONNX.md)
            guard arch == nil else { throw ValidationError("--arch: '\(weights)' is an ONNX file, whose graph defines the network; drop --arch") }
            let (spec, model) = try ONNXImport.load(url, mean: mean, std: std)
            model.setTraining(false)
            return (spec, model)
        }
        let file = try SafeTensors(contentsOf: url)
        let recorded = ModelSpec(metadata: file.metadata)
        guard let arch = arch ?? recorded?.arch else {
            throw GenieError("--weights '\(weights)' records no architecture; pass --arch (one of \(ModelSpec.architectures.joined(separator: ", ")))")
        }
        var spec = recorded ?? ModelSpec(arch: arch)
        spec.arch = arch
        if let numClasses { spec.numClasses = numClasses }
        if let inChannels {
            spec.inChannels = inChannels
            if mean.isEmpty && spec.mean.count != inChannels { spec.mean = Array(repeating: spec.mean[0], count: inChannels) }
            if std.isEmpty && spec.std.count != inChannels { spec.std = Array(repeating: spec.std[0], count: inChannels) }
        }
        if let imageSize { spec.imageSize = imageSize }
        if !mean.isEmpty { spec.mean = mean }
        if !std.isEmpty { spec.std = std }
        if let widthMult { spec.widthMult = widthMult }
        if let stemStride { spec.stemStride = stemStride }
        spec = try spec.validated()
        let model = spec.build()
        try model.load(file, source: "'\(weights)'")
        model.setTraining(false)
        return (spec, model)
    }
}

/// Prints one JSON object on standard output.
func printJSON(_ object: [String: Any]) {
    let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    print(String(decoding: data, as: UTF8.self))
}

/// Writes a line to standard error (progress and logs stay off standard output, which `--json` owns).
func log(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}
