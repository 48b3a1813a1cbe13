import Kernels
import Testing
import Tensors

/// `WinogradConvolution`'s loops against the naive twin, in every instruction set this CPU runs, and the rule that
/// sends layers to them.
@Suite struct WinogradTests {
    static let grid: [ConvCase] = [
        ConvCase(n: 2, c: 16, h: 28, w: 28, o: 16),   // ResNet-20's first stage
        ConvCase(n: 3, c: 8, h: 7, w: 5, o: 24),      // odd sides: partial tiles on the right and at the bottom
        ConvCase(n: 2, c: 24, h: 2, w: 2, o: 8),      // one tile per map; channels not a multiple of 16
        ConvCase(n: 1, c: 16, h: 1, w: 3, o: 16),     // a 1-row map
        ConvCase(n: 2, c: 128, h: 14, w: 14, o: 64),  // GENIE-D's generator: more channels than a tile block holds
        ConvCase(n: 5, c: 32, h: 9, w: 9, o: 32),     // tiles split unevenly between workers
    ]

    /// Forward, data and weight gradients (with the bias's) of each variant match `NaiveConvolution` within 2e-5 of
    /// the output's scale, as oneDNN's kernels do.
    @Test(arguments: grid)
    func winogradMatchesNaiveTwin(_ cc: ConvCase) {
        var rng = SeededGenerator(seed: 11)
        let plain = cc.shape(sourceBlocked: false, destinationBlocked: false)
        let blocked = cc.shape(sourceBlocked: true, destinationBlocked: true)
        #expect(WinogradConvolution.supports(blocked))
        let x = Tensor.randomNormal([cc.n, cc.c, cc.h, cc.w], using: &rng).scalars
        let w = Tensor.randomNormal([cc.o, cc.c, 3, 3], using: &rng).scalars
        let b = Tensor.randomNormal([cc.o], using: &rng).scalars
        let g = Tensor.randomNormal([cc.n, cc.o, cc.h, cc.w], using: &rng).scalars
        let expectedOut = NaiveConvolution.forward(plain, source: x, weights: w, bias: b)
        let expectedDx = NaiveConvolution.backwardData(plain, diffDestination: g, weights: w)
        let expectedDw = NaiveConvolution.backwardWeights(plain, source: x, diffDestination: g)
        let xb = FloatBuffer(blocked8(x, cc.n, cc.c, cc.h * cc.w)), gb = FloatBuffer(blocked8(g, cc.n, cc.o, cc.h * cc.w))
        let (wb, bb) = (FloatBuffer(w), FloatBuffer(b))
        for variant in VectorMath.Variant.allCases where variant.isSupported {
            for m: Int32 in [2, 4] {
                let out = FloatBuffer(capacity: g.count), dx = FloatBuffer(capacity: x.count)
                let dw = FloatBuffer(capacity: w.count), db = FloatBuffer(capacity: b.count)
                WinogradConvolution.forward(blocked, source: xb, weights: wb, bias: bb, destination: out, tile: m,
                                            variant: variant)
                WinogradConvolution.backwardData(blocked, diffDestination: gb, weights: wb, diffSource: dx, tile: m,
                                                 variant: variant)
                WinogradConvolution.backwardWeights(blocked, source: xb, diffDestination: gb, diffWeights: dw,
                                                    diffBias: db, tile: m, variant: variant)
                let context = "F(\(m)x\(m)) \(variant) \(blocked)"
                let outPlain = plain8(out.scalars(count: g.count), cc.n, cc.o, cc.h * cc.w)
                let dxPlain = plain8(dx.scalars(count: x.count), cc.n, cc.c, cc.h * cc.w)
                #expect(relativeError(outPlain, expectedOut) < 2e-5, "forward \(context)")
                #expect(relativeError(dxPlain, expectedDx) < 2e-5, "backward data \(context)")
                #expect(relativeError(dw.scalars(count: w.count), expectedDw.weights) < 2e-5,
                        "backward weights \(context)")
                #expect(relativeError(db.scalars(count: b.count), expectedDw.bias) < 2e-5, "backward bias \(context)")
            }
        }
    }

    /// On an AVX2 CPU with 8-channel blocks, `Convolution` sends 3x3 stride-1 layers here, but not 1x1 maps, 512 x 512
    /// channels, fewer than 512 output pixels a call, a stride of 2 or plain activations; elsewhere never. They run in
    /// 4x4 tiles, but in 2x2 tiles on 2x2 maps and beyond 128 x 128 channels.
    @Test func convolutionRunsWinogradOnlyWhereItIsFaster() {
        let avx2 = Reorder.block == 8 && VectorMath.Variant.avx2.isSupported
        let shape = { (batch: Int, c: Int, side: Int, stride: Int, blocked: Bool) in
            ConvShape(batch: batch, inChannels: c, height: side, width: side, outChannels: c, kernelHeight: 3,
                      kernelWidth: 3, strideHeight: stride, strideWidth: stride, padHeight: 1, padWidth: 1,
                      sourceBlocked: blocked, destinationBlocked: blocked)
        }
        let (large, small) = ("c:winograd_4x3", "c:winograd_2x3")
        #expect((Convolution.implementation(shape(2, 16, 28, 1, true), .forward) == large) == avx2)
        #expect((Convolution.implementation(shape(128, 128, 3, 1, true), .forward) == large) == avx2)
        #expect((Convolution.implementation(shape(128, 128, 2, 1, true), .forward) == small) == avx2)
        #expect((Convolution.implementation(shape(32, 256, 14, 1, true), .forward) == small) == avx2)
        #expect((Convolution.implementation(shape(128, 256, 2, 1, true), .backwardWeights) == small) == avx2)
        for (batch, c, side, stride, blocked) in [(8, 256, 2, 1, true), (512, 64, 1, 1, true), (32, 512, 7, 1, true),
                                                  (2, 16, 28, 2, true), (2, 16, 28, 1, false)] {
            #expect(!Convolution.implementation(shape(batch, c, side, stride, blocked), .forward).hasPrefix("c:winograd"))
        }
    }
}

/// `[n, c, spatial]` -> `[n, c/8, spatial, 8]`.
private func blocked8(_ a: [Float], _ n: Int, _ c: Int, _ spatial: Int) -> [Float] {
    var b = [Float](repeating: 0, count: a.count)
    for i in 0..<n { for k in 0..<c { for p in 0..<spatial { b[((i * (c / 8) + k / 8) * spatial + p) * 8 + k % 8] = a[(i * c + k) * spatial + p] } } }
    return b
}

/// `[n, c/8, spatial, 8]` -> `[n, c, spatial]`.
private func plain8(_ b: [Float], _ n: Int, _ c: Int, _ spatial: Int) -> [Float] {
    var a = [Float](repeating: 0, count: b.count)
    for i in 0..<n { for k in 0..<c { for p in 0..<spatial { a[(i * c + k) * spatial + p] = b[((i * (c / 8) + k / 8) * spatial + p) * 8 + k % 8] } } }
    return a
}
