/// The geometry of an activation as channel kernels see it: storage order `[batch, channels/inner,
/// spatial, inner]`, where `inner` is 1 for plain NCHW (or `[N, C]`, with `spatial` 1) and 16 for
/// oneDNN's nChw16c.
public struct ChannelShape: Sendable, Equatable {
    public var batch: Int
    public var channels: Int
    public var spatial: Int
    public var inner: Int

    public init(batch: Int, channels: Int, spatial: Int, inner: Int) {
        precondition(inner == 1 || inner == 16, "inner must be 1 or 16, got \(inner)")
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

/// Loads 16 floats (any alignment).
@inline(__always) @usableFromInline
func load16(_ p: UnsafePointer<Float>) -> SIMD16<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
}

@inline(__always) @usableFromInline
func load16(_ p: UnsafeMutablePointer<Float>) -> SIMD16<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
}

/// Stores 16 floats (any alignment).
@inline(__always) @usableFromInline
func store16(_ v: SIMD16<Float>, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD16<Float>.self)
}
