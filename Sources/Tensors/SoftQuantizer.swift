import Kernels

/// GENIE-M's soft weight quantizer, AdaRound's rounding regularizer and the activations' fake quantizer as fused tensor
/// ops (`QuantizerKernels`): one pass forward and one backward, where the same formulas composed of elementwise ops take
/// ten to twenty. `h(v) = clamp(σ(v)·(zeta − gamma) + gamma, 0, 1)` is AdaRound's rectified sigmoid.
extension Tensor {
    /// LSQ's fake quantizer with QDrop: `keep ≠ 0 ? step · round(clamp(self / step, lower, upper)) : self`, rounding half
    /// to even with a straight-through gradient; differentiable in `self` and `step` (rank 0), with `keep` (a constant of
    /// `self`'s shape, nil to quantize every element) and the bounds constants. Equals that composition of ops.
    public func fakeQuantized(step: Tensor, lower: Float, upper: Float, keep: Tensor? = nil) -> Tensor {
        precondition(step.count == 1, "the fake quantizer's step needs one value, got shape \(step.shape)")
        precondition(keep.map { $0.shape == shape } ?? true, "keep mask shape \(keep!.shape) differs from input \(shape)")
        let x = self, mask = keep?.converted(to: layout), grid = QuantizerKernels.Grid(step: step.item, lower: lower, upper: upper)
        let out = Tensor(uninitializedShape: shape, layout: layout)
        QuantizerKernels.fakeQuantize(buffer, keep: mask?.buffer, grid: grid, into: out.buffer, count: count)
        return out.recording([self, step]) { g, need in
            let dx = need[0] ? Tensor(uninitializedShape: x.shape, layout: x.layout) : nil
            let ds = QuantizerKernels.fakeQuantizePullback(gradient: g.converted(to: x.layout).buffer, x: x.buffer,
                                                           keep: mask?.buffer, grid: grid, inputGradient: dx?.buffer,
                                                           count: x.count)
            return [dx, need[1] ? Tensor(shape: step.shape, scalars: [Float(ds)]) : nil]
        }
    }

    /// `scale · (clamp(base + h(softbits) + zeroPoint, 0, levels) − zeroPoint)`, differentiable in `softbits` and `scale`
    /// (`base` and `zeroPoint` are constants). `scale` and `zeroPoint` hold one value per output channel, shape
    /// `[O, 1, ...]` against the weight's `[O, ...]`.
    public static func softQuantizedWeight(softbits: Tensor, base: Tensor, scale: Tensor, zeroPoint: Tensor, levels: Float,
                                           zeta: Float, gamma: Float) -> Tensor {
        let shape = softbits.shape
        precondition(base.shape == shape, "base shape \(base.shape) differs from softbits shape \(shape)")
        let channelShape = [shape.first ?? 1] + Array(repeating: 1, count: max(shape.count - 1, 0))
        precondition(!shape.isEmpty && scale.shape == channelShape && zeroPoint.shape == channelShape,
                     "scale \(scale.shape) and zero point \(zeroPoint.shape) need shape \(channelShape) for softbits \(shape)")
        let v = softbits.converted(to: .plain), b = base.converted(to: .plain)
        let s = scale.converted(to: .plain), z = zeroPoint.converted(to: .plain)
        let geometry = SoftQuantizerShape(channels: shape[0], perChannel: shape[0] == 0 ? 0 : softbits.count / shape[0],
                                          levels: levels, zeta: zeta, gamma: gamma)
        let sigmoid = FloatBuffer(capacity: softbits.count)  // σ(V), kept for the pullback
        let out = Tensor(uninitializedShape: shape)
        QuantizerKernels.softWeight(softbits: v.buffer, base: b.buffer, scale: s.buffer, zeroPoint: z.buffer, weight: out.buffer,
                                    sigmoid: sigmoid, shape: geometry)
        return out.recording([softbits, scale]) { g, need in
            let dv = need[0] ? Tensor(uninitializedShape: shape) : nil, ds = need[1] ? Tensor(uninitializedShape: s.shape) : nil
            QuantizerKernels.softWeightPullback(gradient: g.converted(to: .plain).buffer, sigmoid: sigmoid, base: b.buffer,
                                                scale: s.buffer, zeroPoint: z.buffer, softbitGradient: dv?.buffer,
                                                scaleGradient: ds?.buffer, shape: geometry)
            return [dv, ds]
        }
    }

    /// AdaRound's regularizer `Σ (1 − |2h(softbits) − 1|^beta)` as a rank-0 tensor, differentiable in `softbits`; its
    /// gradient is computed with the value, in the same pass.
    public static func roundingRegularizer(softbits: Tensor, beta: Float, zeta: Float, gamma: Float) -> Tensor {
        let v = softbits.converted(to: .plain)
        let gradient = isRecordingGradients && softbits.requiresGradient ? Tensor(uninitializedShape: v.shape) : nil
        let value = QuantizerKernels.roundingLoss(softbits: v.buffer, count: v.count, beta: beta, zeta: zeta, gamma: gamma,
                                                  softbitGradient: gradient?.buffer)
        return Tensor(Float(value)).recording([softbits]) { g, _ in
            let factor = g.item
            return [factor == 1 ? gradient! : gradient! * factor]
        }
    }
}
