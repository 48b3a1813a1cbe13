import Foundation
import Genie
import Testing

/// The zero-shot pipeline run from the library API, as README.md's "Use it from Swift" shows it.
@Suite struct RunConfigurationTests {
    @Test func aTinyRunFromTheLibraryMakesItsFolderWritesItsFilesAndAReportThatKeepsTheAccuracyOfTheFloatModelClose() throws {
        let parent = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: parent) }
        let folder = parent.appendingPathComponent("runs/tiny")
        let weights = CommittedModelTests.models.appendingPathComponent("resnet20.safetensors")

        var run = RunConfiguration(weights: weights, folder: folder)
        run.budget = Budget(images: 32, distillIterations: 2, reconstructionIterations: 2)
        run.testData = .folder(fixturesDirectory.appendingPathComponent("imagefolder"))
        var lines: [String] = []
        let report = try run.run(quiet: true) { lines.append($0) }

        // Quiet: the stages are logged, the table of units is not.
        #expect(lines.contains { $0.hasPrefix("[3/4] GENIE-M") } && !lines.contains { $0.contains("reconstruction loss") }, "\(lines)")
        #expect(report.testImages == 40 && report.images == 32 && report.distillFinalLoss.count == 1)
        // W4A4 barely moves ResNet-20 even from 32 barely-distilled images: within 15 points on 40 images.
        #expect(report.fpTop1 >= 80 && abs(report.quantTop1 - report.fpTop1) <= 15, "\(report)")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path)
        #expect(Set(files) == ["images.safetensors", "images.png", "quantized.safetensors", "quantized.units.json", "quantized.units.svg", "report.json", "report.md"])
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let written = try decoder.decode(RunReport.self, from: Data(contentsOf: folder.appendingPathComponent("report.json")))
        #expect(written == report && written.formatVersion == RunReport.currentFormatVersion)
        #expect(try String(contentsOf: folder.appendingPathComponent("report.md"), encoding: .utf8) == report.markdown)
    }

    @Test func aFolderUnderAFileIsRefusedNamingTheFolder() throws {
        let parent = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: parent) }
        try Data().write(to: parent.appendingPathComponent("afile"))
        let folder = parent.appendingPathComponent("afile/run")
        let run = RunConfiguration(weights: CommittedModelTests.models.appendingPathComponent("resnet20.safetensors"), folder: folder)
        #expect(throws: RunFolderError(path: folder.relativePath)) { try run.run(quiet: true) }
    }

    @Test func badSettingsAreRefusedBeforeAnyFileIsRead() {
        var run = RunConfiguration(weights: URL(fileURLWithPath: "absent.safetensors"), folder: URL(fileURLWithPath: "unused"))
        run.weightBits = 1
        #expect(throws: GenieError.self) { try run.run(quiet: true) }
        run.weightBits = 4
        run.budget.images = 20
        #expect(throws: GenieError.self) { try run.run(quiet: true) }
        run.budget.images = 32
        #expect(throws: ModelLoadError.noSuchFile(path: "absent.safetensors")) { try run.run(quiet: true) }
    }
}
