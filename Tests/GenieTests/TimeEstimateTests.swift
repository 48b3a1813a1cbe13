import Foundation
import Genie
import NN
import Tensors
import Testing

/// The time estimate printed before a run's long work (what it says, not how close it comes: that depends on the
/// machine's load, and BENCHMARKS.md, "Time estimate", measures it on real runs).
@Suite struct TimeEstimateTests {
    @Test func aRunLogsAPositiveFiniteEstimateOfEachPhaseBeforeItStartsAndComparesItWithTheActualAtTheEnd() throws {
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        var run = RunConfiguration(weights: CommittedModelTests.models.appendingPathComponent("resnet20.safetensors"), folder: folder)
        run.budget = Budget(images: 32, distillIterations: 5, reconstructionIterations: 10)
        run.testData = .folder(fixturesDirectory.appendingPathComponent("imagefolder"))
        var lines: [String] = []
        let report = try run.run(quiet: true) { lines.append($0) }

        let estimateLine = lines.firstIndex { $0.hasPrefix("estimate: distill ") && $0.contains("reconstruct") && $0.contains("evaluate") }
        let firstPhase = lines.firstIndex { $0.hasPrefix("[1/4]") }
        #expect(estimateLine != nil && firstPhase != nil && estimateLine! < firstPhase!, "\(lines)")
        #expect(lines.contains { $0.hasPrefix("estimate of GENIE-M per unit: conv1 ") && $0.contains("fc ") }, "\(lines)")
        #expect(lines.last { $0.hasPrefix("estimate vs actual: distill ") } != nil, "\(lines)")
        let estimate = try #require(report.estimateSeconds), took = try #require(report.phaseSeconds)
        for seconds in [estimate.distill, estimate.reconstruct, estimate.evaluate, took.distill, took.reconstruct, took.evaluate] {
            #expect(seconds.map { $0 > 0 && $0.isFinite } == true, "\(estimate) \(took)")
        }
    }

    /// The evaluation estimate reads and runs real batches; files it cannot read must still be counted once, by the
    /// evaluation itself.
    @Test func estimatingAnEvaluationLeavesItsCountOfUnreadableFilesAsItIs() throws {
        let folder = try temporaryDirectory(), data = folder.appendingPathComponent("data")
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.copyItem(at: fixturesDirectory.appendingPathComponent("imagefolder"), to: data)
        try Data("not an image".utf8).write(to: data.appendingPathComponent("1/notes.png"))
        let (spec, model) = try loadModel(weights: CommittedModelTests.models.appendingPathComponent("resnet20.safetensors"))
        let test = try TestSet(.folder(data), spec: spec, batchSize: 16)
        let seconds = try test.estimatedEvaluationSeconds(of: model)
        let result = try test.evaluate(model, quiet: true)
        #expect(seconds > 0 && seconds.isFinite && result.skipped == 1 && result.accuracy.count == test.count - 1,
                "\(seconds) s, \(result.skipped) skipped, \(result.accuracy.count) of \(test.count)")
    }

    @Test func aResumedDistillationEstimatesOnlyTheBatchesLeft() throws {
        let (spec, model) = randomTrainedResNet20(seed: 1)
        var config = DistillConfig()
        (config.batchSize, config.iterations) = (4, 3)
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let partial = dir.appendingPathComponent("images.partial")
        let whole = try estimateDistillation(spec: spec, model: model, total: 8, config: config, shard: .whole, partial: partial)
        _ = try distillImages(spec: spec, model: model, total: 8, config: config, shard: .whole, partial: partial, quiet: true)
        let left = try estimateDistillation(spec: spec, model: model, total: 8, config: config, shard: .whole, partial: partial)
        #expect(whole > 0 && whole.isFinite && left == 0)
    }

    /// The estimate times each unit on stand-ins of its data. A unit reconstructed on stand-ins equal to its collected
    /// data must do the same work: its activation step sizes are initialized before the optimizer is built and
    /// learned, step for step as on collected data (they once started in the first iteration and were never learned,
    /// so the estimate skipped their gradients and fell 20% short).
    @Test func aUnitOnStandInsOfItsDataLearnsTheSameActivationStepSizesAsOnCollectedData() throws {
        let (_, teacher) = randomTrainedResNet20(seed: 2)
        var rng = SeededGenerator(seed: 2)
        let images = Tensor.randomNormal([32, 1, 28, 28], using: &rng) * 0.5 + 0.2
        var config = ReconstructionConfig()
        config.iterations = 10
        func stepSizes(standIns: Bool) throws -> [[Float]] {
            let student = teacher.copy()
            try quantize(student, weightBits: 4, activationBits: 4, sample: images.slice(batch: 0..<2), seed: 0)
            let reconstructor = try Reconstructor(teacher: teacher, student: student, calibration: images, config: config)
            let unit = try #require(reconstructor.units.firstIndex(of: "layer1.0"))
            var seen: (teacherInput: Tensor, teacherOutput: Tensor, studentInput: Tensor)?
            let (t, s) = (teacher.module(at: "layer1.0")!, student.module(at: "layer1.0")!)
            let ids = (t.addForwardHook { _, x, y in seen = (x, y, x) }, s.addForwardHook { _, x, _ in seen!.studentInput = x })
            withoutGradients { _ = teacher(images); _ = student(images) }
            t.removeHook(ids.0); s.removeHook(ids.1)
            let quantizers = student.quantizedLayers.filter { $0.path.hasPrefix("layer1.0.") }.compactMap(\.layer.inputQuantizer)
            var steps: [[Float]] = []
            try reconstructor.reconstruct(unit: unit, collected: standIns ? seen : nil) { _ in
                steps.append(quantizers.map { $0.scale!.value.item })
            }
            return steps
        }
        let collected = try stepSizes(standIns: false), standIns = try stepSizes(standIns: true)
        #expect(collected.count == 10 && collected.first != collected.last, "the step sizes are learned: \(collected)")
        #expect(standIns == collected)
    }
}
