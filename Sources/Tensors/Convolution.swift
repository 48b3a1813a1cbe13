import Kernels

extension Tensor {
    /// 2-D convolution (PyTorch's `F.conv2d`): `self` is an NCHW input `[N, C, H, W]`, `weight` is
    /// `[O, C/groups, kh, kw]`, `bias` is `[O]`; zero padding on all four sides. Differentiable in all three.
    ///
    /// The input runs in its `preferredLayout` (blocked when C % channelBlock == 0); the output is
    /// `.blocked` when O % channelBlock == 0, else `.plain`, so chains of convolutions stay in oneDNN's
    /// fast layout.
    public func conv2d(_ weight: Tensor, bias: Tensor? = nil, stride: Int = 1, padding: Int = 0, groups: Int = 1) -> Tensor {
        // `precondition` drops its message in optimized builds; a shape error should name the shapes there too.
        func require(_ ok: Bool, _ message: @autoclosure () -> String) { if !ok { fatalError(message()) } }
        func dims(_ s: [Int]) -> String { "[" + s.map(String.init).joined(separator: ",") + "]" }
        let shapes = "input \(dims(shape)), weight \(dims(weight.shape))"
        require(rank == 4 && weight.rank == 4, "conv2d: needs a 4-D input and weight, got \(shapes)")
        require(stride >= 1 && padding >= 0 && groups >= 1,
                "conv2d: bad stride \(stride), padding \(padding) or groups \(groups) (\(shapes))")
        let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
        let (o, kh, kw) = (weight.shape[0], weight.shape[2], weight.shape[3])
        require(c == weight.shape[1] * groups,
                "conv2d: input \(dims(shape)) has \(c) channels but weight \(dims(weight.shape)) expects \(weight.shape[1] * groups) (groups \(groups))")
        require(o % groups == 0,
                "conv2d: weight \(dims(weight.shape)) has \(o) output channels, not divisible by groups \(groups)")
        require(h + 2 * padding >= kh && w + 2 * padding >= kw,
                "conv2d: kernel \(kh)x\(kw) larger than the input padded by \(padding) (\(shapes))")
        if let bias {
            require(bias.shape == [o], "conv2d: bias \(dims(bias.shape)) does not match weight \(dims(weight.shape)); expected [\(o)]")
        }

        let x = inPreferredLayout()
        let wt = weight.converted(to: .plain)
        let b = bias?.converted(to: .plain)
        let outLayout: Layout = o % channelBlock == 0 ? .blocked : .plain
        let s = ConvShape(batch: n, inChannels: c, height: h, width: w, outChannels: o,
                          kernelHeight: kh, kernelWidth: kw, strideHeight: stride, strideWidth: stride,
                          padHeight: padding, padWidth: padding, groups: groups,
                          sourceBlocked: x.layout == .blocked, destinationBlocked: outLayout == .blocked)
        let out = Tensor(uninitializedShape: [n, o, s.outHeight, s.outWidth], layout: outLayout)
        if out.count > 0 {
            Convolution.forward(s, source: x.buffer, weights: wt.buffer, bias: b?.buffer, destination: out.buffer)
        }

        return out.recording([x, wt] + (b.map { [$0] } ?? [])) { g, needed in
            let g = g.converted(to: s.destinationBlocked ? .blocked : .plain)
            var grads: [Tensor?] = [nil, nil, nil]
            if out.count == 0 {  // an empty batch: nothing flows back
                return [x, wt, b].prefix(b == nil ? 2 : 3).map { $0.map { Tensor.zeros($0.shape) } }
            }
            if needed[0] {
                let dx = Tensor(uninitializedShape: x.shape, layout: x.layout)
                Convolution.backwardData(s, diffDestination: g.buffer, weights: wt.buffer, diffSource: dx.buffer)
                grads[0] = dx
            }
            let biasNeeded = b != nil && needed[2]
            if needed[1] {
                let dw = Tensor(uninitializedShape: wt.shape)
                let db = biasNeeded ? Tensor(uninitializedShape: [o]) : nil
                Convolution.backwardWeights(s, source: x.buffer, diffDestination: g.buffer,
                                            diffWeights: dw.buffer, diffBias: db?.buffer)
                (grads[1], grads[2]) = (dw, db)
            } else if biasNeeded {
                grads[2] = g.channelSums()
            }
            return Array(grads.prefix(b == nil ? 2 : 3))
        }
    }
}
