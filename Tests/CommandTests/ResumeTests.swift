import Data
import Foundation
import Testing
import Tensors

/// Long jobs killed with SIGKILL and started again with the same command end with the same files, bit for bit,
/// as uninterrupted runs; a diverging unit stops the run and keeps the units before it.
@Suite(.serialized) struct ResumeTests {
    /// Runs `arguments` once uninterrupted and once killed when `marker` appears and then started again; expects
    /// the same `outputs` bytes, runs `afterwards` in the resumed run's folder, and returns that run's outcome.
    func killAndResume(_ arguments: [String], marker: String, outputs: [String], environment: [String: String] = [:],
                       afterwards: (URL) throws -> Void = { _ in }) throws -> Outcome {
        let reference = try temporaryFolder(), interrupted = try temporaryFolder()
        defer { for f in [reference, interrupted] { try? FileManager.default.removeItem(at: f) } }
        let whole = try genie(arguments, in: reference, environment: environment)
        try #require(whole.status == 0, "\(whole)")
        let killed = try genieKilled(arguments, in: interrupted, when: marker, environment: environment)
        try #require(killed, "the run ended before it could be killed; give it a larger budget")
        #expect(!FileManager.default.fileExists(atPath: interrupted.appendingPathComponent(outputs[0]).path))
        let resumed = try genie(arguments, in: interrupted, environment: environment)
        try #require(resumed.status == 0, "\(resumed)")
        for name in outputs {
            let a = try Self.reproducible(name, Data(contentsOf: reference.appendingPathComponent(name)))
            let b = try Self.reproducible(name, Data(contentsOf: interrupted.appendingPathComponent(name)))
            #expect(a == b, "\(name) differs after the resumed run: \(differences(a, b))")
        }
        let left = try FileManager.default.contentsOfDirectory(atPath: interrupted.path).filter { !$0.hasPrefix(".std") }
        #expect(Set(left) == Set(outputs), "the resumed run left \(left)")
        try afterwards(interrupted)
        return resumed
    }

    /// A file's bytes without what no run reproduces: a unit report's wall times per unit.
    static func reproducible(_ name: String, _ bytes: Data) throws -> Data {
        guard name.hasSuffix(".units.json"), var report = try JSONSerialization.jsonObject(with: bytes) as? [String: Any],
              let units = report["units"] as? [[String: Any]] else { return bytes }
        #expect(units.allSatisfy { ($0["seconds"] as? Double ?? 0) > 0 }, "\(name) lacks a unit's seconds")
        report["units"] = units.map { $0.filter { $0.key != "seconds" } }
        return try JSONSerialization.data(withJSONObject: report, options: .sortedKeys)
    }

    @Test func distillationKilledMidBatchResumesToTheSameImages() throws {
        let arguments = ["distill", "--weights", resnet20, "--images", "6", "--batch-size", "2", "--iterations", "25",
                         "--seed", "7", "--out", "images.safetensors"]
        let resumed = try killAndResume(arguments, marker: "images.safetensors.partial/batch-00000.safetensors",
                                        outputs: ["images.safetensors", "images.png"])
        #expect(resumed.stderr.contains("batch 1/3: already done"), "\(resumed)")
    }

    /// The same model, and the same unit report: the losses of the units finished before the kill come from the checkpoint.
    @Test func reconstructionKilledMidUnitResumesToTheSameModel() throws {
        let arguments = ["quantize", "--weights", resnet20, "--noise", "32", "--iterations", "40", "--wbits", "3",
                         "--seed", "5", "--out", "q.safetensors"]
        let resumed = try killAndResume(arguments, marker: "q.safetensors.checkpoint",
                                        outputs: ["q.safetensors", "q.units.json", "q.units.svg"]) { folder in
            let read = try genie(["evaluate", "--quantized", "q.safetensors"], in: folder)  // the reader takes the file
            #expect(read.status == 0 && read.stdout.contains("top-1"), "\(read)")
        }
        #expect(resumed.stderr.contains("resuming from"), "\(resumed)")
    }

