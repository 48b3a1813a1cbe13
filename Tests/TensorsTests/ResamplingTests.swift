import Kernels
import Testing
import Tensors

@Suite struct ResamplingTests {
    var rng = SeededGenerator(seed: 13)

    @Test func matchPyTorchInBothLayouts() {
        let x = golden("resample.x")
        for layout in bothLayouts {
            for (name, op) in [("upsample", { (t: Tensor) in t.upsampledNearest(scale: 2) }),
                               ("reflect", { (t: Tensor) in t.reflectionPadded(2) })] {
                let (y, d) = probedGradients([x.converted(to: layout)], probe: golden("\(name).g")) { op($0[0]) }
                #expect(y.layout == layout)
                #expect(maxAbsDifference(y, golden("\(name).y")) == 0, "\(name) y \(layout)")
                expectClose(d[0], golden("\(name).dx"), 1e-6, "\(name) dx \(layout)")
            }
        }
    }

    @Test mutating func blockedGatherMatchesPlainForEveryBlockWidth() {
        let (n, c, h, w) = (2, 32, 3, 4), rows = [-1, 0, 2, 1, 1], cols = [1, -1, 0, 3, 2, 2]
        let x = Tensor.randomNormal([n, c, h, w], using: &rng).scalars
        let g = Tensor.randomNormal([n * c * rows.count * cols.count], using: &rng).scalars
        func run(_ inner: Int) -> [[Float]] {
            let xb = Tensor(shape: [x.count], scalars: blockedScalars(x, batch: n, channels: c, spatial: h * w, inner: inner))
            let gb = Tensor(shape: [g.count], scalars: blockedScalars(g, batch: n, channels: c, spatial: rows.count * cols.count,
                                                                      inner: inner))
            let y = Tensor(uninitializedShape: [g.count]), dx = Tensor(uninitializedShape: [x.count])
            GatherKernels.gather(xb.buffer, y.buffer, planes: n * c / inner, inner: inner, height: h, width: w, rows: rows, cols: cols)
            GatherKernels.scatterAdd(gb.buffer, dx.buffer, planes: n * c / inner, inner: inner, height: h, width: w,
                                     rows: rows, cols: cols)
            return [plainScalars(y.scalars, batch: n, channels: c, spatial: rows.count * cols.count, inner: inner),
                    plainScalars(dx.scalars, batch: n, channels: c, spatial: h * w, inner: inner)]
        }
        let plain = run(1)
        for inner in [8, 16] { #expect(run(inner) == plain, "inner \(inner)") }
    }

    @Test func smallExamplesByHand() {
        let x = Tensor(shape: [1, 1, 2, 3], scalars: [1, 2, 3, 4, 5, 6])
        #expect(x.upsampledNearest().scalars == [1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 4, 4, 5, 5, 6, 6])
        #expect(x.reflectionPadded(1).scalars == [5, 4, 5, 6, 5, 2, 1, 2, 3, 2, 5, 4, 5, 6, 5, 2, 1, 2, 3, 2])
        #expect(x.cropped(top: 1, left: 1, height: 1, width: 2).scalars == [5, 6])
        #expect(x.shiftedReflect(dy: 1, dx: -1).scalars == [5, 4, 5, 2, 1, 2])
    }

    /// A one-pixel side stays where it is (a ResNet-18's last strided convolution sees 1x1 maps at 16x16 inputs).
    @Test func shiftedReflectLeavesAOnePixelSide() {
        let x = Tensor(shape: [1, 1, 1, 3], scalars: [1, 2, 3])
        #expect(x.shiftedReflect(dy: 1, dx: -1).scalars == [2, 1, 2])
        #expect(Tensor(shape: [1, 2, 1, 1], scalars: [4, 5]).shiftedReflect(dy: -1, dx: 1).scalars == [4, 5])
    }

    @Test mutating func shiftedReflectEqualsPadThenCrop() {
        let x = Tensor.randomNormal([2, 16, 5, 4], using: &rng)
        for layout in bothLayouts {
            let xl = x.converted(to: layout)
            let padded = xl.reflectionPadded(1)
            for dy in -1...1 {
                for dx in -1...1 {
                    let direct = xl.shiftedReflect(dy: dy, dx: dx)
                    let reference = padded.cropped(top: 1 + dy, left: 1 + dx, height: 5, width: 4)
                    #expect(direct.layout == layout && reference.layout == layout)
                    #expect(maxAbsDifference(direct, reference) == 0, "shift (\(dy), \(dx)) \(layout)")
                    // Gradients agree too.
                    let probe = Tensor.randomNormal([2, 16, 5, 4], using: &rng)
                    let (_, g1) = probedGradients([xl], probe: probe) { $0[0].shiftedReflect(dy: dy, dx: dx) }
                    let (_, g2) = probedGradients([xl], probe: probe) {
                        $0[0].reflectionPadded(1).cropped(top: 1 + dy, left: 1 + dx, height: 5, width: 4)
                    }
                    #expect(maxAbsDifference(g1[0], g2[0]) < 1e-6)
                }
            }
        }
    }

    @Test mutating func gradientChecksInBothLayouts() {
        let x = Tensor.randomNormal([1, 16, 3, 4], using: &rng)
        for layout in bothLayouts {
            let xl = x.converted(to: layout)
            checkGradients([xl]) { $0[0].upsampledNearest(scale: 2) }
            checkGradients([xl]) { $0[0].reflectionPadded(2) }
            checkGradients([xl]) { $0[0].reflectionPadded(left: 1, right: 0, top: 2, bottom: 1) }
            checkGradients([xl]) { $0[0].cropped(top: 1, left: 1, height: 2, width: 2) }
            checkGradients([xl]) { $0[0].shiftedReflect(dy: -1, dx: 1) }
        }
    }
}
