import Kernels

/// The optimizers' updates as tensor ops: each reads a parameter, its gradient and its state and returns the
/// updated parameter and state as new plain tensors (one fused pass, `OptimizerKernels`). Not recorded for autodiff.
extension Tensor {
    /// One step of PyTorch's SGD (`torch.optim.SGD`): returns the new parameter and, with `momentum > 0`, the new
    /// momentum buffer (`momentumBuffer` is nil on the first step).
    public static func sgdStep(parameter: Tensor, gradient: Tensor, momentumBuffer: Tensor?, learningRate: Float,
                               momentum: Float, dampening: Float, weightDecay: Float,
                               nesterov: Bool) -> (parameter: Tensor, momentumBuffer: Tensor?) {
        let (p, g) = plainOperands(parameter, gradient, state: [momentumBuffer].compactMap { $0 })
        let out = Tensor(uninitializedShape: p.shape)
        let buffer = momentum == 0 ? nil : Tensor(uninitializedShape: p.shape)
        OptimizerKernels.sgd(parameter: p.buffer, gradient: g.buffer, momentumBuffer: momentumBuffer?.converted(to: .plain).buffer,
                             newParameter: out.buffer, newMomentumBuffer: buffer?.buffer, count: p.count,
                             learningRate: learningRate, momentum: momentum, dampening: dampening,
                             weightDecay: weightDecay, nesterov: nesterov)
        return (out, buffer)
    }

    /// One step of PyTorch 1.13's Adam (`torch.optim.Adam`) at `step` (counted from 1): returns the new parameter
    /// and moments (`moments` is nil on the first step: zeros).
    public static func adamStep(parameter: Tensor, gradient: Tensor, moments: (first: Tensor, second: Tensor)?,
                                learningRate: Float, beta1: Float, beta2: Float, epsilon: Float, weightDecay: Float,
                                step: Int) -> (parameter: Tensor, moments: (first: Tensor, second: Tensor)) {
        let (p, g) = plainOperands(parameter, gradient, state: moments.map { [$0.first, $0.second] } ?? [])
        let m = moments?.first.converted(to: .plain) ?? .zeros(p.shape), v = moments?.second.converted(to: .plain) ?? .zeros(p.shape)
        let out = Tensor(uninitializedShape: p.shape), newM = Tensor(uninitializedShape: p.shape)
        let newV = Tensor(uninitializedShape: p.shape)
        OptimizerKernels.adam(parameter: p.buffer, gradient: g.buffer, firstMoment: m.buffer, secondMoment: v.buffer,
                              newParameter: out.buffer, newFirstMoment: newM.buffer, newSecondMoment: newV.buffer,
                              count: p.count, learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon,
                              weightDecay: weightDecay, step: step)
        return (out, (newM, newV))
    }

    /// The parameter and gradient in the plain layout, after checking that they and the state share one shape.
    private static func plainOperands(_ parameter: Tensor, _ gradient: Tensor, state: [Tensor]) -> (Tensor, Tensor) {
        precondition(gradient.shape == parameter.shape,
                     "gradient shape \(gradient.shape) differs from parameter shape \(parameter.shape)")
        precondition(state.allSatisfy { $0.shape == parameter.shape }, "optimizer state does not fit parameter shape \(parameter.shape)")
        return (parameter.converted(to: .plain), gradient.converted(to: .plain))
    }
}
