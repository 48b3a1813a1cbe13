import NN
import Tensors

/// GENIE-D's loss (docs/METHOD.md, "The BNS loss"): the batch statistics of every batch-norm layer's input against its
/// running statistics, plus a per-image statistics term on the generated images themselves.
///
/// `L = sq(0, m0) + sq(1, s0) + Σ_l sq(μ_l, m_l) + sq(σ_l, s_l)` with `sq(a, b) = ||a - b||² / size(b, 0)`,
/// `σ_l = sqrt(running_var + 1e-6)`, unbiased standard deviations, all layers weighted 1.
public final class BNSLoss {
    private let targets: [(mean: Tensor, std: Tensor)]
    private var captured: [Int: Tensor] = [:]
    private var hookIDs: [(Module, Int)] = []

    /// Hooks every `BatchNorm2d` of `model` (which must be in eval mode so that its running statistics are used).
    public init(model: Module) throws {
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
        captured.removeAll(keepingCapacity: true)
        _ = model(images)
        precondition(captured.count == targets.count, "not every batch-norm layer ran in the forward pass")
        var loss = Self.imageTerm(images)
        for (i, target) in targets.enumerated() {
            let (m, s) = captured[i]!.channelMoments(unbiased: true)
            let c = Float(target.mean.count)
            loss = loss + (m - target.mean).squared().sum() / c + (s - target.std).squared().sum() / c
        }
        captured.removeAll(keepingCapacity: true)
        return loss
    }

    /// The loss's term on the images themselves: each image's per-channel mean and (unbiased) standard deviation
    /// over its pixels against 0 and 1, `sq(0, m0) + sq(1, s0)`.
    public static func imageTerm(_ images: Tensor) -> Tensor {
        let batch = Float(images.shape[0])
        let (m0, s0) = images.spatialMoments(unbiased: true)
        return m0.squared().sum() / batch + (s0 - 1).squared().sum() / batch
    }
}
