import Kernels

/// NumPy/PyTorch broadcasting of two shapes, aligned at the right.
public func broadcastShape(_ a: [Int], _ b: [Int]) -> [Int] {
    let rank = max(a.count, b.count)
    let pa = Array(repeating: 1, count: rank - a.count) + a
    let pb = Array(repeating: 1, count: rank - b.count) + b
    return zip(pa, pb).map { x, y in
        precondition(x == y || x == 1 || y == 1, "shapes \(a) and \(b) cannot be broadcast together")
        return max(x, y)
    }
}

/// Strides (in scalars) of a plain tensor of shape `shape` read as a tensor of `target` shape: zero on
/// broadcast dimensions.
func broadcastStrides(_ shape: [Int], to target: [Int]) -> [Int] {
    let padded = Array(repeating: 1, count: target.count - shape.count) + shape
    var strides = Array(repeating: 0, count: target.count)
    var step = 1
    for d in (0..<target.count).reversed() {
        strides[d] = padded[d] == 1 && target[d] != 1 ? 0 : step
        step *= padded[d]
    }
    return strides
}

extension Tensor {
    /// Whether `shape` (`[C,1,1]` or `[1,C,1,1]`) broadcasts per channel against the 4-D `other`.
    static func isChannelVector(_ shape: [Int], for other: [Int]) -> Bool {
        other.count == 4 && (shape == [other[1], 1, 1] || shape == [1, other[1], 1, 1])
    }

    /// How channel kernels see this tensor against an operand of shape `vector` holding one value per
    /// channel: `[C,1,1]` or `[1,C,1,1]` against 4-D NCHW (either layout), or `[D0,1,...,1]` against a
    /// plain `[D0,...]` (per-output-channel weight scales), read as one sample of `D0` channels. Nil otherwise.
    func channelGeometry(forVector vector: [Int]) -> ChannelShape? {
        if Tensor.isChannelVector(vector, for: shape) { return channelShape }
        if layout == .plain && rank >= 2 && shape[0] > 0 && vector.count == rank && vector[0] == shape[0]
            && vector.dropFirst().allSatisfy({ $0 == 1 }) {
            return ChannelShape(batch: 1, channels: shape[0], spatial: count / shape[0], inner: 1)
        }
        return nil
    }

    /// Per-channel sums over batch and space for `geometry` (from `channelGeometry`), in double.
    func channelSums(_ geometry: ChannelShape) -> [Float] {
        let perSample = BatchNormKernels.sums(buffer, geometry), c = geometry.channels
        var sums = [Double](repeating: 0, count: c)
        for n in 0..<geometry.batch {
            for k in 0..<c { sums[k] += Double(perSample[n * c + k]) }
        }
        return sums.map { Float($0) }
    }

    /// This tensor's values broadcast to `target` (plain layout unless no change is needed).
    public func broadcast(to target: [Int]) -> Tensor {
        if shape == target { return self }
        let full = broadcastShape(shape, target)
        precondition(full == target, "shape \(shape) cannot be broadcast to \(target)")
        let original = shape
        let out = Tensor(uninitializedShape: target)
        if let s = out.channelGeometry(forVector: shape) {
            // Per-channel values: `out` is read as the first operand only to be overwritten.
            Loops.channelZip(out.buffer, buffer, out.buffer, batch: s.batch, channels: s.channels, spatial: s.spatial,
                             inner: s.inner, SecondOperand())
            return out.recording([self]) { g, _ in [g.sum(toShape: original)] }
        }
        let src = converted(to: .plain)
        BroadcastKernels.expand(src.buffer, out.buffer, shape: target, strides: broadcastStrides(shape, to: target))
        return out.recording([self]) { g, _ in [g.sum(toShape: original)] }
    }

    /// Sums over the dimensions that broadcasting `target` to this shape would expand (the gradient of
    /// `broadcast(to:)`); differentiable.
    public func sum(toShape target: [Int]) -> Tensor {
        if shape == target { return self }
        if target.reduce(1, *) == 1 { return sum().reshaped(to: target) }
        let original = shape
        let plainUnlessChannels = Tensor.isChannelVector(target, for: shape) ? self : converted(to: .plain)
        if let s = plainUnlessChannels.channelGeometry(forVector: target) {
            return Tensor(shape: target, scalars: plainUnlessChannels.channelSums(s)).recording([self]) { g, _ in
                [g.broadcast(to: original)]
            }
        }
        let src = converted(to: .plain)
        let out = Tensor.zeros(target)
        BroadcastKernels.sumInto(src.buffer, out.buffer, shape: shape, strides: broadcastStrides(target, to: shape))
        return out.recording([self]) { g, _ in [g.broadcast(to: original)] }
    }
}
