import Foundation
import Models
import NN
import Tensors

/// Iterations of a throwaway batch that time GENIE-D: the first untimed, the next two timed (the last of a batch
/// skips the optimizers' step).
let distillProbeIterations = 4

/// GENIE-D's expected seconds on this machine for what `distillImages` with the same arguments will do: the batches
/// of `shard` not yet saved in `partial`, each `config.iterations` iterations at the rate of the faster of a
/// throwaway batch's iterations 2 and 3 (scaled by its image count: a last, smaller batch costs less). The probe costs
/// `distillProbeIterations` iterations of one batch.
public func estimateDistillation(spec: ModelSpec, model: Module, total: Int, config: DistillConfig, shard: Shard,
                                 partial: URL) throws -> Double {
    let checkpoint = distillCheckpoint(at: partial, spec: spec, model: model, total: total, config: config)
    let batchCount = (total + config.batchSize - 1) / config.batchSize
    let pending = (0..<batchCount).filter { shard.contains(batch: $0) && checkpoint.load(part: $0) == nil }
    guard let first = pending.first else { return 0 }
    let images = { (batch: Int) in min(config.batchSize, total - batch * config.batchSize) }
    var probe = config
    probe.iterations = distillProbeIterations
    let distiller = try Distiller(model: model, imageShape: [spec.inChannels, spec.imageSize, spec.imageSize], config: probe)
    var ticks: [Date] = []
    let start = Date()
    _ = try distiller.distill(batch: first, count: images(first)) { _, _ in ticks.append(Date()) }
    // The noise baseline has no iterations: a batch costs what the probe's call did. Otherwise the faster of
    // iterations 2 and 3: a fresh process still faults in new memory there (at 224x224 one took 7.4 s against 5.7 s
    // for the other and 4.8-5.4 s for the real run's), and noise only slows an iteration down.
    let batchSeconds = ticks.count < 3 ? Date().timeIntervalSince(start)
        : min(ticks[1].timeIntervalSince(ticks[0]), ticks[2].timeIntervalSince(ticks[1])) * Double(config.iterations)
    return Double(pending.map(images).reduce(0, +)) / Double(images(first)) * batchSeconds
}
