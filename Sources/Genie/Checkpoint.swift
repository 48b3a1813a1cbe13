import Foundation
import NN
import Tensors

/// The saved progress of a resumable job (training, GENIE-D, GENIE-M): one safetensors file, or a folder of
/// numbered part files, beside the job's output. Each file records the job's fingerprint (its settings as sorted
/// JSON) so that a job started again with other settings, weights or images starts afresh instead of mixing runs.
public struct Checkpoint: Sendable {
    /// The file, or the folder of parts.
    public let url: URL
    /// The settings the saved work belongs to, as sorted JSON.
    public let fingerprint: String
    /// What a step of the job is ("units", "epochs"): the file records the steps done as `<steps>_done`.
    public let steps: String

    /// Progress at `url` of the job with settings `settings`, counted in `steps`.
    public init<Settings: Encodable>(at url: URL, settings: Settings, steps: String = "parts") {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        fingerprint = String(decoding: try! encoder.encode(settings), as: UTF8.self)  // numbers and strings: cannot fail
        (self.url, self.steps) = (url, steps)
    }

    /// The saved file and the steps it holds, if it was saved by a job with this fingerprint.
    public func load() -> (file: SafeTensors, done: Int)? {
        guard let file = try? SafeTensors(contentsOf: url), file.metadata["run"] == fingerprint,
              let done = file.metadata["\(steps)_done"].flatMap(Int.init) else { return nil }
        return (file, done)
    }

    /// Saves `file` as the progress after `done` steps.
    public func save(_ file: SafeTensors, done: Int) throws {
        var file = file
        file.metadata.merge(["run": fingerprint, "\(steps)_done": "\(done)"]) { $1 }
        try file.write(to: url)
    }

    /// Part `index` of a folder checkpoint, if it was saved by a job with this fingerprint.
    public func load(part index: Int) -> SafeTensors? {
        guard let file = try? SafeTensors(contentsOf: partURL(index)), file.metadata["run"] == fingerprint else { return nil }
        return file
    }

    /// Saves `file` as part `index` of a folder checkpoint (making the folder, which another process given the
    /// same job may have finished and removed).
    public func save(_ file: SafeTensors, part index: Int) throws {
        var file = file
        file.metadata["run"] = fingerprint
        for attempt in 1...3 {
            do { try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) } catch {
                throw GenieError("cannot create the folder '\(url.path)' that keeps finished work (a file is in the way, or no permission)")
            }
            do {
                return try file.write(to: partURL(index))
            } catch where attempt < 3 && !FileManager.default.fileExists(atPath: url.path) {
                continue  // the other process finished and removed the folder while this part was written: make it again
            }
        }
    }

    /// The file name of part `index` (`batch-00003.safetensors`).
    public func partURL(_ index: Int) -> URL { url.appendingPathComponent(String(format: "batch-%05d.safetensors", index)) }

    /// Runs `write` (which saves the job's output), then removes the progress, which the output replaces.
    public static func finish(_ progress: URL, by write: () throws -> Void) throws {
        try write()
        try? FileManager.default.removeItem(at: progress)
    }
}

/// A short hash of tensors' values (FNV-1a over their float bits): fingerprints record it, so that a job started
/// again with other weights or other calibration images does not pick up work done for different ones.
func valueHash(_ tensors: [Tensor]) -> String {
    var h: UInt64 = 0xCBF2_9CE4_8422_2325
    for t in tensors {
        for x in t.scalars { h = (h ^ UInt64(x.bitPattern)) &* 0x100_0000_01B3 }
        h = (h ^ UInt64(t.count)) &* 0x100_0000_01B3
    }
    return String(h, radix: 16)
}

extension Module {
    /// The hash of the model's parameters and buffers.
    var weightsHash: String { valueHash(stateDict().map(\.value)) }
}
