import Models
import NN
import Testing
import Tensors

/// `Module.copy()` on the zoo's models (every layer type of NN among them): the copy has the same structure and
/// values and computes the same outputs, and it is independent: changing its parameters, buffers, children or mode
/// leaves the original as it was.
@Suite struct ModuleCopyTests {
    static let names = ["resnet20", "resnet18", "resnet50", "mobilenet_v2"]

    /// The model `name`, seeded, for 1-channel 32x32 images.
    static func model(_ name: String) -> Module {
        switch name {
        case "resnet20": return ResNet.resnet20(seed: 3)
        case "resnet18": return ResNet.resnet18(numClasses: 10, inChannels: 1, seed: 3)
        case "resnet50": return ResNet.resnet50(numClasses: 10, inChannels: 1, seed: 3)
        default: return MobileNetV2(numClasses: 10, inChannels: 1, widthMult: 0.5, stemStride: 1, seed: 3)
        }
    }

    @Test(arguments: names)
    func copyHasTheSameStructureValuesAndOutputs(name: String) throws {
        let original = Self.model(name)
        original.setTraining(false)
        let copy = original.copy()
        #expect(type(of: copy) == type(of: original))
        #expect(copy.namedModules().map { "\($0.path) \(type(of: $0.module))" } == original.namedModules().map { "\($0.path) \(type(of: $0.module))" })
        let (a, b) = (original.stateDict(), copy.stateDict())
        #expect(a.map { $0.key } == b.map { $0.key } && zip(a, b).allSatisfy { $0.value.scalars == $1.value.scalars })
        #expect(!copy.namedModules().contains { $0.module.isTraining })
        var rng = SeededGenerator(seed: 5)
        let x = Tensor.randomNormal([2, 1, 32, 32], using: &rng)
        #expect(withoutGradients { copy(x).scalars == original(x).scalars })
    }

    @Test(arguments: names)
    func changingTheCopyLeavesTheOriginalUnchanged(name: String) throws {
        let original = Self.model(name)
        let before = original.stateDict().map { ($0.key, $0.value.scalars) }
        var rng = SeededGenerator(seed: 5)
        let x = Tensor.randomNormal([2, 1, 32, 32], using: &rng)
        original.setTraining(false)
        let outputBefore = withoutGradients { original(x) }.scalars

        let copy = original.copy()
        // Its own parameter objects: an optimizer step on the copy moves only the copy.
        let originals = Set(original.namedParameters().map { ObjectIdentifier($0.parameter) })
        #expect(!copy.namedParameters().contains { originals.contains(ObjectIdentifier($0.parameter)) })
        let parameters = copy.trainableParameters()
        SGD(parameters, learningRate: 0.5).step(parameters.map { Tensor(repeating: 1, shape: $0.value.shape) })
        // Training mode updates the copy's batch-norm running statistics; a batch norm of the copy is replaced.
        copy.setTraining(true)
        _ = withoutGradients { copy(x) }
        copy.replace(copy.namedModules().last { $0.module is BatchNorm2d }!.path, with: Function.identity())

        #expect(original.stateDict().map { ($0.key, $0.value.scalars) }.elementsEqual(before) { $0.0 == $1.0 && $0.1 == $1.1 })
        #expect(original.namedModules().allSatisfy { !$0.module.isTraining })
        #expect(withoutGradients { original(x) }.scalars == outputBefore)
        copy.setTraining(false)
        #expect(withoutGradients { copy(x) }.scalars != outputBefore)
    }

    @Test func dropoutCopyGoesOnWithTheSameMaskStream() {
        let dropout = Dropout(0.5, seed: 9)
        let x = Tensor.ones([4, 64])
        _ = dropout(x)
        let copy = dropout.copy()
        #expect(copy(x).scalars == dropout(x).scalars)
    }
}
