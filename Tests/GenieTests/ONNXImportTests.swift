import Foundation
import Genie
import Models
import NN
import ONNX
import Testing
import Tensors
import TestSupport

/// The ONNX files PyTorch exported (scripts/fixtures_onnx.py), as bytes and decoded.
func onnxFixture(_ name: String) throws -> (bytes: [UInt8], proto: Onnx_ModelProto) {
    let bytes = [UInt8](try Data(contentsOf: fixturesDirectory.appendingPathComponent("onnx/\(name).onnx")))
    return (bytes, try Onnx_ModelProto(serializedBytes: bytes))
}

/// The import error for a modified copy of a fixture's graph.
func importError(_ name: String, _ change: (inout Onnx_ModelProto) -> Void) throws -> String? {
    var proto = try onnxFixture(name).proto
    change(&proto)
    let error = #expect(throws: GenieError.self) { try ONNXImport.read(proto.serializedBytes(), source: "'m.onnx'") }
    return error?.description
}

@Suite struct ONNXImportTests {
    @Test(arguments: ["resnet_small", "mobilenet_v2", "regnet_x_small", "mnasnet", "efficientnet_small", "shufflenet_v2",
                      "shufflenet_v2_opset17", "resnet_bottleneck_small"])
    func torchvisionExportGivesPyTorchLogits(name: String) throws {
        try expectPyTorchLogits(onnxFixture(name).bytes, of: name.replacingOccurrences(of: "_opset17", with: ""))
    }

    /// The ShuffleNet export with each torch.chunk (two `Slice` nodes of one tensor) written as one `Split`, the form
    /// of other exporters and of `torch.split`: its sizes as an input (opset 13) or an attribute (before), or none
    /// (equal parts).
    @Test(arguments: ["input", "attribute", "equal"])
    func chunkWrittenAsSplitGivesPyTorchLogits(form: String) throws {
        var proto = try onnxFixture("shufflenet_v2").proto
        let slices = proto.graph.node.filter { $0.opType == "Slice" }
        let halves: [Int64] = [8, 16, 32]  // the chunked tensors of stage2.1, stage3.1 and stage4.1 have 16, 32 and 64 channels
        #expect(slices.count == 2 * halves.count)
        for (k, half) in halves.enumerated() {
            let pair = [slices[2 * k], slices[2 * k + 1]]
            var split = Onnx_NodeProto()
            (split.opType, split.name, split.input, split.output) = ("Split", pair[0].name + "_split", [pair[0].input[0]], pair.map { $0.output[0] })
            var axis = Onnx_AttributeProto()
            (axis.name, axis.type, axis.i) = ("axis", .int, 1)
            split.attribute = [axis]
            if form == "input" {
                var sizes = Onnx_TensorProto()
                (sizes.name, sizes.dataType, sizes.dims, sizes.int64Data) = (split.name + ".split", 7, [2], [half, half])
                proto.graph.initializer.append(sizes)
                split.input.append(sizes.name)
            } else if form == "attribute" {
                var sizes = Onnx_AttributeProto()
                (sizes.name, sizes.type, sizes.ints) = ("split", .ints, [half, half])
                split.attribute.append(sizes)
            }
            let at = try #require(proto.graph.node.firstIndex { $0.name == pair[0].name })
            proto.graph.node.removeAll { $0.name == pair[0].name || $0.name == pair[1].name }
            proto.graph.node.insert(split, at: at)
        }
        #expect(!proto.graph.node.contains { $0.opType == "Slice" })
        try expectPyTorchLogits(proto.serializedBytes(), of: "shufflenet_v2")
    }

    /// The model in `bytes` gives the logits PyTorch computed for fixture `name`, within 1e-3 of the largest.
    func expectPyTorchLogits(_ bytes: [UInt8], of name: String) throws {
        let (model, shape) = try ONNXImport.read(bytes, source: name)
        #expect(shape.channels == 1 && shape.size == 28 && shape.classes == 10)
        model.setTraining(false)
        let golden = try fixture("onnx/logits.safetensors")
        let logits = withoutGradients { model(golden["input"]!) }, expected = try #require(golden[name + ".logits"])
        #expect(logits.shape == expected.shape)
        let error = zip(logits.scalars, expected.scalars).map { abs($0 - $1) }.max()!
        let scale = expected.scalars.map(abs).max()!
        #expect(error <= 1e-3 * scale, "max |genie - torch| \(error), max |torch| \(scale)")
    }

