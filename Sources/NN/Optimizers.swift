import Tensors

/// Parameters sharing one learning rate (PyTorch's param group).
public final class ParameterGroup {
    public let parameters: [Parameter]
    /// The current learning rate; schedules set it.
    public var learningRate: Float
    /// The learning rate the group started with (schedules scale it).
    public let initialLearningRate: Float

    public init(_ parameters: [Parameter], learningRate: Float) {
        self.parameters = parameters
        self.learningRate = learningRate
        self.initialLearningRate = learningRate
    }
}

/// An optimizer over groups of parameters; `step` takes one gradient per parameter, in group order.
public class Optimizer {
    public let groups: [ParameterGroup]
    /// Per-parameter state tensors (plain, the parameter's shape), by parameter identity; absent before the first step.
    var state: [ObjectIdentifier: [Tensor]] = [:]
    /// Steps taken.
    public internal(set) var stepCount = 0

    init(groups: [ParameterGroup]) { self.groups = groups }

    /// All parameters, in the order `step` expects their gradients.
    public var parameters: [Parameter] { groups.flatMap(\.parameters) }

    /// Applies one update; `gradients[i]` belongs to `parameters[i]`.
    public func step(_ gradients: [Tensor]) {
        let params = parameters
        precondition(gradients.count == params.count, "step got \(gradients.count) gradients for \(params.count) parameters")
        stepCount += 1
        var i = 0
        for group in groups {
            for p in group.parameters {
                // Taken out of the dictionary so that the step can update the only reference in place.
                var slots = state.removeValue(forKey: ObjectIdentifier(p)) ?? []
                update(&p.value, gradients[i], &slots, group.learningRate)
                if !slots.isEmpty { state[ObjectIdentifier(p)] = slots }
                i += 1
            }
        }
    }

    /// State tensors per parameter.
    var stateCount: Int { 0 }

    /// The optimizer state as named tensors (`step`, `state.<parameter index>.<slot>`), for checkpoints.
    public func stateDict() -> [String: Tensor] {
        var out = ["step": Tensor(Float(stepCount))]
        for (i, p) in parameters.enumerated() {
            for (k, t) in (state[ObjectIdentifier(p)] ?? []).enumerated() { out["state.\(i).\(k)"] = t }
        }
        return out
    }

    /// Restores a state saved by `stateDict()` for the same parameters.
    public func loadStateDict(_ dict: [String: Tensor]) throws {
        guard let step = dict["step"] else { throw StateDictError(source: "optimizer state", problems: ["missing key 'step'"]) }
        state = [:]
        for (i, p) in parameters.enumerated() {
            let slots = (0..<stateCount).compactMap { dict["state.\(i).\($0)"] }
            guard !slots.isEmpty else { continue }
            guard slots.count == stateCount, slots.allSatisfy({ $0.shape == p.value.shape }) else {
                throw StateDictError(source: "optimizer state", problems: ["state of parameter \(i) does not fit its shape \(p.value.shape)"])
            }
            state[ObjectIdentifier(p)] = slots.map { $0.converted(to: .plain) }
        }
        stepCount = Int(step.item)
    }

    /// Updates `value` and its state (empty before the first step) from its gradient.
    func update(_ value: inout Tensor, _ gradient: Tensor, _ state: inout [Tensor], _ lr: Float) {
        fatalError("subclass")
    }
}

/// Stochastic gradient descent with PyTorch's momentum, dampening, Nesterov and weight-decay semantics.
public final class SGD: Optimizer {
    public let momentum: Float, dampening: Float, weightDecay: Float, nesterov: Bool

    public init(_ groups: [ParameterGroup], momentum: Float = 0, dampening: Float = 0, weightDecay: Float = 0,
                nesterov: Bool = false) {
        precondition(!nesterov || (momentum > 0 && dampening == 0), "Nesterov momentum requires a momentum and zero dampening")
        self.momentum = momentum
        self.dampening = dampening
        self.weightDecay = weightDecay
        self.nesterov = nesterov
        super.init(groups: groups)
    }

    public convenience init(_ parameters: [Parameter], learningRate: Float, momentum: Float = 0, dampening: Float = 0,
                            weightDecay: Float = 0, nesterov: Bool = false) {
        self.init([ParameterGroup(parameters, learningRate: learningRate)], momentum: momentum, dampening: dampening,
                  weightDecay: weightDecay, nesterov: nesterov)
    }

    override var stateCount: Int { momentum == 0 ? 0 : 1 }

    override func update(_ value: inout Tensor, _ gradient: Tensor, _ state: inout [Tensor], _ lr: Float) {
        var buffer = state.popLast()
        Tensor.sgdStep(parameter: &value, gradient: gradient, momentumBuffer: &buffer, learningRate: lr, momentum: momentum,
                       dampening: dampening, weightDecay: weightDecay, nesterov: nesterov)
        if let buffer { state = [buffer] }
    }
}

/// Adam with PyTorch 1.13's update (bias corrections, `eps` added after the corrected square root).
public final class Adam: Optimizer {
    public let beta1: Float, beta2: Float, epsilon: Float, weightDecay: Float

    public init(_ groups: [ParameterGroup], beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8,
                weightDecay: Float = 0) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        super.init(groups: groups)
    }

    public convenience init(_ parameters: [Parameter], learningRate: Float, beta1: Float = 0.9, beta2: Float = 0.999,
                            epsilon: Float = 1e-8, weightDecay: Float = 0) {
        self.init([ParameterGroup(parameters, learningRate: learningRate)], beta1: beta1, beta2: beta2,
                  epsilon: epsilon, weightDecay: weightDecay)
    }

    override var stateCount: Int { 2 }

    override func update(_ value: inout Tensor, _ gradient: Tensor, _ state: inout [Tensor], _ lr: Float) {
        Tensor.adamStep(parameter: &value, gradient: gradient, moments: &state, learningRate: lr, beta1: beta1, beta2: beta2,
                        epsilon: epsilon, weightDecay: weightDecay, step: stepCount)
    }
}
