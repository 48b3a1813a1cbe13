import Foundation
import Models
import NN
import Tensors

/// GENIE-M end to end: wraps a copy of the full-precision model with quantizers, reconstructs it unit by unit
/// on `calibration`, and returns the quantized model in hard mode. After every unit the model so far is
/// saved to `checkpoint` (when given); a run with the same settings resumes after the last finished unit.
public func quantizeModel(spec: ModelSpec, model fullPrecision: Module, calibration: Tensor, weightBits: Int,
                          activationBits: Int, config: ReconstructionConfig, checkpoint: URL?, quiet: Bool = false,
                          log: (String) -> Void = { _ in }) throws -> Module {
    let expected = [spec.inChannels, spec.imageSize, spec.imageSize]
    guard calibration.rank == 4, Array(calibration.shape.dropFirst()) == expected else {
        throw GenieError("calibration images have shape \(calibration.shape) but the model takes [N, \(expected.map(String.init).joined(separator: ", "))]")
    }
    let student = spec.build()
    try student.loadState(of: fullPrecision)
    try quantize(student, weightBits: weightBits, activationBits: activationBits,
                 sample: calibration.slice(batch: 0..<min(2, calibration.shape[0])), seed: config.seed)
    let reconstructor = try Reconstructor(teacher: fullPrecision, student: student, calibration: calibration, config: config)
    let fingerprint = "method=\(config.method.rawValue) w\(weightBits)a\(activationBits) iterations=\(config.iterations) seed=\(config.seed) images=\(calibration.shape[0]) lambda=\(config.roundingWeight) weights=\(fullPrecision.weightsHash) calibration=\(valueHash([calibration]))"
    var first = 0
    if let checkpoint, let saved = try? SafeTensors(contentsOf: checkpoint), saved.metadata["run"] == fingerprint,
       let done = saved.metadata["units_done"].flatMap(Int.init) {
        let (_, restored) = try QuantizedModelFile.load(saved, source: checkpoint.path)
        for unit in reconstructor.units.prefix(done) {
            for (path, layer) in restored.quantizedLayers where path == unit || path.hasPrefix(unit + ".") {
                student.replace(path, with: layer)
            }
        }
        first = done
        log("resuming from \(checkpoint.path): \(done) of \(reconstructor.units.count) units done")
    }
    var bar: ProgressBar?
    var saved = first  // units whose result is in the checkpoint
    do {
        try reconstructor.run(from: first, progress: { p in
            if p.iteration == 1 {
                bar = ProgressBar("unit \(p.unit + 1)/\(p.units) \(p.path)", total: p.iterations, quiet: quiet)
            }
            bar?.update(p.iteration, ["rec": String(format: "%.4f", p.reconstructionLoss),
                                      "round": String(format: "%.1f", p.roundingLoss)])
        }, finished: { unit in
            guard let checkpoint else { return }
            let file = QuantizedModelFile.make(student, spec: spec, metadata: ["run": fingerprint, "units_done": "\(unit + 1)"])
            try file.write(to: checkpoint)
            saved = unit + 1
        })
    } catch let error as GenieError where saved > 0 {
        throw GenieError("\(error); the \(saved) unit\(saved == 1 ? "" : "s") finished before it are kept in '\(checkpoint!.path)'")
    }
    for (_, layer) in student.quantizedLayers { layer.quantizesInput = layer.inputQuantizer != nil }
    student.setTraining(false)
    return student
}
