import Testing
import Tensors

/// The scalar at multi-index `index` of a row-major `shape` (the naive definition the axis ops are checked against).
private func offset(_ index: [Int], in shape: [Int]) -> Int {
    zip(index, shape).reduce(0) { $0 * $1.1 + $1.0 }
}

/// Every multi-index of `shape`, in row-major order.
private func indices(of shape: [Int]) -> [[Int]] {
    shape.reduce([[]]) { prefixes, d in prefixes.flatMap { p in (0..<d).map { p + [$0] } } }
}

@Suite struct AxesTests {
    var rng = SeededGenerator(seed: 41)

    @Test mutating func transposedMovesEachScalarToItsPermutedIndex() {
        let shape = [2, 3, 4, 5, 2]
        let x = Tensor.randomNormal(shape, using: &rng), values = x.scalars
        for perm in [[0, 2, 1, 3, 4], [4, 3, 2, 1, 0], [1, 0, 4, 2, 3], [0, 1, 2, 3, 4]] {
            let outShape = perm.map { shape[$0] }
            let expected = indices(of: outShape).map { j in
                var i = [Int](repeating: 0, count: shape.count)
                for (k, axis) in perm.enumerated() { i[axis] = j[k] }
                return values[offset(i, in: shape)]
            }
            let y = x.transposed(perm)
            #expect(y.shape == outShape && y.scalars == expected, "perm \(perm)")
        }
        let blocked = Tensor.randomNormal([1, 16, 2, 3], using: &rng)
        #expect(blocked.converted(to: .blocked).transposed([0, 2, 3, 1]).scalars == blocked.transposed([0, 2, 3, 1]).scalars)
    }

    @Test mutating func channelShuffleIsReshapeTransposeReshape() {
        // torchvision's channel_shuffle with 2 groups: channel c of the output is channel (c % 2) * C/2 + c / 2.
        let x = Tensor.randomNormal([2, 6, 2, 2], using: &rng), values = x.scalars
        let y = x.reshaped(to: [2, 2, 3, 2, 2]).transposed([0, 2, 1, 3, 4]).reshaped(to: [2, 6, 2, 2])
        let expected = indices(of: [2, 6, 2, 2]).map { i in values[offset([i[0], (i[1] % 2) * 3 + i[1] / 2, i[2], i[3]], in: x.shape)] }
        #expect(y.scalars == expected)
    }

    @Test mutating func sliceKeepsTheIndicesOfItsRangeInBothLayouts() {
        let shape = [2, 32, 3, 2]
        let x = Tensor.randomNormal(shape, using: &rng), values = x.scalars
        for layout in bothLayouts {
            for (axis, range) in [(1, 8..<24), (1, 0..<16), (1, 3..<5), (0, 1..<2), (2, 1..<3), (3, 0..<1), (-1, 1..<2)] {
                let y = x.converted(to: layout).slice(axis: axis, range)
                let a = axis < 0 ? axis + shape.count : axis
                var outShape = shape
                outShape[a] = range.count
                let expected = indices(of: outShape).map { i in
                    var j = i
                    j[a] += range.lowerBound
                    return values[offset(j, in: shape)]
                }
                #expect(y.shape == outShape && y.scalars == expected, "\(layout) axis \(axis) \(range)")
            }
        }
    }

    @Test mutating func gradientChecks() {
        let x = Tensor.randomNormal([2, 3, 2, 2, 2], using: &rng)
        checkGradients([x]) { $0[0].transposed([0, 2, 1, 4, 3]) }
        checkGradients([x]) { $0[0].transposed([3, 0, 4, 1, 2]) }
        let c = Tensor.randomNormal([2, 32, 2, 2], using: &rng)
        for layout in bothLayouts {
            let cl = c.converted(to: layout)
            checkGradients([cl]) { $0[0].slice(axis: 1, 16..<32) }
            checkGradients([cl]) { $0[0].slice(axis: 1, 3..<9) }
            checkGradients([cl]) { $0[0].slice(axis: 3, 1..<2) }
            // ShuffleNet's block: both halves of one tensor, one scaled, joined and shuffled (no ReLU: finite differences
            // across its kink fail).
            checkGradients([cl]) { xs in
                let joined = Tensor.concatenated([xs[0].slice(axis: 1, 0..<16), xs[0].slice(axis: 1, 16..<32) * 2], axis: 1)
                return joined.reshaped(to: [2, 2, 16, 2, 2]).transposed([0, 2, 1, 3, 4]).reshaped(to: [2, 32, 2, 2])
            }
        }
    }
}
