import Kernels
import Testing
import Tensors

/// A convolution case: input `[n, c, h, w]`, `o` outputs, kernel `kh x kw`, strides, paddings, groups.
struct ConvCase: CustomStringConvertible, Sendable {
    var n = 2, c = 16, h = 7, w = 7, o = 16, kh = 3, kw = 3, sh = 1, sw = 1, ph = 1, pw = 1, groups = 1

    func shape(sourceBlocked: Bool, destinationBlocked: Bool) -> ConvShape {
        ConvShape(batch: n, inChannels: c, height: h, width: w, outChannels: o, kernelHeight: kh, kernelWidth: kw,
                  strideHeight: sh, strideWidth: sw, padHeight: ph, padWidth: pw, groups: groups,
                  sourceBlocked: sourceBlocked, destinationBlocked: destinationBlocked)
    }

    var description: String { "\(shape(sourceBlocked: false, destinationBlocked: false))" }
}

@Suite struct ConvolutionTests {
    static let grid: [ConvCase] = [
        ConvCase(),                                                    // 16 -> 16, 3x3, pad 1
        ConvCase(h: 8, w: 8, o: 32, sh: 2, sw: 2),                     // stride 2
        ConvCase(n: 1, c: 1, h: 9, w: 9),                              // 1-channel first layer
        ConvCase(c: 3, h: 11, w: 11, kh: 7, kw: 7, sh: 2, sw: 2, ph: 3, pw: 3),  // 7x7, pad 3
        ConvCase(c: 32, h: 5, w: 5, o: 32, groups: 32),                // depthwise
        ConvCase(c: 32, h: 6, w: 6, o: 32, groups: 2),                 // 2 groups
        ConvCase(c: 24, h: 6, w: 6, o: 24, kh: 1, kw: 1, ph: 0, pw: 0),  // 24 channels, 1x1
        ConvCase(h: 6, w: 6, o: 10, kh: 1, kw: 1, sh: 2, sw: 2, ph: 0, pw: 0),  // 1x1 stride 2 to 10 channels
        ConvCase(n: 1, h: 6, w: 5, sh: 2, sw: 2, ph: 0, pw: 0),        // stride not dividing, no padding
        ConvCase(c: 32, h: 5, w: 5, o: 24),                            // 32 -> 24
        ConvCase(n: 3, c: 16, h: 6, w: 7, o: 16, kh: 3, kw: 1, sh: 1, sw: 2, ph: 1, pw: 0),  // rectangular
        ConvCase(c: 16, h: 6, w: 5, o: 1),                             // 1 output (blocked source: NarrowConvolution)
        ConvCase(n: 3, c: 32, h: 5, w: 7, o: 3, kh: 3, kw: 1, ph: 1, pw: 0),  // 3 outputs, rectangular kernel
        ConvCase(c: 16, h: 4, w: 4, o: 2, kh: 5, kw: 5, ph: 1, pw: 2),  // 2 outputs, kernel wider than the padding
        ConvCase(c: 64, h: 9, w: 9, o: 64),                            // 64 -> 64, 3x3: Winograd where oneDNN has it
        ConvCase(c: 128, h: 9, w: 10, o: 64, ph: 0, pw: 0),            // 128 -> 64, no padding, 7x8 out: Winograd
        ConvCase(c: 64, h: 4, w: 4, o: 64),                            // a 4x4 map: the direct kernels
    ]

