import ArgumentParser
import Data
import Foundation
import Genie
import Models

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a zoo model on Fashion-MNIST (SGD, Nesterov, cosine; resumable after each epoch).")

    @Option(help: "Architecture: \(ModelSpec.architectures.joined(separator: ", ")).") var arch: String
    @Option(help: "Data set (fashion-mnist).") var dataset = DatasetName.fashionMNIST
    @Option(help: "Epochs.") var epochs = 30
    @Option(help: "Images per batch.") var batchSize = 128
    @Option(help: "Peak learning rate.") var lr: Float = 0.1
    @Option(help: "Weight decay.") var weightDecay: Float = 5e-4
    @Option(help: "Random seed.") var seed: UInt64 = 0
    @Option(help: "MobileNetV2 width multiplier.") var widthMult: Double = 1
    @Option(help: "Output weights file (safetensors); progress is kept in OUT.checkpoint until done.") var out: String
    @Flag(help: "Print one JSON object with the result.") var json = false

    /// The `--json` record: the final test top-1 in percent.
    struct Record: Encodable {
        var arch: String, epochs: Int, top1: Double, seconds: Double, out: String
    }

    func validate() throws {
        guard epochs >= 1, batchSize >= 1, lr > 0 else { throw ValidationError("--epochs, --batch-size and --lr must be positive") }
    }

    func run() throws {
        let spec = try ModelSpec(arch: arch, widthMult: widthMult).validated()
        try checkWritable(out, flag: "--out")
        var config = TrainConfig()
        config.epochs = epochs
        config.batchSize = batchSize
        config.learningRate = lr
        config.weightDecay = weightDecay
        config.seed = seed
        let trainSet = try FashionMNIST.load(split: .train), testSet = try FashionMNIST.load(split: .test)
        let outURL = URL(fileURLWithPath: out), checkpoint = URL(fileURLWithPath: out + ".checkpoint")
        let start = Date()
        let (model, accuracy) = try Genie.train(spec: spec, config: config, train: trainSet, test: testSet,
                                                checkpoint: checkpoint, quiet: json, log: log)
        let seconds = Date().timeIntervalSince(start)
        try Checkpoint.finish(checkpoint) {
            try model.safeTensors(metadata: spec.metadata.merging(
                ["trained": "genie train --arch \(arch) --epochs \(epochs) --batch-size \(batchSize) --lr \(lr) --seed \(seed)",
                 "test_top1": String(format: "%.2f", accuracy.top1)]) { $1 }).write(to: outURL)
        }
        if json {
            try printJSON(Record(arch: arch, epochs: epochs, top1: accuracy.top1, seconds: seconds, out: out))
        } else {
            print(String(format: "%@: test top-1 %.2f%% after %d epochs (%.0f s), saved to %@", arch, accuracy.top1, epochs, seconds, out))
        }
    }
}
