/// Plain-loop twin of `Convolution` for tests: plain NCHW activations and `[O, C/groups, kh, kw]`
/// weights (the layout flags of the shape are ignored), one scalar at a time.
public enum NaiveConvolution {
    /// Calls `body(sourceIndex, weightIndex, destinationIndex)` for every product term of the
    /// convolution that does not fall on the zero padding.
    private static func forEachTerm(_ s: ConvShape, _ body: (Int, Int, Int) -> Void) {
        let cg = s.inChannels / s.groups, og = s.outChannels / s.groups
        let (oh, ow) = (s.outHeight, s.outWidth)
        for n in 0..<s.batch {
            for o in 0..<s.outChannels {
                let g = o / og
                for oy in 0..<oh {
                    for ox in 0..<ow {
                        let dstIndex = ((n * s.outChannels + o) * oh + oy) * ow + ox
                        for ci in 0..<cg {
                            let c = g * cg + ci
                            for ky in 0..<s.kernelHeight {
                                let y = oy * s.strideHeight - s.padHeight + ky
                                guard y >= 0 && y < s.height else { continue }
                                for kx in 0..<s.kernelWidth {
                                    let x = ox * s.strideWidth - s.padWidth + kx
                                    guard x >= 0 && x < s.width else { continue }
                                    let srcIndex = ((n * s.inChannels + c) * s.height + y) * s.width + x
                                    let wIndex = ((o * cg + ci) * s.kernelHeight + ky) * s.kernelWidth + kx
                                    body(srcIndex, wIndex, dstIndex)
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// `dst = conv(src, weights) + bias`.
    public static func forward(_ s: ConvShape, source: [Float], weights: [Float], bias: [Float]?) -> [Float] {
        var dst = [Float](repeating: 0, count: s.destinationCount)
        forEachTerm(s) { si, wi, di in dst[di] += source[si] * weights[wi] }
        if let bias {
            let plane = s.outHeight * s.outWidth
            for i in dst.indices { dst[i] += bias[(i / plane) % s.outChannels] }
        }
        return dst
    }

    /// The gradient with respect to the source.
    public static func backwardData(_ s: ConvShape, diffDestination: [Float], weights: [Float]) -> [Float] {
        var diffSrc = [Float](repeating: 0, count: s.sourceCount)
        forEachTerm(s) { si, wi, di in diffSrc[si] += diffDestination[di] * weights[wi] }
        return diffSrc
    }

    /// The gradients with respect to the weights and the bias.
    public static func backwardWeights(_ s: ConvShape, source: [Float], diffDestination: [Float]) -> (weights: [Float], bias: [Float]) {
        var diffW = [Float](repeating: 0, count: s.weightCount)
        forEachTerm(s) { si, wi, di in diffW[wi] += diffDestination[di] * source[si] }
        var diffBias = [Float](repeating: 0, count: s.outChannels)
        let plane = s.outHeight * s.outWidth
        for i in diffDestination.indices { diffBias[(i / plane) % s.outChannels] += diffDestination[i] }
        return (diffW, diffBias)
    }
}
