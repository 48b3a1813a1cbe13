import Data
import Foundation
import Genie
import Models
import NN
import Testing
import Tensors

/// The per-unit report and per-layer bit widths on the committed models, at a tiny budget.
@Suite struct UnitReportTests {
    /// A committed model and 64 Fashion-MNIST training images in its input space.
    static func committed(_ arch: String) throws -> (ModelSpec, Module, Tensor) {
        let url = CommittedModelTests.models.appendingPathComponent("\(arch).safetensors")
        let file = try SafeTensors(contentsOf: url)
        let spec = try #require(ModelSpec(metadata: file.metadata))
        let model = spec.build()
        try model.load(file, source: url.path)
        let images = try FashionMNIST.load(split: .train).randomSubset(count: 64, seed: 0).images
        return (spec, model, try Normalization(mean: spec.mean, std: spec.std).apply(images))
    }

    /// W2A4 with `plan` keeping one unit at 8 bits: the report lists every unit in order with finite losses that
    /// do not rise, the planned layer holds 8-bit codes in the written file and reads back bit-exactly.
    @Test(arguments: [("resnet20", "layer2.1=8", "layer2.1.conv1"), ("mobilenet_v2", "features.3=8/8", "features.3.conv.1.0")])
    func reportListsUnitsAndThePlannedLayerKeepsItsBits(arch: String, plan text: String, layer: String) throws {
        let (spec, model, calibration) = try Self.committed(arch)
        let plan = try BitWidthPlan(parsing: text)
        var config = ReconstructionConfig()
        config.iterations = 40
        let (quantized, report) = try quantizeModelWithReport(spec: spec, model: model, calibration: calibration, weightBits: 2,
                                                              activationBits: 4, plan: plan, config: config, checkpoint: nil, quiet: true)
        #expect(report.units.map(\.path) == reconstructionUnits(of: model, input: calibration))
        #expect(report.bits == text)
        for unit in report.units {
            let before = try #require(unit.lossBefore), after = try #require(unit.lossAfter)
            #expect(before.isFinite && after.isFinite && before >= 0 && after >= 0, "\(unit.path)")
            // QDrop's random masks make single windows noisy: a unit may end a little above where it began.
            #expect(after <= 1.5 * before + 1e-6, "\(unit.path): \(before) -> \(after)")
            #expect(unit.outputError.isFinite && unit.outputError >= 0, "\(unit.path)")
            #expect((unit.seconds ?? 0) > 0, "\(unit.path) took \(unit.seconds.map { "\($0) s" } ?? "no recorded time")")
        }
        let ratios = report.units.map { Double($0.lossAfter! / max($0.lossBefore!, 1e-12)) }
        #expect(ratios.reduce(0, +) / Double(ratios.count) <= 1.05, "\(ratios)")
        #expect(report.logitsError.isFinite && report.logitsError < 1)
        // Chance is 0.1; MobileNetV2 at W2A4 after 40 iterations agrees on about 0.4 of the images.
        #expect(report.top1Agreement > 0.25)

        // The bits: the planned unit at W8 (and A8 where asked), the others GENIE's.
        let planned = report.units.first { $0.path == plan.entries[0].name }!
        #expect(planned.layers.allSatisfy { $0.weightBits ?? 8 == 8 })
        #expect(planned.layers.contains { $0.path == layer && $0.weightBits == 8 })
        #expect(report.units.dropFirst().dropLast().filter { $0.path != planned.path }.allSatisfy { u in u.layers.allSatisfy { $0.weightBits ?? 2 == 2 } })
        let file = try QuantizedModelFile.make(quantized, spec: spec, metadata: ["bits": text])
        let codes = try #require(file.entries[layer + ".weight_codes"])
        let weights = report.units.flatMap(\.layers).first { $0.path == layer }!.weights
        #expect(codes.bytes.count == weights)  // one code a byte: 8 bits
        #expect(codes.bytes.contains { $0 > 15 })
        let (_, restored) = try QuantizedModelFile.load(try SafeTensors(bytes: file.serialized()), source: "memory")
        let restoredLayer = try #require(restored.module(at: layer) as? QuantizedLayer)
        #expect(restoredLayer.weightQuantizer?.bits == 8)
        let x = calibration.slice(batch: 0..<8)
        let a = withoutGradients { quantized(x) }, b = withoutGradients { restored(x) }
        #expect(maxAbsDifference(a, b) <= 1e-5 * max(1, a.scalars.map(abs).max()!))

        // The size counts every weight at its bits.
        let bitsSum = quantized.quantizedLayers.compactMap(\.layer.weightQuantizer).map { $0.bits * $0.softbits.value.count }.reduce(0, +)
        #expect(report.size.weightBytes == (bitsSum + 7) / 8)
        #expect(report.size.totalBytes < report.size.fp32TotalBytes / 3)

        // The files: JSON that decodes to the same units, and an SVG naming each unit.
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        try report.write(beside: folder.appendingPathComponent("q.safetensors"))
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let read = try decoder.decode(UnitReport.self, from: Data(contentsOf: folder.appendingPathComponent("q.units.json")))
        #expect(read.format == UnitReport.currentFormat && read.units.map(\.path) == report.units.map(\.path))
        let svg = try String(contentsOf: folder.appendingPathComponent("q.units.svg"), encoding: .utf8)
        #expect(svg.hasPrefix("<svg") && report.units.allSatisfy { svg.contains(">\($0.path) ") })
    }

