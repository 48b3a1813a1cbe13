import Kernels
#if canImport(Glibc)
import Glibc
#endif

extension Tensor {
    /// `f(self, other)` with broadcasting; fast paths for equal shapes, scalars and per-channel vectors
    /// (in either layout), a strided loop otherwise.
    @inline(__always)
    func binary(_ other: Tensor, _ f: (Float, Float) -> Float) -> Tensor {
        let a = self, b = other
        if a.shape == b.shape {
            let bb = b.converted(to: a.layout)
            let out = Tensor(uninitializedShape: a.shape, layout: a.layout)
            Loops.zip(a.buffer, bb.buffer, out.buffer, a.count, f)
            return out
        }
        let shape = broadcastShape(a.shape, b.shape)
        if b.count == 1 && shape == a.shape {
            let s = b.item
            let out = Tensor(uninitializedShape: shape, layout: a.layout)
            Loops.map(a.buffer, out.buffer, a.count) { f($0, s) }
            return out
        }
        if a.count == 1 && shape == b.shape {
            let s = a.item
            let out = Tensor(uninitializedShape: shape, layout: b.layout)
            Loops.map(b.buffer, out.buffer, b.count) { f(s, $0) }
            return out
        }
        if Tensor.isChannelVector(b.shape, for: a.shape) {
            let v = b.buffer, (n, c, sp, inner) = a.channelView
            let out = Tensor(uninitializedShape: shape, layout: a.layout)
            Loops.channelMap(a.buffer, out.buffer, batch: n, channels: c, spatial: sp, inner: inner) { x, ch in
                f(x, v.pointer[ch])
            }
            return out
        }
        if Tensor.isChannelVector(a.shape, for: b.shape) {
            let v = a.buffer, (n, c, sp, inner) = b.channelView
            let out = Tensor(uninitializedShape: shape, layout: b.layout)
            Loops.channelMap(b.buffer, out.buffer, batch: n, channels: c, spatial: sp, inner: inner) { x, ch in
                f(v.pointer[ch], x)
            }
            return out
        }
        let pa = a.converted(to: .plain), pb = b.converted(to: .plain)
        let out = Tensor(uninitializedShape: shape)
        withExtendedLifetime((pa, pb, out)) {
            let o = out.buffer.pointer, x = pa.buffer.pointer, y = pb.buffer.pointer
            forEachBroadcastIndex(shape, [broadcastStrides(a.shape, to: shape), broadcastStrides(b.shape, to: shape)]) {
                i, off in o[i] = f(x[off[0]], y[off[1]])
            }
        }
        return out
    }

    /// `f(self)` elementwise, layout kept, with derivative `df(x, y)` of the output `y = f(x)`.
    @inline(__always)
    func unary(_ f: (Float) -> Float, derivative df: @escaping (Float, Float) -> Float) -> Tensor {
        let out = Tensor(uninitializedShape: shape, layout: layout)
        Loops.map(buffer, out.buffer, count, f)
        let x = self
        return out.recording([self]) { g, _ in
            let gg = g.converted(to: x.layout)
            let r = Tensor(uninitializedShape: x.shape, layout: x.layout)
            Loops.zip3(gg.buffer, x.buffer, out.buffer, r.buffer, x.count) { g, x, y in g * df(x, y) }
            return [r]
        }
    }

    public static func + (a: Tensor, b: Tensor) -> Tensor {
        a.binary(b, +).recording([a, b]) { g, need in
            [need[0] ? g.sum(toShape: a.shape) : nil, need[1] ? g.sum(toShape: b.shape) : nil]
        }
    }

    public static func - (a: Tensor, b: Tensor) -> Tensor {
        a.binary(b, -).recording([a, b]) { g, need in
            [need[0] ? g.sum(toShape: a.shape) : nil, need[1] ? (-g).sum(toShape: b.shape) : nil]
        }
    }

    public static func * (a: Tensor, b: Tensor) -> Tensor {
        a.binary(b, *).recording([a, b]) { g, need in
            [need[0] ? (g * b).sum(toShape: a.shape) : nil, need[1] ? (g * a).sum(toShape: b.shape) : nil]
        }
    }

    public static func / (a: Tensor, b: Tensor) -> Tensor {
        a.binary(b, /).recording([a, b]) { g, need in
            [need[0] ? (g / b).sum(toShape: a.shape) : nil,
             need[1] ? (-(g * a) / (b * b)).sum(toShape: b.shape) : nil]
        }
    }

    public static prefix func - (a: Tensor) -> Tensor { a.unary({ -$0 }, derivative: { _, _ in -1 }) }

