import Foundation
import Genie
import Models
import NN
import Testing
import Tensors

/// Weight step sizes that GENIE-M's Adam carries through zero: stored mirrored with positive step sizes, and
/// no file written that the reader refuses.
@Suite struct StepSizeTests {
    /// A quantizer of a random 3x2x3x3 weight whose channel 1 has a negative step size, as Adam can leave it.
    func quantizerWithANegativeStepSize() -> WeightQuantizer {
        var rng = SeededGenerator(seed: 4)
        let wq = WeightQuantizer(weight: Tensor.randomNormal([3, 2, 3, 3], using: &rng) * 0.1, bits: 2)
        var scales = wq.scale.value.scalars
        scales[1] = -0.7 * scales[1]
        wq.scale.value = Tensor(shape: wq.scale.value.shape, scalars: scales)
        return wq
    }

    @Test func mirroringANegativeStepSizeKeepsTheWeightBitForBit() {
        let wq = quantizerWithANegativeStepSize()
        #expect(wq.invalidity?.contains("channel 1: step size") == true)
        let canonical = wq.scaled(by: [1, 1, 1])
        #expect(canonical.invalidity == nil)
        #expect(canonical.scale.value.scalars == wq.scale.value.scalars.map(abs))
        #expect(withoutGradients { canonical() }.scalars == withoutGradients { wq() }.scalars)
        // Only the flipped channel's codes and zero point change: q -> 3 - q, z -> 3 - z at 2 bits.
        let (before, after) = (wq.codes.scalars, canonical.codes.scalars)
        #expect(Array(after[18..<36]) == before[18..<36].map { 3 - $0 })
        #expect(Array(after[0..<18]) == Array(before[0..<18]) && Array(after[36...]) == Array(before[36...]))
        #expect(canonical.zeroPoint.scalars[1] == 3 - wq.zeroPoint.scalars[1])
    }

    @Test func theWriterRefusesWhatTheReaderRefusesNamingLayerAndChannel() throws {
        let wq = quantizerWithANegativeStepSize()
        let model = Sequential([QuantizedLayer(Conv2d(2, 3, kernelSize: 3, bias: false), weightQuantizer: wq, inputQuantizer: nil),
                                Function.globalAveragePool(), Function.flatten()])
        let spec = ModelSpec(arch: "resnet20", numClasses: 3)
        let error = #expect(throws: GenieError.self) { try QuantizedModelFile.make(model, spec: spec, metadata: [:]) }
        #expect(error?.description.contains("layer 0: channel 1: step size") == true, "\(String(describing: error))")
    }

    /// Reconstructs ResNet-20's unit layer1.0 with the student's conv1 channel 0 negated (or not): only a step
    /// size driven through zero matches the teacher. Returns the channels stored mirrored, the unit's first and
    /// last reconstruction losses, and how far the file's model is from the student's on the calibration images.
    func reconstructLayer1Block(negated: Bool) throws -> (mirrored: [String: Int], first: Float, last: Float, fileDifference: Float) {
        let (spec, teacher) = randomTrainedResNet20(seed: 3)
        let student = teacher.copy()
        if negated {
            let conv = student.module(at: "layer1.0.conv1") as! Conv2d
            let perChannel = conv.weight.value.count / conv.outChannels
            conv.weight.value = Tensor(shape: conv.weight.value.shape, scalars: conv.weight.value.scalars.enumerated().map { $0 < perChannel ? -$1 : $1 })
        }
        var rng = SeededGenerator(seed: 7)
        let calibration = Tensor.randomNormal([32, 1, 28, 28], using: &rng) * 0.5 + 0.2
        try quantize(student, weightBits: 4, activationBits: 4, sample: calibration.slice(batch: 0..<2), seed: 0)
        var config = ReconstructionConfig()
        config.iterations = 300
        config.weightScaleLearningRate = 0.005
        let reconstructor = try Reconstructor(teacher: teacher, student: student, calibration: calibration, config: config)
        var losses: [Float] = []
        try reconstructor.reconstruct(unit: reconstructor.units.firstIndex(of: "layer1.0")!) { losses.append($0.reconstructionLoss) }
        let file = try SafeTensors(bytes: QuantizedModelFile.make(student, spec: spec, metadata: [:]).serialized())
        let (_, restored) = try QuantizedModelFile.load(file, source: "memory")
        let x = calibration.slice(batch: 0..<8)
        let difference = maxAbsDifference(withoutGradients { student(x) }, withoutGradients { restored(x) })
        return (reconstructor.mirroredChannels, losses.prefix(10).reduce(0, +) / 10, losses.suffix(10).reduce(0, +) / 10, difference)
    }

    @Test func aStepSizeDrivenThroughZeroIsStoredPositiveAndTheFileReadsBackToTheSameModel() throws {
        let negated = try reconstructLayer1Block(negated: true)
        #expect(negated.mirrored["layer1.0.conv1", default: 0] >= 1, "\(negated.mirrored)")
        #expect(negated.last < 0.5 * negated.first, "reconstruction loss \(negated.first) -> \(negated.last)")
        #expect(negated.fileDifference <= 1e-4)
        // The control: with the teacher's own signs no step size crosses zero.
        let control = try reconstructLayer1Block(negated: false)
        #expect(control.mirrored.isEmpty, "\(control.mirrored)")
        #expect(control.fileDifference <= 1e-4)
    }
}