    /// A finished checkpoint resumes with every unit done and hands back the losses and times recorded before.
    @Test func resumingKeepsTheFinishedUnitsLosses() throws {
        let (spec, model) = randomTrainedResNet20(seed: 5)
        var rng = SeededGenerator(seed: 6)
        let calibration = Tensor.randomNormal([32, 1, 28, 28], using: &rng)
        var config = ReconstructionConfig()
        config.iterations = 8
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let checkpoint = folder.appendingPathComponent("q.checkpoint")
        let plan = try BitWidthPlan(parsing: "layer1=4")
        let first = ReconstructionLog(), second = ReconstructionLog()
        for log in [first, second] {
            _ = try quantizeModel(spec: spec, model: model, calibration: calibration, weightBits: 2, activationBits: 4,
                                  plan: plan, config: config, checkpoint: checkpoint, losses: log, quiet: true)
        }
        #expect(first.units.count == reconstructionUnits(of: model, input: calibration).count)
        #expect(second.units == first.units)
        #expect(first.units.allSatisfy { $0.window == 2 && ($0.seconds ?? 0) > 0 })
    }

    /// A plan naming two layers, one of them at activation bits too, overrides exactly those layers; a shared
    /// input quantizer takes the most bits any reader asks for.
    @Test func planOverridesTheLayersItNamesAndSharedInputsTakeTheMostBits() throws {
        let (_, model) = randomTrainedResNet20(seed: 7)
        var rng = SeededGenerator(seed: 8)
        let plan = try BitWidthPlan(parsing: "layer3.0.conv1=3/6, fc=4 # the classifier\nlayer3=5")
        try plan.validate(against: model, arch: "resnet20")
        try quantize(model, weightBits: 2, activationBits: 4, sample: Tensor.randomNormal([2, 1, 28, 28], using: &rng), seed: 0, plan: plan)
        let layers = Dictionary(uniqueKeysWithValues: model.quantizedLayers.map { ($0.path, $0.layer) })
        #expect(layers["layer3.0.conv1"]?.weightQuantizer?.bits == 3)
        #expect(layers["layer3.0.conv1"]?.inputQuantizer?.bits == 6)
        #expect(layers["layer3.0.conv2"]?.weightQuantizer?.bits == 5)
        #expect(layers["layer3.0.conv2"]?.inputQuantizer?.bits == 4)
        #expect(layers["layer2.0.conv2"]?.weightQuantizer?.bits == 2)
        #expect(layers["fc"]?.weightQuantizer?.bits == 4)
        #expect(layers["fc"]?.inputQuantizer?.bits == 8)
        // Every reader of layer3.0's input shares the 6-bit quantizer of its first convolution.
        let readers = model.quantizedLayers.filter { $0.layer.inputQuantizer === layers["layer3.0.conv1"]!.inputQuantizer }
        #expect(readers.count >= 2, "\(readers.map(\.path))")
        #expect(plan.description == "layer3.0.conv1=3/6,fc=4,layer3=5")
    }

