import Foundation
import NN
import Tensors

/// How far the inputs of a model's batch norms, on some images, lie from the statistics the batch norms
/// stored in training: a model fed the wrong preprocessing (mean/std, resize, channels) or built with a
/// wrong option (e.g. a stem stride) sees inputs far from its running statistics long before its
/// accuracy says anything.
public struct BatchNormShift: Sendable {
    /// The per-layer divergence averaged over the batch-norm layers.
    public var mean: Double
    /// The largest per-layer divergence, and the layer's path.
    public var worst: Double, worstLayer: String

    /// Above this mean divergence, `evaluate` and `run` warn. Measured (BENCHMARKS.md, "Image folders"): right
    /// configurations gave 0.0015 to 0.018 (on 64 images), wrong ones 0.056 (a zooming --resize 40 --crop 28) to 1.19.
    public static let warningThreshold = 0.05

    /// The per-channel KL divergence `KL(N(m, v) || N(running_mean, running_var))` of each batch norm's input
    /// batch statistics `(m, v)` on `images` (both variances plus the layer's epsilon), averaged over channels.
    public init(model: Module, images: Tensor) {
        model.setTraining(false)
        let norms = model.namedModules().compactMap { entry in (entry.module as? BatchNorm2d).map { (entry.path, $0) } }
        var captured: [Int: (mean: Tensor, std: Tensor)] = [:]  // moments only: inputs of large models would fill memory
        let ids = norms.enumerated().map { i, entry in
            entry.1.addForwardHook { _, input, _ in captured[i] = input.channelMoments(unbiased: false) }
        }
        withoutGradients { _ = model(images) }
        for (i, entry) in norms.enumerated() { entry.1.removeHook(ids[i]) }
        var divergences: [(String, Double)] = []
        for (i, (path, bn)) in norms.enumerated() {
            guard let (m, s) = captured[i], let runningMean = bn.runningMean?.value.scalars,
                  let runningVar = bn.runningVar?.value.scalars else { continue }
            let means = m.scalars, stds = s.scalars, eps = Double(bn.epsilon)
            var total = 0.0
            for c in means.indices {
                let v = Double(stds[c]) * Double(stds[c]) + eps, r = Double(runningVar[c]) + eps
                let d = Double(means[c]) - Double(runningMean[c])
                total += 0.5 * (log(r / v) + (v + d * d) / r - 1)
            }
            divergences.append((path, total / Double(max(means.count, 1))))
        }
        let worst = divergences.max { $0.1 < $1.1 } ?? ("", 0)
        mean = divergences.isEmpty ? 0 : divergences.map(\.1).reduce(0, +) / Double(divergences.count)
        (worstLayer, self.worst) = worst
    }

    /// A warning naming what to check (`check`: the settings that shape the inputs, in the caller's words; nil:
    /// in the library's) when `mean` is above the threshold, else nil.
    public func warning(check: String? = nil) -> String? {
        guard mean > BatchNormShift.warningThreshold else { return nil }
        let check = check ?? "the normalization (mean, std), the resizing and cropping, the input channels and the model's options (e.g. the stem stride)"
        return String(format: "warning: the batch norms see inputs far from the statistics they stored in training (mean divergence %.2f, above %.2f; worst %@ %.2f): check %@; the accuracy below is likely meaningless",
                      mean, BatchNormShift.warningThreshold, worstLayer, worst, check)
    }
}
