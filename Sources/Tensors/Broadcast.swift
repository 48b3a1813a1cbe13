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

/// Calls `body(outIndex, offsets)` for every element of a row-major `shape`, with the matching
/// offset into each of the operands described by `strides` (naive: for the general case only).
func forEachBroadcastIndex(_ shape: [Int], _ strides: [[Int]], _ body: (Int, [Int]) -> Void) {
    let count = shape.reduce(1, *)
    guard count > 0 else { return }
    var index = Array(repeating: 0, count: shape.count)
    var offsets = Array(repeating: 0, count: strides.count)
    for i in 0..<count {
        body(i, offsets)
        var d = shape.count - 1
        while d >= 0 {
            index[d] += 1
            for k in strides.indices { offsets[k] += strides[k][d] }
            if index[d] < shape[d] { break }
            for k in strides.indices { offsets[k] -= strides[k][d] * shape[d] }
            index[d] = 0
            d -= 1
        }
    }
}

extension Tensor {
    /// Whether `shape` (`[C,1,1]` or `[1,C,1,1]`) broadcasts per channel against the 4-D `other`.
    static func isChannelVector(_ shape: [Int], for other: [Int]) -> Bool {
        other.count == 4 && (shape == [other[1], 1, 1] || shape == [1, other[1], 1, 1])
    }

    /// This tensor's values broadcast to `target` (plain layout unless no change is needed).
    public func broadcast(to target: [Int]) -> Tensor {
        if shape == target { return self }
        let full = broadcastShape(shape, target)
        precondition(full == target, "shape \(shape) cannot be broadcast to \(target)")
        let src = converted(to: .plain)
        let out = Tensor(uninitializedShape: target)
        withExtendedLifetime((src, out)) {
            let o = out.buffer.pointer, s = src.buffer.pointer
            forEachBroadcastIndex(target, [broadcastStrides(shape, to: target)]) { i, off in o[i] = s[off[0]] }
        }
        let original = shape
        return out.recording([self]) { g, _ in [g.sum(toShape: original)] }
    }

    /// Sums over the dimensions that broadcasting `target` to this shape would expand (the gradient of
    /// `broadcast(to:)`); differentiable.
    public func sum(toShape target: [Int]) -> Tensor {
        if shape == target { return self }
        if target.reduce(1, *) == 1 { return sum().reshaped(to: target) }
        if Tensor.isChannelVector(target, for: shape) {
            return channelSums().reshaped(to: target)
        }
        let src = converted(to: .plain)
        let out = Tensor.zeros(target)
        withExtendedLifetime((src, out)) {
            let o = out.buffer.pointer, s = src.buffer.pointer
            forEachBroadcastIndex(shape, [broadcastStrides(target, to: shape)]) { i, off in o[off[0]] += s[i] }
        }
        let original = shape
        return out.recording([self]) { g, _ in [g.broadcast(to: original)] }
    }
}
