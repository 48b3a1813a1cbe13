import Foundation
import Genie
import Models
import NN
import ONNX
import Testing
import Tensors

/// An imported graph is quantized exactly as the same network loaded from its state dict: torchvision's
/// mobilenet_v2(width_mult=0.25) with a 1-channel stem, as PyTorch exported it (Tests/Fixtures/onnx/mobilenet_v2.onnx)
/// and as the zoo's MobileNetV2 holding the imported weights.
@Suite struct ImportedShortcutTests {
    /// The imported fixture and the zoo's MobileNetV2 with its weights, both in eval mode.
    static func bothPaths() throws -> (zoo: Module, graph: Module) {
        let (graph, _) = try ONNXImport.read(onnxFixture("mobilenet_v2").bytes, source: "mobilenet_v2")
        let zoo = try ModelSpec(arch: "mobilenet_v2", numClasses: 10, inChannels: 1, widthMult: 0.25, stemStride: 2).validated().build()
        try zoo.loadStateDict(Dictionary(uniqueKeysWithValues: graph.stateDict().map { ($0.key, $0.value) }), source: "mobilenet_v2.onnx")
        zoo.setTraining(false)
        graph.setTraining(false)
        return (zoo, graph)
    }

    static let calibration: Tensor = {
        var rng = SeededGenerator(seed: 8)
        return Tensor.randomNormal([32, 1, 28, 28], using: &rng)
    }()

    static func quantizable(_ model: Module) -> [String] {
        model.namedModules().filter { $0.module is Conv2d || $0.module is Linear || ($0.module as? Function)?.name == "Identity" }.map(\.path)
    }

    /// Each quantized layer's path, weight bits, input bits, and the first layer sharing its input quantizer.
    static func quantizedLayout(_ model: Module) -> [String] {
        let layers = model.quantizedLayers
        return layers.map { path, layer in
            let owner = layer.inputQuantizer.flatMap { q in layers.first { $0.layer.inputQuantizer === q }?.path } ?? "-"
            return "\(path) w\(layer.weightQuantizer.map { "\($0.bits)" } ?? "-") a\(layer.inputQuantizer.map { "\($0.bits)" } ?? "-") \(owner)"
        }
    }

    static func maxRelativeDifference(_ a: [Float], _ b: [Float]) -> Float {
        let scale = max(b.map(abs).max() ?? 0, .leastNormalMagnitude)
        return zip(a, b).map { abs($0 - $1) }.max()! / scale
    }

    /// Quantizes both paths at W4A4 and reconstructs them with `config`, recording every iteration's losses.
    static func reconstructed(_ config: ReconstructionConfig) throws -> [(model: Module, losses: [Float], units: [String])] {
        let (zoo, graph) = try bothPaths()
        return try [zoo, graph].map { teacher in
            let student = teacher.copy()
            try quantize(student, weightBits: 4, activationBits: 4, sample: calibration.slice(batch: 0..<2), seed: config.seed)
            let reconstructor = try Reconstructor(teacher: teacher, student: student, calibration: calibration, config: config)
            var losses: [Float] = []
            try reconstructor.run { losses += [$0.reconstructionLoss, $0.roundingLoss] }
            for (_, layer) in student.quantizedLayers { layer.quantizesInput = layer.inputQuantizer != nil }
            return (student, losses, reconstructor.units)
        }
    }

    @Test func importedMobileNetV2HasTheZoosShortcutIdentitiesLayersAndUnits() throws {
        let (zoo, graph) = try Self.bothPaths()
        #expect(Self.quantizable(graph) == Self.quantizable(zoo))
        #expect(Self.quantizable(graph).filter { $0.hasSuffix(".identity") }.count == 11)
        #expect(reconstructionUnits(of: graph, input: Self.calibration) == reconstructionUnits(of: zoo, input: Self.calibration))
        let x = Self.calibration.slice(batch: 0..<2)
        #expect(withoutGradients { graph(x) }.scalars == withoutGradients { zoo(x) }.scalars)
        for model in [zoo, graph] { try quantize(model, weightBits: 4, activationBits: 4, sample: x, seed: 0) }
        #expect(Self.quantizedLayout(graph) == Self.quantizedLayout(zoo))
        #expect(Self.quantizedLayout(graph).contains("features.3.identity w- a4 features.3.conv.0.0"))
    }

    @Test func roundToNearestGivesTheZoosLogits() throws {
        let paths = try Self.reconstructed(ReconstructionConfig(method: .rtn))
        let x = try #require(fixture("onnx/logits.safetensors")["input"])
        let (zoo, graph) = (withoutGradients { paths[0].model(x) }, withoutGradients { paths[1].model(x) })
        #expect(Self.maxRelativeDifference(graph.scalars, zoo.scalars) <= 1e-5)
    }

    @Test func genieMIterationsGiveTheZoosLossesAndLogits() throws {
        var config = ReconstructionConfig()
        config.iterations = 4
        config.warmup = 0.5  // two iterations with the rounding loss
        config.seed = 5
        let paths = try Self.reconstructed(config)
        #expect(paths[1].units == paths[0].units && paths[1].losses.count == 2 * 4 * paths[0].units.count)
        #expect(Self.maxRelativeDifference(paths[1].losses, paths[0].losses) <= 1e-4)
        let x = try #require(fixture("onnx/logits.safetensors")["input"])
        let (zoo, graph) = (withoutGradients { paths[0].model(x) }, withoutGradients { paths[1].model(x) })
        #expect(Self.maxRelativeDifference(graph.scalars, zoo.scalars) <= 1e-4)
    }

    /// Only an Add's input that another node also reads gets an identity: ResNet's downsampling blocks add two
    /// values only the Add reads. A quantized file records the rewritten graph, and importing that graph again
    /// inserts nothing.
    @Test func identitiesGoOnSkipConnectionsOnlyAndOnce() throws {
        let (resnet, _) = try ONNXImport.read(onnxFixture("resnet_small").bytes, source: "resnet_small")
        #expect(Self.quantizable(resnet).filter { $0.hasSuffix("identity") } == ["layer1.0.identity"])
        let (graph, _) = try ONNXImport.read(onnxFixture("mobilenet_v2").bytes, source: "mobilenet_v2")
        try quantize(graph, weightBits: 4, activationBits: 4, sample: Self.calibration.slice(batch: 0..<2), seed: 0)
        for (_, layer) in graph.quantizedLayers { layer.quantizesInput = layer.inputQuantizer != nil }
        let file = try QuantizedModelFile.make(graph, spec: ModelSpec(arch: ONNXImport.arch, mean: [0.286], std: [0.353]), metadata: [:])
        let recorded = try Onnx_ModelProto(serializedBytes: try #require(file.entries["graph"]).bytes)
        #expect(recorded.graph.node.filter { $0.opType == "Identity" && $0.name.hasSuffix("/identity/Identity") }.count == 11)
        let (_, restored) = try QuantizedModelFile.load(file, source: "q.safetensors")
        #expect(restored.quantizedLayers.map(\.path) == graph.quantizedLayers.map(\.path))
        var again = try onnxFixture("mobilenet_v2").proto
        again.graph.node = recorded.graph.node
        let (reimported, _) = try ONNXImport.read(again.serializedBytes(), source: "rewritten")
        #expect(Self.quantizable(reimported) == Self.quantizable(try Self.bothPaths().zoo))
    }
}
