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

    @Test func resnet20ReachesItsAccuracy() throws {
        let file = try SafeTensors(contentsOf: CommittedModelTests.models.appendingPathComponent("resnet20.safetensors"))
        let spec = try #require(ModelSpec(metadata: file.metadata))
        #expect(spec.arch == "resnet20")
        let model = spec.build()
        try model.load(file, source: "models/resnet20.safetensors")
        let accuracy = try evaluate(model, on: FashionMNIST.load(split: .test), normalization: FashionMNIST.normalization, quiet: true)
        #expect(accuracy.top1 >= 93.0)
        #expect(abs(accuracy.top1 - Double(file.metadata["test_top1"]!)!) < 0.02)
    }
}
