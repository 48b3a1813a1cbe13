import Kernels
import Testing
import Tensors

@Suite struct BatchNormTests {
    var rng = SeededGenerator(seed: 11)

    @Test mutating func kernelsMatchNaiveTwinsInBothLayouts() {
        for (inner, spatial) in [(1, 7), (1, 37), (8, 5), (8, 37), (16, 5)] {
            let s = ChannelShape(batch: 3, channels: 32, spatial: spatial, inner: inner)
            let x = Tensor.randomNormal([s.count], mean: 2, using: &rng), g = Tensor.randomNormal([s.count], using: &rng)
            let q = Tensor.randomNormal([s.count], using: &rng)
            // Wide enough for the rectifiers' both sides: below 0 and above 6.
            let wide = Tensor.randomNormal([s.count], mean: 2, std: 4, using: &rng)
            for perSample in [false, true] {
                let k = (0..<(perSample ? 96 : 32)).map { Float($0) / 50 }
                let fast = BatchNormKernels.shiftedMoments(x.buffer, s, shift: k, perSample: perSample)
                let slow = NaiveBatchNormKernels.shiftedMoments(x.buffer, s, shift: k, perSample: perSample)
                #expect(zip(fast.sums, slow.sums).allSatisfy { abs($0 - $1) < 1e-3 })
                #expect(zip(fast.squares, slow.squares).allSatisfy { abs($0 - $1) < 1e-3 * max(1, abs($1)) })
                let a = k.map { $0 - 1 }, b = k.map { $0 * 2 }, d = k.map { 3 - $0 }
                for withQ in [false, true] {
                    for rectifier in [nil, Rectifier.relu, .relu6] {
                        let o1 = Tensor(uninitializedShape: [s.count]), o2 = Tensor(uninitializedShape: [s.count])
                        BatchNormKernels.affine(wide.buffer, withQ ? q.buffer : nil, o1.buffer, s, a: a, b: withQ ? b : nil,
                                                d: d, perSample: perSample, rectifier: rectifier)
                        NaiveBatchNormKernels.affine(wide.buffer, withQ ? q.buffer : nil, o2.buffer, s, a: a,
                                                     b: withQ ? b : nil, d: d, perSample: perSample, rectifier: rectifier)
                        #expect(maxAbsDifference(o1, o2) < 1e-5)
                        #expect(rectifier == nil || o1.scalars.allSatisfy { $0 >= 0 } && o1.scalars.contains(0))
                        #expect(rectifier != .relu6 || o1.scalars.allSatisfy { $0 <= 6 } && o1.scalars.contains(6))
                    }
                }
            }
            let sums = BatchNormKernels.sums(x.buffer, s), naiveSums = NaiveBatchNormKernels.sums(x.buffer, s)
            #expect(zip(sums, naiveSums).allSatisfy { abs($0 - $1) < 1e-3 })
            let m = (0..<32).map { Float($0) / 10 }
            for rectifier in [nil, Rectifier.relu, .relu6] {
                // With a rectifier, `wide` plays its output (values below 0 and above 6 alike, as the mask must see).
                let (m1, m2) = (Tensor(uninitializedShape: [s.count]), Tensor(uninitializedShape: [s.count]))
                let fast = BatchNormKernels.dotSums(g.buffer, x.buffer, s, center: m,
                                                    rectified: rectifier.map { (wide.buffer, m1.buffer, $0) })
                let slow = NaiveBatchNormKernels.dotSums(g.buffer, x.buffer, s, center: m,
                                                         rectified: rectifier.map { (wide.buffer, m2.buffer, $0) })
                #expect(zip(fast.sums, slow.sums).allSatisfy { abs($0 - $1) < 1e-3 })
                #expect(zip(fast.dots, slow.dots).allSatisfy { abs($0 - $1) < 1e-3 * max(1, abs($1)) })
                if let rectifier {
                    let upper: Float = rectifier == .relu ? .infinity : 6
                    #expect(m1.scalars == zip(g.scalars, wide.scalars).map { $1 > 0 && $1 < upper ? $0 : 0 })
                    #expect(m1.scalars == m2.scalars)
                }
            }
        }
    }

    @Test func trainingMatchesPyTorchInBothLayouts() {
        let x = golden("bn_train.x"), w = golden("bn_train.w"), b = golden("bn_train.b"), g = golden("bn_train.g")
        for layout in bothLayouts {
            var stats: (Tensor, Tensor) = (Tensor(0), Tensor(0))
            let (y, d) = probedGradients([x.converted(to: layout), w, b], probe: g) { xs in
                let r = xs[0].batchNormTraining(weight: xs[1], bias: xs[2])
                stats = (r.mean, r.variance)
                return r.output
            }
            #expect(y.layout == layout)
            expectClose(y, golden("bn_train.y"), 1e-4, "y \(layout)")
            expectClose(d[0], golden("bn_train.dx"), 1e-4, "dx \(layout)")
            expectClose(d[1], golden("bn_train.dw"), 1e-4, "dw \(layout)")
            expectClose(d[2], golden("bn_train.db"), 1e-4, "db \(layout)")
            expectClose(stats.0, golden("bn_train.mean"), 1e-5, "mean")
            expectClose(stats.1, golden("bn_train.var"), 1e-5, "var")
            // The module's running-statistics update (momentum 0.1, unbiased variance).
            let count = Float(x.count / 16)
            let runningMean = 0.9 * golden("bn_train.running_mean0") + 0.1 * stats.0
            let runningVar = 0.9 * golden("bn_train.running_var0") + 0.1 * count / (count - 1) * stats.1
            expectClose(runningMean, golden("bn_train.running_mean1"), 1e-5, "running mean")
            expectClose(runningVar, golden("bn_train.running_var1"), 1e-5, "running var")
        }
    }

