import ArgumentParser
import Data
import Foundation
import Genie
import Tensors

/// The data sets genie can read by name.
enum DatasetName: String, CaseIterable, ExpressibleByArgument {
    case fashionMNIST = "fashion-mnist"
}

struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Top-1 (and top-5) accuracy of a model on the test set.")

    @OptionGroup var model: ModelOptions
    @Option(help: "A quantized-model file from `genie quantize` (instead of --weights).") var quantized: String?
    @Option(help: "Data set (fashion-mnist), used when no --data folder is given.") var dataset = DatasetName.fashionMNIST
    @OptionGroup var test: TestDataOptions
    @Option(help: "Images per batch (default: 500 up to 112x112 images, fewer above: 128 at 224x224).") var batchSize: Int?
    @Option(help: "Also write every test image's logits to this safetensors file ('logits', [N, classes]).") var logits: String?
    @Flag(help: "Print one JSON object with the result.") var json = false

    /// The `--json` record: accuracies in percent.
    struct Record: Encodable {
        var arch: String, top1: Double, top5: Double?, images: Int, skipped: Int
        /// How far the batch norms' inputs on 64 test images lie from their stored statistics.
        var batchnormShift: BatchNormShift?
    }

    func validate() throws {
        if let batchSize, batchSize < 1 { throw ValidationError("--batch-size must be at least 1, got \(batchSize)") }
        if quantized != nil, !model.given.isEmpty {  // the file's own model and preprocessing are the ones it was quantized with
            throw ValidationError("--quantized FILE records its model and its preprocessing; drop \(model.given.joined(separator: ", "))")
        }
    }

    func run() throws {
        if let logits { try checkWritable(logits, flag: "--logits") }
        let (spec, net) = try quantized.map { path in
            try QuantizedModelFile.load(SafeTensors(contentsOf: URL(fileURLWithPath: path)), source: "'\(path)'")
        } ?? model.load()
        let testSet = try test.testSet(spec: spec, batchSize: batchSize)
        var rows: [Tensor] = []
        let result = try testSet.evaluate(net, quiet: json, log: log, advice: TestDataOptions.shiftAdvice,
                                          logits: logits == nil ? nil : { rows.append($0) })
        let accuracy = result.accuracy
        if let logits {
            var file = SafeTensors(metadata: ["arch": spec.arch, "source": quantized ?? model.weights ?? ""])
            file.set("logits", Tensor(shape: [accuracy.count, spec.numClasses], scalars: rows.flatMap(\.scalars)))
            try file.write(to: URL(fileURLWithPath: logits))
        }
        if json {
            try printJSON(Record(arch: spec.arch, top1: accuracy.top1, top5: accuracy.top5, images: accuracy.count,
                                 skipped: result.skipped, batchnormShift: result.shift))
        } else {
            print(String(format: "%@ on %@ (%d images): top-1 %.2f%%", spec.arch, testSet.name, accuracy.count, accuracy.top1)
                  + (accuracy.top5.map { String(format: ", top-5 %.2f%%", $0) } ?? ""))
        }
    }
}
