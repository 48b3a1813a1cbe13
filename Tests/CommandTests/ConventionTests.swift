import Foundation
import Testing

/// Conventions every subcommand shares: `--version`, and `--json` printing one JSON object with what it measured.
@Suite struct ConventionTests {
    @Test func versionPrintsASemanticVersion() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let result = try genie(["--version"], in: folder)
        #expect(result.status == 0, "\(result)")
        let version = result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(version.wholeMatch(of: /[0-9]+\.[0-9]+\.[0-9]+/) != nil, "not a version: '\(version)'")
    }

    @Test func quantizeJSONReportsTheAccuracyWhenItEvaluates() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let images = repository.appendingPathComponent("Tests/Fixtures/imagefolder").path
        let result = try genie(["quantize", "--weights", resnet20, "--noise", "32", "--iterations", "1", "--out", "q.safetensors",
                                "--evaluate", "--data", images, "--json"], in: folder)
        try #require(result.status == 0, "\(result)")
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        #expect(object?["test_images"] as? Int == 40, "\(result)")
        #expect((object?["top1"] as? Double).map { (0...100).contains($0) } == true, "\(result)")
        #expect(object?["calibration_images"] as? Int == 32 && object?["method"] as? String == "genie", "\(result)")
    }

    @Test func mergeJSONReportsTheFilesAndImages() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        for shard in ["0/2", "1/2"] {
            // --batch: the old name of --batch-size, kept for old scripts.
            let result = try genie(["distill", "--weights", resnet20, "--images", "4", "--batch", "2", "--iterations", "2",
                                    "--shard", shard, "--out", "s\(shard.prefix(1)).safetensors"], in: folder)
            try #require(result.status == 0, "\(result)")
        }
        let result = try genie(["merge", "s0.safetensors", "s1.safetensors", "--out", "all.safetensors", "--json"], in: folder)
        try #require(result.status == 0, "\(result)")
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        #expect(object?["images"] as? Int == 4, "\(result)")
        #expect(object?["files"] as? Int == 2, "\(result)")
        #expect(object?["out"] as? String == "all.safetensors", "\(result)")
    }
}
