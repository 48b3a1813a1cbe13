import Kernels

/// The ReLU or ReLU6 a batch-norm pass can apply on its way out (`batchNorm(...activation:)`).
public typealias Rectifier = Kernels.Rectifier

extension Tensor {
    /// The geometry channel kernels see: a 4-D tensor in either layout, or a plain `[N, C]` (space 1).
    var channelShape: ChannelShape {
        if rank == 2 { return ChannelShape(batch: shape[0], channels: shape[1], spatial: 1, inner: 1) }
        let (n, c, s, inner) = channelView
        return ChannelShape(batch: n, channels: c, spatial: s, inner: inner)
    }

    /// Batch norm with given per-channel statistics (PyTorch's eval mode): `(x - mean) / sqrt(variance +
    /// epsilon) * weight + bias` for a 4-D `[N, C, H, W]` (either layout, kept) or 2-D `[N, C]` input.
    /// `mean` and `variance` are constants (no gradient); gradients flow to the input, weight and bias.
    /// With `residual` and `activation`: `activation(batchNorm(x) + residual)`, fused into one pass over memory.
    ///
    /// Outside gradient recording, an input that nothing else holds (a convolution's output passed straight in) is
    /// overwritten by the output, as PyTorch's in-place ReLU after a batch norm would be: an inference pass then
    /// holds one activation fewer at its peak. An input the caller still holds is never written.
    public consuming func batchNorm(mean: Tensor, variance: Tensor, weight: Tensor?, bias: Tensor?,
                                    epsilon: Float = 1e-5, adding residual: Tensor? = nil, activation: Rectifier? = nil) -> Tensor {
        var x = self
        let s = x.checkedBatchNormShape(weight: weight, bias: bias)
        precondition(mean.shape == [s.channels] && variance.shape == [s.channels],
                     "batchNorm: mean \(mean.shape) and variance \(variance.shape) must be [\(s.channels)]")
        let m = mean.scalars
        let invStd = variance.scalars.map { 1 / ($0 + epsilon).squareRoot() }
        let records = Tensor.records([x] + [weight, bias, residual].compactMap { $0 })
        let overwritten = !records && x.holdsStorageAlone() ? x.buffer : nil
        return x.normalized(s, mean: m, invStd: invStd, weight: weight, bias: bias, training: false,
                            residual: residual, activation: activation, into: overwritten)
    }

    /// Batch norm with the batch's own statistics (PyTorch's train mode): per channel over `(N, H, W)`
    /// (or `N` for 2-D `[N, C]` input), biased variance. The output is differentiable through the
    /// statistics; `mean` and `variance` (biased) come without graph, for running-statistics updates.
    /// With `residual` and `activation`, the output is `activation(batchNorm(x) + residual)`, fused into one pass.
    public func batchNormTraining(weight: Tensor?, bias: Tensor?, epsilon: Float = 1e-5, adding residual: Tensor? = nil,
                                  activation: Rectifier? = nil) -> (output: Tensor, mean: Tensor, variance: Tensor) {
        let s = checkedBatchNormShape(weight: weight, bias: bias)
        let (m, v) = channelStatistics(s)
        precondition(s.batch * s.spatial > 1, "batchNormTraining: expected more than 1 value per channel, shape \(shape)")
        let invStd = v.map { 1 / (Float($0) + epsilon).squareRoot() }
        let mean = m.map { Float($0) }
        let out = normalized(s, mean: mean, invStd: invStd, weight: weight, bias: bias, training: true,
                             residual: residual, activation: activation)
        return (out, Tensor(shape: [s.channels], scalars: mean), Tensor(shape: [s.channels], scalars: v.map { Float($0) }))
    }

    /// Per-channel mean and standard deviation over `(N, H, W)` of a 4-D tensor (either layout),
    /// shapes `[C]`, differentiable (PyTorch's `torch.std_mean(x, dim=(0, 2, 3), unbiased:)`).
    public func channelMoments(unbiased: Bool = true) -> (mean: Tensor, std: Tensor) {
        precondition(rank == 4, "channelMoments needs a 4-D tensor, got shape \(shape)")
        let s = channelShape
        let (m, v) = channelStatistics(s)
        return moments(s, mean: m, biasedVariance: v, perSample: false, unbiased: unbiased)
    }

