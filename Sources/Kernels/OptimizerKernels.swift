import CKernels
#if canImport(Glibc)
import Glibc
#endif

/// The optimizers' fused update loops: one pass over a parameter reads it, its gradient and its state and writes
/// the updated parameter and state, split over both cores when large. Each output may be its input's buffer (an
/// update in place: element i is read before it is written) or a fresh one.
/// Their naive twins are the scalar loops of Tests/TensorsTests/OptimizerStepTests.swift.
public enum OptimizerKernels {
    /// PyTorch's SGD for `count` floats: `d = g + weightDecay·p`; with momentum, `b' = momentum·b + (1 − dampening)·d`
    /// (`b' = d` on the first step, when `momentumBuffer` is nil) and `d = nesterov ? d + momentum·b' : b'`; then
    /// `p' = p − lr·d`. `newMomentumBuffer` is nil without momentum.
    public static func sgd(parameter: FloatBuffer, gradient: FloatBuffer, momentumBuffer: FloatBuffer?,
                           newParameter: FloatBuffer, newMomentumBuffer: FloatBuffer?, count: Int, learningRate lr: Float,
                           momentum mu: Float, dampening: Float, weightDecay wd: Float, nesterov: Bool) {
        let p = parameter.pointer, g = gradient.pointer, o = newParameter.pointer
        let b = momentumBuffer?.pointer, nb = newMomentumBuffer?.pointer
        withExtendedLifetime((parameter, gradient, momentumBuffer, newParameter, newMomentumBuffer)) {
            parallelChunks(count) { r in
                for i in r {
                    var d = g[i] + wd * p[i]
                    if let nb {
                        nb[i] = if let b { mu * b[i] + (1 - dampening) * d } else { d }
                        d = nesterov ? d + mu * nb[i] : nb[i]
                    }
                    o[i] = p[i] - lr * d
                }
            }
        }
    }

    /// PyTorch 1.13's Adam at step `step` (from 1) for `count` floats: `d = g + weightDecay·p`,
    /// `m' = β1·m + (1 − β1)·d`, `v' = β2·v + (1 − β2)·d²`,
    /// `p' = p − (lr / (1 − β1^t))·m' / (√v' / √(1 − β2^t) + ε)`. The loop is C's (`ck_adam`), compiled for `variant`
    /// (the widest this CPU runs unless a test asks for another); every variant gives the scalar rule's bits.
    public static func adam(parameter: FloatBuffer, gradient: FloatBuffer, firstMoment: FloatBuffer,
                            secondMoment: FloatBuffer, newParameter: FloatBuffer, newFirstMoment: FloatBuffer,
                            newSecondMoment: FloatBuffer, count: Int, learningRate lr: Float, beta1 b1: Float,
                            beta2 b2: Float, epsilon eps: Float, weightDecay wd: Float, step: Int,
                            variant: VectorMath.Variant = VectorMath.best) {
        let p = parameter.pointer, g = gradient.pointer, m = firstMoment.pointer, v = secondMoment.pointer
        let o = newParameter.pointer, nm = newFirstMoment.pointer, nv = newSecondMoment.pointer
        let t = Float(step)
        let correction1 = 1 - powf(b1, t), correction2Root = (1 - powf(b2, t)).squareRoot()
        let hyperparameters = ck_adam(beta1: b1, beta2: b2, epsilon: eps, weight_decay: wd, step_size: lr / correction1,
                                      correction2_root: correction2Root)
        withExtendedLifetime((parameter, gradient, firstMoment, secondMoment, newParameter, newFirstMoment, newSecondMoment)) {
            withUnsafePointer(to: hyperparameters) { h in
                parallelChunks(count) { r in
                    let i = r.lowerBound
                    ck_adam(variant.rawValue, h, p.advanced(by: i), g.advanced(by: i), m.advanced(by: i), v.advanced(by: i),
                            o.advanced(by: i), nm.advanced(by: i), nv.advanced(by: i), r.count)
                }
            }
        }
    }
}
