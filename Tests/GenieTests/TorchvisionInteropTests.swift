import Data
import Foundation
import Genie
import Models
import Testing
import Tensors

/// A torchvision model trained in PyTorch and exported with scripts/export_torchvision.py (by
/// scripts/interop_torchvision.py) evaluates in genie to PyTorch's test top-1.
@Suite struct TorchvisionInteropTests {
    @Test func torchvisionMobileNetV2MatchesPyTorchTop1() throws {
        let file = try SafeTensors(contentsOf: fixturesDirectory.appendingPathComponent("torchvision_mobilenet_v2.safetensors"))
        let pytorchTop1 = try #require(file.metadata["pytorch_top1"].flatMap(Double.init))
        // An outside file records no spec: these are the flags a user passes to `genie evaluate`.
        let spec = try ModelSpec(arch: "mobilenet_v2", numClasses: 10, inChannels: 1, widthMult: 0.25, stemStride: 2).validated()
        let model = spec.build()
        try model.load(file, source: "torchvision_mobilenet_v2.safetensors")
        let accuracy = try evaluate(model, on: FashionMNIST.load(split: .test), normalization: FashionMNIST.normalization, quiet: true)
        #expect(abs(accuracy.top1 - pytorchTop1) <= 0.05, "genie \(accuracy.top1)% vs PyTorch \(pytorchTop1)%")
    }

    @Test func anOutsideFileGetsTorchvisionsStemStrideUnlessGenieRecordedOne() throws {
        let outside = fixturesDirectory.appendingPathComponent("torchvision_mobilenet_v2.safetensors")
        let overrides = ModelOverrides(arch: "mobilenet_v2", widthMult: 0.25)
        #expect(try loadModel(weights: outside, overrides: overrides).spec.stemStride == 2)
        var stride1 = overrides
        stride1.stemStride = 1
        #expect(try loadModel(weights: outside, overrides: stride1).spec.stemStride == 1)
        let own = CommittedModelTests.models.appendingPathComponent("mobilenet_v2.safetensors")
        #expect(try loadModel(weights: own).spec.stemStride == 1)  // genie's own file records its stride-1 stem
    }
}