    /// An imported graph: its checkpoint records the graph, from which the resumed run rebuilds the units done.
    @Test func reconstructionOfAnImportedGraphKilledMidUnitResumesToTheSameModel() throws {
        let arguments = ["quantize", "--weights", onnxFixture("resnet_small"), "--mean", "0.286", "--std", "0.353", "--noise", "32",
                         "--iterations", "40", "--wbits", "3", "--seed", "5", "--out", "q.safetensors"]
        let resumed = try killAndResume(arguments, marker: "q.safetensors.checkpoint",
                                        outputs: ["q.safetensors", "q.units.json", "q.units.svg"]) { folder in
            let read = try genie(["evaluate", "--quantized", "q.safetensors"], in: folder)  // without the ONNX file
            #expect(read.status == 0 && read.stdout.contains("onnx on fashion-mnist"), "\(read)")
        }
        #expect(resumed.stderr.contains("resuming from"), "\(resumed)")
    }

    @Test func trainingKilledAfterAnEpochResumesToTheSameWeights() throws {
        // A tiny stand-in for Fashion-MNIST: 64 training and 32 test images.
        let data = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: data) }
        var rng = SeededGenerator(seed: 4)
        for (split, n) in [("train", 64), ("t10k", 32)] {
            let pixels = (0..<(n * 784)).map { _ in UInt8(truncatingIfNeeded: rng.next() >> 56) }
            let labels = (0..<n).map { _ in UInt8(rng.next() % 10) }
            try Data(IDX.serialize(IDXArray(shape: [n, 28, 28], bytes: pixels))).write(to: data.appendingPathComponent("\(split)-images-idx3-ubyte"))
            try Data(IDX.serialize(IDXArray(shape: [n], bytes: labels))).write(to: data.appendingPathComponent("\(split)-labels-idx1-ubyte"))
        }
        let arguments = ["train", "--arch", "resnet20", "--epochs", "4", "--batch-size", "16", "--seed", "2", "--out", "w.safetensors"]
        let resumed = try killAndResume(arguments, marker: "w.safetensors.checkpoint", outputs: ["w.safetensors"],
                                        environment: ["GENIE_FASHION_MNIST_DIR": data.path])
        #expect(resumed.stderr.contains("resuming from"), "\(resumed)")
    }

    @Test func aDivergingUnitStopsTheRunNamingItAndKeepsTheUnitsBefore() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        // Weights of 1e30 in the third unit: finite (so loadable), but its squared error overflows.
        let weights = try editedResNet20("huge.safetensors", in: folder) { file in
            let shape = file.entries["layer1.1.conv1.weight"]!.shape
            file.set("layer1.1.conv1.weight", Tensor(shape: shape, scalars: [Float](repeating: 1e30, count: shape.reduce(1, *))))
        }
        let arguments = ["quantize", "--weights", weights, "--noise", "32", "--iterations", "3", "--out", "q.safetensors"]
        let result = try genie(arguments, in: folder)
        #expect(result.status == 1, "\(result)")
        #expect(result.stderr.contains("unit 3/11 'layer1.1': the reconstruction loss became"), "\(result)")
        #expect(result.stderr.contains("at iteration 1; the 2 units finished before it are kept in"), "\(result)")
        let checkpoint = try SafeTensors(contentsOf: folder.appendingPathComponent("q.safetensors.checkpoint"))
        #expect(checkpoint.metadata["units_done"] == "2")
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("q.safetensors").path))
        // The same command resumes after the kept units and stops at the same place.
        let again = try genie(arguments, in: folder)
        #expect(again.stderr.contains("2 of 11 units done") && again.stderr.contains("unit 3/11 'layer1.1'"), "\(again)")
    }
}

/// Which tensors (or metadata) of two safetensors files differ, for a failure message.
func differences(_ a: Data, _ b: Data) -> String {
    guard let x = try? SafeTensors(bytes: [UInt8](a)), let y = try? SafeTensors(bytes: [UInt8](b)) else {
        return "\(a.count) vs \(b.count) bytes"
    }
    let tensors = Set(x.entries.keys).union(y.entries.keys).sorted().filter { x.entries[$0]?.bytes != y.entries[$0]?.bytes }
    let metadata = Set(x.metadata.keys).union(y.metadata.keys).sorted().filter { x.metadata[$0] != y.metadata[$0] }
    return "tensors \(tensors), metadata \(metadata)"
}
