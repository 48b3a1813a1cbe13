import NN
import Tensors
import Testing

/// `Sequential` runs a batch norm and the ReLU or ReLU6 right after it as one pass, unless a hook must see them apart.
@Suite struct SequentialTests {
    @Test(arguments: ["ReLU", "ReLU6"])
    func fusedBatchNormActivationEqualsModuleByModule(_ name: String) {
        var rng = SeededGenerator(seed: 5)
        let conv = Conv2d(3, 16, kernelSize: 3, padding: 1), bn = BatchNorm2d(16)
        conv.resetParameters(using: &rng)
        bn.weight!.value = Tensor.randomUniform([16], lower: 0.5, upper: 2, using: &rng)
        bn.bias!.value = Tensor.randomNormal([16], using: &rng)
        bn.runningMean!.value = Tensor.randomNormal([16], std: 0.2, using: &rng)
        bn.runningVar!.value = Tensor.randomUniform([16], lower: 0.05, upper: 0.2, using: &rng)
        let sequence = Sequential([conv, bn, name == "ReLU" ? Function.relu() : Function.relu6()])
        sequence.setTraining(false)
        let x = Tensor.randomNormal([2, 3, 6, 6], std: 2, using: &rng)
        let fused = sequence(x)
        var seen = 0
        let hook = bn.addForwardHook { _, _, _ in seen += 1 }
        let apart = sequence(x)
        bn.removeHook(hook)
        #expect(seen == 1)
        #expect(maxAbsDifference(fused, apart) <= 1e-5)
        #expect(fused.scalars.contains(0) && (name == "ReLU" || fused.scalars.contains(6)))
    }

    /// A batch norm without a rectifier after it (MobileNetV2's projection) runs in the loop's own pass too, and a
    /// `Sequential` whose first module is a batch norm leaves the caller's input as it was.
    @Test func batchNormAloneEqualsModuleByModuleAndLeavesTheInput() {
        var rng = SeededGenerator(seed: 6)
        let conv = Conv2d(16, 16, kernelSize: 1), bn = BatchNorm2d(16)
        conv.resetParameters(using: &rng)
        bn.runningMean!.value = Tensor.randomNormal([16], std: 0.2, using: &rng)
        bn.runningVar!.value = Tensor.randomUniform([16], lower: 0.05, upper: 0.2, using: &rng)
        let projection = Sequential([conv, bn]), first = Sequential([bn, Function.relu()])
        projection.setTraining(false)
        first.setTraining(false)
        let x = Tensor.randomNormal([2, 16, 5, 5], using: &rng), before = x.scalars
        #expect(maxAbsDifference(projection(x), bn(conv(x))) <= 1e-6)
        #expect(maxAbsDifference(first(x), bn(x).relu()) <= 1e-6)
        #expect(x.scalars == before)
    }
}
