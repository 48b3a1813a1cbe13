import Kernels
import Testing
import Tensors

@Suite struct LinearTests {
    var rng = SeededGenerator(seed: 14)

    @Test mutating func gemmMatchesNaiveTwinForAllTranspositions() {
        let (m, n, k) = (5, 7, 9)
        let a = Tensor.randomNormal([m * k], using: &rng), b = Tensor.randomNormal([k * n], using: &rng)
        let c0 = Tensor.randomNormal([m * n], using: &rng)
        for ta in [false, true] {
            for tb in [false, true] {
                for beta: Float in [0, 0.5] {
                    let fast = Tensor(shape: [m * n], scalars: c0.scalars), slow = Tensor(shape: [m * n], scalars: c0.scalars)
                    Gemm.sgemm(transposeA: ta, transposeB: tb, m: m, n: n, k: k, alpha: 1.5, a.buffer, b.buffer, beta: beta, fast.buffer)
                    Gemm.naive(transposeA: ta, transposeB: tb, m: m, n: n, k: k, alpha: 1.5, a.buffer, b.buffer, beta: beta, slow.buffer)
                    #expect(maxAbsDifference(fast, slow) < 1e-4, "transposes \(ta) \(tb) beta \(beta)")
                }
            }
        }
    }

    @Test func linearMatchesPyTorch() {
        let (y, d) = probedGradients([golden("linear.x"), golden("linear.w"), golden("linear.b")], probe: golden("linear.g")) {
            $0[0].linear($0[1], bias: $0[2])
        }
        expectClose(y, golden("linear.y"), 1e-5, "y")
        expectClose(d[0], golden("linear.dx"), 1e-5, "dx")
        expectClose(d[1], golden("linear.dw"), 1e-5, "dw")
        expectClose(d[2], golden("linear.db"), 1e-5, "db")
    }

    @Test mutating func gradientChecks() {
        let x = Tensor.randomNormal([3, 4], using: &rng), w = Tensor.randomNormal([5, 4], using: &rng)
        let b = Tensor.randomNormal([5], using: &rng), c = Tensor.randomNormal([4, 2], using: &rng)
        checkGradients([x, w, b]) { $0[0].linear($0[1], bias: $0[2]) }
        checkGradients([x, w]) { $0[0].linear($0[1]) }
        checkGradients([x, c]) { $0[0].matmul($0[1]) }
        let sx = x.scalars, sc = c.scalars
        var product = [Float](repeating: 0, count: 6)
        for i in 0..<3 {
            for j in 0..<2 {
                for l in 0..<4 { product[i * 2 + j] += sx[i * 4 + l] * sc[l * 2 + j] }
            }
        }
        let expected = Tensor(shape: [3, 2], scalars: product)
        #expect(maxAbsDifference(x.matmul(c), expected) < 1e-5)
    }
}