    @Test func training1dAndEvalMatchPyTorch() {
        let (y1, d1) = probedGradients([golden("bn1d.x")], probe: golden("bn1d.g")) {
            $0[0].batchNormTraining(weight: nil, bias: nil).output
        }
        expectClose(y1, golden("bn1d.y"), 1e-4, "bn1d y")
        expectClose(d1[0], golden("bn1d.dx"), 1e-4, "bn1d dx")
        for layout in bothLayouts {
            let (y, d) = probedGradients([golden("bn_eval.x").converted(to: layout), golden("bn_eval.w"), golden("bn_eval.b")],
                                         probe: golden("bn_eval.g")) { xs in
                xs[0].batchNorm(mean: golden("bn_eval.mean"), variance: golden("bn_eval.var"), weight: xs[1], bias: xs[2])
            }
            #expect(y.layout == layout)
            expectClose(y, golden("bn_eval.y"), 1e-4, "eval y")
            expectClose(d[0], golden("bn_eval.dx"), 1e-4, "eval dx")
            expectClose(d[1], golden("bn_eval.dw"), 1e-4, "eval dw")
            expectClose(d[2], golden("bn_eval.db"), 1e-4, "eval db")
        }
    }

    /// An inference pass's batch norm writes its output over an input given up to it (one activation fewer at the
    /// peak), and never over one the caller still holds or one whose gradient will be asked for.
    @Test mutating func evalBatchNormOverwritesOnlyAnInputGivenUp() {
        let mean = Tensor.randomNormal([16], using: &rng), variance = Tensor.randomUniform([16], lower: 0.5, upper: 2, using: &rng)
        let x = Tensor.randomNormal([2, 16, 4, 4], using: &rng).converted(to: .blocked)
        let before = x.scalars
        func normalize(_ t: consuming Tensor) -> Tensor {
            t.batchNorm(mean: mean, variance: variance, weight: nil, bias: nil, activation: .relu6)
        }
        let kept = normalize(x)
        #expect(!kept.sharesStorage(with: x) && x.scalars == before)

        var given = x.converted(to: .plain).converted(to: .blocked)
        let address = given.buffer.pointer
        let overwritten = normalize(consume given)
        #expect(overwritten.buffer.pointer == address && overwritten.scalars == kept.scalars)

        given = x.converted(to: .plain).converted(to: .blocked).requiringGradient()
        let recorded = given.buffer.pointer
        let differentiable = normalize(consume given)
        #expect(differentiable.buffer.pointer != recorded && differentiable.scalars == kept.scalars)
    }

    @Test func momentsMatchPyTorchInBothLayouts() {
        let x = golden("moments.x")
        for layout in bothLayouts {
            for unbiased in [true, false] {
                for spatial in [false, true] {
                    let key = "\(spatial ? "spatial" : "channel")_\(unbiased ? "u" : "b")"
                    let leaf = x.converted(to: layout).requiringGradient()
                    let (m, s) = spatial ? leaf.spatialMoments(unbiased: unbiased) : leaf.channelMoments(unbiased: unbiased)
                    let loss = (m * golden("\(key).gm")).sum() + (s * golden("\(key).gs")).sum()
                    let dx = gradients(of: loss, wrt: [leaf])[0]
                    expectClose(m, golden("\(key).mean"), 1e-5, "\(key) mean \(layout)")
                    expectClose(s, golden("\(key).std"), 1e-5, "\(key) std \(layout)")
                    expectClose(dx, golden("\(key).dx"), 1e-4, "\(key) dx \(layout)")
                }
            }
        }
    }

    @Test mutating func gradientChecksInBothLayouts() {
        let x = Tensor.randomNormal([2, 16, 3, 3], mean: 1, using: &rng)
        let w = Tensor.randomUniform([16], lower: 0.5, upper: 1.5, using: &rng), b = Tensor.randomNormal([16], using: &rng)
        let m = Tensor.randomNormal([16], using: &rng), v = Tensor.randomUniform([16], lower: 0.5, upper: 2, using: &rng)
        for layout in bothLayouts {
            let xl = x.converted(to: layout)
            checkGradients([xl, w, b]) { $0[0].batchNormTraining(weight: $0[1], bias: $0[2]).output }
            checkGradients([xl, w, b]) { $0[0].batchNorm(mean: m, variance: v, weight: $0[1], bias: $0[2]) }
            checkGradients([xl]) { xs in
                let (mean, std) = xs[0].channelMoments()
                return Tensor.concatenated([mean, std])
            }
            checkGradients([xl]) { xs in
                let (mean, std) = xs[0].spatialMoments(unbiased: false)
                return Tensor.concatenated([mean, std])
            }
        }
        checkGradients([Tensor.randomNormal([5, 3], using: &rng)]) { $0[0].batchNormTraining(weight: nil, bias: nil).output }
    }

