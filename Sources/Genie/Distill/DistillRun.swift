import Data
import Foundation
import Models
import NN
import Tensors

/// Which batches of a distillation this process makes: every `count`-th batch starting at `index`.
public struct Shard: Equatable, Sendable, CustomStringConvertible {
    public var index: Int, count: Int

    public init(index: Int, count: Int) throws {
        guard count >= 1, (0..<count).contains(index) else {
            throw GenieError("a shard K/M needs 0 <= K < M, got \(index)/\(count)")
        }
        self.index = index
        self.count = count
    }

    /// Parses `K/M`.
    public init(parsing text: String) throws {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let k = Int(parts[0]), let m = Int(parts[1]) else {
            throw GenieError("expected a shard K/M such as 0/4, got '\(text)'")
        }
        try self.init(index: k, count: m)
    }

    /// The shard named by a job array's environment (SLURM, or Kubernetes indexed jobs with GENIE_SHARDS), if any.
    public static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) throws -> Shard? {
        if let id = env["SLURM_ARRAY_TASK_ID"].flatMap(Int.init), let count = env["SLURM_ARRAY_TASK_COUNT"].flatMap(Int.init) {
            let first = env["SLURM_ARRAY_TASK_MIN"].flatMap(Int.init) ?? 0
            return try Shard(index: id - first, count: count)
        }
        if let id = env["JOB_COMPLETION_INDEX"].flatMap(Int.init), let count = env["GENIE_SHARDS"].flatMap(Int.init) {
            return try Shard(index: id, count: count)
        }
        return nil
    }

    public static let whole = try! Shard(index: 0, count: 1)
    public var description: String { "\(index)/\(count)" }
    public func contains(batch: Int) -> Bool { batch % count == index }
}

/// A finished distillation: the images of the batches made, in batch order, with their losses.
public struct DistilledSet {
    public var images: Tensor
    public var batches: [Int]
    public var initialLosses: [Float], finalLosses: [Float]
    public var seconds: Double
    /// The settings and weights that made it (the fingerprint of its `distillCheckpoint`).
    public var run: String
}

/// What makes a distillation's images: its settings and a hash of the model's weights. Runs with equal settings
/// make the same images.
struct DistillSettings: Encodable {
    var method: String, seed: UInt64, iterations: Int, batchSize: Int, swing: Bool, images: Int
    var arch: String, shape: [Int], weights: String
    /// `DistillConfig.recordedSwingMinimumSide`.
    var swingMinimumSide: Int?
    /// `DistillConfig.recordedLabelWeight`.
    var labelWeight: Float?
    /// `DistillConfig.recordedImageTermWeight`.
    var imageTermWeight: Float?
}

/// The checkpoint of a distillation: a folder of finished batches, named by the settings that make them.
public func distillCheckpoint(at url: URL, spec: ModelSpec, model: Module, total: Int, config: DistillConfig) -> Checkpoint {
    Checkpoint(at: url, settings: DistillSettings(
        method: config.method.rawValue, seed: config.seed, iterations: config.iterations, batchSize: config.batchSize,
        swing: config.swing, images: total, arch: spec.arch, shape: [spec.inChannels, spec.imageSize, spec.imageSize],
        weights: model.weightsHash, swingMinimumSide: config.recordedSwingMinimumSide,
        labelWeight: config.recordedLabelWeight, imageTermWeight: config.recordedImageTermWeight))
}

