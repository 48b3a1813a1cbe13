import Foundation
import NN
import Tensors

/// How far the inputs of a model's batch norms, on some images, lie from the statistics the batch norms
/// stored in training: a model fed the wrong preprocessing (mean/std, resize, channels) or built with a
/// wrong option (e.g. a stem stride) sees inputs far from its running statistics long before its
/// accuracy says anything.
///
/// Two numbers, because each layer's divergence mixes three causes (BENCHMARKS.md, "Batch-norm shift"):
/// - the *first* batch norm to run sees the image through one layer (kept at 8 bits with a full-precision
///   input by quantization), so its divergence measures the preprocessing alone;
/// - deeper layers also move with the model's options, with quantization error (a right W2A4 file reaches a
///   median of 0.06, round-to-nearest 0.8) and with the classes in the sample (their statistics are
///   class-specific; 64 images make their mean noisy), so the network-wide figure is a median, and it is
///   checked on full-precision models only.
public struct BatchNormShift: Sendable, Encodable {
    /// The divergence of the first batch norm to run, and its path.
    public var input: Double, inputLayer: String
    /// The median divergence over all batch norms; nil for a quantized model, where it measures quantization.
    public var network: Double?
    /// The largest per-layer divergence, and the layer's path.
    public var worst: Double, worstLayer: String

    /// Above this first-layer divergence, `evaluate` and `run` warn about the preprocessing. Measured on 64
    /// images: right configurations 0.0003 to 0.0029 (six full-precision models, nine quantized files), wrong
    /// ones from 0.0123 (a zoom of 292/256 at 224x224) and 0.0215 (32/28 at 28x28) up; a wrong stem stride does
    /// not show here (0.0007 to 0.0021).
    public static let inputThreshold = 0.007
    /// Above this median divergence of a full-precision model, they warn about the model's options. Measured:
    /// right configurations 0.0008 to 0.0227, a wrong stem stride 0.13 to 0.22.
    public static let networkThreshold = 0.08

    /// The per-channel KL divergence `KL(N(m, v) || N(running_mean, running_var))` of each batch norm's input
    /// batch statistics `(m, v)` on `images` (both variances plus the layer's epsilon), its median over channels: a
    /// wrong preprocessing moves every channel, while a model trained elsewhere may hold a few channels whose running
    /// statistics lag their weights (one channel of 64 at 0.48 in a briefly fine-tuned torchvision ResNet-18).
    public init(model: Module, images: Tensor) {
        model.setTraining(false)
        let norms = model.namedModules().compactMap { entry in (entry.module as? BatchNorm2d).map { (entry.path, $0) } }
        var captured: [(layer: Int, mean: Tensor, std: Tensor)] = []  // in running order; moments only, to spare memory
        let ids = norms.enumerated().map { i, entry in
            entry.1.addForwardHook { _, input, _ in
                let (mean, std) = input.channelMoments(unbiased: false)
                captured.append((i, mean, std))
            }
        }
        withoutGradients { _ = model(images) }
        for (i, entry) in norms.enumerated() { entry.1.removeHook(ids[i]) }
        let divergences: [(String, Double)] = captured.compactMap { i, m, s in
            let (path, bn) = norms[i]
            guard let runningMean = bn.runningMean?.value.scalars, let runningVar = bn.runningVar?.value.scalars else { return nil }
            let means = m.scalars, stds = s.scalars, eps = Double(bn.epsilon)
            let channels = means.indices.map { c in
                let v = Double(stds[c]) * Double(stds[c]) + eps, r = Double(runningVar[c]) + eps
                let d = Double(means[c]) - Double(runningMean[c])
                return 0.5 * (log(r / v) + (v + d * d) / r - 1)
            }
            return (path, median(channels))
        }
        (inputLayer, input) = divergences.first ?? ("", 0)
        (worstLayer, worst) = divergences.max { $0.1 < $1.1 } ?? ("", 0)
        network = model.quantizedLayers.isEmpty && !divergences.isEmpty ? median(divergences.map(\.1)) : nil
    }

    /// A warning naming what to check in `advice`'s words, if either divergence is above its threshold.
    public func warning(advice: ShiftAdvice = .library) -> String? {
        if input > BatchNormShift.inputThreshold {
            return String(format: "warning: the first batch norm (%@) sees inputs far from the statistics it stored in training (divergence %.3f, above %.3f): check %@; the accuracy below is likely meaningless",
                                   inputLayer, input, BatchNormShift.inputThreshold, advice.preprocessing)
        }
        if let network, network > BatchNormShift.networkThreshold {
            return String(format: "warning: the batch norms see inputs far from the statistics they stored in training (median divergence %.2f, above %.2f; worst %@ %.2f), though the first one does not: check %@; the accuracy below is likely meaningless",
                                   network, BatchNormShift.networkThreshold, worstLayer, worst, advice.modelOptions)
        }
        return nil
    }
}

/// What a `BatchNormShift` warning tells the user to check, in the caller's words.
public struct ShiftAdvice: Sendable {
    /// The settings that shape the images (normalization, resizing, channels).
    public var preprocessing: String
    /// The settings of the model that change what its layers see (e.g. a stem stride).
    public var modelOptions: String
    public init(preprocessing: String, modelOptions: String) {
        self.preprocessing = preprocessing
        self.modelOptions = modelOptions
    }

    /// The library's own words.
    public static let library = ShiftAdvice(
        preprocessing: "the normalization (mean, std), the resizing and cropping, and the input channels",
        modelOptions: "the model's options (e.g. the stem stride), then the preprocessing")
}
