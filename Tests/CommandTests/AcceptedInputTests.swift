import Foundation
import Testing
import Tensors

/// Unusual but valid models that must keep working: the rows of docs/ERRORS.md that are not refused.
@Suite struct AcceptedInputTests {
    /// Distills 2 images from `weights` and returns the images (expecting success).
    func distill(_ weights: String, in folder: URL) throws -> [Float] {
        let result = try genie(["distill", "--weights", weights, "--images", "2", "--batch-size", "2", "--iterations", "4",
                                "--out", "d.safetensors"], in: folder)
        try #require(result.status == 0, "\(result)")
        return try SafeTensors(contentsOf: folder.appendingPathComponent("d.safetensors")).tensor("images").scalars
    }

    @Test func onnxExportIsEvaluatedAndDistilledWithoutArch() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let onnx = ["--weights", onnxFixture("mnasnet"), "--mean", "0.2860", "--std", "0.3530"]
        let evaluated = try genie(["evaluate"] + onnx + ["--json", "--logits", "l.safetensors"], in: folder)
        try #require(evaluated.status == 0, "\(evaluated)")
        #expect(evaluated.stdout.contains("\"arch\":\"onnx\"") && evaluated.stdout.contains("\"images\":10000"))
        #expect(try SafeTensors(contentsOf: folder.appendingPathComponent("l.safetensors")).tensor("logits").shape == [10000, 10])
        let distilled = try genie(["distill"] + onnx + ["--images", "2", "--batch", "2", "--iterations", "2", "--out", "d.safetensors"],
                                  in: folder)
        #expect(distilled.status == 0, "\(distilled)")
    }

    @Test func runDistillsTheNumberOfImagesGivenByImages() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let run = try genie(["run", "--weights", resnet20, "--images", "32", "--distill-iterations", "2", "--iterations", "2",
                             "--out", "r", "--json"], in: folder)
        try #require(run.status == 0, "\(run)")
        #expect(run.stdout.contains("\"images\":32"), "\(run.stdout)")
        let images = try SafeTensors(contentsOf: folder.appendingPathComponent("r/images.safetensors")).tensor("images")
        #expect(images.shape == [32, 1, 28, 28])
    }

    @Test func batchNormChannelWithZeroVarianceWorks() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let weights = try editedResNet20("w.safetensors", in: folder) { $0.setValue(0, of: "layer2.0.bn1.running_var", at: 3) }
        #expect(try distill(weights, in: folder).allSatisfy { $0.isFinite })
    }

    @Test func allZeroWeightChannelWorks() throws {
        // Output channel 0 of a convolution all zero, its batch norm seeing a constant (as training leaves it).
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let weights = try editedResNet20("w.safetensors", in: folder) { file in
            let shape = file.entries["layer1.0.conv1.weight"]!.shape
            for i in 0..<(shape[1] * shape[2] * shape[3]) { file.setValue(0, of: "layer1.0.conv1.weight", at: i) }
            file.setValue(0, of: "layer1.0.bn1.running_var", at: 0)
            file.setValue(0, of: "layer1.0.bn1.running_mean", at: 0)
        }
        #expect(try distill(weights, in: folder).allSatisfy { $0.isFinite })
    }
}