/// Distills `total` images in batches of `config.batchSize` (the last batch may be smaller), only those of
/// `shard`. Each finished batch is saved under `partial/`; a run started again resumes with the batches
/// missing there and gives the same images as an uninterrupted run.
public func distillImages(spec: ModelSpec, model: Module, total: Int, config: DistillConfig, shard: Shard,
                          partial: URL, quiet: Bool = false, log: (String) -> Void = { _ in }) throws -> DistilledSet {
    guard total >= 1 else { throw GenieError("a distillation needs at least 1 image, got \(total)") }
    guard config.batchSize >= 2 else { throw GenieError("the batch size must be at least 2 (batch statistics need two images), got \(config.batchSize)") }
    guard config.iterations >= 1 else { throw GenieError("the iterations per batch must be at least 1, got \(config.iterations)") }
    if [.genie, .geniePaper].contains(config.method) && spec.imageSize % 4 != 0 {
        throw GenieError("the GENIE generator starts at image size / 4 and doubles twice, so it cannot reach \(spec.imageSize)x\(spec.imageSize); use an image size divisible by 4 or the pixels method")
    }
    let distiller = try Distiller(model: model, imageShape: [spec.inChannels, spec.imageSize, spec.imageSize],
                                  config: config)
    let checkpoint = distillCheckpoint(at: partial, spec: spec, model: model, total: total, config: config)
    let batchCount = (total + config.batchSize - 1) / config.batchSize
    let mine = (0..<batchCount).filter { shard.contains(batch: $0) }
    let start = Date()
    var result = DistilledSet(images: Tensor.zeros([0]), batches: mine, initialLosses: [], finalLosses: [], seconds: 0,
                               run: checkpoint.fingerprint)
    var parts: [Tensor] = []
    for batch in mine {
        let count = min(config.batchSize, total - batch * config.batchSize)
        if let saved = checkpoint.load(part: batch), let images = try? saved.tensor("images"), images.shape == [count] + distiller.imageShape,
           let initial = saved.metadata["initial_loss"].flatMap(Float.init), let final = saved.metadata["final_loss"].flatMap(Float.init) {
            log("batch \(batch + 1)/\(batchCount): already done (\(checkpoint.partURL(batch).lastPathComponent))")
            parts.append(images)
            result.initialLosses.append(initial)
            result.finalLosses.append(final)
            continue
        }
        let bar = ProgressBar("batch \(batch + 1)/\(batchCount)", total: config.iterations, unit: "it", quiet: quiet)
        let batchStart = Date()
        let made: DistilledBatch
        do {
            made = try distiller.distill(batch: batch, count: count) { t, loss in
                let rate = Double(t * count) / max(Date().timeIntervalSince(batchStart), 1e-9)
                bar.update(t, ["loss": String(format: "%.4f", loss), "img/s": String(format: "%.0f", rate)])
            }
        } catch let error as GenieError {
            let kept = parts.isEmpty ? "" : "; the \(parts.count) batch\(parts.count == 1 ? "" : "es") finished before it are kept in '\(partial.path)'"
            throw GenieError("batch \(batch + 1)/\(batchCount): \(error)\(kept)")
        }
        var out = SafeTensors(metadata: ["initial_loss": "\(made.initialLoss)", "final_loss": "\(made.finalLoss)"])
        out.set("images", made.images)
        try checkpoint.save(out, part: batch)
        parts.append(made.images)
        result.initialLosses.append(made.initialLoss)
        result.finalLosses.append(made.finalLoss)
    }
    result.images = parts.isEmpty ? Tensor.zeros([0] + distiller.imageShape) : Tensor.concatenated(parts, axis: 0)
    result.seconds = Date().timeIntervalSince(start)
    return result
}

/// The distilled-images file: images `[N, C, H, W]` in the model's normalized input space, with metadata.
public enum DistilledFile {
    public static func write(_ set: DistilledSet, spec: ModelSpec, config: DistillConfig, total: Int, shard: Shard,
                             to url: URL) throws {
        var file = SafeTensors(metadata: spec.metadata.merging([
            "content": "genie-distilled-images", "method": config.method.rawValue, "seed": "\(config.seed)",
            "iterations": "\(config.iterations)", "batch_size": "\(config.batchSize)", "swing": "\(config.swing)",
            "total_images": "\(total)", "shard": shard.description, "run": set.run,
            "batches": set.batches.map(String.init).joined(separator: ","),
            "initial_losses": set.initialLosses.map { "\($0)" }.joined(separator: ","),
            "final_losses": set.finalLosses.map { "\($0)" }.joined(separator: ","),
        ]) { $1 })
        if let side = config.recordedSwingMinimumSide { file.metadata["swing_min_side"] = "\(side)" }
        if let weight = config.recordedLabelWeight { file.metadata["label_weight"] = "\(weight)" }
        if let weight = config.recordedImageTermWeight { file.metadata["image_term_weight"] = "\(weight)" }
        file.set("images", set.images)
        try file.write(to: url)
        if set.images.count > 0 {
            let grid = url.deletingPathExtension().appendingPathExtension("png")
            try ImageGrid.write(set.images.slice(batch: 0..<min(64, set.images.shape[0])), to: grid,
                                normalization: Normalization(mean: spec.mean, std: spec.std))
        }
    }

