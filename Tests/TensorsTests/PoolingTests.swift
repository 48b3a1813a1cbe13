import Kernels
import Testing
import Tensors

@Suite struct PoolingTests {
    var rng = SeededGenerator(seed: 12)

    @Test mutating func kernelsMatchNaiveTwinsInBothLayouts() {
        let x = Tensor.randomNormal([2, 16, 7, 6], using: &rng)
        for (k, s, p) in [(2, 2, 0), (3, 2, 1), (3, 1, 1), (3, 3, 0), (2, 1, 1)] {
            let naiveMax = NaivePoolingKernels.max(x.scalars, planes: 32, height: 7, width: 6, kernel: k, stride: s, padding: p)
            let naiveAvg = NaivePoolingKernels.average(x.scalars, planes: 32, height: 7, width: 6, kernel: k, stride: s, padding: p)
            for layout in bothLayouts {
                let xl = x.converted(to: layout)
                let m = xl.maxPool2d(kernelSize: k, stride: s, padding: p), a = xl.avgPool2d(kernelSize: k, stride: s, padding: p)
                #expect(m.layout == layout && a.layout == layout)
                #expect(m.scalars == naiveMax, "max k\(k) s\(s) p\(p) \(layout)")
                #expect(zip(a.scalars, naiveAvg).allSatisfy { abs($0 - $1) < 1e-6 }, "avg k\(k) s\(s) p\(p) \(layout)")
            }
        }
    }

    @Test mutating func blockedKernelsMatchPlainOnesForEveryBlockWidth() {
        let (n, c, h, w) = (2, 32, 7, 6)
        let x = Tensor.randomNormal([n, c, h, w], using: &rng).scalars
        let windows = [PoolWindows.sliding(size: h, kernel: 3, stride: 2, padding: 1),
                       PoolWindows.sliding(size: w, kernel: 3, stride: 2, padding: 1)]
        let (oh, ow) = (windows[0].count, windows[1].count)
        let gy = Tensor.randomNormal([n * c * oh * ow], using: &rng).scalars
        func run(_ inner: Int) -> [[Float]] {
            let geometry = PoolGeometry(planes: n * c / inner, inner: inner, height: h, width: w,
                                        rows: windows[0], cols: windows[1])
            let xb = Tensor(shape: [x.count], scalars: blockedScalars(x, batch: n, channels: c, spatial: h * w, inner: inner))
            let gb = Tensor(shape: [gy.count], scalars: blockedScalars(gy, batch: n, channels: c, spatial: oh * ow, inner: inner))
            let outs = (0..<4).map { Tensor(uninitializedShape: [$0 < 2 ? gy.count : x.count]) }
            PoolingKernels.max(xb.buffer, outs[0].buffer, geometry)
            PoolingKernels.average(xb.buffer, outs[1].buffer, geometry, divisor: nil)
            PoolingKernels.maxBackward(gb.buffer, xb.buffer, outs[2].buffer, geometry)
            PoolingKernels.averageBackward(gb.buffer, outs[3].buffer, geometry, divisor: 9)
            return outs.enumerated().map { i, t in
                plainScalars(t.scalars, batch: n, channels: c, spatial: i < 2 ? oh * ow : h * w, inner: inner)
            }
        }
        let plain = run(1)
        #expect(plain[0] == NaivePoolingKernels.max(x, planes: n * c, height: h, width: w, kernel: 3, stride: 2, padding: 1))
        for inner in [8, 16] { #expect(run(inner) == plain, "inner \(inner)") }
    }

    @Test func matchPyTorchInBothLayouts() {
        let x = golden("pool.x")
        let ops: [(String, (Tensor) -> Tensor)] = [
            ("maxpool", { $0.maxPool2d(kernelSize: 3, stride: 2, padding: 1) }),
            ("maxpool2", { $0.maxPool2d(kernelSize: 2) }),
            ("avgpool", { $0.avgPool2d(kernelSize: 3, stride: 2, padding: 1) }),
            ("adaptive1", { $0.adaptiveAvgPool2d(outputSize: 1) }),
            ("adaptive3", { $0.adaptiveAvgPool2d(outputSize: 3) }),
        ]
        for (name, op) in ops {
            for layout in bothLayouts {
                let (y, d) = probedGradients([x.converted(to: layout)], probe: golden("\(name).g")) { op($0[0]) }
                #expect(y.layout == layout)
                expectClose(y, golden("\(name).y"), 1e-5, "\(name) y \(layout)")
                expectClose(d[0], golden("\(name).dx"), 1e-5, "\(name) dx \(layout)")
            }
        }
    }

    @Test mutating func gradientChecksInBothLayouts() {
        let x = Tensor.randomNormal([1, 16, 5, 5], using: &rng)
        for layout in bothLayouts {
            let xl = x.converted(to: layout)
            checkGradients([xl], epsilon: 1e-3) { $0[0].maxPool2d(kernelSize: 3, stride: 2, padding: 1) }
            checkGradients([xl]) { $0[0].avgPool2d(kernelSize: 3, stride: 1, padding: 1) }
            checkGradients([xl]) { $0[0].adaptiveAvgPool2d(outputSize: 2) }
        }
        checkGradients([Tensor.randomNormal([2, 3, 4, 4], using: &rng)]) { $0[0].adaptiveAvgPool2d(outputSize: 1) }
    }

    @Test mutating func globalAverageKeepsBlockedLayout() {
        let x = Tensor.randomNormal([2, 32, 4, 4], using: &rng)
        let plain = x.adaptiveAvgPool2d(outputSize: 1), blocked = x.converted(to: .blocked).adaptiveAvgPool2d(outputSize: 1)
        #expect(plain.shape == [2, 32, 1, 1] && blocked.layout == .blocked)
        #expect(plain.scalars == blocked.scalars)
        #expect(maxAbsDifference(plain.flattened(), x.mean(alongAxes: [2, 3])) < 1e-6)
    }
}