    /// The fused `relu(bn(x) + residual)` and `relu6(bn(x) + residual)` equal the composition of their parts, values
    /// and gradients, in train and eval mode and both layouts; a residual in the other layout is converted.
    @Test(arguments: [Rectifier.relu, .relu6])
    mutating func fusedResidualActivationEqualsComposition(_ activation: Kernels.Rectifier) {
        let x = Tensor.randomNormal([3, 16, 5, 5], using: &rng), r = Tensor.randomNormal([3, 16, 5, 5], using: &rng)
        // A wide residual spreads the sums past 6, so that ReLU6's upper side is reached.
        let wide = r * 4 + 2
        let w = Tensor.randomUniform([16], lower: -1, upper: 1.5, using: &rng), b = Tensor.randomNormal([16], using: &rng)
        let m = Tensor.randomNormal([16], using: &rng), v = Tensor.randomUniform([16], lower: 0.5, upper: 2, using: &rng)
        let probe = Tensor.randomNormal([3, 16, 5, 5], using: &rng)
        for layout in bothLayouts {
            for training in [false, true] {
                func bn(_ xs: [Tensor], fused: Bool) -> Tensor {
                    let residual = xs[3].converted(to: layout == .plain ? .blocked : .plain)
                    func apart(_ y: Tensor) -> Tensor { activation == .relu ? y.relu() : y.relu6() }
                    if training {
                        return fused ? xs[0].batchNormTraining(weight: xs[1], bias: xs[2], adding: residual, activation: activation).output
                                     : apart(xs[0].batchNormTraining(weight: xs[1], bias: xs[2]).output + residual)
                    }
                    return fused ? xs[0].batchNorm(mean: m, variance: v, weight: xs[1], bias: xs[2], adding: residual, activation: activation)
                                 : apart(xs[0].batchNorm(mean: m, variance: v, weight: xs[1], bias: xs[2]) + residual)
                }
                let inputs = [x.converted(to: layout), w, b, wide]
                let (y1, d1) = probedGradients(inputs, probe: probe) { bn($0, fused: true) }
                let (y2, d2) = probedGradients(inputs, probe: probe) { bn($0, fused: false) }
                #expect(y1.layout == layout && (activation == .relu || y1.scalars.contains(6)))
                expectClose(y1, y2, 1e-5, "y \(layout) training \(training)")
                for i in 0..<4 { expectClose(d1[i], d2[i], 1e-4, "d\(i) \(layout) training \(training)") }
            }
            // Finite differences on the smooth part (the ReLU's kink would break them; its gradient is the
            // composition's, checked above).
            checkGradients([x.converted(to: layout), w, b, r]) {
                $0[0].batchNormTraining(weight: $0[1], bias: $0[2], adding: $0[3]).output
            }
        }
    }

    @Test mutating func blockedAndPlainAgree() {
        let x = Tensor.randomNormal([4, 32, 6, 6], mean: 5, std: 2, using: &rng)
        let plain = x.batchNormTraining(weight: nil, bias: nil), blocked = x.converted(to: .blocked).batchNormTraining(weight: nil, bias: nil)
        #expect(blocked.output.layout == .blocked)
        // Sums run in a different order per layout, so agreement is to rounding, not bit for bit.
        #expect(maxAbsDifference(plain.output, blocked.output) < 1e-5)
        #expect(maxAbsDifference(plain.variance, blocked.variance) < 1e-5)
        let (pm, ps) = x.channelMoments(), (bm, bs) = x.converted(to: .blocked).channelMoments()
        #expect(maxAbsDifference(pm, bm) < 1e-5 && maxAbsDifference(ps, bs) < 1e-5)
    }

    @Test func varianceStaysAccurateFarFromZero() {
        // A large common offset: the shifted one-pass variance must not cancel catastrophically.
        let values: [Float] = (0..<(2 * 16 * 9)).map { 1000 + Float($0 % 7) - 3 }
        let x = Tensor(shape: [2, 16, 3, 3], scalars: values)
        let variance = x.batchNormTraining(weight: nil, bias: nil).variance.scalars
        for c in 0..<16 {
            let v = (0..<2).flatMap { n in (0..<9).map { Double(values[(n * 16 + c) * 9 + $0]) } }
            let mean = v.reduce(0, +) / 18
            let exact = v.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 18
            #expect(abs(Double(variance[c]) - exact) < 1e-3, "channel \(c): \(variance[c]) vs \(exact)")
        }
    }
}