    /// oneDNN forward and both backward passes against the naive twin, in every layout combination.
    @Test(arguments: grid)
    func oneDNNMatchesNaiveTwin(_ cc: ConvCase) {
        var rng = SeededGenerator(seed: 7)
        let plain = cc.shape(sourceBlocked: false, destinationBlocked: false)
        let x = Tensor.randomNormal([cc.n, cc.c, cc.h, cc.w], using: &rng)
        let w = Tensor.randomNormal([cc.o, cc.c / cc.groups, cc.kh, cc.kw], using: &rng)
        let b = Tensor.randomNormal([cc.o], using: &rng)
        let outShape = [cc.n, cc.o, plain.outHeight, plain.outWidth]
        let g = Tensor.randomNormal(outShape, using: &rng)
        let expectedOut = NaiveConvolution.forward(plain, source: x.scalars, weights: w.scalars, bias: b.scalars)
        let expectedDx = NaiveConvolution.backwardData(plain, diffDestination: g.scalars, weights: w.scalars)
        let expectedDw = NaiveConvolution.backwardWeights(plain, source: x.scalars, diffDestination: g.scalars)

        for srcBlocked in Set([false, Tensor.canBlock(x.shape)]) {
            for dstBlocked in Set([false, Tensor.canBlock(outShape)]) {
                let s = cc.shape(sourceBlocked: srcBlocked, destinationBlocked: dstBlocked)
                let xs = x.converted(to: srcBlocked ? .blocked : .plain)
                let gs = g.converted(to: dstBlocked ? .blocked : .plain)
                let out = Tensor(uninitializedShape: outShape, layout: gs.layout)
                Convolution.forward(s, source: xs.buffer, weights: w.buffer, bias: b.buffer, destination: out.buffer)
                let dx = Tensor(uninitializedShape: x.shape, layout: xs.layout)
                Convolution.backwardData(s, diffDestination: gs.buffer, weights: w.buffer, diffSource: dx.buffer)
                let dw = Tensor(uninitializedShape: w.shape), db = Tensor(uninitializedShape: [cc.o])
                Convolution.backwardWeights(s, source: xs.buffer, diffDestination: gs.buffer,
                                            diffWeights: dw.buffer, diffBias: db.buffer)
                let context = "\(s)"
                #expect(relativeError(out.scalars, expectedOut) < 2e-5, "forward \(context)")
                #expect(relativeError(dx.scalars, expectedDx) < 2e-5, "backward data \(context)")
                #expect(relativeError(dw.scalars, expectedDw.weights) < 2e-5, "backward weights \(context)")
                #expect(relativeError(db.scalars, expectedDw.bias) < 2e-5, "backward bias \(context)")
            }
        }
    }

    @Test func gradientsOfConv2d() {
        var rng = SeededGenerator(seed: 3)
        let x = Tensor.randomNormal([2, 2, 5, 5], using: &rng)
        let w = Tensor.randomNormal([3, 2, 3, 3], using: &rng)
        let b = Tensor.randomNormal([3], using: &rng)
        checkGradients([x, w, b]) { $0[0].conv2d($0[1], bias: $0[2], padding: 1) }
        checkGradients([x, w]) { $0[0].conv2d($0[1], stride: 2) }
        let x1 = Tensor.randomNormal([1, 1, 6, 6], using: &rng)
        let w1 = Tensor.randomNormal([2, 1, 3, 3], using: &rng)
        checkGradients([x1, w1]) { $0[0].conv2d($0[1], stride: 2, padding: 1) }
        let xg = Tensor.randomNormal([1, 4, 4, 4], using: &rng)
        let wg = Tensor.randomNormal([4, 2, 3, 3], using: &rng)
        checkGradients([xg, wg]) { $0[0].conv2d($0[1], padding: 1, groups: 2) }
    }

