import Kernels

extension Tensor {
    /// Nearest-neighbour upsampling of a 4-D tensor by an integer factor (PyTorch's
    /// `interpolate(scale_factor: scale, mode: "nearest")`), layout kept.
    public func upsampledNearest(scale: Int = 2) -> Tensor {
        precondition(rank == 4 && scale > 0, "upsampledNearest needs a 4-D tensor and a positive scale")
        return remapped(rows: (0..<(shape[2] * scale)).map { $0 / scale },
                        cols: (0..<(shape[3] * scale)).map { $0 / scale })
    }

    /// PyTorch's `ReflectionPad2d(p)`: pads every side of a 4-D tensor by `p`, mirroring without repeating
    /// the edge; `p` must be less than height and width. Layout kept.
    public func reflectionPadded(_ p: Int) -> Tensor { reflectionPadded(left: p, right: p, top: p, bottom: p) }

    /// PyTorch's `ReflectionPad2d((left, right, top, bottom))`.
    public func reflectionPadded(left: Int, right: Int, top: Int, bottom: Int) -> Tensor {
        precondition(rank == 4, "reflectionPadded needs a 4-D tensor, got shape \(shape)")
        let h = shape[2], w = shape[3]
        precondition([left, right].allSatisfy { $0 >= 0 && $0 < w } && [top, bottom].allSatisfy { $0 >= 0 && $0 < h },
                     "reflection padding (\(left), \(right), \(top), \(bottom)) must be below the size \(h)x\(w)")
        return remapped(rows: (-top..<(h + bottom)).map { reflect($0, h) },
                        cols: (-left..<(w + right)).map { reflect($0, w) })
    }

    /// The `height x width` window of a 4-D tensor starting at row `top`, column `left` (PyTorch's
    /// `x[:, :, top:top+height, left:left+width]`). Layout kept.
    public func cropped(top: Int, left: Int, height: Int, width: Int) -> Tensor {
        precondition(rank == 4, "cropped needs a 4-D tensor, got shape \(shape)")
        precondition(top >= 0 && left >= 0 && height >= 0 && width >= 0
                        && top + height <= shape[2] && left + width <= shape[3],
                     "crop (\(top), \(left), \(height)x\(width)) out of bounds for \(shape)")
        return remapped(rows: Array(top..<(top + height)), cols: Array(left..<(left + width)))
    }

    /// GENIE's swing shift: reflection-pad by 1, then crop `H x W` from row `1 + dy`, column `1 + dx`
    /// (`dy`, `dx` in -1...1), in one pass without the padded tensor. Layout kept. A side of one pixel is not
    /// shifted: PyTorch's reflection pad refuses it (the reference stops), and a single pixel has nowhere to move.
    public func shiftedReflect(dy: Int, dx: Int) -> Tensor {
        precondition(rank == 4 && (-1...1).contains(dy) && (-1...1).contains(dx),
                     "shiftedReflect needs a 4-D tensor and shifts in -1...1, got \(shape), (\(dy), \(dx))")
        let h = shape[2], w = shape[3]
        let (dy, dx) = (h > 1 ? dy : 0, w > 1 ? dx : 0)
        return remapped(rows: (0..<h).map { reflect($0 + dy, h) }, cols: (0..<w).map { reflect($0 + dx, w) })
    }

    /// `out[n, c, i, j] = self[n, c, rows[i], cols[j]]` (zero where an index is negative) for a 4-D tensor,
    /// differentiable (the gradient scatter-adds back). Layout kept. Every resampling op here is one of these maps.
    public func remapped(rows: [Int], cols: [Int]) -> Tensor {
        let (n, c, _, inner) = channelView
        let planes = n * c / inner, h = shape[2], w = shape[3]
        let out = Tensor(uninitializedShape: [n, c, rows.count, cols.count], layout: layout)
        GatherKernels.gather(buffer, out.buffer, planes: planes, inner: inner, height: h, width: w, rows: rows, cols: cols)
        let x = self
        return out.recording([self]) { g, _ in
            let g = g.converted(to: x.layout)
            let dx = Tensor(uninitializedShape: x.shape, layout: x.layout)
            GatherKernels.scatterAdd(g.buffer, dx.buffer, planes: planes, inner: inner, height: h, width: w,
                                     rows: rows, cols: cols)
            return [dx]
        }
    }
}

/// Reflects index `t` into `0..<size` without repeating the edge (valid for `-size < t < 2 size - 1`).
private func reflect(_ t: Int, _ size: Int) -> Int {
    t < 0 ? -t : (t >= size ? 2 * (size - 1) - t : t)
}