    /// Whether `url` already holds what distilling `shard` of the run `run` would write (a finished shard).
    public static func isFinished(_ url: URL, run: String, shard: Shard) -> Bool {
        guard let file = try? SafeTensors(contentsOf: url) else { return false }
        return file.metadata["run"] == run && file.metadata["shard"] == shard.description && (try? file.tensor("images")) != nil
    }

    /// Joins shard files of one distillation into the set an unsharded run makes (batches in order).
    public static func merge(_ urls: [URL]) throws -> (SafeTensors, Int) {
        var pieces: [(batch: Int, images: Tensor, initial: String, final: String)] = []
        var source: [Int: String] = [:], shardCounts: Set<String> = []  // the file of each batch; the M of K/M
        var reference: [String: String]?
        for url in urls {
            let file = try SafeTensors(contentsOf: url)
            func fail(_ s: String) -> GenieError { GenieError("'\(url.path)' \(s)") }
            guard file.metadata["content"] == "genie-distilled-images" else { throw fail("is not a distilled-images file") }
            let common = file.metadata.filter { !["shard", "batches", "initial_losses", "final_losses"].contains($0.key) }
            if let reference, reference != common {
                throw fail("comes from a different distillation (its settings differ from the first file's)")
            }
            reference = common
            let list = { (key: String) in file.metadata[key]?.split(separator: ",").map(String.init) ?? [] }
            let batches = list("batches").compactMap { Int($0) }, initial = list("initial_losses"), final = list("final_losses")
            guard let size = file.metadata["batch_size"].flatMap(Int.init), size >= 1,
                  let total = file.metadata["total_images"].flatMap(Int.init), total >= 1,
                  batches.count == list("batches").count, initial.count == batches.count, final.count == batches.count,
                  batches.allSatisfy({ $0 >= 0 && $0 <= (total - 1) / size }),
                  let images = try? file.tensor("images"), images.rank == 4 else {
                throw fail("has damaged metadata (batches, losses, batch_size, total_images) or no 'images' [N, C, H, W]")
            }
            if let first = pieces.first, first.images.shape.dropFirst() != images.shape.dropFirst() {
                throw fail("holds images \(images.shape) unlike the first file's \(first.images.shape)")
            }
            var offset = 0
            for (i, b) in batches.enumerated() {
                let count = min(size, total - b * size)
                guard count <= images.shape[0] - offset else { throw fail("holds \(images.shape[0]) images, fewer than its batches \(batches) make") }
                if let other = source[b] { throw fail("holds batch \(b), which '\(other)' holds too: a shard is given twice") }
                source[b] = url.path
                pieces.append((b, images.slice(batch: offset..<(offset + count)), initial[i], final[i]))
                offset += count
            }
            guard offset == images.shape[0] else { throw fail("holds \(images.shape[0]) images but its batches \(batches) make \(offset)") }
            shardCounts.insert(String(file.metadata["shard"]?.split(separator: "/").last ?? ""))
        }
        guard let reference else { throw GenieError("merge needs at least one file") }
        pieces.sort { $0.batch < $1.batch }
        let total = Int(reference["total_images"]!)!, size = Int(reference["batch_size"]!)!  // checked above
        let expected = Array(0..<((total - 1) / size + 1))
        let missing = expected.filter { source[$0] == nil }
        if !missing.isEmpty {
            var message = "the \(urls.count) file\(urls.count == 1 ? "" : "s") lack\(urls.count == 1 ? "s" : "") batches \(missing) of the distillation's \(expected.count)"
            // Files of one shard count M: batch b is made by shard (b mod M)/M.
            if shardCounts.count == 1, let m = Int(shardCounts.first!), m >= 1 {
                let shards = Set(missing.map { $0 % m }).sorted().map { "\($0)/\(m)" }
                message += ": missing shard\(shards.count == 1 ? "" : "s") \(shards.joined(separator: ", ")) (not given, or not finished)"
            }
            throw GenieError(message)
        }
        var file = SafeTensors(metadata: reference.merging([
            "shard": "0/1", "batches": expected.map(String.init).joined(separator: ","),
            "initial_losses": pieces.map(\.initial).joined(separator: ","), "final_losses": pieces.map(\.final).joined(separator: ","),
        ]) { $1 })
        file.set("images", Tensor.concatenated(pieces.map(\.images), axis: 0))
        return (file, total)
    }
}