    /// Per-(sample, channel) mean and standard deviation over `(H, W)` of a 4-D tensor (either layout),
    /// shapes `[N, C]`, differentiable (PyTorch's `torch.std_mean(x, dim=(2, 3), unbiased:)`).
    public func spatialMoments(unbiased: Bool = true) -> (mean: Tensor, std: Tensor) {
        precondition(rank == 4, "spatialMoments needs a 4-D tensor, got shape \(shape)")
        let s = channelShape
        let k = BatchNormKernels.firstElements(buffer, s, perSample: true)
        let (sums, squares) = BatchNormKernels.shiftedMoments(buffer, s, shift: k, perSample: true)
        let count = Double(s.spatial)
        var m = [Double](repeating: 0, count: k.count), v = m
        for i in k.indices {
            let d = Double(sums[i]) / count
            m[i] = Double(k[i]) + d
            v[i] = Swift.max(Double(squares[i]) / count - d * d, 0)
        }
        return moments(s, mean: m, biasedVariance: v, perSample: true, unbiased: unbiased)
    }

    // MARK: - Shared pieces

    private func checkedBatchNormShape(weight: Tensor?, bias: Tensor?) -> ChannelShape {
        precondition(rank == 4 || rank == 2, "batch norm needs a 4-D or 2-D input, got shape \(shape)")
        let s = channelShape
        for (name, t) in [("weight", weight), ("bias", bias)] {
            if let t { precondition(t.shape == [s.channels], "batch norm \(name) must be [\(s.channels)], got \(t.shape)") }
        }
        return s
    }

    /// Per-channel mean and biased variance over (N, space), one pass shifted by a sample value.
    private func channelStatistics(_ s: ChannelShape) -> (mean: [Double], variance: [Double]) {
        let k = BatchNormKernels.firstElements(buffer, s, perSample: false)
        let (sums, squares) = BatchNormKernels.shiftedMoments(buffer, s, shift: k, perSample: false)
        let (sum, square) = (sumOverBatch(sums, s), sumOverBatch(squares, s))
        let count = Double(s.batch * s.spatial)
        var m = [Double](repeating: 0, count: s.channels), v = m
        for c in 0..<s.channels {
            let d = sum[c] / count
            m[c] = Double(k[c]) + d
            v[c] = Swift.max(square[c] / count - d * d, 0)
        }
        return (m, v)
    }

