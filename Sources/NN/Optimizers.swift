import Kernels
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
    /// Per-parameter state buffers, by parameter identity.
    var state: [ObjectIdentifier: [FloatBuffer]] = [:]
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
                let g = gradients[i].converted(to: .plain)
                precondition(g.shape == p.value.shape, "gradient shape \(g.shape) differs from parameter shape \(p.value.shape)")
                let value = p.value.converted(to: .plain)
                let out = Tensor(uninitializedShape: value.shape)
                let key = ObjectIdentifier(p)
                if state[key] == nil { state[key] = (0..<stateCount).map { _ in FloatBuffer(zeros: value.count) } }
                update(value.buffer, g.buffer, out.buffer, state[key]!, value.count, group.learningRate)
                p.value = out
                i += 1
            }
        }
    }

    /// State buffers per parameter.
    var stateCount: Int { 0 }

    /// The optimizer state as named tensors (`step`, `state.<parameter index>.<slot>`), for checkpoints.
    public func stateDict() -> [String: Tensor] {
        var out = ["step": Tensor(Float(stepCount))]
        for (i, p) in parameters.enumerated() {
            guard let buffers = state[ObjectIdentifier(p)] else { continue }
            for (k, b) in buffers.enumerated() {
                let t = Tensor(uninitializedShape: p.value.shape)
                t.buffer.pointer.update(from: b.pointer, count: b.capacity)
                out["state.\(i).\(k)"] = t
            }
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
            state[ObjectIdentifier(p)] = slots.map { t in
                let b = FloatBuffer(capacity: t.count)
                withExtendedLifetime(t) { b.pointer.update(from: t.buffer.pointer, count: t.count) }
                return b
            }
        }
        stepCount = Int(step.item)
    }

    /// Writes the updated parameter into `out` from `param` and `grad`, updating `state`.
    func update(_ param: FloatBuffer, _ grad: FloatBuffer, _ out: FloatBuffer, _ state: [FloatBuffer], _ count: Int, _ lr: Float) {
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

    override func update(_ param: FloatBuffer, _ grad: FloatBuffer, _ out: FloatBuffer, _ state: [FloatBuffer], _ count: Int, _ lr: Float) {
        let p = param.pointer, g = grad.pointer, o = out.pointer
        let wd = weightDecay, mu = momentum, damp = dampening, nesterov = self.nesterov
        let first = stepCount == 1
        let buf = state.first?.pointer
        withExtendedLifetime((param, grad, out, state)) {
            parallelChunks(count) { r in
                for i in r {
                    var d = g[i] + wd * p[i]
                    if let buf {
                        buf[i] = first ? d : mu * buf[i] + (1 - damp) * d
                        d = nesterov ? d + mu * buf[i] : buf[i]
                    }
                    o[i] = p[i] - lr * d
                }
            }
        }
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

    override func update(_ param: FloatBuffer, _ grad: FloatBuffer, _ out: FloatBuffer, _ state: [FloatBuffer], _ count: Int, _ lr: Float) {
        let p = param.pointer, g = grad.pointer, o = out.pointer, m = state[0].pointer, v = state[1].pointer
        let b1 = beta1, b2 = beta2, eps = epsilon, wd = weightDecay
        let t = Float(stepCount)
        let correction1 = 1 - powf(b1, t), correction2Root = (1 - powf(b2, t)).squareRoot()
        let stepSize = lr / correction1
        withExtendedLifetime((param, grad, out, state)) {
            parallelChunks(count) { r in
                for i in r {
                    let d = g[i] + wd * p[i]
                    m[i] = b1 * m[i] + (1 - b1) * d
                    v[i] = b2 * v[i] + (1 - b2) * d * d
                    o[i] = p[i] - stepSize * m[i] / (v[i].squareRoot() / correction2Root + eps)
                }
            }
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
