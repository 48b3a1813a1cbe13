import Foundation
import Testing

/// Distillation shards as a scheduler runs them (deploy/slurm, deploy/kubernetes): killed and started again,
/// started again when finished, missing or doubled at the merge, and given to two processes at once.
@Suite struct ShardTests {
    /// `genie distill` of a small shard of ResNet-20's images (2 iterations per batch of 2).
    func distill(_ shard: String, out: String, images: Int = 6, iterations: Int = 2) -> [String] {
        ["distill", "--weights", resnet20, "--images", "\(images)", "--batch-size", "2", "--iterations", "\(iterations)",
         "--seed", "1", "--shard", shard, "--out", out]
    }

    @Test func aFinishedShardStartedAgainExitsAtOnceAndKeepsItsFile() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try #require(try genie(distill("1/2", out: "s.safetensors"), in: folder).status == 0)
        let made = try Data(contentsOf: folder.appendingPathComponent("s.safetensors"))
        let again = try genie(distill("1/2", out: "s.safetensors"), in: folder)
        #expect(again.status == 0 && again.stdout.contains("already holds shard 1/2 of this distillation"), "\(again)")
        #expect(try Data(contentsOf: folder.appendingPathComponent("s.safetensors")) == made)
        // Other settings are another distillation: it runs.
        let changed = try genie(distill("1/2", out: "s.safetensors", iterations: 3), in: folder)
        #expect(changed.status == 0 && changed.stdout.contains("distilled 2 images"), "\(changed)")
    }

    @Test func mergeNamesTheMissingShard() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        for k in [0, 2] { try #require(try genie(distill("\(k)/3", out: "s\(k).safetensors"), in: folder).status == 0) }
        let merged = try genie(["merge", "s0.safetensors", "s2.safetensors", "--out", "m.safetensors"], in: folder)
        #expect(merged.status == 1, "\(merged)")
        #expect(merged.stderr.contains("the 2 files lack batches [1] of the distillation's 3: missing shard 1/3"), "\(merged)")
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("m.safetensors").path))
    }

    @Test func mergeNamesAShardGivenTwice() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        for k in [0, 1] { try #require(try genie(distill("\(k)/2", out: "s\(k).safetensors"), in: folder).status == 0) }
        try FileManager.default.copyItem(at: folder.appendingPathComponent("s0.safetensors"),
                                         to: folder.appendingPathComponent("copy.safetensors"))
        let merged = try genie(["merge", "s0.safetensors", "s1.safetensors", "copy.safetensors", "--out", "m.safetensors"],
                               in: folder)
        #expect(merged.status == 1, "\(merged)")
        #expect(merged.stderr.contains("copy.safetensors' holds batch 0, which '\(folder.path)/s0.safetensors' holds too: a shard is given twice"),
                "\(merged)")
        let json = try genie(["merge", "s1.safetensors", "s0.safetensors", "--out", "m.safetensors", "--json"], in: folder)
        #expect(json.status == 0 && json.stdout.contains(#""images":6"#), "\(json)")
    }

    @Test func twoProcessesGivenTheSameShardBothFinishWithTheFileOfOneRun() throws {
        // One thread each, so the two run side by side and save their batches at about the same moments.
        let environment = ["OMP_NUM_THREADS": "1"]
        let reference = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: reference) }
        let arguments = { (out: String) in
            ["distill", "--weights", resnet20, "--images", "32", "--batch-size", "8", "--iterations", "10", "--seed", "3",
             "--shard", "1/2", "--out", out]
        }
        try #require(try genie(arguments("s.safetensors"), in: reference, environment: environment).status == 0)
        let expected = try Data(contentsOf: reference.appendingPathComponent("s.safetensors"))
        for _ in 0..<3 {
            let shared = try temporaryFolder(), a = try temporaryFolder(), b = try temporaryFolder()
            defer { for f in [shared, a, b] { try? FileManager.default.removeItem(at: f) } }
            let out = shared.appendingPathComponent("s.safetensors").path
            let first = try startGenie(arguments(out), in: a, environment: environment)
            let second = try startGenie(arguments(out), in: b, environment: environment)
            for (process, folder) in [(first, a), (second, b)] {
                let result = outcome(of: process, in: folder)
                #expect(result.status == 0, "\(result)")
            }
            #expect(try Data(contentsOf: URL(fileURLWithPath: out)) == expected)
            #expect(try Set(FileManager.default.contentsOfDirectory(atPath: shared.path)) == ["s.safetensors", "s.png"])
        }
    }
}

extension ResumeTests {
    @Test func aShardKilledMidBatchResumesToTheSameFile() throws {
        let arguments = ["distill", "--weights", resnet20, "--images", "8", "--batch-size", "2", "--iterations", "25",
                         "--seed", "7", "--shard", "1/2", "--out", "shard.safetensors"]
        let resumed = try killAndResume(arguments, marker: "shard.safetensors.partial/batch-00001.safetensors",
                                        outputs: ["shard.safetensors", "shard.png"])
        #expect(resumed.stderr.contains("batch 2/4: already done"), "\(resumed)")
    }
}
