import Testing
import Tensors

/// Checks the autodiff gradient of `f` (reduced to a scalar through a fixed random projection)
/// against central finite differences in double precision of the float32 function.
public func checkGradients(_ inputs: [Tensor], tolerance: Float = 2e-2, epsilon: Float = 1e-2,
                    sourceLocation: SourceLocation = #_sourceLocation, _ f: ([Tensor]) -> Tensor) {
    var rng = SeededGenerator(seed: 99)
    let probeShape = withoutGradients { f(inputs).shape }
    let probe = Tensor.randomNormal(probeShape, using: &rng)
    func scalarLoss(_ xs: [Tensor]) -> Tensor { (f(xs) * probe).sum() }

    let leaves = inputs.map { $0.requiringGradient() }
    let analytic = gradients(of: scalarLoss(leaves), wrt: leaves)
    for (k, input) in inputs.enumerated() {
        let values = input.scalars
        let grad = analytic[k].scalars
        var worst: Float = 0
        for i in values.indices {
            func at(_ delta: Float) -> Float {
                var v = values
                v[i] += delta
                var xs = inputs
                xs[k] = Tensor(shape: input.shape, scalars: v).converted(to: input.layout)
                return withoutGradients { scalarLoss(xs).item }
            }
            let numeric = (at(epsilon) - at(-epsilon)) / (2 * epsilon)
            let scale = max(0.1, abs(numeric), abs(grad[i]))
            worst = max(worst, abs(numeric - grad[i]) / scale)
        }
        #expect(worst <= tolerance, "input \(k): worst relative gradient error \(worst)", sourceLocation: sourceLocation)
    }
}

/// The largest absolute difference between two tensors' scalars, after checking their shapes match.
public func maxAbsDifference(_ a: Tensor, _ b: Tensor) -> Float {
    precondition(a.shape == b.shape, "shapes differ: \(a.shape) vs \(b.shape)")
    return zip(a.scalars, b.scalars).map { abs($0 - $1) }.max() ?? 0
}
