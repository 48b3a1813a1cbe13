import Testing
import Tensors

@Suite struct LossesTests {
    var rng = SeededGenerator(seed: 15)

    @Test func matchPyTorch() {
        let (y, d) = probedGradients([golden("logsoftmax.x")], probe: golden("logsoftmax.g")) { $0[0].logSoftmax() }
        expectClose(y, golden("logsoftmax.y"), 1e-5, "log-softmax")
        expectClose(d[0], golden("logsoftmax.dx"), 1e-5, "log-softmax dx")

        let labels = golden("ce.labels").scalars.map { Int($0) }
        let (ce, dce) = probedGradients([golden("ce.x")], probe: Tensor(1)) { crossEntropy(logits: $0[0], labels: labels) }
        expectClose(ce, golden("ce.y"), 1e-5, "cross entropy")
        expectClose(dce[0], golden("ce.dx"), 1e-5, "cross entropy dx")

        let (mse, dmse) = probedGradients([golden("mse.a"), golden("mse.b")], probe: Tensor(1)) { mseLoss($0[0], $0[1]) }
        expectClose(mse, golden("mse.y"), 1e-5, "mse")
        expectClose(dmse[0], golden("mse.da"), 1e-5, "mse da")
        expectClose(dmse[1], golden("mse.db"), 1e-5, "mse db")
    }

    @Test func stableForHugeLogits() {
        let x = Tensor(shape: [2, 3], scalars: [1000, 0, -1000, -5000, -5001, -5002])
        let y = x.logSoftmax().scalars
        #expect(y.allSatisfy { $0.isFinite })
        #expect(abs(y[0]) < 1e-6 && abs(y[3] + 0.40760596) < 1e-5)
        #expect(crossEntropy(logits: x, labels: [0, 0]).item.isFinite)
    }

    @Test mutating func gradientChecks() {
        let x = Tensor.randomNormal([3, 5], std: 2, using: &rng)
        checkGradients([x]) { $0[0].logSoftmax() }
        checkGradients([x]) { crossEntropy(logits: $0[0], labels: [4, 0, 2]) }
        let a = Tensor.randomNormal([2, 16, 2, 2], using: &rng), b = Tensor.randomNormal([2, 16, 2, 2], using: &rng)
        checkGradients([a.converted(to: .blocked), b]) { mseLoss($0[0], $0[1]) }
        #expect(abs(mseLoss(a.converted(to: .blocked), b).item - mseLoss(a, b).item) < 1e-6)
    }
}