    @Test func layersSitAtTheirStateDictPaths() throws {
        let (model, _) = try ONNXImport.read(onnxFixture("resnet_small").bytes, source: "resnet_small")
        #expect(model.module(at: "layer2.0.downsample.0") is Conv2d && model.module(at: "layer2.0.downsample.1") is BatchNorm2d)
        #expect(model.module(at: "fc") is Linear)
        let modules = model.namedModules().map(\.module)
        #expect(modules.filter { $0 is Conv2d }.count == 12 && modules.filter { $0 is BatchNorm2d }.count == 12)
        #expect(model.stateDict().map(\.key).contains("layer1.0.bn2.running_var"))
        // A replaced layer is what the graph runs.
        var rng = SeededGenerator(seed: 14)
        let x = Tensor.randomNormal([2, 1, 28, 28], using: &rng)
        model.setTraining(false)
        model.setTraining(false)
        let before = withoutGradients { model(x) }
        model.replace("fc", with: Linear(64, 10, bias: false))
        #expect(withoutGradients { model(x) }.scalars != before.scalars)
    }

    @Test func quantizedImportStaysNearTheFloatModelAtW8A8() throws {
        let (model, _) = try ONNXImport.read(onnxFixture("mobilenet_v2").bytes, source: "mobilenet_v2")
        model.setTraining(false)
        let x = try #require(fixture("onnx/logits.safetensors")["input"])
        let float = withoutGradients { model(x) }
        try quantize(model, weightBits: 8, activationBits: 8, sample: x.slice(batch: 0..<1), seed: 0)
        #expect(model.quantizedLayers.count == 64)  // 53 convolutions and linear layers, 11 shortcut identities
        for (_, layer) in model.quantizedLayers { layer.quantizesInput = layer.inputQuantizer != nil }
        let quantized = withoutGradients { model(x) }
        let error = zip(quantized.scalars, float.scalars).map { abs($0 - $1) }.max()!
        #expect(error < 0.1 * float.scalars.map(abs).max()!, "W8A8 max logit error \(error)")
    }

    @Test func foldedBatchNormsAreRefusedWithTheExportCall() throws {
        let message = try importError("resnet_small") { model in
            let renames = Dictionary(uniqueKeysWithValues: model.graph.node.filter { $0.opType == "BatchNormalization" }
                .map { ($0.output[0], $0.input[0]) })
            model.graph.node.removeAll { $0.opType == "BatchNormalization" }
            for i in model.graph.node.indices { model.graph.node[i].input = model.graph.node[i].input.map { renames[$0] ?? $0 } }
        }
        #expect(message?.contains("'m.onnx' has no BatchNormalization") == true)
        #expect(message?.contains("training=torch.onnx.TrainingMode.PRESERVE") == true)
    }

    @Test func unsupportedOpIsRefusedNamingOpAndNode() throws {
        let message = try importError("resnet_small") { $0.graph.node[2].opType = "Softplus" }
        #expect(message?.contains("node '/relu/Relu' has op Softplus") == true)
    }

    @Test func externalDataIsRefusedNamingTensorAndFile() throws {
        let message = try importError("resnet_small") { model in
            model.graph.initializer[0].dataLocation = .external
            var location = Onnx_StringStringEntryProto()
            (location.key, location.value) = ("location", "weights.bin")
            model.graph.initializer[0].externalData = [location]
        }
        #expect(message?.contains("tensor 'conv1.weight' is stored in the external data file 'weights.bin'") == true)
    }

    @Test func notAnONNXFileIsRefused() throws {
        let message = #expect(throws: GenieError.self) { try ONNXImport.read(Array("{\"arch\": 1}".utf8), source: "'x.onnx'") }
        #expect(message?.description.contains("'x.onnx' is not an ONNX file") == true)
    }
}

/// Reconstruction units of imported graphs: the zoo's rule (residual blocks, inverted residuals, lone layers)
/// found from the graph's dataflow and PyTorch's node names, and each block runs as one module.
@Suite struct GraphUnitTests {
    func units(_ name: String) throws -> [String] {
        let (model, _) = try ONNXImport.read(onnxFixture(name).bytes, source: name)
        return reconstructionUnits(of: model, input: try #require(fixture("onnx/logits.safetensors")["input"]))
    }

    @Test func torchvisionResNetAndMobileNetV2GiveTheZoosUnits() throws {
        #expect(try units("resnet_small") == ["conv1", "layer1.0", "layer2.0", "layer3.0", "layer4.0", "fc"])
        let zoo = reconstructionUnits(of: ModelSpec(arch: "mobilenet_v2").build(), input: Tensor(repeating: 0, shape: [1, 1, 28, 28]))
        #expect(try units("mobilenet_v2") == zoo)
    }

    @Test func regNetMnasNetAndEfficientNetGiveTheirBlocks() throws {
        #expect(try units("regnet_x_small") == ["stem.0", "trunk_output.block1.block1-0"] + (0..<3).map { "trunk_output.block2.block2-\($0)" }
                + ["trunk_output.block3.block3-0", "trunk_output.block3.block3-1", "fc"])
        let stacks = [(8, 3), (9, 3), (10, 3), (11, 2), (12, 4), (13, 1)].flatMap { s, n in (0..<n).map { "layers.\(s).\($0)" } }
        #expect(try units("mnasnet") == ["layers.0", "layers.3", "layers.6"] + stacks + ["layers.14", "classifier.1"])
        let mbconv = [(1, 1), (2, 1), (3, 1), (4, 2), (5, 2), (6, 2), (7, 1)].flatMap { s, n in (0..<n).map { "features.\(s).\($0)" } }
        #expect(try units("efficientnet_small") == ["features.0.0"] + mbconv + ["features.8.0", "classifier.1"])
    }

