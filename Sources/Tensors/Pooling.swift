import Kernels

extension Tensor {
    /// 2-D max pooling of a 4-D tensor (either layout, kept), PyTorch's `max_pool2d` (floor mode, padding
    /// never chosen); `stride` defaults to `kernelSize`. The gradient goes to the first maximum of each window.
    /// Unlike PyTorch, NaNs are not propagated (the SIMD max ignores them; no NaN input is expected here).
    public func maxPool2d(kernelSize: Int, stride: Int? = nil, padding: Int = 0) -> Tensor {
        let geometry = slidingGeometry(kernelSize, stride ?? kernelSize, padding)
        let out = Tensor(uninitializedShape: pooledShape(geometry), layout: layout)
        PoolingKernels.max(buffer, out.buffer, geometry)
        let x = self
        return out.recording([self]) { g, _ in
            let g = g.converted(to: x.layout)
            let dx = Tensor(uninitializedShape: x.shape, layout: x.layout)
            PoolingKernels.maxBackward(g.buffer, x.buffer, dx.buffer, geometry)
            return [dx]
        }
    }

    /// 2-D average pooling of a 4-D tensor (either layout, kept), PyTorch's `avg_pool2d` with
    /// `count_include_pad=True` (the divisor is always `kernelSize²`); `stride` defaults to `kernelSize`.
    public func avgPool2d(kernelSize: Int, stride: Int? = nil, padding: Int = 0) -> Tensor {
        let geometry = slidingGeometry(kernelSize, stride ?? kernelSize, padding)
        return averagePooled(geometry, divisor: Float(kernelSize * kernelSize))
    }

    /// PyTorch's `adaptive_avg_pool2d` to `outputSize x outputSize` of a 4-D tensor (either layout,
    /// kept); `outputSize: 1` is the global average, `[N, C, 1, 1]`.
    public func adaptiveAvgPool2d(outputSize: Int) -> Tensor {
        precondition(rank == 4 && outputSize > 0, "adaptiveAvgPool2d needs a 4-D tensor and a positive size")
        let (n, c, _, inner) = channelView
        let geometry = PoolGeometry(planes: n * c / inner, inner: inner, height: shape[2], width: shape[3],
                                    rows: .adaptive(size: shape[2], outputs: outputSize),
                                    cols: .adaptive(size: shape[3], outputs: outputSize))
        return averagePooled(geometry, divisor: nil)
    }

    private func averagePooled(_ geometry: PoolGeometry, divisor: Float?) -> Tensor {
        let out = Tensor(uninitializedShape: pooledShape(geometry), layout: layout)
        PoolingKernels.average(buffer, out.buffer, geometry, divisor: divisor)
        let x = self
        return out.recording([self]) { g, _ in
            let g = g.converted(to: x.layout)
            let dx = Tensor(uninitializedShape: x.shape, layout: x.layout)
            PoolingKernels.averageBackward(g.buffer, dx.buffer, geometry, divisor: divisor)
            return [dx]
        }
    }

    private func slidingGeometry(_ kernel: Int, _ stride: Int, _ padding: Int) -> PoolGeometry {
        precondition(rank == 4, "2-D pooling needs a 4-D tensor, got shape \(shape)")
        precondition(kernel > 0 && stride > 0 && padding >= 0 && padding <= kernel / 2,
                     "pooling: kernel \(kernel), stride \(stride), padding \(padding) (at most half the kernel)")
        precondition(shape[2] + 2 * padding >= kernel && shape[3] + 2 * padding >= kernel,
                     "pooling: kernel \(kernel) larger than padded input \(shape)")
        let (n, c, _, inner) = channelView
        return PoolGeometry(planes: n * c / inner, inner: inner, height: shape[2], width: shape[3],
                            rows: .sliding(size: shape[2], kernel: kernel, stride: stride, padding: padding),
                            cols: .sliding(size: shape[3], kernel: kernel, stride: stride, padding: padding))
    }

    private func pooledShape(_ g: PoolGeometry) -> [Int] { [shape[0], shape[1], g.rows.count, g.cols.count] }
}
