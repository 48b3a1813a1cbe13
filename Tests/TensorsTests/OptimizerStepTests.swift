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
            Tensor.sgdStep(parameter: &p, gradient: g, momentumBuffer: &buffer, learningRate: lr, momentum: momentum,
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
        var p = start, moments: [Tensor] = []
        var naiveP = start.scalars, m = [Float](repeating: 0, count: Self.count), v = m
        for (t, g) in gradients.enumerated() {
            Tensor.adamStep(parameter: &p, gradient: g, moments: &moments, learningRate: lr, beta1: b1, beta2: b2,
                            epsilon: eps, weightDecay: wd, step: t + 1)
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
        #expect(moments.map(\.scalars) == [m, v])
    }

    /// Adam's two steps after the first on tensors nothing else holds: the parameter and moments keep their storage.
    @Test func adamStepUpdatesInPlaceWhatNothingElseHolds() {
        let gradients = Self.problem(steps: 3).gradients
        var p = Self.problem(steps: 0).parameter, moments: [Tensor] = []
        Tensor.adamStep(parameter: &p, gradient: gradients[0], moments: &moments, learningRate: 0.01, beta1: 0.9,
                        beta2: 0.999, epsilon: 1e-8, weightDecay: 0, step: 1)
        let storage = ([p] + moments).map { ObjectIdentifier($0.buffer) }
        for t in 2...3 {
            Tensor.adamStep(parameter: &p, gradient: gradients[t - 1], moments: &moments, learningRate: 0.01, beta1: 0.9,
                            beta2: 0.999, epsilon: 1e-8, weightDecay: 0, step: t)
        }
        #expect(([p] + moments).map { ObjectIdentifier($0.buffer) } == storage)
    }

    /// Copy on write: a parameter, moment or momentum buffer that another value shares (a checkpoint being written)
    /// keeps its values through a step, which writes fresh storage instead.
    @Test func optimizerStepsLeaveSharedTensorsUnchanged() {
        let (start, gradients) = Self.problem(steps: 3)
        var p = start, moments: [Tensor] = []
        for t in 1...3 {
            let kept = [p] + moments, keptScalars = kept.map(\.scalars)
            Tensor.adamStep(parameter: &p, gradient: gradients[t - 1], moments: &moments, learningRate: 0.01, beta1: 0.9,
                            beta2: 0.999, epsilon: 1e-8, weightDecay: 0, step: t)
            #expect(kept.map(\.scalars) == keptScalars && p.scalars != keptScalars[0], "Adam step \(t)")
        }
        var q = start, buffer: Tensor?
        for g in gradients {
            let kept = [q] + [buffer].compactMap { $0 }, keptScalars = kept.map(\.scalars)
            Tensor.sgdStep(parameter: &q, gradient: g, momentumBuffer: &buffer, learningRate: 0.1, momentum: 0.9,
                           dampening: 0, weightDecay: 0, nesterov: false)
            #expect(kept.map(\.scalars) == keptScalars && q.scalars != keptScalars[0])
        }
    }

    @Test func parallelMapEqualsMapInOrder() {
        for count in [0, 1, 7, 1000] {
            let squares = parallelMap(count, costPerItem: 1 << 15) { $0 * $0 }
            #expect(squares == (0..<count).map { $0 * $0 }, "count \(count)")
        }
    }
}
