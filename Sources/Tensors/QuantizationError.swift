import Kernels

/// `Σ |x − Q(x)|^norm` over `values` for the grid `Q(x) = step·(clamp(round(x/step) + zeroPoint, lower, upper) −
/// zeroPoint)` (round half to even): the error the quantizers' step-size searches minimize, by `VectorMath`'s
/// vectorized loops (within an ulp or so per term of libm's `powf`; summed in another order).
public func quantizationError(_ values: ArraySlice<Float>, step: Float, zeroPoint: Float = 0, lower: Float, upper: Float,
                              norm: Float) -> Float {
    VectorMath.quantizationError(values, step: step, zeroPoint: zeroPoint, lower: lower, upper: upper, norm: norm)
}
