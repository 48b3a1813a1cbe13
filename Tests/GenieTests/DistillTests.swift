import Genie
import Models
import NN
import Testing
import Tensors

/// The tiny ResNet-20 (widths 4/8/16) of scripts/fixtures_genie.py with its weights, in eval mode.
func tinyModel(_ f: [String: Tensor]) throws -> Module {
    let model = ResNet.resnet20(widths: [4, 8, 16])
    var state: [String: Tensor] = [:]
    for (key, _, _) in model.stateDict() {
        state[key] = key.hasSuffix("num_batches_tracked") ? Tensor.zeros([]) : f["model." + key]
    }
    try model.loadStateDict(state, source: "genie.safetensors")
    model.setTraining(false)
    return model
}

/// The tiny generator of scripts/fixtures_genie.py (latent 16, image 1x8x8) with its weights.
func tinyGenerator(_ f: [String: Tensor]) throws -> Generator {
    let g = Generator(latentDimension: 16, imageSize: 8, channels: 1, widths: (8, 4), seed: 0)
    var state: [String: Tensor] = [:]
    for (key, value, _) in g.stateDict() { state[key] = f["gen." + key] ?? value }
    try g.loadStateDict(state)
    return g
}

/// Relative agreement: max |a - b| <= tolerance * max(max |b|, 1e-3).
func close(_ a: Tensor, _ b: Tensor, _ tolerance: Float = 1e-4) -> Bool {
    let scale = max(b.scalars.map(abs).max() ?? 0, 1e-3)
    return maxAbsDifference(a.reshaped(to: b.shape), b) <= tolerance * scale
}

@Suite struct DistillTests {
    @Test func generatorOutputIsStandardizedPerChannel() {
        var rng = SeededGenerator(seed: 3)
        let g = Generator(latentDimension: 32, imageSize: 28, channels: 3, seed: 1)
        let x = withoutGradients { g(Tensor.randomNormal([16, 32], using: &rng)) }
        #expect(x.shape == [16, 3, 28, 28])
        let (mean, std) = x.channelMoments(unbiased: false)
        for c in 0..<3 {
            #expect(abs(mean.scalars[c]) < 1e-4)
            #expect(abs(std.scalars[c] - 1) < 1e-3)  // eps 1e-5 in the BN keeps it just below 1
        }
    }

    @Test func generatorMatchesPyTorch() throws {
        let f = try fixture("genie.safetensors")
        let g = try tinyGenerator(f)
        let z = f["gen.z"]!.requiringGradient()
        let out = g(z)
        #expect(close(out, f["gen.out"]!))
        let model = try tinyModel(f)
        let loss = try BNSLoss(model: model)
        let value = loss(images: out, model: model)
        #expect(close(value, f["gen.bns_loss"]!))
        let conv1 = (g.child("conv1") as! Conv2d).weight
        let (_, grads) = valueAndGradients(of: [conv1]) { loss(images: g(f["gen.z"]!), model: model) }
        #expect(close(grads[0], f["gen.bns_grad_conv1_weight"]!, 1e-3))
        #expect(close(gradients(of: value, wrt: [z])[0], f["gen.bns_grad_z"]!, 1e-3))
    }

    @Test(arguments: [(0, 0, "swing.out_o00"), (2, 1, "swing.out_o21")])
    func swingConvolutionMatchesPyTorch(ox: Int, oy: Int, name: String) throws {
        let f = try fixture("genie.safetensors")
        let conv = Conv2d(2, 3, kernelSize: 3, stride: 2, padding: 1, bias: false)
        conv.weight.value = f["swing.weight"]!
        let swing = SwingConv2d(conv, seed: 0)
        swing.fixedShift = (oy - 1, ox - 1)
        #expect(close(swing(f["swing.x"]!), f[name]!))
        swing.fixedShift = (0, 0)
        #expect(maxAbsDifference(swing(f["swing.x"]!), conv(f["swing.x"]!)) == 0)
    }

