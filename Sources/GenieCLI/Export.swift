import ArgumentParser
import Foundation
import Genie
import Tensors

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Export a quantized model to ONNX (QDQ form, batch norms folded into the convolutions).")

    @Option(help: "A quantized-model file from `genie quantize` or `genie run`.") var quantized: String
    @Option(help: "Output ONNX file.") var onnx: String
    @Option(help: "ONNX opset, \(ONNXExport.opsets.lowerBound)-\(ONNXExport.opsets.upperBound); 21 and later store 4-bit values as int4/uint4.")
    var opset = 13
    @Flag(help: "Keep float32 biases (exactly the quantized model's) instead of int32 ones behind quantized inputs.")
    var floatBiases = false
    @Flag(help: "Print one JSON object with the result.") var json = false

    /// The `--json` record.
    struct Record: Encodable {
        var onnx: String, opset: Int, bytes: Int, foldedBatchNorms: Int, mirroredChannels: Int
    }

    func run() throws {
        if let problem = ONNXExport.opsetProblem(opset) { throw ValidationError("--\(problem)") }
        guard FileManager.default.fileExists(atPath: quantized) else { throw GenieError("--quantized: no such file '\(quantized)'") }
        try checkWritable(onnx, flag: "--onnx")
        let file = try SafeTensors(contentsOf: URL(fileURLWithPath: quantized))
        let (bytes, folded) = try ONNXExport.export(quantizedFile: file, source: "'\(quantized)'", opset: opset,
                                                         integerBiases: !floatBiases)
        try AtomicFile.write(bytes, to: URL(fileURLWithPath: onnx))
        let mirrored = folded.map(\.mirroredChannels).reduce(0, +)
        if json {
            try printJSON(Record(onnx: onnx, opset: opset, bytes: bytes.count, foldedBatchNorms: folded.count,
                                 mirroredChannels: mirrored))
        } else {
            print("exported \(quantized) to \(onnx) (opset \(opset), \(bytes.count) bytes; \(folded.count) batch norms folded, "
                  + "\(mirrored) channels with negative batch-norm scale mirrored)")
        }
    }
}
