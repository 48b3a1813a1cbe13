import ArgumentParser
import Data
import Foundation
import Genie
import Tensors

struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Top-1 (and top-5) accuracy of a model on the test set.")

    @OptionGroup var model: ModelOptions
    @Option(help: "A quantized-model file from `genie quantize` (instead of --weights).") var quantized: String?
    @Option(help: "Data set (fashion-mnist), used when no --data folder is given.") var dataset = "fashion-mnist"
    @Option(help: "An image folder in torchvision's ImageFolder layout (one subfolder per class, JPEG/PNG files) to evaluate on instead.")
    var data: String?
    @OptionGroup var preprocessing: PreprocessingOptions
    @Option(help: "Batch size.") var batchSize = 500
    @Option(help: "Also write every test image's logits to this safetensors file ('logits', [N, classes]).") var logits: String?
    @Flag(help: "Print one JSON object with the result.") var json = false

    func run() throws {
        guard dataset == "fashion-mnist" else { throw ValidationError("--dataset: only fashion-mnist is available, got '\(dataset)'") }
        if let logits { try checkWritable(logits, flag: "--logits") }
        let (spec, net) = try quantized.map { path in
            try QuantizedModelFile.load(SafeTensors(contentsOf: URL(fileURLWithPath: path)), source: "'\(path)'")
        } ?? model.load()
        let test = try TestData(data: data, preprocessing: preprocessing, spec: spec, batchSize: batchSize)
        var rows: [Tensor] = []
        let (accuracy, skipped, shift) = try test.evaluate(net, quiet: json, logits: logits == nil ? nil : { rows.append($0) })
        if let logits {
            var file = SafeTensors(metadata: ["arch": spec.arch, "source": quantized ?? model.weights ?? ""])
            file.set("logits", Tensor(shape: [accuracy.count, spec.numClasses], scalars: rows.flatMap(\.scalars)))
            try file.write(to: URL(fileURLWithPath: logits))
        }
        if json {
            var out: [String: Any] = ["arch": spec.arch, "top1": accuracy.top1, "images": accuracy.count, "skipped": skipped]
            if let shift { out["batchnorm_shift"] = shift.mean }
            if let top5 = accuracy.top5 { out["top5"] = top5 }
            printJSON(out)
        } else {
            print(String(format: "%@ on %@ (%d images): top-1 %.2f%%", spec.arch, test.name, accuracy.count, accuracy.top1)
                  + (accuracy.top5.map { String(format: ", top-5 %.2f%%", $0) } ?? ""))
        }
    }
}