    /// `(x - mean) * invStd * weight + bias (+ residual)` (through `activation` when given), recording the eval-mode
    /// (statistics constant) or the train-mode (statistics of this batch) pullback.
    private func normalized(_ s: ChannelShape, mean: [Float], invStd: [Float], weight: Tensor?, bias: Tensor?,
                            training: Bool, residual: Tensor?, activation: Rectifier?, into storage: FloatBuffer? = nil) -> Tensor {
        let c = s.channels
        let w = weight?.scalars ?? [Float](repeating: 1, count: c)
        let b = bias?.scalars ?? [Float](repeating: 0, count: c)
        let scale = (0..<c).map { w[$0] * invStd[$0] }
        let shift = (0..<c).map { b[$0] - mean[$0] * scale[$0] }
        if let residual {
            precondition(residual.shape == shape, "batch norm: residual \(residual.shape) must match the input \(shape)")
        }
        let out = Tensor(uninitializedShape: shape, layout: layout, buffer: storage ?? FloatBuffer(capacity: count))
        BatchNormKernels.affine(buffer, residual?.converted(to: layout).buffer, out.buffer, s, a: scale,
                                b: residual.map { _ in [Float](repeating: 1, count: c) }, d: shift, perSample: false,
                                rectifier: activation)

        let x = self
        var inputs = [self]
        let weightIndex = weight.map { inputs.append($0); return inputs.count - 1 }
        let biasIndex = bias.map { inputs.append($0); return inputs.count - 1 }
        let residualIndex = residual.map { inputs.append($0); return inputs.count - 1 }
        return out.recording(inputs) { g, need in
            let incoming = g.converted(to: x.layout)
            // With an activation, g is the gradient through it (incoming where it passes at out), masked in the pass
            // of the sums.
            let g = activation != nil ? Tensor(uninitializedShape: x.shape, layout: x.layout) : incoming
            var grads = [Tensor?](repeating: nil, count: need.count)
            let wantWeight = weightIndex.map { need[$0] } ?? false, wantBias = biasIndex.map { need[$0] } ?? false
            // Training needs the per-channel sums for the input gradient too.
            var sumG: [Double] = [], sumGX: [Double] = []
            if training || wantWeight || wantBias {
                let (sums, dots) = BatchNormKernels.dotSums(incoming.buffer, x.buffer, s, center: mean,
                                                            rectified: activation.map { (out.buffer, g.buffer, $0) })
                sumG = sumOverBatch(sums, s)
                sumGX = sumOverBatch(dots, s)
                if let i = weightIndex, wantWeight {
                    grads[i] = Tensor(shape: [c], scalars: (0..<c).map { Float(sumGX[$0]) * invStd[$0] })
                }
                if let i = biasIndex, wantBias { grads[i] = Tensor(shape: [c], scalars: sumG.map { Float($0) }) }
            } else if let activation {
                switch activation {
                case .relu: Loops.zip(incoming.buffer, out.buffer, g.buffer, x.count, ReluGradient())
                case .relu6: Loops.zip(incoming.buffer, out.buffer, g.buffer, x.count, PassBetween(lower: 0, upper: 6, inclusive: false))
                }
            }
            if let i = residualIndex, need[i] { grads[i] = g }
            if need[0] {
                let dx = Tensor(uninitializedShape: x.shape, layout: x.layout)
                if training {
                    // dx = w invStd (g - mean(g) - (x - mean) invStd² mean(g (x - mean))), PyTorch's formula.
                    let count = Float(s.batch * s.spatial)
                    let bq = (0..<c).map { -scale[$0] * invStd[$0] * invStd[$0] * Float(sumGX[$0]) / count }
                    let d = (0..<c).map { -scale[$0] * Float(sumG[$0]) / count - bq[$0] * mean[$0] }
                    BatchNormKernels.affine(g.buffer, x.buffer, dx.buffer, s, a: scale, b: bq, d: d, perSample: false)
                } else {
                    let zeros = [Float](repeating: 0, count: c)
                    BatchNormKernels.affine(g.buffer, nil, dx.buffer, s, a: scale, b: nil, d: zeros, perSample: false)
                }
                grads[0] = dx
            }
            return grads
        }
    }

    /// Mean and standard deviation tensors from per-channel (or per-sample-channel) statistics, sharing
    /// one graph node so that the backward pass reads the input once: `[2, count]` stats, then slices.
    private func moments(_ s: ChannelShape, mean: [Double], biasedVariance: [Double], perSample: Bool,
                         unbiased: Bool) -> (mean: Tensor, std: Tensor) {
        let count = perSample ? s.spatial : s.batch * s.spatial
        let denominator = Float(unbiased ? count - 1 : count)
        let m = mean.map { Float($0) }
        let std = biasedVariance.map { Float(($0 * Double(count) / Double(denominator)).squareRoot()) }
        let outShape = perSample ? [s.batch, s.channels] : [s.channels]
        let x = self
        let stats = Tensor(shape: [2] + outShape, scalars: m + std).recording([self]) { g, _ in
            let gs = g.scalars, k = m.count
            // d mean / dx = 1 / count; d std / dx = (x - mean) / (denominator std).
            // A constant channel (std 0, e.g. after an all-zero weight channel) gets 0, not PyTorch's NaN.
            let a = (0..<k).map { gs[k + $0] == 0 || std[$0] == 0 ? 0 : gs[k + $0] / (denominator * std[$0]) }
            let d = (0..<k).map { gs[$0] / Float(count) - a[$0] * m[$0] }
            let dx = Tensor(uninitializedShape: x.shape, layout: x.layout)
            BatchNormKernels.affine(x.buffer, nil, dx.buffer, s, a: a, b: nil, d: d, perSample: perSample)
            return [dx]
        }
        return (stats.slice(batch: 0..<1).reshaped(to: outShape), stats.slice(batch: 1..<2).reshaped(to: outShape))
    }
}

/// Sums per-(sample, channel) values over the batch, in double precision.
private func sumOverBatch(_ values: [Float], _ s: ChannelShape) -> [Double] {
    var out = [Double](repeating: 0, count: s.channels)
    for n in 0..<s.batch {
        for c in 0..<s.channels { out[c] += Double(values[n * s.channels + c]) }
    }
    return out
}
