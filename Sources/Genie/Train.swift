import Data
import Foundation
import Models
import NN
import Tensors

/// Settings of `genie train`: SGD with Nesterov momentum and a per-iteration cosine schedule, seeded.
public struct TrainConfig: Sendable {
    public var epochs = 30
    public var batchSize = 128
    public var learningRate: Float = 0.1
    public var momentum: Float = 0.9
    public var weightDecay: Float = 5e-4
    public var seed: UInt64 = 0
    public var augmentation = Augmentation(padding: 2, horizontalFlip: true)

    public init() {}
}

/// What a training checkpoint must match to be resumed.
struct TrainSettings: Encodable {
    var arch: String, epochs: Int, batchSize: Int, learningRate: Float, momentum: Float, weightDecay: Float, seed: UInt64
}

/// Trains `spec`'s model on `train`, evaluating on `test` after each epoch. After every epoch the model and
/// optimizer state go to `checkpoint`; a run started again with the same settings resumes after the last
/// finished epoch. Returns the trained model and its final test accuracy.
public func train(spec: ModelSpec, config: TrainConfig, train: Dataset, test: Dataset, checkpoint: URL,
                  quiet: Bool = false, log: (String) -> Void = { _ in }) throws -> (Module, Accuracy) {
    let model = spec.build(seed: config.seed)
    let normalization = Normalization(mean: spec.mean, std: spec.std)
    let parameters = model.trainableParameters()
    let optimizer = SGD(parameters, learningRate: config.learningRate, momentum: config.momentum,
                        weightDecay: config.weightDecay, nesterov: true)
    let sampler = try BatchSampler(train, batchSize: config.batchSize, shuffle: true, dropLast: true, seed: config.seed,
                               augmentation: config.augmentation, normalization: normalization)
    let stepsPerEpoch = sampler.batchCount
    var schedule = CosineSchedule(optimizer, totalSteps: config.epochs * stepsPerEpoch)
    let progress = Checkpoint(at: checkpoint, settings: TrainSettings(
        arch: spec.arch, epochs: config.epochs, batchSize: config.batchSize, learningRate: config.learningRate,
        momentum: config.momentum, weightDecay: config.weightDecay, seed: config.seed), steps: "epochs")
    var firstEpoch = 0
    if let (saved, done) = progress.load() {
        let tensors = saved.tensors()
        try model.loadStateDict(tensors.filter { !$0.key.hasPrefix("optimizer.") }, source: checkpoint.path)
        try optimizer.loadStateDict(Dictionary(uniqueKeysWithValues: tensors.compactMap { k, v in
            k.hasPrefix("optimizer.") ? (String(k.dropFirst(10)), v) : nil
        }))
        for _ in 0..<(done * stepsPerEpoch) { schedule.step() }
        firstEpoch = done
        log("resuming from \(checkpoint.path) after epoch \(done)")
    }
    var accuracy = Accuracy(top1: 0, top5: nil, count: 0)
    for epoch in firstEpoch..<config.epochs {
        model.setTraining(true)
        let bar = ProgressBar("epoch \(epoch + 1)/\(config.epochs)", total: stepsPerEpoch, quiet: quiet)
        var lossSum = 0.0, correct = 0, seen = 0
        for (step, (images, labels)) in sampler.epoch(epoch).enumerated() {
            var logits: Tensor?
            let (loss, grads) = valueAndGradients(of: parameters) {
                let out = model(images)
                logits = out
                return crossEntropy(logits: out, labels: labels)
            }
            guard loss.item.isFinite else { throw GenieError("training loss became \(loss.item) in epoch \(epoch + 1), step \(step + 1)") }
            optimizer.step(grads)
            schedule.step()
            lossSum += Double(loss.item) * Double(labels.count)
            correct += topKHits(logits!.detached(), labels: labels, k: 1)
            seen += labels.count
            bar.update(step + 1, ["loss": String(format: "%.4f", lossSum / Double(seen)),
                                  "acc": String(format: "%.2f%%", 100 * Double(correct) / Double(seen))])
        }
        accuracy = try evaluate(model, on: test, normalization: normalization, quiet: true)
        log(String(format: "epoch %d/%d  train loss %.4f  train acc %.2f%%  test top1 %.2f%%", epoch + 1, config.epochs,
                   lossSum / Double(max(seen, 1)), 100 * Double(correct) / Double(max(seen, 1)), accuracy.top1))
        var file = model.safeTensors(metadata: spec.metadata)
        for (k, v) in optimizer.stateDict() { file.set("optimizer." + k, v) }
        try progress.save(file, done: epoch + 1)
    }
    return (model, accuracy)
}
