import Kernels

/// The optimizers' updates as tensor ops: each reads a parameter, its gradient and its state and writes the updated
/// parameter and state (one fused pass, `OptimizerKernels`), in place where it can: copy on write, so a tensor that
/// shares its storage with any other value (an earlier parameter a caller kept, a checkpoint being written) gets
/// fresh storage and the other value never changes. Not recorded for autodiff.
extension Tensor {
    /// One step of PyTorch's SGD (`torch.optim.SGD`) on `parameter` and, with `momentum > 0`, `momentumBuffer`
    /// (nil before the first step, then the buffer).
    public static func sgdStep(parameter: inout Tensor, gradient: Tensor, momentumBuffer: inout Tensor?, learningRate: Float,
                               momentum: Float, dampening: Float, weightDecay: Float, nesterov: Bool) {
        let g = checkedGradient(gradient, of: parameter, state: [momentumBuffer].compactMap { $0 })
        let p = parameter.writableStorage()
        var b: (read: FloatBuffer?, write: FloatBuffer?) = (nil, nil)
        if momentum != 0 {
            if momentumBuffer == nil { momentumBuffer = Tensor(uninitializedShape: parameter.shape); b.write = momentumBuffer!.buffer }
            else { b = momentumBuffer!.writableStorage() }
        }
        OptimizerKernels.sgd(parameter: p.read, gradient: g.buffer, momentumBuffer: b.read, newParameter: p.write,
                             newMomentumBuffer: b.write, count: parameter.count, learningRate: learningRate,
                             momentum: momentum, dampening: dampening, weightDecay: weightDecay, nesterov: nesterov)
    }

    /// One step of PyTorch 1.13's Adam (`torch.optim.Adam`) at `step` (counted from 1) on `parameter` and its
    /// `moments` (empty before the first step: zeros; then the first and second moment).
    public static func adamStep(parameter: inout Tensor, gradient: Tensor, moments: inout [Tensor], learningRate: Float,
                                beta1: Float, beta2: Float, epsilon: Float, weightDecay: Float, step: Int) {
        precondition(moments.isEmpty || moments.count == 2, "Adam keeps two moments per parameter, got \(moments.count)")
        let g = checkedGradient(gradient, of: parameter, state: moments)
        if moments.isEmpty { moments = [.zeros(parameter.shape), .zeros(parameter.shape)] }
        let p = parameter.writableStorage(), m = moments[0].writableStorage(), v = moments[1].writableStorage()
        OptimizerKernels.adam(parameter: p.read, gradient: g.buffer, firstMoment: m.read, secondMoment: v.read,
                              newParameter: p.write, newFirstMoment: m.write, newSecondMoment: v.write,
                              count: parameter.count, learningRate: learningRate, beta1: beta1, beta2: beta2,
                              epsilon: epsilon, weightDecay: weightDecay, step: step)
    }

    /// The gradient in the plain layout, after checking that it and the state have the parameter's shape.
    private static func checkedGradient(_ gradient: Tensor, of parameter: Tensor, state: [Tensor]) -> Tensor {
        precondition(gradient.shape == parameter.shape,
                     "gradient shape \(gradient.shape) differs from parameter shape \(parameter.shape)")
        precondition(state.allSatisfy { $0.shape == parameter.shape }, "optimizer state does not fit parameter shape \(parameter.shape)")
        return gradient.converted(to: .plain)
    }

    /// The storage an update reads (this tensor's scalars, plain) and the storage it writes: the same buffer when this
    /// tensor alone holds it, plain and outside any gradient computation; else this tensor becomes a fresh plain tensor
    /// to write (copy on write), and the storage others hold is only read.
    private mutating func writableStorage() -> (read: FloatBuffer, write: FloatBuffer) {
        if layout == .plain && node == nil && holdsStorageAlone() { return (buffer, buffer) }
        let read = converted(to: .plain).buffer
        self = Tensor(uninitializedShape: shape)
        return (read, buffer)
    }
}
