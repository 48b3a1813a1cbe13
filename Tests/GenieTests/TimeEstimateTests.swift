import Foundation
import Genie
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
}