    public static func + (a: Tensor, s: Float) -> Tensor { a.unary({ $0 + s }, derivative: { _, _ in 1 }) }
    public static func - (a: Tensor, s: Float) -> Tensor { a.unary({ $0 - s }, derivative: { _, _ in 1 }) }
    public static func * (a: Tensor, s: Float) -> Tensor { a.unary({ $0 * s }, derivative: { _, _ in s }) }
    public static func / (a: Tensor, s: Float) -> Tensor { a * (1 / s) }
    public static func + (s: Float, a: Tensor) -> Tensor { a + s }
    public static func - (s: Float, a: Tensor) -> Tensor { a.unary({ s - $0 }, derivative: { _, _ in -1 }) }
    public static func * (s: Float, a: Tensor) -> Tensor { a * s }
    public static func / (s: Float, a: Tensor) -> Tensor { a.unary({ s / $0 }, derivative: { _, y in -y * y / s }) }

    /// Elementwise `e^x`.
    public func exp() -> Tensor { unary({ expf($0) }, derivative: { _, y in y }) }
    /// Elementwise natural logarithm.
    public func log() -> Tensor { unary({ logf($0) }, derivative: { x, _ in 1 / x }) }
    /// Elementwise square root.
    public func sqrt() -> Tensor { unary({ $0.squareRoot() }, derivative: { _, y in 0.5 / y }) }
    /// Elementwise `x * x`.
    public func squared() -> Tensor { unary({ $0 * $0 }, derivative: { x, _ in 2 * x }) }
    /// Elementwise absolute value (gradient 0 at 0, as PyTorch's sign).
    public func abs() -> Tensor { unary({ Swift.abs($0) }, derivative: { x, _ in x > 0 ? 1 : (x < 0 ? -1 : 0) }) }
    /// Elementwise `x^p` for a scalar exponent (PyTorch's `pow`).
    public func pow(_ p: Float) -> Tensor {
        unary({ powf($0, p) }, derivative: { x, _ in p == 0 ? 0 : p * powf(x, p - 1) })
    }

    /// Elementwise `max(x, 0)`.
    public func relu() -> Tensor { unary({ $0 > 0 ? $0 : 0 }, derivative: { x, _ in x > 0 ? 1 : 0 }) }
    /// Elementwise `min(max(x, 0), 6)`.
    public func relu6() -> Tensor {
        unary({ Swift.min(Swift.max($0, 0), 6) }, derivative: { x, _ in x > 0 && x < 6 ? 1 : 0 })
    }
    /// Elementwise `x` for positive `x`, `slope * x` otherwise.
    public func leakyRelu(slope: Float = 0.01) -> Tensor {
        unary({ $0 > 0 ? $0 : slope * $0 }, derivative: { x, _ in x > 0 ? 1 : slope })
    }
    /// Elementwise hyperbolic tangent.
    public func tanh() -> Tensor { unary({ tanhf($0) }, derivative: { _, y in 1 - y * y }) }
    /// Elementwise logistic sigmoid.
    public func sigmoid() -> Tensor { unary({ 1 / (1 + expf(-$0)) }, derivative: { _, y in y * (1 - y) }) }

    /// Elementwise clamp to `[lower, upper]`; gradient 1 inside, 0 where clamped (PyTorch's).
    public func clamped(_ lower: Float, _ upper: Float) -> Tensor {
        unary({ Swift.min(Swift.max($0, lower), upper) }, derivative: { x, _ in x >= lower && x <= upper ? 1 : 0 })
    }

    /// Round half to even (PyTorch's `round`); gradient zero.
    public func rounded() -> Tensor { unary({ $0.rounded(.toNearestOrEven) }, derivative: { _, _ in 0 }) }
    /// Round half to even with a straight-through gradient of 1.
    public func roundedSTE() -> Tensor { unary({ $0.rounded(.toNearestOrEven) }, derivative: { _, _ in 1 }) }
    /// Floor; gradient zero.
    public func floored() -> Tensor { unary({ $0.rounded(.down) }, derivative: { _, _ in 0 }) }
    /// Floor with a straight-through gradient of 1.
    public func flooredSTE() -> Tensor { unary({ $0.rounded(.down) }, derivative: { _, _ in 1 }) }

    /// Elementwise `mask != 0 ? a : b` (PyTorch's `torch.where`); `mask` is a constant of the same shape.
    public static func select(_ mask: Tensor, _ a: Tensor, _ b: Tensor) -> Tensor {
        precondition(mask.shape == a.shape && a.shape == b.shape,
                     "select needs equal shapes, got mask \(mask.shape), \(a.shape), \(b.shape)")
        let m = mask.converted(to: a.layout), bb = b.converted(to: a.layout)
        let out = Tensor(uninitializedShape: a.shape, layout: a.layout)
        Loops.zip3(m.buffer, a.buffer, bb.buffer, out.buffer, a.count) { m, x, y in m != 0 ? x : y }
        return out.recording([a, b]) { g, need in
            let zero = Tensor(repeating: 0, shape: g.shape, layout: g.layout)
            return [need[0] ? select(mask, g, zero) : nil, need[1] ? select(mask, zero, g) : nil]
        }
    }
}
