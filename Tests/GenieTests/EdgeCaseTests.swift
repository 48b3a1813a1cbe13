import Foundation
import Genie
import Models
import NN
import Testing
import Tensors

/// Inputs at the edges of the number line: what a damaged or unusual model must not turn into NaN.
@Suite struct EdgeCaseTests {
    @Test func weightQuantizerHandlesZeroTinyAndHugeChannels() {
        let normal: [Float] = (0..<27).map { Float($0 % 7) / 7 - 0.4 }
        let rows: [[Float]] = [
            [Float](repeating: 0, count: 27),  // all-zero channel: no range
            (0..<27).map { Float($0 % 3) * Float.leastNonzeroMagnitude * 1000 },  // denormal range: no normal step size
            (0..<27).map { $0 % 2 == 0 ? 3e38 : -3e38 },  // range past Float's largest
            normal,
        ]
        let weight = Tensor(shape: [4, 3, 3, 3], scalars: rows.flatMap { $0 })
        for bits in [2, 4, 8] {
            let q = WeightQuantizer(weight: weight, bits: bits)
            #expect(q.scale.value.scalars.allSatisfy { $0.isFinite && $0 > 0 }, "bits \(bits): \(q.scale.value.scalars)")
            let w = withoutGradients { q() }.scalars
            #expect(w.allSatisfy { $0.isFinite })
            #expect(w[0..<27].allSatisfy { $0 == 0 })
            #expect(w[27..<54].allSatisfy { abs($0) < 1e-30 })
            #expect(zip(w[81...], normal).allSatisfy { abs($0 - $1) <= 0.5 })
        }
    }

    @Test func activationQuantizerHandlesZeroTinyAndHugeTensors() {
        for values: [Float] in [[0, 0, 0, 0], [Float.leastNonzeroMagnitude, 0, 3 * Float.leastNonzeroMagnitude, 0], [3e38, -3e38, 1, 0]] {
            let q = ActivationQuantizer(bits: 4, seed: 0)
            let out = withoutGradients { q(Tensor(shape: [1, 4], scalars: values)) }
            #expect(q.scale!.value.item.isFinite && q.scale!.value.item > 0, "\(values)")
            #expect(out.scalars.allSatisfy { $0.isFinite }, "\(values) -> \(out.scalars)")
        }
    }

    @Test func constantChannelHasAZeroStdGradient() {
        // Channel 0 is constant (what an all-zero weight channel feeds its batch norm): its std is 0.
        let x = Tensor(shape: [2, 2, 2, 2], scalars: [0, 0, 0, 0, 1, 2, 3, 4, 0, 0, 0, 0, 5, 6, 7, 9]).requiringGradient()
        let (_, std) = x.channelMoments()
        let g = gradients(of: (std - 1).squared().sum(), wrt: [x])[0]
        #expect(g.scalars.allSatisfy { $0.isFinite }, "\(g.scalars)")
    }

    @Test func resumeFilesOfOtherWeightsAreNotReused() throws {
        let (spec, a) = randomTrainedResNet20(seed: 11)
        let (_, b) = randomTrainedResNet20(seed: 12)
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = noiseDistillConfig()
        let run = { (model: Module, folder: String) in
            try distillImages(spec: spec, model: model, total: 4, config: config, shard: .whole,
                              partial: dir.appendingPathComponent(folder), quiet: true)
        }
        let fromA = try run(a, "shared"), fromB = try run(b, "shared"), fresh = try run(b, "fresh")
        #expect(fromB.initialLosses == fresh.initialLosses)
        #expect(fromB.initialLosses != fromA.initialLosses)
    }
}
