import Foundation
import Testing
import Tensors

/// `genie evaluate --data DIR` against PyTorch on the committed folder (`scripts/fixtures_imagefolder.py`),
/// and the folder errors of docs/ERRORS.md.
@Suite struct ImageFolderCommandTests {
    let fixtures = repository.appendingPathComponent("Tests/Fixtures")

    @Test(arguments: [("plain", [String]()), ("resize32_crop28", ["--resize", "32", "--crop", "28"])])
    func evaluateOnAFolderGivesPyTorchsTop1AndLogits(key: String, flags: [String]) throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let result = try genie(["evaluate", "--weights", resnet20, "--data", fixtures.appendingPathComponent("imagefolder").path,
                                "--logits", "logits.safetensors", "--json"] + flags, in: folder)
        try #require(result.status == 0, "\(result)")
        let expected = try SafeTensors(contentsOf: fixtures.appendingPathComponent("imagefolder_expected.safetensors"))
        let torch = try expected.tensor("logits/\(key)"), ours = try SafeTensors(contentsOf: folder.appendingPathComponent("logits.safetensors")).tensor("logits")
        let labels = try expected.tensor("labels").scalars.map { Int($0) }
        func argmax(_ t: Tensor) -> [Int] { (0..<t.shape[0]).map { r in (0..<10).max { t.scalars[r * 10 + $0] < t.scalars[r * 10 + $1] }! } }
        #expect(argmax(ours) == argmax(torch))
        #expect(zip(ours.scalars, torch.scalars).map { abs($0 - $1) }.max()! < 1e-3)
        let top1 = 100 * Double(zip(argmax(torch), labels).filter { $0 == $1 }.count) / Double(labels.count)
        let json = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        #expect(abs((json?["top1"] as? Double ?? -1) - top1) < 1e-9 && json?["images"] as? Int == 40, "\(result.stdout)")
    }

    @Test func quantizeEvaluatesItsDataFolderWithTheResizeAndCropOfEvaluate() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let data = ["--data", fixtures.appendingPathComponent("imagefolder").path]
        let zoom = ["--resize", "56", "--crop", "28"]  // the middle quarter of each image, twice as large
        func top1(_ arguments: [String]) throws -> Double {
            let result = try genie(arguments + ["--json"], in: folder)
            try #require(result.status == 0, "\(result)")
            let json = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
            return try #require(json?["top1"] as? Double, "\(result.stdout)")
        }
        let quantized = try top1(["quantize", "--weights", resnet20, "--noise", "32", "--method", "rtn", "--out", "q.safetensors",
                                  "--evaluate"] + data + zoom)
        let evaluated = try top1(["evaluate", "--quantized", "q.safetensors"] + data + zoom)
        let unzoomed = try top1(["evaluate", "--quantized", "q.safetensors"] + data)
        try #require(evaluated != unzoomed, "the zoom must change the accuracy for this test to tell them apart")
        #expect(quantized == evaluated)
    }

    @Test func wrongNormalizationOrStemStrideWarnsAboutBatchNormStatistics() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let data = ["--data", fixtures.appendingPathComponent("imagefolder").path, "--json"]
        let right = try genie(["evaluate", "--weights", resnet20] + data, in: folder)
        #expect(right.status == 0 && !right.stderr.contains("warning"), "\(right)")
        let wrongNormalization = try genie(["evaluate", "--weights", resnet20, "--mean", "0", "--std", "1"] + data, in: folder)
        #expect(wrongNormalization.status == 0 && wrongNormalization.stderr.contains("warning: the first batch norm (bn1) sees inputs far from the statistics")
                && wrongNormalization.stderr.contains("check --mean/--std, --resize/--crop and --in-channels"), "\(wrongNormalization)")
        let mobilenet = ["evaluate", "--weights", fixtures.appendingPathComponent("torchvision_mobilenet_v2.safetensors").path,
                         "--arch", "mobilenet_v2", "--width-mult", "0.25"] + data
        let rightStride = try genie(mobilenet + ["--stem-stride", "2"], in: folder)
        #expect(rightStride.status == 0 && !rightStride.stderr.contains("warning"), "\(rightStride)")
        let wrongStride = try genie(mobilenet + ["--stem-stride", "1"], in: folder)
        #expect(wrongStride.stderr.contains("though the first one does not: check the model options (e.g. --stem-stride)"), "\(wrongStride)")
    }

    /// Quantization moves the deeper batch norms' inputs (round-to-nearest at W2A4 most of all) but not the first's:
    /// a quantized file read with its own preprocessing must not warn, and a zooming resize still must.
    @Test func quantizedModelWarnsOnlyAboutItsPreprocessing() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let made = try genie(["quantize", "--weights", resnet20, "--method", "rtn", "--wbits", "2", "--abits", "4", "--noise", "32",
                              "--out", "q.safetensors"], in: folder)
        try #require(made.status == 0, "\(made)")
        let evaluate = ["evaluate", "--quantized", "q.safetensors", "--data", fixtures.appendingPathComponent("imagefolder").path, "--json"]
        let right = try genie(evaluate, in: folder)
        #expect(right.status == 0 && !right.stderr.contains("warning"), "\(right)")
        let json = try JSONSerialization.jsonObject(with: Data(right.stdout.utf8)) as? [String: Any]
        let shift = json?["batchnorm_shift"] as? [String: Any]
        #expect(shift?["input_layer"] as? String == "bn1" && shift?["network"] == nil && (shift?["worst"] as? Double ?? 0) > 0.08,
                "the deeper layers of a W2A4 round-to-nearest model are far from their statistics: \(right.stdout)")
        let zoomed = try genie(evaluate + ["--resize", "40", "--crop", "28"], in: folder)
        #expect(zoomed.status == 0 && zoomed.stderr.contains("warning: the first batch norm (bn1)"), "\(zoomed)")
    }

    @Test func corruptFilesAreSkippedAndCounted() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let data = folder.appendingPathComponent("data")
        try FileManager.default.copyItem(at: fixtures.appendingPathComponent("imagefolder"), to: data)
        let jpeg = data.appendingPathComponent("0/t00019.jpg")
        let bytes = try Data(contentsOf: jpeg)
        try bytes.prefix(bytes.count / 2).write(to: jpeg)
        try Data("not an image".utf8).write(to: data.appendingPathComponent("1/notes.png"))
        let result = try genie(["evaluate", "--weights", resnet20, "--data", data.path, "--json"], in: folder)
        try #require(result.status == 0, "\(result)")
        #expect(result.stdout.contains("\"images\":39") && result.stdout.contains("\"skipped\":2"), "\(result.stdout)")
        #expect(result.stderr.contains("warning: skipped 2 of 41 files that could not be read"))
        #expect(result.stderr.contains("0/t00019.jpg: JPEG file is truncated"))
        #expect(result.stderr.contains("1/notes.png: is of an unknown type; only JPEG and PNG images can be read"))
    }

    @Test func folderErrorsNameTheFolderOrFlag() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        func evaluate(_ data: String, _ extra: [String] = []) throws -> Outcome {
            try genie(["evaluate", "--weights", resnet20, "--data", data] + extra, in: folder)
        }
        let empty = folder.appendingPathComponent("empty")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        var result = try evaluate(empty.path)
        #expect(result.status == 1 && result.stderr.contains("empty: holds no class folders and no image files"), "\(result)")
        try FileManager.default.copyItem(at: fixtures.appendingPathComponent("imagefolder/0/t00059.png"), to: empty.appendingPathComponent("a.png"))
        result = try evaluate(empty.path)
        #expect(result.status == 1 && result.stderr.contains("has no class folders (torchvision's ImageFolder layout"), "\(result)")
        let many = folder.appendingPathComponent("many")
        for c in 0..<11 {
            let sub = many.appendingPathComponent("c\(c)")
            try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: fixtures.appendingPathComponent("imagefolder/0/t00059.png"), to: sub.appendingPathComponent("a.png"))
        }
        result = try evaluate(many.path)
        #expect(result.status == 1 && result.stderr.contains("has 11 class folders but the model has 10 classes"), "\(result)")
        result = try evaluate(fixtures.appendingPathComponent("imagefolder_rgb").path)
        #expect(result.status == 1 && result.stderr.contains("(height x width) after preprocessing, but the model takes 28x28; pass --resize"), "\(result)")
        result = try evaluate(fixtures.appendingPathComponent("imagefolder").path, ["--crop", "24"])
        #expect(result.status == 1 && result.stderr.contains("--crop: 24 does not give the model's input size 28"), "\(result)")
    }
}