    @Test func swingLeavesMapsBelowTheMinimumSideUnshiftedAndKeepsItsOffsetStream() {
        let conv = Conv2d(1, 1, kernelSize: 3, stride: 2, padding: 1, bias: false)
        let every = SwingConv2d(conv, seed: 7), large = SwingConv2d(conv.copy() as! Conv2d, seed: 7)
        large.minimumSide = 9
        var rng = SeededGenerator(seed: 1)
        let small = Tensor.randomNormal([1, 1, 8, 8], using: &rng), big = Tensor.randomNormal([1, 1, 12, 9], using: &rng)
        var shifted = 0
        for _ in 0..<20 {
            #expect(maxAbsDifference(large(small), conv(small)) == 0)
            #expect(large.lastShift == (0, 0))
            _ = every(small)  // the same draw, so both streams stay in step
            #expect(maxAbsDifference(large(big), every(big)) == 0)
            #expect(large.lastShift == every.lastShift)
            if every.lastShift != (0, 0) { shifted += 1 }
        }
        #expect(shifted > 0)
    }

    @Test(arguments: ["noswing", "swing"])
    func bnsLossAndGradientMatchPyTorch(tag: String) throws {
        let f = try fixture("genie.safetensors")
        let model = try tinyModel(f)
        #expect(close(withoutGradients { model(f["bns.images"]!) }, f["model.logits"]!))
        if tag == "swing" {
            let paths = SwingConv2d.install(in: model, seed: 0)
            #expect(paths == ["layer2.0.conv1", "layer2.0.downsample.0", "layer3.0.conv1", "layer3.0.downsample.0"])
            let offsets = f["bns.swing.offsets"]!.scalars.map(Int.init)
            for (i, path) in paths.enumerated() {
                (model.module(at: path) as! SwingConv2d).fixedShift = (offsets[2 * i + 1] - 1, offsets[2 * i] - 1)
            }
        }
        let loss = try BNSLoss(model: model)
        let x = f["bns.images"]!.requiringGradient()
        let value = loss(images: x, model: model)
        #expect(close(value, f["bns.\(tag).loss"]!))
        #expect(close(BNSLoss.imageTerm(x), f["bns.\(tag).input_term"]!))
        #expect(close(gradients(of: value, wrt: [x])[0], f["bns.\(tag).grad"]!, 1e-3))
    }

    /// The loss with image-term weight `w` is GENIE's loss with the per-image term scaled by `w`, value and gradient
    /// (PyTorch's fixture gives both parts); at 0 the images' own statistics are left free.
    @Test(arguments: [Float(0), 0.25])
    func imageTermWeightScalesOnlyThePerImageTerm(weight: Float) throws {
        let f = try fixture("genie.safetensors")
        let model = try tinyModel(f)
        let x = f["bns.images"]!.requiringGradient()
        let genie = try BNSLoss(model: model), weighted = try BNSLoss(model: model, imageTermWeight: weight)
        let value = weighted(images: x, model: model)
        #expect(close(value, f["bns.noswing.loss"]! - f["bns.noswing.input_term"]! * (1 - weight)))
        let expected = gradients(of: genie(images: x, model: model) - BNSLoss.imageTerm(x) * (1 - weight), wrt: [x])[0]
        #expect(close(gradients(of: value, wrt: [x])[0], expected, 1e-5))
        #expect(maxAbsDifference(expected, gradients(of: genie(images: x, model: model), wrt: [x])[0]) > 1e-3)
    }

    @Test func distillationTrajectoryMatchesPyTorch() throws {
        let f = try fixture("genie.safetensors")
        let g = try tinyGenerator(f)
        var config = DistillConfig(method: .geniePaper)  // the reference's loss, with its per-image term
        (config.iterations, config.swing, config.latentDimension) = (5, false, 16)
        let distiller = try Distiller(model: try tinyModel(f), imageShape: [1, 8, 8], config: config)
        var losses: [Float] = []
        let batch = try distiller.distill(latents: f["gen.z"]!, generator: g) { _, loss in losses.append(loss) }
        #expect(close(Tensor(shape: [losses.count], scalars: losses), f["distill.losses"]!, 1e-4))
        #expect(close(batch.images, f["distill.images"]!, 1e-3))
    }

