import Kernels

/// How a tensor's scalars are ordered in memory.
public enum Layout: Sendable, Equatable {
    /// Row-major in the logical shape (NCHW for images), as PyTorch stores a contiguous tensor.
    case plain
    /// oneDNN's `nChw16c` (AVX-512) or `nChw8c` (AVX2), as `channelBlock` says: 4-D only, channels a
    /// multiple of the block, stored `[N, C/block, H, W, block]`. oneDNN's fast convolution kernels
    /// want it (docs/DESIGN.md, "Tensors and layouts"), so activations stay in it between ops.
    case blocked
}

/// Channels per block in the `.blocked` layout: 16 on AVX-512 machines, 8 on AVX2 ones (`Reorder.block`).
public let channelBlock = Reorder.block

/// A float32 tensor with a PyTorch logical shape, value semantics and an optional autodiff node.
///
/// Tensors are immutable: every op returns a new tensor. The storage is shared between copies and never written
/// after the op that made it returns, except over a tensor that alone holds its storage and is given up: by an
/// optimizer step (copy on write: `sgdStep`, `adamStep`) or an inference pass's batch norm (`batchNorm(mean:...)`).
public struct Tensor: @unchecked Sendable {
    /// The logical shape, as in PyTorch (NCHW for images, `[out, in]` for linear weights).
    public let shape: [Int]
    /// The order of the scalars in `buffer`.
    public let layout: Layout
    /// The storage; `shape.product` scalars in `layout` order. Visible to this package's targets (the tests of
    /// kernels use it) but not to a program that imports the library: it sees values, not memory.
    package internal(set) var buffer: FloatBuffer
    /// The autodiff node, present when the tensor depends on one that requires gradients.
    let node: GraphNode?

    init(shape: [Int], layout: Layout, buffer: FloatBuffer, node: GraphNode? = nil) {
        self.shape = shape
        self.layout = layout
        self.buffer = buffer
        self.node = node
    }

    /// A tensor of the given shape and layout with unspecified contents, for kernels to fill.
    public init(uninitializedShape shape: [Int], layout: Layout = .plain) {
        self.init(uninitializedShape: shape, layout: layout, buffer: FloatBuffer(capacity: shape.reduce(1, *)))
    }

    /// A tensor of `shape` and `layout` over `buffer` (of the shape's scalar count), after checking both.
    init(uninitializedShape shape: [Int], layout: Layout, buffer: FloatBuffer) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in shape \(shape)")
        precondition(layout == .plain || Tensor.canBlock(shape),
                     "layout .blocked needs a 4-D shape with channels a multiple of \(channelBlock), got \(shape)")
        self.init(shape: shape, layout: layout, buffer: buffer)
    }

    /// A plain tensor holding `scalars` in row-major order.
    public init(shape: [Int], scalars: [Float]) {
        let count = shape.reduce(1, *)
        precondition(scalars.count == count, "shape \(shape) holds \(count) scalars, got \(scalars.count)")
        self.init(uninitializedShape: shape, layout: .plain, buffer: FloatBuffer(scalars))
    }

    /// A rank-0 tensor.
    public init(_ scalar: Float) { self.init(shape: [], scalars: [scalar]) }

    /// A tensor of the given shape with every scalar equal to `value`.
    public init(repeating value: Float, shape: [Int], layout: Layout = .plain) {
        self.init(uninitializedShape: shape, layout: layout, buffer: FloatBuffer(repeating: value, capacity: shape.reduce(1, *)))
    }

    /// A plain tensor of zeros.
    public static func zeros(_ shape: [Int]) -> Tensor { Tensor(repeating: 0, shape: shape) }
    /// A plain tensor of ones.
    public static func ones(_ shape: [Int]) -> Tensor { Tensor(repeating: 1, shape: shape) }

    /// The number of scalars.
    public var count: Int { shape.reduce(1, *) }
    /// The number of dimensions.
    public var rank: Int { shape.count }

    /// The scalars in logical row-major order, whatever the layout.
    public var scalars: [Float] {
        let plain = layout == .plain ? self : converted(to: .plain)
        return plain.buffer.scalars(count: count)
    }

    /// The value of a one-element tensor.
    public var item: Float {
        precondition(count == 1, "item needs a one-element tensor, got shape \(shape)")
        return buffer.scalars(count: 1)[0]
    }

    /// Whether `other` is this tensor's storage, not a copy of it: one op's output seen twice (a traced forward pass
    /// asks which layers read the same tensor), as `===` on PyTorch's `data_ptr()`.
    public func sharesStorage(with other: Tensor) -> Bool { buffer === other.buffer }

    /// Whether this tensor alone holds its storage, so that an op may write over it: an optimizer step (copy on
    /// write), an inference pass's batch norm on the convolution output it consumes.
    mutating func holdsStorageAlone() -> Bool { isKnownUniquelyReferenced(&buffer) }

    /// Whether a shape can be stored in the `.blocked` layout.
    public static func canBlock(_ shape: [Int]) -> Bool {
        shape.count == 4 && shape[1] > 0 && shape[1] % channelBlock == 0
    }

    /// For 4-D tensors: `(batch, channels, spatial = H*W, inner)` where `inner` is the lane count of
    /// the layout (1 plain, `channelBlock` blocked); storage order is `[batch, channels/inner, spatial, inner]`.
    public var channelView: (batch: Int, channels: Int, spatial: Int, inner: Int) {
        precondition(rank == 4, "a channel view needs a 4-D tensor, got shape \(shape)")
        return (shape[0], shape[1], shape[2] * shape[3], layout == .blocked ? channelBlock : 1)
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let s = scalars
        let shown = s.prefix(8).map { "\($0)" }.joined(separator: ", ")
        return "Tensor(shape: \(shape), layout: \(layout), [\(shown)\(s.count > 8 ? ", ..." : "")])"
    }
}
