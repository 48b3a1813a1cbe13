/// The geometry of an activation as channel kernels see it: storage order `[batch, channels/inner,
/// spatial, inner]`, where `inner` is 1 for plain NCHW (or `[N, C]`, with `spatial` 1) and the channel
/// block (8 or 16, `Reorder.block`) for oneDNN's nChw8c / nChw16c.
public struct ChannelShape: Sendable, Equatable {
    public var batch: Int
    public var channels: Int
    public var spatial: Int
    public var inner: Int

    public init(batch: Int, channels: Int, spatial: Int, inner: Int) {
        precondition(inner == 1 || inner == 8 || inner == 16, "inner must be 1, 8 or 16, got \(inner)")
        precondition(channels % inner == 0, "channels \(channels) not a multiple of inner \(inner)")
        self.batch = batch
        self.channels = channels
        self.spatial = spatial
        self.inner = inner
    }

    /// Channel blocks: `channels / inner`.
    public var blocks: Int { channels / inner }
    /// Scalars per (sample, block) plane.
    public var planeSize: Int { spatial * inner }
    /// All scalars.
    public var count: Int { batch * channels * spatial }
}

/// The vector of one channel block's lanes in the blocked layouts: `SIMD8<Float>` (nChw8c) or
/// `SIMD16<Float>` (nChw16c). Kernels are written once, generic over it, and specialized for both;
/// arithmetic comes from `SIMD`, while compare-and-blend steps are concrete here, because the generic
/// `SIMD` versions run lane by lane (~25x slower).
@usableFromInline
protocol ChannelLanes: SIMD where Scalar == Float {
    /// Lane indices for argmax tracking (`SIMD8<Int32>` / `SIMD16<Int32>`).
    associatedtype Indices
    /// `v > m ? v : m` per lane (strict: the earlier value wins ties).
    static func maxBlend(_ m: Self, _ v: Self) -> Self
    /// Where `v > best`: `best = v` and `at = k`.
    static func argmaxStep(_ best: inout Self, _ at: inout Indices, _ v: Self, _ k: Int32)
    /// `g` in the lanes where `at == k`, zero elsewhere.
    static func routed(_ g: Self, _ at: Indices, _ k: Int32) -> Self
    /// Every lane -1.
    static var noIndices: Indices { get }
    /// `g` in the lanes where `y > 0`, zero elsewhere (NaN `y` too): the gradient through a ReLU with output `y`.
    static func passingPositive(_ g: Self, _ y: Self) -> Self
    /// `min(max(v, 0), 6)` per lane, NaN kept (`Rectifier.relu6`).
    static func relu6(_ v: Self) -> Self
    /// `g` in the lanes where `0 < y < 6`, zero elsewhere (NaN `y` too): the gradient through a ReLU6 with output `y`.
    static func passingInsideSix(_ g: Self, _ y: Self) -> Self
}

extension SIMD8: ChannelLanes where Scalar == Float {
    @inline(__always) @usableFromInline
    static func maxBlend(_ m: Self, _ v: Self) -> Self { m.replacing(with: v, where: v .> m) }

    @inline(__always) @usableFromInline
    static func argmaxStep(_ best: inout Self, _ at: inout SIMD8<Int32>, _ v: Self, _ k: Int32) {
        let better = v .> best
        best = best.replacing(with: v, where: better)
        at = at.replacing(with: k, where: better)
    }

    @inline(__always) @usableFromInline
    static func routed(_ g: Self, _ at: SIMD8<Int32>, _ k: Int32) -> Self {
        Self().replacing(with: g, where: at .== SIMD8<Int32>(repeating: k))
    }

    @inline(__always) @usableFromInline
    static var noIndices: SIMD8<Int32> { SIMD8<Int32>(repeating: -1) }

    @inline(__always) @usableFromInline
    static func passingPositive(_ g: Self, _ y: Self) -> Self { Self().replacing(with: g, where: y .> Self()) }

    // Vector-with-vector blends only: the scalar `replacing(with:where:)` forms do not vectorize here. Written per
    // lane type, as the other requirements: a default in a protocol extension ran MobileNetV2's forward 5x slower.
    @inline(__always) @usableFromInline
    static func relu6(_ v: Self) -> Self {
        let six = Self(repeating: 6), y = v.replacing(with: Self(), where: v .< Self())
        return y.replacing(with: six, where: y .> six)
    }

    @inline(__always) @usableFromInline
    static func passingInsideSix(_ g: Self, _ y: Self) -> Self {
        passingPositive(g, y).replacing(with: Self(), where: y .>= Self(repeating: 6))
    }
}

extension SIMD16: ChannelLanes where Scalar == Float {
    @inline(__always) @usableFromInline
    static func maxBlend(_ m: Self, _ v: Self) -> Self { m.replacing(with: v, where: v .> m) }

    @inline(__always) @usableFromInline
    static func argmaxStep(_ best: inout Self, _ at: inout SIMD16<Int32>, _ v: Self, _ k: Int32) {
        let better = v .> best
        best = best.replacing(with: v, where: better)
        at = at.replacing(with: k, where: better)
    }

    @inline(__always) @usableFromInline
    static func routed(_ g: Self, _ at: SIMD16<Int32>, _ k: Int32) -> Self {
        Self().replacing(with: g, where: at .== SIMD16<Int32>(repeating: k))
    }

    @inline(__always) @usableFromInline
    static var noIndices: SIMD16<Int32> { SIMD16<Int32>(repeating: -1) }

    @inline(__always) @usableFromInline
    static func passingPositive(_ g: Self, _ y: Self) -> Self { Self().replacing(with: g, where: y .> Self()) }

    // Vector-with-vector blends only: the scalar `replacing(with:where:)` forms do not vectorize here. Written per
    // lane type, as the other requirements: a default in a protocol extension ran MobileNetV2's forward 5x slower.
    @inline(__always) @usableFromInline
    static func relu6(_ v: Self) -> Self {
        let six = Self(repeating: 6), y = v.replacing(with: Self(), where: v .< Self())
        return y.replacing(with: six, where: y .> six)
    }

    @inline(__always) @usableFromInline
    static func passingInsideSix(_ g: Self, _ y: Self) -> Self {
        passingPositive(g, y).replacing(with: Self(), where: y .>= Self(repeating: 6))
    }
}

/// Loads a vector of floats (any alignment).
@inline(__always) @usableFromInline
func load<V: SIMD>(_ p: UnsafePointer<Float>, as _: V.Type = V.self) -> V where V.Scalar == Float {
    UnsafeRawPointer(p).loadUnaligned(as: V.self)
}

@inline(__always) @usableFromInline
func load<V: SIMD>(_ p: UnsafeMutablePointer<Float>, as _: V.Type = V.self) -> V where V.Scalar == Float {
    UnsafeRawPointer(p).loadUnaligned(as: V.self)
}

/// Stores a vector of floats (any alignment).
@inline(__always) @usableFromInline
func store<V: SIMD>(_ v: V, _ p: UnsafeMutablePointer<Float>) where V.Scalar == Float {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self)
}

/// Loads 16 floats (any alignment).
@inline(__always) @usableFromInline
func load16(_ p: UnsafePointer<Float>) -> SIMD16<Float> { load(p) }

@inline(__always) @usableFromInline
func load16(_ p: UnsafeMutablePointer<Float>) -> SIMD16<Float> { load(p) }

/// Stores 16 floats (any alignment).
@inline(__always) @usableFromInline
func store16(_ v: SIMD16<Float>, _ p: UnsafeMutablePointer<Float>) { store(v, p) }
