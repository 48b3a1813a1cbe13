import Foundation
import Models
import NN
import Testing
import Tensors

/// The deterministic "formula weights" of scripts/fixtures_models.py, so fixtures need not store weights.
func loadFormulaWeights(_ model: Module) throws {
    var tensors: [String: Tensor] = [:]
    for (k, entry) in model.stateDict().enumerated() {
        let n = entry.value.count, shape = entry.value.shape
        let wave = (0..<n).map { j in sin(0.7 * Double(j) + 1.1 * Double(k)) }
        let values: [Double]
        if entry.key.hasSuffix("num_batches_tracked") {
            values = Array(repeating: 0, count: n)
        } else if entry.key.hasSuffix("running_var") {
            values = wave.map { 1 + 0.25 * (1 + $0) }
        } else if entry.key.hasSuffix("running_mean") || entry.key.hasSuffix("bias") {
            values = wave.map { 0.1 * $0 }
        } else if shape.count == 1 {
            values = wave.map { 1 + 0.1 * $0 }
        } else {
            let fanIn = Double(n / shape[0])
            values = wave.map { $0 * (3 / fanIn).squareRoot() }
        }
        tensors[entry.key] = Tensor(shape: shape, scalars: values.map { Float($0) })
    }
    try model.loadStateDict(tensors, source: "formula weights")
}

@Suite struct ZooTests {
    /// torchvision's state-dict keys and shapes per model, from scripts/fixtures_models.py.
    static let keys: [String: [(key: String, shape: [Int])]] = {
        let data = try! Data(contentsOf: fixturesDirectory.appendingPathComponent("model_keys.json"))
        let json = try! JSONSerialization.jsonObject(with: data) as! [String: [[Any]]]
        return json.mapValues { rows in rows.map { ($0[0] as! String, ($0[1] as! [NSNumber]).map(\.intValue)) } }
    }()

    @Test(arguments: [
        ("resnet18", ModelSpec(arch: "resnet18", numClasses: 1000, inChannels: 3, imageSize: 224, mean: [0, 0, 0], std: [1, 1, 1])),
        ("resnet50", ModelSpec(arch: "resnet50", numClasses: 1000, inChannels: 3, imageSize: 224, mean: [0, 0, 0], std: [1, 1, 1])),
        ("mobilenet_v2", ModelSpec(arch: "mobilenet_v2", numClasses: 1000, inChannels: 3, imageSize: 224, mean: [0, 0, 0], std: [1, 1, 1])),
        ("mobilenet_v2_small", ModelSpec(arch: "mobilenet_v2")),
        ("resnet20", ModelSpec(arch: "resnet20")),
    ])
    func stateDictKeysAndShapesAreTorchvisions(name: String, spec: ModelSpec) throws {
        let expected = try #require(ZooTests.keys[name])
        let actual = spec.build().stateDict()
        #expect(actual.map(\.key) == expected.map(\.key))
        #expect(actual.map(\.value.shape) == expected.map(\.shape))
    }

    @Test(arguments: [("resnet20", ModelSpec(arch: "resnet20")),
                      ("resnet18", ModelSpec(arch: "resnet18", inChannels: 3, imageSize: 32, stemStride: 2, mean: [0, 0, 0], std: [1, 1, 1])),
                      ("resnet50", ModelSpec(arch: "resnet50", inChannels: 3, imageSize: 32, stemStride: 2, mean: [0, 0, 0], std: [1, 1, 1])),
                      ("mobilenet_v2", ModelSpec(arch: "mobilenet_v2"))])
    func logitsAndInputGradientsMatchPyTorch(name: String, spec: ModelSpec) throws {
        let f = try fixture("models.safetensors")
        let model = spec.build()
        try loadFormulaWeights(model)
        model.setTraining(false)
        let x = f["\(name).input"]!.requiringGradient()
        let logits = model(x)
        let reference = f["\(name).logits"]!
        let scale = reference.scalars.map(abs).max()!
        #expect(maxAbsDifference(logits, reference) <= 1e-4 * max(scale, 1), "\(name) logits")
        let grad = gradients(of: (logits * f["\(name).probe"]!).sum(), wrt: [x])[0]
        let gradReference = f["\(name).input_grad"]!
        let gradScale = gradReference.scalars.map(abs).max()!
        #expect(maxAbsDifference(grad, gradReference) <= 1e-4 * max(gradScale, 1e-3) * 10, "\(name) input gradient")
    }

    @Test func specRoundTripsThroughMetadataAndRejectsBadFlags() throws {
        let spec = ModelSpec(arch: "mobilenet_v2", numClasses: 7, inChannels: 3, imageSize: 32, widthMult: 0.5,
                             mean: [0.1, 0.2, 0.3], std: [0.4, 0.5, 0.6])
        #expect(ModelSpec(metadata: spec.metadata) == spec)
        #expect(throws: ModelSpecError.self) { try ModelSpec(arch: "vgg").validated() }
        #expect(throws: ModelSpecError.self) { try ModelSpec(arch: "resnet20", inChannels: 3).validated() }
    }
}