    /// With a label weight, the first iteration's loss is the BNS loss plus that weight times the cross-entropy of the
    /// model's logits on the same images, image `j` of batch 1 (batches of 4) aimed at class `4 + j`.
    @Test func labelTermAddsWeightedCrossEntropyAimingImagesAtClassesInTurn() throws {
        let f = try fixture("genie.safetensors")
        let model = try tinyModel(f)
        var config = DistillConfig()
        (config.iterations, config.swing, config.latentDimension, config.batchSize) = (1, false, 16, 4)
        let plain = try Distiller(model: model, imageShape: [1, 8, 8], config: config)
        config.labelWeight = 0.5
        let labelled = try Distiller(model: model, imageShape: [1, 8, 8], config: config)
        let latents = f["gen.z"]!.slice(batch: 0..<4)
        let without = try plain.distill(latents: latents, generator: try tinyGenerator(f), firstLabel: 4)
        let with = try labelled.distill(latents: latents, generator: try tinyGenerator(f), firstLabel: 4)
        #expect(maxAbsDifference(with.images, without.images) == 0)
        let logits = withoutGradients { model(without.images) }
        let crossEntropy = crossEntropy(logits: logits, labels: [4, 5, 6, 7]).item
        #expect(abs(with.initialLoss - (without.initialLoss + 0.5 * crossEntropy)) <= 1e-5 * max(1, with.initialLoss))
        #expect(crossEntropy > 0.1)
    }

    @Test func zeroQLossAndGradientMatchZeroQsCode() throws {
        let f = try fixture("genie.safetensors")
        let model = try tinyModel(f)
        let loss = try BNSLoss(model: model, statistics: .perImage)
        let x = f["bns.images"]!.requiringGradient()
        let value = loss(images: x, model: model)
        #expect(close(value, f["zeroq.loss"]!))
        #expect(close(gradients(of: value, wrt: [x])[0], f["zeroq.grad"]!, 1e-3))
    }

    @Test func pixelsMethodFollowsZeroQsTrajectory() throws {
        let f = try fixture("genie.safetensors")
        var config = DistillConfig(method: .pixels)
        config.iterations = 5
        let distiller = try Distiller(model: try tinyModel(f), imageShape: [1, 8, 8], config: config)
        var losses: [Float] = []
        let batch = try distiller.distill(pixels: f["bns.images"]!) { _, loss in losses.append(loss) }
        #expect(close(Tensor(shape: [losses.count], scalars: losses), f["zeroq.losses"]!, 1e-4))
        #expect(close(batch.images, f["zeroq.images"]!, 1e-4))
    }

    /// GENIE-D as the paper sets it up (the reference code's effective values), written out: changing genie's
    /// defaults must not change these.
    @Test func geniePaperDistillationKeepsThePapersSettings() {
        let paper = DistillConfig(method: .geniePaper)
        #expect(paper.method == .geniePaper && paper.swing && paper.swingMinimumSide == 0 && paper.statistics == .batch)
        #expect(paper.latentLearningRate == 0.1 && paper.generatorLearningRate == 0.01 && paper.latentDimension == 256)
        #expect(paper.imageTermWeight == 1)
    }

    /// Each distillation method's row: genie is the paper's but swings only maps of 14x14 and larger and has no
    /// per-image term; pixels is ZeroQ (no swing, per-image statistics, Adam 0.5 on the pixels); noise optimizes
    /// nothing.
    @Test func eachDistillationMethodHasItsOwnSettings() {
        let genie = DistillConfig(), paper = DistillConfig(method: .geniePaper)
        #expect(genie.method == .genie && genie.swing == paper.swing && genie.statistics == paper.statistics)
        #expect(genie.latentLearningRate == paper.latentLearningRate && genie.generatorLearningRate == paper.generatorLearningRate)
        #expect(genie.swingMinimumSide == 14 && paper.swingMinimumSide == 0)
        #expect(genie.imageTermWeight == 0)
        let zeroQ = DistillConfig(method: .pixels)
        #expect(!zeroQ.swing && zeroQ.statistics == .perImage && zeroQ.latentLearningRate == 0.5)
        #expect(!DistillConfig(method: .noise).swing)
    }

    @Test func modelWithoutBatchNormIsRejected() {
        let model = Sequential([Conv2d(1, 4, kernelSize: 3), Function.relu()])
        #expect(throws: GenieError.self) { try BNSLoss(model: model) }
    }
}