    /// ShuffleNet's blocks branch by splitting the channels (`stage2.1`) or by reading one value twice (`stage2.0`),
    /// and join by concatenating: each block is one unit.
    @Test func shuffleNetAndBottleneckResNetGiveTheirBlocks() throws {
        let stages = (2...4).flatMap { s in (0..<2).map { "stage\(s).\($0)" } }
        #expect(try units("shufflenet_v2") == ["conv1.0"] + stages + ["conv5.0", "fc"])
        #expect(try units("shufflenet_v2_opset17") == ["conv1.0"] + stages + ["conv5.0", "fc"])
        #expect(try units("resnet_bottleneck_small") == ["conv1", "layer1.0", "layer2.0", "layer3.0", "layer4.0", "fc"])
    }

    @Test func nodeNamesGiveTheModulePathPyTorchRecorded() {
        #expect(GraphModule.scope(ofNode: "/features/features.3/conv/conv.0/conv.0.0/Conv") == "features.3.conv.0.0")
        #expect(GraphModule.scope(ofNode: "/trunk_output/block1/block1-0/f/a/a.0/Conv") == "trunk_output.block1.block1-0.f.a.0")
        #expect(GraphModule.scope(ofNode: "/layer1/layer1.0/relu_1/Relu") == "layer1.0.relu_1")
        #expect(GraphModule.scope(ofNode: "/Flatten") == nil && GraphModule.scope(ofNode: "Conv_12") == nil)
    }

    @Test func graphWithoutNodeNamesIsReconstructedLayerByLayer() throws {
        var proto = try onnxFixture("resnet_small").proto
        for i in proto.graph.node.indices { proto.graph.node[i].name = "" }
        let (model, _) = try ONNXImport.read(proto.serializedBytes(), source: "unnamed")
        let layers = model.namedModules().filter { $0.module is Conv2d || $0.module is Linear }.map(\.path)
        let units = reconstructionUnits(of: model, input: try #require(fixture("onnx/logits.safetensors")["input"]))
        #expect(units.count == 13 && Set(units) == Set(layers))
    }

    /// A block called alone computes what it computes inside the whole graph.
    @Test(arguments: ["resnet_small", "mobilenet_v2", "efficientnet_small", "shufflenet_v2", "resnet_bottleneck_small"])
    func blockCalledAloneGivesWhatTheGraphComputes(name: String) throws {
        let (model, _) = try ONNXImport.read(onnxFixture(name).bytes, source: name)
        let x = try #require(fixture("onnx/logits.safetensors")["input"]).slice(batch: 0..<4)
        let blocks = reconstructionUnits(of: model, input: x).filter { model.module(at: $0) is LayerScope }
        #expect(blocks.count >= 4)
        for path in blocks {
            let block = try #require(model.module(at: path))
            var seen: (input: Tensor, output: Tensor)?
            let id = block.addForwardHook { _, input, output in seen = (input, output) }
            _ = withoutGradients { model(x) }
            block.removeHook(id)
            let (input, output) = try #require(seen, "\(path) did not run as one module")
            #expect(withoutGradients { block(input) }.scalars == output.scalars, "\(path)")
        }
    }

    /// GENIE-M reconstructs an imported ResNet's blocks as it does the zoo's, as whole modules.
    @Test func blocksOfAnImportedGraphAreReconstructed() throws {
        let (teacher, _) = try ONNXImport.read(onnxFixture("resnet_small").bytes, source: "resnet_small")
        var rng = SeededGenerator(seed: 3)
        let calibration = Tensor.randomNormal([32, 1, 28, 28], using: &rng)
        let student = teacher.copy()
        try quantize(student, weightBits: 4, activationBits: 4, sample: calibration.slice(batch: 0..<1), seed: 0)
        var config = ReconstructionConfig()
        config.iterations = 60
        let reconstructor = try Reconstructor(teacher: teacher, student: student, calibration: calibration, config: config)
        var losses: [String: [Float]] = [:]
        try reconstructor.run { losses[$0.path, default: []].append($0.reconstructionLoss) }
        #expect(reconstructor.units == ["conv1", "layer1.0", "layer2.0", "layer3.0", "layer4.0", "fc"])
        #expect(reconstructor.units.allSatisfy { losses[$0]?.count == 60 && losses[$0]!.allSatisfy(\.isFinite) })
        let first = losses.values.map { $0.prefix(10).reduce(0, +) }.reduce(0, +)
        let last = losses.values.map { $0.suffix(10).reduce(0, +) }.reduce(0, +)
        #expect(last < first, "the summed loss of the first 10 iterations \(first), of the last 10 \(last)")
    }
}
