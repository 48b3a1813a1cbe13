import NN
import Tensors

/// An architecture of the zoo with its options and the preprocessing its weights expect. Weights files
/// the project writes carry it in their safetensors metadata, so commands need no flags for them.
public struct ModelSpec: Equatable, Sendable {
    /// The architectures `build()` knows.
    public static let architectures = ["resnet20", "resnet18", "resnet50", "mobilenet_v2"]

    public var arch: String
    public var numClasses: Int
    public var inChannels: Int
    /// Input size (height = width) the model is used with.
    public var imageSize: Int
    /// MobileNetV2 width multiplier.
    public var widthMult: Double
    /// MobileNetV2 stem stride (2 as torchvision, 1 for 28x28 inputs).
    public var stemStride: Int
    /// Per-channel normalization of pixels/255.
    public var mean: [Float]
    public var std: [Float]

    /// Fashion-MNIST defaults (1x28x28, 10 classes, mean 0.2860, std 0.3530).
    public init(arch: String, numClasses: Int = 10, inChannels: Int = 1, imageSize: Int = 28, widthMult: Double = 1,
                stemStride: Int? = nil, mean: [Float] = [0.2860], std: [Float] = [0.3530]) {
        self.arch = arch
        self.numClasses = numClasses
        self.inChannels = inChannels
        self.imageSize = imageSize
        self.widthMult = widthMult
        self.stemStride = stemStride ?? (imageSize <= 64 ? 1 : 2)
        self.mean = mean
        self.std = std
    }

    /// A checked spec: errors name the setting that is wrong by its metadata key.
    public func validated() throws -> ModelSpec {
        func fail(_ key: String, _ reason: String) -> ModelSpecError { ModelSpecError(key: key, reason: reason) }
        guard ModelSpec.architectures.contains(arch) else {
            throw fail("arch", "'\(arch)' is not in the zoo; known: \(ModelSpec.architectures.joined(separator: ", "))")
        }
        // Upper bounds keep a damaged file's metadata from building an absurdly large model.
        guard (1...100_000).contains(numClasses) else { throw fail("num_classes", "must be in 1...100000, got \(numClasses)") }
        guard (1...64).contains(inChannels) else { throw fail("in_channels", "must be in 1...64, got \(inChannels)") }
        guard (8...4096).contains(imageSize) else { throw fail("image_size", "must be in 8...4096, got \(imageSize)") }
        guard mean.count == inChannels, std.count == inChannels else {
            throw fail("mean", "and std need \(inChannels) values (one per input channel), got \(mean.count) and \(std.count)")
        }
        guard std.allSatisfy({ $0 > 0 && $0.isFinite }) else { throw fail("std", "values must be positive") }
        guard widthMult > 0, widthMult <= 4 else { throw fail("width_mult", "must be in (0, 4], got \(widthMult)") }
        guard [1, 2].contains(stemStride) else { throw fail("stem_stride", "must be 1 or 2, got \(stemStride)") }
        return self
    }

    /// A freshly initialized model (torchvision's initialization, drawn from `seed`).
    public func build(seed: UInt64 = 0) -> Module {
        switch arch {
        case "resnet20": return ResNet.resnet20(numClasses: numClasses, inChannels: inChannels, seed: seed)
        case "resnet18": return ResNet.resnet18(numClasses: numClasses, inChannels: inChannels, seed: seed)
        case "resnet50": return ResNet.resnet50(numClasses: numClasses, inChannels: inChannels, seed: seed)
        case "mobilenet_v2":
            return MobileNetV2(numClasses: numClasses, inChannels: inChannels, widthMult: widthMult,
                               stemStride: stemStride, seed: seed)
        default: fatalError("unknown architecture \(arch); call validated() first")
        }
    }

    /// The spec as safetensors metadata.
    public var metadata: [String: String] {
        ["arch": arch, "num_classes": "\(numClasses)", "in_channels": "\(inChannels)", "image_size": "\(imageSize)",
         "width_mult": "\(widthMult)", "stem_stride": "\(stemStride)",
         "mean": mean.map { "\($0)" }.joined(separator: ","), "std": std.map { "\($0)" }.joined(separator: ",")]
    }

    /// The spec recorded in a weights file's metadata, or nil when the file has none.
    public init?(metadata m: [String: String]) {
        guard let arch = m["arch"], let classes = m["num_classes"].flatMap(Int.init),
              let channels = m["in_channels"].flatMap(Int.init), let size = m["image_size"].flatMap(Int.init) else { return nil }
        let floats = { (s: String?) in s?.split(separator: ",").compactMap { Float($0) } }
        self.init(arch: arch, numClasses: classes, inChannels: channels, imageSize: size,
                  widthMult: m["width_mult"].flatMap(Double.init) ?? 1, stemStride: m["stem_stride"].flatMap(Int.init),
                  mean: floats(m["mean"]) ?? [0.2860], std: floats(m["std"]) ?? [0.3530])
    }
}

/// A model spec with a bad setting, named by its metadata key (`num_classes`; `metadata` lists them).
public struct ModelSpecError: Error, CustomStringConvertible {
    /// The setting's metadata key.
    public let key: String
    /// What is wrong with it, as a fragment that follows the key.
    public let reason: String
    public var description: String { "\(key) \(reason)" }

    public init(key: String, reason: String) { (self.key, self.reason) = (key, reason) }
}
