import Foundation
import Genie
import Models
import NN
import ONNX
import Testing
import Tensors
import TestSupport

/// A committed ONNX export (scripts/fixtures_onnx.py) quantized by GENIE-M in a few iterations, on the golden
/// logits' input images, which it returns too.
func quantizedGraph(_ name: String, bits: Int = 4) throws -> (spec: ModelSpec, model: Module, images: Tensor) {
    let url = fixturesDirectory.appendingPathComponent("onnx/\(name).onnx")
    let (spec, model) = try ONNXImport.load(url, mean: [0.2860], std: [0.3530])
    model.setTraining(false)
    let images = try #require(fixture("onnx/logits.safetensors")["input"])
    let calibration = Tensor.concatenated(Array(repeating: images, count: 8), axis: 0)
    var config = ReconstructionConfig()
    config.iterations = 2
    let quantized = try quantizeModel(spec: spec, model: model, calibration: calibration, weightBits: bits,
                                      activationBits: bits, config: config, checkpoint: nil, quiet: true)
    return (spec, quantized, images)
}

/// The quantized-model file of an imported graph: it carries the graph, reads back to the same network, and
/// exports to QDQ ONNX by walking the graph's nodes.
@Suite struct GraphFileTests {
    @Test(arguments: ["resnet_small", "mnasnet", "efficientnet_small"])
    func quantizedGraphFileReadsBackToTheSameLogitsWithoutTheONNXFile(name: String) throws {
        let (spec, quantized, x) = try quantizedGraph(name)
        let file = try QuantizedModelFile.make(quantized, spec: spec, metadata: [:])
        let (restoredSpec, restored) = try QuantizedModelFile.load(try SafeTensors(bytes: file.serialized()), source: "memory")
        #expect(restoredSpec == spec && restored is GraphModule)
        let a = withoutGradients { quantized(x) }, b = withoutGradients { restored(x) }
        #expect(a.scalars == b.scalars)
        // The graph is recorded without its layers' parameter values, which the file holds once.
        let onnxBytes = try onnxFixture(name).bytes.count
        let graph = try #require(file.entries["graph"])
        #expect(graph.dtype == .u8 && graph.bytes.count < onnxBytes / 10, "graph \(graph.bytes.count) bytes of \(onnxBytes)")
        #expect(file.metadata["arch"] == "onnx")
    }

    @Test(arguments: [13, 21])
    func exportOfAQuantizedGraphWritesItsLayersQDQAndEveryOtherNodeAsRead(opset: Int) throws {
        let (spec, quantized, _) = try quantizedGraph("mnasnet")
        let file = try QuantizedModelFile.make(quantized, spec: spec, metadata: ["wbits": "4"])
        let (bytes, folded) = try ONNXExport.export(quantizedFile: file, source: "'q.safetensors'", opset: opset)
        let onnx = try DecodedONNX(bytes), original = try onnxFixture("mnasnet").proto.graph.node
        let layers = Set(["Conv", "BatchNormalization", "Gemm", "MatMul", "Identity"])
        let quantizers = Set(quantized.quantizedLayers.compactMap { $0.layer.inputQuantizer.map(ObjectIdentifier.init) }).count
        #expect(onnx.count("Conv") == original.filter { $0.opType == "Conv" }.count && onnx.count("Gemm") == 1)
        #expect(onnx.count("BatchNormalization") == 0 && folded.count == original.filter { $0.opType == "BatchNormalization" }.count)
        #expect(onnx.count("QuantizeLinear") == quantizers)
        for op in Set(original.map(\.opType)).subtracting(layers) {
            #expect(onnx.count(op) == original.filter { $0.opType == op }.count, "\(op)")
        }
        #expect(onnx.nodes.last!.outputs == ["logits"] && onnx.nodes.contains { $0.op == "Conv" && $0.inputs.first == "input" })
        // ReduceMean's axes are an input from opset 18.
        let reduce = try #require(onnx.nodes.first { $0.op == "ReduceMean" })
        #expect(reduce.inputs.count == (opset >= 18 ? 2 : 1))
        #expect(onnx.metadata["arch"] == "onnx" && onnx.metadata["wbits"] == "4")
    }

    @Test func graphThatDoesNotFitItsLayersIsRefusedNamingTheFile() throws {
        let (spec, quantized, _) = try quantizedGraph("resnet_small")
        var file = try QuantizedModelFile.make(quantized, spec: spec, metadata: [:])
        func error() -> String? {
            (#expect(throws: GenieError.self) { try QuantizedModelFile.load(file, source: "'q.safetensors'") })?.description
        }
        let other = try GraphFileTests.strippedGraph("regnet_x_small")
        file.entries["graph"] = .init(dtype: .u8, shape: [other.count], bytes: other)
        #expect(error()?.contains("quantized model 'q.safetensors': names a layer") == true, "\(error() ?? "")")
        file.entries["graph"] = .init(dtype: .u8, shape: [3], bytes: [0x0A, 0xFF, 0xFF])
        #expect(error()?.contains("quantized model 'q.safetensors': its graph is not an ONNX model") == true, "\(error() ?? "")")
        file.entries["graph"] = nil
        #expect(error()?.contains("holds no 'graph' entry") == true, "\(error() ?? "")")
    }

    /// A fixture's graph as a quantized-model file records it.
    static func strippedGraph(_ name: String) throws -> [UInt8] {
        let (_, model) = try ONNXImport.load(fixturesDirectory.appendingPathComponent("onnx/\(name).onnx"), mean: [0.286], std: [0.353])
        let file = try QuantizedModelFile.make(model, spec: ModelSpec(arch: "onnx"), metadata: [:])
        return try #require(file.entries["graph"]).bytes
    }
}
