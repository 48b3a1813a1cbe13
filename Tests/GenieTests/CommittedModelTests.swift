import Data
import Foundation
import Genie
import Models
import Testing
import Tensors

/// The benchmark models committed under models/ reach their accuracy from a clean checkout.
@Suite struct CommittedModelTests {
    static let models = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("models")

    /// Each committed model and the test top-1 its issue requires.
    @Test(arguments: [("resnet20", 93.0), ("mobilenet_v2", 92.0)])
    func reachesItsAccuracy(arch: String, required: Double) throws {
        let file = try SafeTensors(contentsOf: CommittedModelTests.models.appendingPathComponent("\(arch).safetensors"))
        let spec = try #require(ModelSpec(metadata: file.metadata))
        #expect(spec.arch == arch)
        let model = spec.build()
        try model.load(file, source: "models/\(arch).safetensors")
        let accuracy = try evaluate(model, on: FashionMNIST.load(split: .test), normalization: FashionMNIST.normalization, quiet: true)
        #expect(accuracy.top1 >= required)
        #expect(abs(accuracy.top1 - Double(file.metadata["test_top1"]!)!) < 0.02)
    }
}