    @Test func gradientsOfConv2dInBlockedLayout() {
        var rng = SeededGenerator(seed: 4)
        let c = 16
        let x = Tensor.randomNormal([1, c, 3, 3], using: &rng).converted(to: .blocked)
        let depthwise = Tensor.randomNormal([c, 1, 3, 3], using: &rng)
        let b = Tensor.randomNormal([c], using: &rng)
        let pointwise = Tensor.randomNormal([c, c, 1, 1], using: &rng)
        #expect(x.conv2d(depthwise, padding: 1, groups: c).layout == .blocked)
        checkGradients([x, depthwise, b]) { $0[0].conv2d($0[1], bias: $0[2], padding: 1, groups: c) }
        checkGradients([x, pointwise]) { $0[0].conv2d($0[1], stride: 2) }
        let narrow = Tensor.randomNormal([2, c, 3, 3], using: &rng), narrowBias = Tensor.randomNormal([2], using: &rng)
        #expect(Convolution.implementation(ConvShape(batch: 1, inChannels: c, height: 3, width: 3, outChannels: 2,
                                                     kernelHeight: 3, kernelWidth: 3, sourceBlocked: true), .forward) == "swift:narrow")
        checkGradients([x, narrow, narrowBias]) { $0[0].conv2d($0[1], bias: $0[2], padding: 1) }
    }

    @Test func layoutsAndFrozenWeights() {
        var rng = SeededGenerator(seed: 5)
        let x = Tensor.randomNormal([2, 3, 6, 6], using: &rng)
        let w1 = Tensor.randomNormal([16, 3, 3, 3], using: &rng)
        let w2 = Tensor.randomNormal([5, 16, 3, 3], using: &rng)
        let h = x.conv2d(w1, padding: 1)
        #expect(h.layout == .blocked)
        #expect(h.conv2d(w2).layout == .plain)
        // Only the input gradient is wanted: the weights are frozen (not leaves).
        let xl = x.requiringGradient()
        let dx = gradients(of: xl.conv2d(w1, padding: 1).conv2d(w2).sum(), wrt: [xl])[0]
        let (wl1, wl2) = (w1.requiringGradient(), w2.requiringGradient())
        let all = gradients(of: xl.conv2d(wl1, padding: 1).conv2d(wl2).sum(), wrt: [xl, wl1, wl2])
        #expect(maxAbsDifference(dx, all[0]) == 0)
    }

    /// Output and gradients against PyTorch (`scripts/fixtures_conv.py`), from both input layouts.
    @Test(arguments: ["rgb", "down", "depthwise", "grouped", "gray7x7"])
    func matchesPyTorch(_ name: String) throws {
        let f = try fixture("conv.safetensors")
        let t = { (key: String) in f["\(name).\(key)"]! }
        let config = t("config").scalars.map { Int($0) }
        for layout in Set([Layout.plain, t("x").preferredLayout]) {
            let (x, w, b) = (t("x").converted(to: layout).requiringGradient(), t("w").requiringGradient(), t("b").requiringGradient())
            let y = x.conv2d(w, bias: b, stride: config[0], padding: config[1], groups: config[2])
            let grads = gradients(of: (y * t("g")).sum(), wrt: [x, w, b])
            for (got, key) in zip([y] + grads, ["y", "dx", "dw", "db"]) {
                #expect(relativeError(got.scalars, t(key).scalars) <= 1e-4, "\(name).\(key) from \(layout) input")
            }
        }
    }

    @Test func shapeErrorNamesTheShapes() async throws {
        let result = try await #require(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Tensor.zeros([2, 3, 8, 8]).conv2d(Tensor.zeros([16, 4, 3, 3]))
        }
        let message = String(decoding: result.standardErrorContent, as: UTF8.self)
        #expect(message.contains("conv2d: input [2,3,8,8] has 3 channels but weight [16,4,3,3] expects 4 (groups 1)"))
    }

    @Test func oneDNNFailureNamesTheCall() async throws {
        let result = try await #require(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let s = ConvShape(batch: 1, inChannels: 1, height: 4, width: 4, outChannels: 1, kernelHeight: 3, kernelWidth: 3,
                              padHeight: -2, padWidth: -2)
            Convolution.forward(s, source: FloatBuffer(zeros: 16), weights: FloatBuffer(zeros: 9), bias: nil,
                                destination: FloatBuffer(zeros: 1))
        }
        let message = String(decoding: result.standardErrorContent, as: UTF8.self)
        #expect(message.contains("oneDNN dnnl_memory_desc_init_by_tag failed: invalid_arguments (dims [1, 1, -2, -2]"), "\(message)")
    }

    /// oneDNN's jit kernels or, on AVX2, genie's Winograd loops (`WinogradTests`).
    @Test func picksJitKernelsNeverGemmOrReferenceForResNetShapes() {
        let shapes: [ConvCase] = [
            ConvCase(n: 128, c: 16, h: 28, w: 28), ConvCase(n: 128, c: 16, h: 28, w: 28, o: 32, sh: 2, sw: 2),
            ConvCase(n: 128, c: 32, h: 14, w: 14, o: 32), ConvCase(n: 128, c: 32, h: 14, w: 14, o: 64, sh: 2, sw: 2),
            ConvCase(n: 128, c: 64, h: 7, w: 7, o: 64), ConvCase(n: 128, c: 1, h: 28, w: 28),
            ConvCase(n: 16, c: 128, h: 112, w: 112, o: 64),  // GENIE-D's generator at 224x224: Winograd on AVX-512
        ]
        for cc in shapes {
            let s = cc.shape(sourceBlocked: cc.c % channelBlock == 0, destinationBlocked: true)
            for pass in [Convolution.Pass.forward, .backwardData, .backwardWeights] {
                let impl = Convolution.implementation(s, pass)
                #expect(impl.hasPrefix("jit") || impl.hasPrefix("c:winograd_"), "\(pass) \(s) uses \(impl)")
            }
        }
    }
}

/// The largest absolute difference relative to the scale of `expected` (at least 1).
func relativeError(_ actual: [Float], _ expected: [Float]) -> Float {
    precondition(actual.count == expected.count, "counts differ: \(actual.count) vs \(expected.count)")
    let scale = max(1, expected.map(abs).max() ?? 0)
    return (zip(actual, expected).map { abs($0 - $1) }.max() ?? 0) / scale
}