    /// ONNX at opset 21 keeps 4-bit activations as uint4/int4 except the inputs of layers the plan gives 8-bit
    /// weights: those are 8-bit with a Clip to the 4-bit grid (onnxruntime refuses a uint4 input beside uint8 weights).
    @Test func onnxStoresTheInputsOf8BitLayersIn8BitTypes() throws {
        let (spec, model) = smallTestModel("resnet20", seed: 3)
        var rng = SeededGenerator(seed: 3)
        let images = Tensor.randomNormal([3, 1, 28, 28], using: &rng)
        try quantize(model, weightBits: 2, activationBits: 4, sample: images.slice(batch: 0..<1), seed: 0,
                     plan: try BitWidthPlan(parsing: "layer2.1=8"))
        for (_, layer) in model.quantizedLayers { layer.quantizesInput = layer.inputQuantizer != nil }
        _ = withoutGradients { model(images) }
        let onnx = try DecodedONNX(ONNXExport.export(model, spec: spec, opset: 21))
        // layer2.1's two convolutions read two quantizers (the first shared with the shortcut): two Clips.
        #expect(onnx.count("Clip") == 2)
        let eightBit = [ONNXType.uint8, .int8].map(\.rawValue), fourBit = [ONNXType.uint4, .int4].map(\.rawValue)
        #expect(eightBit.contains(onnx.initializers["layer2.1.conv1.weight_quantized"] ?? 0))
        #expect(fourBit.contains(onnx.initializers["layer2.2.conv1.weight_quantized"] ?? 0))
    }

    /// Seeded mutations of a plan (characters replaced, inserted, deleted) parse to entries within 2...8 bits or
    /// fail with a `BitWidthPlanError`, and read back from their canonical text.
    @Test func planParserSurvivesMutations() throws {
        let (_, model) = randomTrainedResNet20(seed: 2)
        let original = Array("layer1.0=4/8, layer3=3 # keep\nfc=8\nlayer2.1.conv2=2/6")
        let alphabet = Array("layer0123456789.=/,#\n fcx-")
        var rng = SeededGenerator(seed: 3), parsed = 0, valid = 0
        for _ in 0..<2000 {
            var text = original
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                let i = Int.random(in: 0..<text.count, using: &rng), c = alphabet.randomElement(using: &rng)!
                switch Int.random(in: 0..<3, using: &rng) {
                case 0: text[i] = c
                case 1: text.insert(c, at: i)
                default: text.remove(at: i)
                }
            }
            do {
                let plan = try BitWidthPlan(parsing: String(text))
                parsed += 1
                #expect(plan.entries.allSatisfy { (2...8).contains($0.weightBits) && (2...8).contains($0.activationBits ?? 2) })
                #expect(try BitWidthPlan(parsing: plan.description) == plan)
                try plan.validate(against: model, arch: "resnet20")
                valid += 1
            } catch is BitWidthPlanError {}
        }
        #expect(parsed > 100 && valid > 20, "parsed \(parsed), valid \(valid)")
    }

    /// Each bad plan fails with an error that quotes the entry or names the layer.
    @Test(arguments: [
        ("layer9=8", "resnet20 has no layer named 'layer9'"),
        ("layer1.0.conv=8", "no layer named 'layer1.0.conv'"),
        ("layer1", "'layer1' is not NAME=W or NAME=W/A"),
        ("layer1=9", "'layer1=9': 9 bits is outside 2...8"),
        ("layer1=4/x", "'layer1=4/x' is not NAME=W or NAME=W/A"),
        ("layer1=4,layer1=8", "'layer1' is given twice"),
        ("conv1=8/8", "the input of conv1 is the image"),
        ("@/nonexistent/bits.txt", "cannot read the file '/nonexistent/bits.txt'"),
    ])
    func badPlanNamesTheEntry(text: String, message: String) throws {
        let (_, model) = randomTrainedResNet20(seed: 1)
        let error = #expect(throws: BitWidthPlanError.self) {
            try BitWidthPlan(argument: text).validate(against: model, arch: "resnet20")
        }
        #expect(error?.description.contains(message) == true, "\(String(describing: error))")
    }
}
