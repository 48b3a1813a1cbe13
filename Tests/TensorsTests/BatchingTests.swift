import Testing
import Tensors

@Suite struct BatchingTests {
    var rng = SeededGenerator(seed: 16)

    @Test mutating func concatenateSliceAndGatherInBothLayouts() {
        let a = Tensor.randomNormal([2, 16, 3, 3], using: &rng), b = Tensor.randomNormal([3, 16, 3, 3], using: &rng)
        let c = Tensor.randomNormal([2, 32, 3, 3], using: &rng)
        let row = 16 * 9
        for layout in bothLayouts {
            let al = a.converted(to: layout), bl = b.converted(to: layout)
            let cat = Tensor.concatenated([al, bl])
            #expect(cat.shape == [5, 16, 3, 3] && cat.layout == layout)
            #expect(cat.scalars == a.scalars + b.scalars)
            let s = cat.slice(batch: 1..<4)
            #expect(s.layout == layout && s.scalars == Array(cat.scalars[row..<(4 * row)]))
            let g = cat.gathered(batch: [4, 0, 4])
            #expect(g.layout == layout)
            #expect(g.scalars == Array(cat.scalars[(4 * row)...]) + Array(cat.scalars[..<row]) + Array(cat.scalars[(4 * row)...]))
            let channels = Tensor.concatenated([al, c.converted(to: layout)], axis: 1)
            #expect(channels.shape == [2, 48, 3, 3] && channels.layout == layout)
            let sa = a.scalars, sc = c.scalars
            var expected: [Float] = []
            for n in 0..<2 {
                expected += sa[(n * row)..<((n + 1) * row)]
                expected += sc[(n * 2 * row)..<((n + 1) * 2 * row)]
            }
            #expect(channels.scalars == expected)
        }
        let m = Tensor(shape: [2, 2], scalars: [1, 2, 3, 4])
        #expect(Tensor.concatenated([m, Tensor(shape: [2, 1], scalars: [9, 8])], axis: -1).scalars == [1, 2, 9, 3, 4, 8])
    }

    /// A stack filled batch by batch equals the concatenation of its batches, in the first batch's layout whatever
    /// the layouts of the later ones.
    @Test mutating func batchStackEqualsConcatenationOfItsBatches() {
        let batches = [2, 3, 1].map { Tensor.randomNormal([$0, 16, 3, 3], using: &rng) }
        for layout in bothLayouts {
            var stack = BatchStack(total: 6)
            for (i, b) in batches.enumerated() { stack.append(b.converted(to: i == 0 ? layout : .plain)) }
            #expect(stack.tensor.layout == layout && stack.tensor.shape == [6, 16, 3, 3])
            #expect(stack.tensor.scalars == Tensor.concatenated(batches).scalars)
        }
    }

    @Test mutating func gradientChecksInBothLayouts() {
        let a = Tensor.randomNormal([2, 16, 2, 2], using: &rng), b = Tensor.randomNormal([1, 16, 2, 2], using: &rng)
        let c = Tensor.randomNormal([2, 16, 1, 2], using: &rng)
        for layout in bothLayouts {
            let al = a.converted(to: layout), bl = b.converted(to: layout), cl = c.converted(to: layout)
            checkGradients([al, bl]) { Tensor.concatenated([$0[0], $0[1], $0[0]]) }
            checkGradients([al, cl]) { Tensor.concatenated([$0[0], $0[1]], axis: 2) }
            checkGradients([al]) { $0[0].slice(batch: 1..<2) }
            checkGradients([al]) { $0[0].gathered(batch: [1, 1, 0]) }
        }
        let v = Tensor.randomNormal([3, 2], using: &rng), w = Tensor.randomNormal([3, 4], using: &rng)
        checkGradients([v, w]) { Tensor.concatenated([$0[0], $0[1]], axis: 1) }
    }
}
