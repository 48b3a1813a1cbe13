import NN
import Tensors

/// GENIE-D's loss (docs/METHOD.md, "The BNS loss"): the batch statistics of every batch-norm layer's input against its
/// running statistics, plus a per-image statistics term on the generated images themselves.
///
/// `L = sq(0, m0) + sq(1, s0) + Σ_l sq(μ_l, m_l) + sq(σ_l, s_l)` with `sq(a, b) = ||a - b||² / size(b, 0)`,
/// `σ_l = sqrt(running_var + 1e-6)`, unbiased standard deviations, all layers weighted 1.
///
/// With `.perImage` statistics it is ZeroQ's loss instead: every image's own statistics over `(H, W)` against the
/// running statistics (docs/METHOD.md, "Baselines: pixels and noise").
public final class BNSLoss {
    /// Whose statistics are matched to the stored ones.
    public enum Statistics: Sendable {
        /// The batch's, per channel over `(N, H, W)` (GENIE).
        case batch
        /// Each image's, per channel over `(H, W)`, with `sqrt(var + 1e-6)` as the standard deviation (ZeroQ's code).
        case perImage
    }

    public let statistics: Statistics
    /// The weight of the per-image term on the images themselves, with `.batch` statistics (1 in GENIE).
    public let imageTermWeight: Float
    private let targets: [(mean: Tensor, std: Tensor)]
    private var captured: [Int: Tensor] = [:]
    private var hookIDs: [(Module, Int)] = []

    /// Hooks every `BatchNorm2d` of `model` (which must be in eval mode so that its running statistics are used).
    public init(model: Module, statistics: Statistics = .batch, imageTermWeight: Float = 1) throws {
        self.statistics = statistics
        self.imageTermWeight = imageTermWeight
        let norms = model.namedModules().compactMap { $0.module as? BatchNorm2d }
        guard !norms.isEmpty else { throw GenieError("the model has no batch-norm layers, so GENIE-D has no statistics to match") }
        var targets: [(Tensor, Tensor)] = []
        for (i, bn) in norms.enumerated() {
            guard let mean = bn.runningMean?.value, let variance = bn.runningVar?.value else {
                throw GenieError("batch-norm layer \(i) tracks no running statistics")
            }
            targets.append((mean, (variance + 1e-6).sqrt()))
        }
        self.targets = targets
        for (i, bn) in norms.enumerated() {
            let id = bn.addForwardHook { [unowned self] _, input, _ in self.captured[i] = input }
            hookIDs.append((bn, id))
        }
    }

    deinit { for (m, id) in hookIDs { m.removeHook(id) } }

    /// Runs `model` on `images` (which the hooks observe) and returns the loss.
    public func callAsFunction(images: Tensor, model: Module) -> Tensor {
        evaluate(images: images, model: model).loss
    }

    /// Runs `model` on `images` (which the hooks observe) and returns the loss and the model's output.
    public func evaluate(images: Tensor, model: Module) -> (loss: Tensor, output: Tensor) {
        captured.removeAll(keepingCapacity: true)
        let output = model(images)
        precondition(captured.count == targets.count, "not every batch-norm layer ran in the forward pass")
        var loss = statistics == .batch ? Self.imageTerm(images) * imageTermWeight
            : Self.perImageTerm(images, mean: Tensor(0), std: Tensor(1))
        for (i, target) in targets.enumerated() {
            guard statistics == .batch else {
                loss = loss + Self.perImageTerm(captured[i]!, mean: target.mean, std: target.std)
                continue
            }
            let (m, s) = captured[i]!.channelMoments(unbiased: true)
            let c = Float(target.mean.count)
            loss = loss + (m - target.mean).squared().sum() / c + (s - target.std).squared().sum() / c
        }
        captured.removeAll(keepingCapacity: true)
        return (loss, output)
    }

    /// The loss's term on the images themselves: each image's per-channel mean and (unbiased) standard deviation
    /// over its pixels against 0 and 1, `sq(0, m0) + sq(1, s0)`.
    public static func imageTerm(_ images: Tensor) -> Tensor {
        let batch = Float(images.shape[0])
        let (m0, s0) = images.spatialMoments(unbiased: true)
        return m0.squared().sum() / batch + (s0 - 1).squared().sum() / batch
    }

    /// ZeroQ's term for one layer: each image's per-channel mean and `sqrt(var + 1e-6)` over its positions
    /// (unbiased variance) against `mean` and `std`, `sq(mean, m) + sq(std, s)` summed over images and channels
    /// and divided by the batch size.
    static func perImageTerm(_ x: Tensor, mean: Tensor, std: Tensor) -> Tensor {
        let batch = Float(x.shape[0])
        let (m, s) = x.spatialMoments(unbiased: true)
        return (m - mean).squared().sum() / batch + ((s.squared() + 1e-6).sqrt() - std).squared().sum() / batch
    }
}
