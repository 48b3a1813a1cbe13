import Foundation
import Models
import NN
import Tensors

/// Model settings that override what a weights file records about its model; nil keeps the file's value (or,
/// where the file records none, `ModelSpec`'s Fashion-MNIST default).
public struct ModelOverrides: Sendable, Equatable {
    /// One of `ModelSpec.architectures`.
    public var arch: String?
    /// The classifier's outputs.
    public var numClasses: Int?
    /// Input channels; a recorded one-value mean and std are repeated to match.
    public var inChannels: Int?
    /// Input height and width.
    public var imageSize: Int?
    /// Per-channel mean and std of pixels / 255.
    public var mean: [Float]?
    public var std: [Float]?
    /// MobileNetV2's width multiplier and stem stride.
    public var widthMult: Double?
    public var stemStride: Int?

    /// Overrides of the given settings only.
    public init(arch: String? = nil, numClasses: Int? = nil, inChannels: Int? = nil, imageSize: Int? = nil,
                mean: [Float]? = nil, std: [Float]? = nil, widthMult: Double? = nil, stemStride: Int? = nil) {
        (self.arch, self.numClasses, self.inChannels, self.imageSize) = (arch, numClasses, inChannels, imageSize)
        (self.mean, self.std, self.widthMult, self.stemStride) = (mean, std, widthMult, stemStride)
    }

    /// `recorded` (what a weights file says, if anything) with these overrides applied, validated; nil if
    /// neither names the architecture.
    public func applied(to recorded: ModelSpec?) throws -> ModelSpec? {
        guard let arch = arch ?? recorded?.arch else { return nil }
        // A file genie did not write (no recorded spec) holds torchvision's definition: stem stride 2 whatever the
        // image size, since genie's own stride-1 stem for small images would run its weights silently wrong.
        var spec = recorded ?? ModelSpec(arch: arch, stemStride: 2)
        spec.arch = arch
        if let numClasses { spec.numClasses = numClasses }
        if let inChannels {
            spec.inChannels = inChannels
            if mean == nil && spec.mean.count != inChannels { spec.mean = Array(repeating: spec.mean[0], count: inChannels) }
            if std == nil && spec.std.count != inChannels { spec.std = Array(repeating: spec.std[0], count: inChannels) }
        }
        if let imageSize { spec.imageSize = imageSize }
        if let mean { spec.mean = mean }
        if let std { spec.std = std }
        if let widthMult { spec.widthMult = widthMult }
        if let stemStride { spec.stemStride = stemStride }
        return try spec.validated()
    }
}

/// Why a weights file could not give a model (before its tensors are read).
public enum ModelLoadError: Error, Equatable, CustomStringConvertible {
    /// The file does not exist.
    case noSuchFile(path: String)
    /// The file records no architecture and the overrides give none.
    case noArchitecture(path: String)
    /// An architecture was given for an ONNX file, whose graph defines the network.
    case architectureForGraph(path: String)
    /// An ONNX file (which records no preprocessing) was given no mean and std, one per input channel.
    case noNormalization(path: String, channels: Int)

    public var description: String {
        switch self {
        case .noSuchFile(let path): "no such weights file '\(path)'"
        case .noArchitecture(let path):
            "'\(path)' records no architecture; give one of \(ModelSpec.architectures.joined(separator: ", "))"
        case .architectureForGraph(let path): "'\(path)' is an ONNX file, whose graph defines the network; give no architecture"
        case .noNormalization(let path, let channels):
            "'\(path)' takes \(channels)-channel images: give a mean and std per channel (ONNX files record no preprocessing)"
        }
    }
}

/// The model of a weights file in eval mode, and its spec. A safetensors file (PyTorch's state-dict keys) gives
/// what its metadata records, overridden by `overrides`; an ONNX file (`.onnx`, docs/ONNX.md) is its own network,
/// and takes only `overrides.mean` and `overrides.std`.
public func loadModel(weights: URL, overrides: ModelOverrides = ModelOverrides()) throws -> (spec: ModelSpec, model: Module) {
    guard FileManager.default.fileExists(atPath: weights.path) else { throw ModelLoadError.noSuchFile(path: weights.relativePath) }
    if weights.pathExtension.lowercased() == "onnx" {
        guard overrides.arch == nil else { throw ModelLoadError.architectureForGraph(path: weights.relativePath) }
        let (spec, model) = try ONNXImport.load(weights, mean: overrides.mean ?? [], std: overrides.std ?? [])
        model.setTraining(false)
        return (spec, model)
    }
    let file = try SafeTensors(contentsOf: weights)
    guard let spec = try overrides.applied(to: ModelSpec(metadata: file.metadata)) else {
        throw ModelLoadError.noArchitecture(path: weights.relativePath)
    }
    let model = spec.build()
    try model.load(file, source: "'\(weights.relativePath)'")
    model.setTraining(false)
    return (spec, model)
}
