#if canImport(Glibc)
import Glibc
#endif

/// Cosine annealing (PyTorch's `CosineAnnealingLR`, closed form): lr_t = eta_min + (lr_0 - eta_min)(1 + cos(pi t / T)) / 2.
public struct CosineSchedule {
    public let optimizer: Optimizer
    public let totalSteps: Int
    public let minimum: Float
    public private(set) var stepCount = 0

    public init(_ optimizer: Optimizer, totalSteps: Int, minimum: Float = 0) {
        self.optimizer = optimizer
        self.totalSteps = totalSteps
        self.minimum = minimum
    }

    /// Advances one step and sets every group's learning rate.
    public mutating func step() {
        stepCount += 1
        let factor = (1 + cos(Double.pi * Double(stepCount) / Double(totalSteps))) / 2
        for g in optimizer.groups {
            g.learningRate = minimum + (g.initialLearningRate - minimum) * Float(factor)
        }
    }
}

/// Exponential decay (PyTorch's `ExponentialLR`): every `step()` multiplies each group's learning rate by `gamma`.
public struct ExponentialSchedule {
    public let optimizer: Optimizer
    public let gamma: Float

    public init(_ optimizer: Optimizer, gamma: Float) {
        self.optimizer = optimizer
        self.gamma = gamma
    }

    public func step() {
        for g in optimizer.groups { g.learningRate *= gamma }
    }
}

/// PyTorch's `ReduceLROnPlateau` in `min` mode with a relative threshold and no cooldown: when the metric
/// has not improved on the best by more than `threshold` (relative) for more than `patience` steps, every
/// group's learning rate becomes `max(lr * factor, minimum)`.
public struct PlateauSchedule {
    public let optimizer: Optimizer
    public let factor: Float, patience: Int, threshold: Float, minimum: Float
    public private(set) var best = Float.infinity
    public private(set) var badSteps = 0

    public init(_ optimizer: Optimizer, factor: Float = 0.1, patience: Int = 10, threshold: Float = 1e-4, minimum: Float = 0) {
        self.optimizer = optimizer
        self.factor = factor
        self.patience = patience
        self.threshold = threshold
        self.minimum = minimum
    }

    public mutating func step(metric: Float) {
        if metric < best * (1 - threshold) {
            best = metric
            badSteps = 0
        } else {
            badSteps += 1
        }
        if badSteps > patience {
            for g in optimizer.groups {
                let reduced = max(g.learningRate * factor, minimum)
                // PyTorch skips changes smaller than eps = 1e-8.
                if g.learningRate - reduced > 1e-8 { g.learningRate = reduced }
            }
            badSteps = 0
        }
    }
}
