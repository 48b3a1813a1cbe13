import Foundation
import Genie
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
    @Test(arguments: ["resnet_small", "mobilenet_v2", "regnet_x_small", "mnasnet", "efficientnet_small"])
    func torchvisionExportGivesPyTorchLogits(name: String) throws {
        let (model, shape) = try ONNXImport.read(onnxFixture(name).bytes, source: name)
        #expect(shape.channels == 1 && shape.size == 28 && shape.classes == 10)
        model.setTraining(false)
        let golden = try fixture("onnx/logits.safetensors")
        let logits = withoutGradients { model(golden["input"]!) }, expected = golden[name + ".logits"]!
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
        #expect(model.quantizedLayers.count == 53)
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
