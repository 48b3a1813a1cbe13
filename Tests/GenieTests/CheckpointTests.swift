import Foundation
import Genie
import Testing
import Tensors

/// A checkpoint resumes only the job whose settings wrote it, and goes away once the output is written.
@Suite struct CheckpointTests {
    struct Settings: Encodable { var seed: UInt64, iterations: Int }

    @Test func progressIsLoadedOnlyWithTheSettingsThatSavedItAndFinishRemovesIt() throws {
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("out.checkpoint")
        let saved = Checkpoint(at: url, settings: Settings(seed: 1, iterations: 10), steps: "units")
        var file = SafeTensors()
        file.set("x", Tensor(shape: [2], scalars: [1, 2]))
        try saved.save(file, done: 3)
        let resumed = try #require(Checkpoint(at: url, settings: Settings(seed: 1, iterations: 10), steps: "units").load())
        #expect(resumed.done == 3 && resumed.file.metadata["units_done"] == "3")
        #expect(try resumed.file.tensor("x").scalars == [1, 2])
        #expect(Checkpoint(at: url, settings: Settings(seed: 2, iterations: 10), steps: "units").load() == nil)

        let parts = Checkpoint(at: folder.appendingPathComponent("out.partial"), settings: Settings(seed: 1, iterations: 10))
        try parts.save(file, part: 4)
        #expect(parts.load(part: 4) != nil && parts.load(part: 3) == nil)
        #expect(Checkpoint(at: parts.url, settings: Settings(seed: 1, iterations: 11)).load(part: 4) == nil)

        let output = folder.appendingPathComponent("out")
        try Checkpoint.finish(url) { try Data([1]).write(to: output) }
        try Checkpoint.finish(parts.url) {}
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["out"])
    }
}
