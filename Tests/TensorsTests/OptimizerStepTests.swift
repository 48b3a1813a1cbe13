import Foundation
import Testing
import Tensors

/// The optimizers' fused update ops (`Tensor.sgdStep`, `Tensor.adamStep`, parallel loops in Kernels) against their
/// naive twins: PyTorch's update rules written out for one scalar at a time, over several steps on a parameter large
/// enough to be split over the worker threads.
@Suite struct OptimizerStepTests {
    static let count = 40_000

    /// A random parameter and `steps` random gradients.
    static func problem(steps: Int) -> (parameter: Tensor, gradients: [Tensor]) {
        var rng = SeededGenerator(seed: 3)
        return (Tensor.randomNormal([200, count / 200], using: &rng),
                (0..<steps).map { _ in Tensor.randomNormal([200, count / 200], using: &rng) })
    }

    @Test(arguments: [(Float(0), Float(0), false), (0.9, 0.1, false), (0.9, 0, true)])
    func sgdStepMatchesTheScalarRule(momentum: Float, dampening: Float, nesterov: Bool) {
        let (start, gradients) = Self.problem(steps: 3)
        let (lr, wd): (Float, Float) = (0.1, 0.01)
        var p = start, buffer: Tensor?
        var naiveP = start.scalars, naiveBuffer: [Float]?
        for g in gradients {
            (p, buffer) = Tensor.sgdStep(parameter: p, gradient: g, momentumBuffer: buffer, learningRate: lr, momentum: momentum,
                                         dampening: dampening, weightDecay: wd, nesterov: nesterov)
            let gs = g.scalars
            var newBuffer = [Float](repeating: 0, count: Self.count)
            for i in 0..<Self.count {
                var d = gs[i] + wd * naiveP[i]
                if momentum != 0 {
                    // torch.optim.SGD: the buffer starts as a copy of the first step's d.
                    newBuffer[i] = naiveBuffer.map { momentum * $0[i] + (1 - dampening) * d } ?? d
                    d = nesterov ? d + momentum * newBuffer[i] : newBuffer[i]
                }
                naiveP[i] -= lr * d
            }
            if momentum != 0 { naiveBuffer = newBuffer }
        }
        #expect(p.scalars == naiveP && p.shape == start.shape)
        #expect(buffer?.scalars == naiveBuffer)
    }

    @Test func adamStepMatchesTheScalarRule() {
        let (start, gradients) = Self.problem(steps: 3)
        let (lr, b1, b2, eps, wd): (Float, Float, Float, Float, Float) = (0.01, 0.8, 0.99, 1e-6, 0.1)
        var p = start, moments: (first: Tensor, second: Tensor)?
        var naiveP = start.scalars, m = [Float](repeating: 0, count: Self.count), v = m
        for (t, g) in gradients.enumerated() {
            (p, moments) = Tensor.adamStep(parameter: p, gradient: g, moments: moments, learningRate: lr, beta1: b1,
                                           beta2: b2, epsilon: eps, weightDecay: wd, step: t + 1)
            let gs = g.scalars
            let bias1 = 1 - powf(b1, Float(t + 1)), bias2 = 1 - powf(b2, Float(t + 1))
            for i in 0..<Self.count {
                let d = gs[i] + wd * naiveP[i]
                m[i] = b1 * m[i] + (1 - b1) * d
                v[i] = b2 * v[i] + (1 - b2) * d * d
                // PyTorch 1.13: denom = sqrt(v) / sqrt(bias2) + eps, step = lr / bias1.
                naiveP[i] -= (lr / bias1) * m[i] / (v[i].squareRoot() / bias2.squareRoot() + eps)
            }
        }
        #expect(p.scalars == naiveP)
        #expect(moments?.first.scalars == m && moments?.second.scalars == v)
    }

    @Test func parallelMapEqualsMapInOrder() {
        for count in [0, 1, 7, 1000] {
            let squares = parallelMap(count, costPerItem: 1 << 15) { $0 * $0 }
            #expect(squares == (0..<count).map { $0 * $0 }, "count \(count)")
        }
    }
}
