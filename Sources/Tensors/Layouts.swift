import Kernels

extension Tensor {
    /// The same values stored in `layout`; differentiable. Returns `self` when already there.
    public func converted(to target: Layout) -> Tensor {
        if target == layout || count == 0 { return self }
        let (n, c, s, _) = channelView
        let out = Tensor(uninitializedShape: shape, layout: target)
        if target == .blocked {
            Reorder.toBlocked(buffer, out.buffer, batch: n, channels: c, spatial: s)
        } else {
            Reorder.toPlain(buffer, out.buffer, batch: n, channels: c, spatial: s)
        }
        let source = layout
        return out.recording([self]) { g, _ in [g.converted(to: source)] }
    }

    /// The layout convolutions prefer for this shape: blocked when the channels allow it.
    public var preferredLayout: Layout { Tensor.canBlock(shape) ? .blocked : .plain }

    /// The tensor in the layout convolutions prefer for its shape.
    public func inPreferredLayout() -> Tensor { converted(to: preferredLayout) }
}
