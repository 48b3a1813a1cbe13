import Foundation
import Testing
import Tensors

/// The whole pipeline on an imported ONNX graph, through the command.
@Suite struct GraphCommandTests {
    @Test func runOnAnImportedGraphGoesEndToEndAndItsFileEvaluatesAndExportsWithoutTheONNXFile() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let run = try genie(["run", "--weights", onnxFixture("resnet_small"), "--mean", "0.2860", "--std", "0.3530",
                             "--distill-iterations", "2", "--iterations", "4", "--out", "r", "--json"], in: folder)
        try #require(run.status == 0, "\(run)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        #expect(report["arch"] as? String == "onnx" && report["test_images"] as? Int == 10000)
        let quantTop1 = try #require(report["quant_top1"] as? Double)
        let evaluated = try genie(["evaluate", "--quantized", "r/quantized.safetensors", "--json"], in: folder)
        try #require(evaluated.status == 0, "\(evaluated)")
        let record = try #require(try JSONSerialization.jsonObject(with: Data(evaluated.stdout.utf8)) as? [String: Any])
        #expect(record["top1"] as? Double == quantTop1, "the file reads back to the model the run measured")
        let exported = try genie(["export", "--quantized", "r/quantized.safetensors", "--onnx", "q.onnx", "--opset", "21"], in: folder)
        #expect(exported.status == 0 && exported.stdout.contains("batch norms folded"), "\(exported)")
        #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("q.onnx").path))
    }
}
