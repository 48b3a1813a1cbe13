import ArgumentParser
import Foundation
import Genie
import Tensors

extension DistillMethod: ExpressibleByArgument {}

struct Distill: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "GENIE-D: synthesize calibration images from a trained model alone (resumable, shardable).",
        discussion: """
            The defaults (1024 images, 4000 iterations per batch of 128) are GENIE's full budget: hours of CPU time \
            (about 3-4 hours for ResNet-20 on 2 cores). For a first look try --images 256 --iterations 500.
            """)

    @OptionGroup var model: ModelOptions
    @Option(help: "Number of images.") var images = 1024
    @Option(name: [.customLong("batch-size"), .customLong("batch")], help: "Images per batch, at least 2 (each batch gets a fresh generator; --batch is the old name).")
    var batchSize = 128
    @Option(help: "Iterations per batch.") var iterations = 4000
    @Option(help: "Output file (safetensors); a PNG grid is written beside it.") var out: String
    @Option(help: "Random seed.") var seed: UInt64 = 0
    @Option(help: "genie (generator + latents, genie's defaults), genie-paper (GENIE-D exactly as the paper sets it up: swing on every strided convolution, latent lr 0.1, generator lr 0.01), pixels (ZeroQ: optimize the pixels, per-image statistics, no swing) or noise.")
    var method = DistillMethod.genie
    @Flag(help: "Turn swing convolution off (ablation of --method genie).") var noSwing = false
    @Option(help: "Swing only maps whose height and width are at least N (genie's default 14; 0: every strided convolution's, as GENIE).")
    var swingMinSide: Int?
    @Option(help: "Weight of a label term: cross-entropy that aims each image at a class, classes in turn (default 0: off, as GENIE).")
    var labelWeight: Float = 0
    @Option(help: "Weight of the per-image term: each image's channel mean and deviation against 0 and 1 (genie's default 0: off; GENIE's 1).")
    var imageTermWeight: Float?
    @Option(help: "Distill only every M-th batch starting at K (K/M); also read from SLURM_ARRAY_TASK_ID/COUNT or JOB_COMPLETION_INDEX with GENIE_SHARDS.")
    var shard: String?
    @Flag(help: "Print one JSON object with the result.") var json = false

    /// The `--json` record: mean BNS losses over the batches at their first and last iteration.
    struct Record: Encodable {
        var images: Int, seconds: Double, initialLoss: Float, finalLoss: Float, shard: String, out: String, method: String
        /// The distillation's expected seconds, estimated before it started (absent when the estimate failed).
        var estimateSeconds: PhaseSeconds?
    }

    /// The `--json` record of a shard that was finished already.
    struct AlreadyDone: Encodable {
        var alreadyDone = true
        var shard: String, out: String, method: String
    }

    func validate() throws {
        guard images >= 1 else { throw ValidationError("--images must be at least 1, got \(images)") }
        guard batchSize >= 2 else { throw ValidationError("--batch-size must be at least 2 (batch statistics need two images)") }
        guard iterations >= 1 else { throw ValidationError("--iterations must be at least 1") }
        guard !(noSwing && method == .geniePaper) else {
            throw ValidationError("--no-swing: genie-paper fixes swing convolution on, as the paper has it; use --method genie --no-swing")
        }
        if let swingMinSide { guard swingMinSide >= 0 else { throw ValidationError("--swing-min-side must be at least 0, got \(swingMinSide)") } }
        guard (swingMinSide ?? 0) == 0 || method != .geniePaper else {
            throw ValidationError("--swing-min-side: genie-paper swings every strided convolution, as the paper has it; use --method genie")
        }
        guard labelWeight >= 0 && labelWeight.isFinite else { throw ValidationError("--label-weight must be at least 0, got \(labelWeight)") }
        guard labelWeight == 0 || method == .genie else {
            throw ValidationError("--label-weight: only --method genie has a label term (genie-paper, pixels and noise have none)")
        }
        if let imageTermWeight, !(imageTermWeight >= 0 && imageTermWeight.isFinite) {
            throw ValidationError("--image-term-weight must be at least 0, got \(imageTermWeight)")
        }
        guard imageTermWeight == nil || method == .genie else {
            throw ValidationError("--image-term-weight: only --method genie sets it (genie-paper keeps GENIE's 1; pixels has ZeroQ's own, noise none)")
        }
    }

    func run() throws {
        let shard = try parsedShard()
        try checkWritable(out, flag: "--out")
        let (spec, net) = try model.load()
        var config = DistillConfig(method: method)
        config.batchSize = batchSize
        config.iterations = iterations
        config.seed = seed
        config.swing = config.swing && !noSwing
        config.swingMinimumSide = swingMinSide ?? config.swingMinimumSide
        config.labelWeight = labelWeight
        config.imageTermWeight = imageTermWeight ?? config.imageTermWeight
        let url = URL(fileURLWithPath: out)
        // A job array started again: a shard whose file is finished with these settings has nothing to do.
        let partial = URL(fileURLWithPath: out + ".partial")
        let run = distillCheckpoint(at: partial, spec: spec, model: net, total: images, config: config).fingerprint
        if DistilledFile.isFinished(url, run: run, shard: shard) {
            if json {
                try printJSON(AlreadyDone(shard: shard.description, out: out, method: method.rawValue))
            } else {
                print("\(out) already holds shard \(shard.description) of this distillation (same settings and weights); nothing to do")
            }
            return
        }
        let estimate = logTimeEstimate(log) {
            PhaseSeconds(distill: try estimateDistillation(spec: spec, model: net, total: images, config: config, shard: shard, partial: partial))
        }
        let set = try distillImages(spec: spec, model: net, total: images, config: config, shard: shard, partial: partial,
                                    quiet: json, log: log)
        if let estimate { log("estimate vs actual: \(estimate.comparison(with: PhaseSeconds(distill: set.seconds)))") }
        try Checkpoint.finish(partial) { try DistilledFile.write(set, spec: spec, config: config, total: images, shard: shard, to: url) }
        let initial = set.initialLosses.reduce(0, +) / Float(max(set.initialLosses.count, 1))
        let final = set.finalLosses.reduce(0, +) / Float(max(set.finalLosses.count, 1))
        if json {
            try printJSON(Record(images: set.images.shape.first ?? 0, seconds: set.seconds, initialLoss: initial, finalLoss: final,
                                 shard: shard.description, out: out, method: method.rawValue, estimateSeconds: estimate))
        } else {
            print(String(format: "distilled %d images (%@, shard %@) in %.1f s: BNS loss %.4f -> %.4f; saved %@ and its .png grid",
                         set.images.shape.first ?? 0, method.rawValue, shard.description, set.seconds, initial, final, out))
        }
    }

    /// `--shard K/M`, else the job array's shard, else the whole run.
    func parsedShard() throws -> Shard {
        guard let shard else { return try Shard.fromEnvironment() ?? .whole }
        do { return try Shard(parsing: shard) } catch let error as GenieError { throw ValidationError("--shard: \(error)") }
    }
}

struct Merge: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Join the shard files of one distillation into one file.")

    @Argument(help: "Shard files written by `genie distill --shard`.") var files: [String]
    @Option(help: "Output file.") var out: String
    @Flag(help: "Print one JSON object with the result.") var json = false

    /// The `--json` record.
    struct Record: Encodable {
        var files: Int, images: Int, out: String
    }

    func run() throws {
        try checkWritable(out, flag: "--out")
        let (file, total) = try DistilledFile.merge(files.map { URL(fileURLWithPath: $0) })
        try file.write(to: URL(fileURLWithPath: out))
        if json {
            try printJSON(Record(files: files.count, images: total, out: out))
        } else {
            print("merged \(files.count) shard files into \(out) (\(total) images)")
        }
    }
}
