import Genie
import Models
import NN
import Testing
import Tensors

@Suite struct QuantizerTests {
    @Test func rectifiedSigmoidInverse() {
        for r: Float in [0, 0.1, 0.5, 0.77, 0.999] {
            let v = Tensor(RectifiedSigmoid.inverse(r))
            #expect(abs(RectifiedSigmoid.forward(v).item - r) < 1e-5)
        }
        #expect(abs(RectifiedSigmoid.inverse(0.5)) < 1e-6)
    }

    @Test(arguments: [4, 2])
    func weightQuantizerMatchesPyTorch(bits: Int) throws {
        let f = try fixture("genie.safetensors")
        let p = "wq\(bits)."
        let q = WeightQuantizer(weight: f["wq.weight"]!, bits: bits)
        #expect(close(q.scale.value, f[p + "s0"]!, 1e-6))
        #expect(maxAbsDifference(q.zeroPoint.reshaped(to: [6]), f[p + "zp"]!) == 0)
        #expect(maxAbsDifference(q.base, f[p + "B"]!) == 0)
        #expect(close(q.softbits.value, f[p + "V0"]!, 1e-4))
        func check(_ suffix: String, s: Tensor, v: Tensor) {
            q.scale.value = s.reshaped(to: [6, 1, 1, 1])
            q.softbits.value = v
            q.soft = false
            #expect(close(q(), f[p + "hard" + suffix]!, 1e-5))
            q.soft = true
            #expect(close(q(), f[p + "soft" + suffix]!, 1e-5))
            let (_, grads) = valueAndGradients(of: [q.scale, q.softbits]) { (q() * f["wq.upstream"]!).sum() }
            let gs = suffix.isEmpty ? "grad_s_init" : "grad_s", gv = suffix.isEmpty ? "grad_V_init" : "grad_V"
            #expect(close(grads[0], f[p + gs]!, 1e-4))
            #expect(close(grads[1], f[p + gv]!, 1e-4))
        }
        check("", s: f[p + "s0"]!, v: f[p + "V0"]!)
        check("_pert", s: f[p + "s_pert"]!, v: f[p + "V_pert"]!)
    }

    @Test func softWeightEqualsWeightAndHardEqualsRoundToNearestAtInit() throws {
        var rng = SeededGenerator(seed: 5)
        let w = Tensor.randomNormal([8, 3, 3, 3], using: &rng)
        let q = WeightQuantizer(weight: w, bits: 4)
        q.soft = true
        let s = q.scale.value, z = q.zeroPoint
        // Inside the grid the soft weight reproduces W; outside it is clipped to the grid's ends.
        let clipped = ((w / s + z).clamped(0, 15) - z) * s
        #expect(maxAbsDifference(q(), clipped) < 1e-5)
        q.soft = false
        let rtn = (((w / s).rounded() + z).clamped(0, 15) - z) * s
        #expect(maxAbsDifference(q(), rtn) < 1e-5)
    }

    @Test func roundingRegularizerMatchesPyTorch() throws {
        let f = try fixture("genie.safetensors")
        let q = WeightQuantizer(weight: f["wq.weight"]!, bits: 4)
        q.softbits.value = f["wq4.V_pert"]!
        for (beta, name) in [(Float(20), "b20"), (5, "b5")] {
            let (value, grads) = valueAndGradients(of: [q.softbits]) { q.roundingLoss(beta: beta) }
            #expect(close(value, f["reg.\(name).value"]!, 1e-5))
            #expect(close(grads[0], f["reg.\(name).grad"]!, 1e-4))
        }
    }

    @Test func roundingScheduleMatchesPyTorch() throws {
        let f = try fixture("genie.safetensors")
        var config = ReconstructionConfig()
        config.iterations = 100
        let betas = (1...100).map { config.roundingBeta(at: $0) }
        #expect(betas.map { $0 == nil ? 0 : 1 } == f["reg.T100.active"]!.scalars)
        #expect(close(Tensor(shape: [100], scalars: betas.map { $0 ?? 20 }), f["reg.T100.beta"]!, 1e-6))
    }

    @Test(arguments: ["signed", "unsigned"])
    func activationQuantizerMatchesPyTorch(kind: String) throws {
        let f = try fixture("genie.safetensors")
        let x = f["aq.\(kind).x"]!
        for bits in [4, 2] {
            let q = ActivationQuantizer(bits: bits, seed: 0)
            q.initialize(from: x)
            #expect(q.signed == (kind == "signed"))
            #expect(close(q.scale!.value, f["aq.\(kind).init_s\(bits)"]!, 1e-5))
        }
        let q = ActivationQuantizer(bits: 4, scale: f["aq.step"]!.item, signed: kind == "signed")
        let leaf = x.requiringGradient()
        let (value, grads) = valueAndGradients(of: [q.scale!]) { (q(leaf) * f["aq.upstream"]!).sum() }
        _ = value
        #expect(close(q(x), f["aq.\(kind).out"]!, 1e-6))
        #expect(close(grads[0], f["aq.\(kind).grad_s"]!, 1e-4))
        let gx = gradients(of: (q(leaf) * f["aq.upstream"]!).sum(), wrt: [leaf])[0]
        #expect(close(gx, f["aq.\(kind).grad_x"]!, 1e-6))
    }

    /// The tiny model's `layer2.0` quantized at W4A4 as the fixture's reference block: soft weights, input
    /// quantizers initialized on `qblock.x` with QDrop off. Returns the block and its conv1, conv2, downsample.
    func referenceBlock(_ f: [String: Tensor]) throws -> (Module, [QuantizedLayer]) {
        let model = try tinyModel(f)
        try quantize(model, weightBits: 4, activationBits: 4, sample: f["bns.images"]!, seed: 0)
        let block = model.module(at: "layer2.0")!
        let layers = block.quantizedLayers
        #expect(layers.map(\.path) == ["conv1", "conv2", "downsample.0"])
        for (name, layer) in zip(["conv1", "conv2", "downsample"], layers.map(\.layer)) {
            #expect(close(layer.weightQuantizer!.scale.value, f["qblock.\(name).s0"]!, 1e-6))
            layer.weightQuantizer!.soft = true
            layer.quantizesInput = true
        }
        _ = withoutGradients { block(f["qblock.x"]!) }  // lazy activation init, QDrop off
        return (block, layers.map(\.layer))
    }

    /// The reference block's loss (reconstruction against `qblock.y_fp` plus the rounding term at beta 10), its
    /// reconstruction part, and the gradients of the loss: weight step sizes, softbits, activation step sizes.
    func blockLoss(_ block: Module, _ layers: [QuantizedLayer], _ f: [String: Tensor]) -> (loss: Tensor, rec: Float, grads: [Tensor]) {
        let weights = layers.map { $0.weightQuantizer! }
        let parameters = weights.map(\.scale) + weights.map(\.softbits) + [layers[0].inputQuantizer!.scale!, layers[1].inputQuantizer!.scale!]
        var rec = Float(0)
        let (loss, grads) = valueAndGradients(of: parameters) {
            let out = block(f["qblock.x"]!)
            let r = (out - f["qblock.y_fp"]!).squared().sum() * (Float(out.shape[1]) / Float(out.count))
            rec = r.item
            return r + weights.map { $0.roundingLoss(beta: 10) }.reduce(Tensor(0), +)
        }
        return (loss, rec, grads)
    }

    /// Checks `grads` (from `blockLoss`) against the fixture's `prefix.grad.*`.
    func expectBlockGradients(_ grads: [Tensor], _ f: [String: Tensor], prefix: String) {
        for (i, name) in ["conv1", "conv2", "downsample"].enumerated() {
            #expect(close(grads[i], f["\(prefix).grad.\(name).s"]!, 2e-3), "grad s \(name)")
            #expect(close(grads[3 + i], f["\(prefix).grad.\(name).V"]!, 2e-3), "grad V \(name)")
        }
        #expect(close(grads[6], f["\(prefix).grad.aq_in.s"]!, 2e-3))
        #expect(close(grads[7], f["\(prefix).grad.aq_mid.s"]!, 2e-3))
    }

    @Test func quantizedBlockMatchesPyTorch() throws {
        let f = try fixture("genie.safetensors")
        let (block, layers) = try referenceBlock(f)
        let (conv1, conv2, down) = (layers[0], layers[1], layers[2])
        #expect(conv1.inputQuantizer === down.inputQuantizer)  // the block input's quantizer is shared
        #expect(close(conv1.inputQuantizer!.scale!.value, f["qblock.aq_in.s"]!, 1e-5))
        #expect(close(conv2.inputQuantizer!.scale!.value, f["qblock.aq_mid.s"]!, 1e-5))
        #expect(close(withoutGradients { block(f["qblock.x"]!) }, f["qblock.out_soft"]!, 1e-4))
        let (loss, rec, grads) = blockLoss(block, layers, f)
        #expect(close(Tensor(rec), f["qblock.rec_loss"]!, 1e-4))
        #expect(close(loss, f["qblock.loss"]!, 1e-4))
        expectBlockGradients(grads, f, prefix: "qblock")
        for layer in layers { layer.weightQuantizer!.soft = false }
        #expect(close(withoutGradients { block(f["qblock.x"]!) }, f["qblock.out_hard"]!, 1e-4))
    }

    @Test func quantizedBlockWithQDropMasksMatchesPyTorch() throws {
        let f = try fixture("genie.safetensors")
        let (block, layers) = try referenceBlock(f)
        let (input, middle) = (layers[0].inputQuantizer!, layers[1].inputQuantizer!)
        (input.training, middle.training) = (true, true)
        // Call order: conv1 and the downsample conv share the block input's quantizer, conv2 runs between them.
        input.presetMasks = [f["qblock.qdrop.mask0"]!, f["qblock.qdrop.mask2"]!]
        middle.presetMasks = [f["qblock.qdrop.mask1"]!]
        let (loss, _, grads) = blockLoss(block, layers, f)
        #expect(input.presetMasks.isEmpty && middle.presetMasks.isEmpty)
        #expect(close(loss, f["qblock.qdrop.loss"]!, 1e-4))
        expectBlockGradients(grads, f, prefix: "qblock.qdrop")
        input.presetMasks = [f["qblock.qdrop.mask0"]!, f["qblock.qdrop.mask2"]!]
        middle.presetMasks = [f["qblock.qdrop.mask1"]!]
        #expect(close(withoutGradients { block(f["qblock.x"]!) }, f["qblock.qdrop.out"]!, 1e-4))
    }

    /// GENIE-M as the paper sets it up (its reference code's values), written out: changing genie's defaults must
    /// not change these.
    @Test func geniePaperReconstructionKeepsThePapersSettings() {
        let paper = ReconstructionConfig(method: .geniePaper)
        #expect(paper.method == .geniePaper && paper.learnsWeightScales && paper.iterations == 20_000)
        #expect(paper.weightScaleLearningRate == 1e-4 && paper.activationScaleLearningRate == 4e-5 && paper.softbitLearningRate == 1e-3)
        #expect(paper.roundingWeight == 1 && paper.warmup == 0.2 && paper.betaStart == 20 && paper.betaEnd == 2)
        #expect(paper.dropProbability == 0.5)
    }

    /// Each reconstruction method's row: genie is the paper's but for the softbits' rate, which follows the budget;
    /// brecq is BRECQ's (step sizes fixed, rounding weight 0.01, no QDrop, the same regularizer schedule, the softbit
    /// rate 1e-3).
    @Test func eachQuantMethodHasItsOwnSettings() {
        let genie = ReconstructionConfig(), paper = ReconstructionConfig(method: .geniePaper)
        #expect(genie.method == .genie && genie.learnsWeightScales && genie.roundingWeight == paper.roundingWeight)
        #expect(genie.weightScaleLearningRate == paper.weightScaleLearningRate && genie.activationScaleLearningRate == paper.activationScaleLearningRate)
        #expect(genie.softbitLearningRate == paper.softbitLearningRate && genie.dropProbability == paper.dropProbability)  // at 20,000 iterations
        #expect(genie.warmup == paper.warmup && genie.betaStart == paper.betaStart && genie.betaEnd == paper.betaEnd)
        let brecq = ReconstructionConfig(method: .brecq)
        #expect(!brecq.learnsWeightScales && brecq.roundingWeight == 0.01 && brecq.dropProbability == 0)
        #expect(brecq.softbitLearningRate == 1e-3 && brecq.warmup == 0.2 && brecq.betaStart == 20 && brecq.betaEnd == 2)
        #expect(!ReconstructionConfig(method: .rtn).learnsWeightScales)
    }

    /// genie's softbit rate is 20 / iterations within 1e-3...4e-2 and follows later changes of `iterations`; the
    /// other methods' rates, and a rate set by hand, stay fixed.
    @Test func genieScalesTheSoftbitRateToTheBudgetUnlessFixed() {
        var genie = ReconstructionConfig(), paper = ReconstructionConfig(method: .geniePaper), brecq = ReconstructionConfig(method: .brecq)
        for (iterations, rate) in [(100, 4e-2), (500, 4e-2), (1000, 2e-2), (2000, 1e-2), (20_000, 1e-3), (50_000, 1e-3)] as [(Int, Float)] {
            (genie.iterations, paper.iterations, brecq.iterations) = (iterations, iterations, iterations)
            #expect(abs(genie.softbitLearningRate - rate) <= 1e-6 * rate, "\(iterations) iterations")
            #expect(paper.softbitLearningRate == 1e-3 && brecq.softbitLearningRate == 1e-3, "\(iterations) iterations")
        }
        genie.softbitLearningRate = 5e-3
        genie.iterations = 500
        #expect(genie.softbitLearningRate == 5e-3)
    }

    @Test func brecqKeepsTheInitialWeightStepSizesWhereGenieLearnsThem() throws {
        let (_, model) = randomTrainedResNet20(seed: 4)
        var rng = SeededGenerator(seed: 9)
        let calibration = Tensor.randomNormal([32, 1, 28, 28], using: &rng)
        for method in [QuantMethod.brecq, .genie] {
            var config = ReconstructionConfig(method: method)
            config.iterations = 3
            let student = model.copy()
            try quantize(student, weightBits: 4, activationBits: 4, sample: calibration.slice(batch: 0..<2), seed: 0)
            let r = try Reconstructor(teacher: model, student: student, calibration: calibration, config: config)
            let layers = student.module(at: "layer1.0")!.quantizedLayers.map(\.layer)
            let scales = { layers.compactMap { $0.weightQuantizer?.scale.value.scalars } }  // the shortcut has none
            let before = scales()
            try r.reconstruct(unit: r.units.firstIndex(of: "layer1.0")!) { _ in }
            #expect(before.count == 2 && (scales() == before) == (method == .brecq), "\(method)")
            #expect(layers.compactMap(\.inputQuantizer).allSatisfy { $0.dropProbability == config.dropProbability })
        }
    }

    @Test func anActivationQuantizerWithoutDropQuantizesEveryElementWhileTraining() throws {
        let f = try fixture("genie.safetensors")
        let q = ActivationQuantizer(bits: 4, scale: f["aq.step"]!.item, signed: true)
        let x = f["aq.signed.x"]!, hard = q(x)
        (q.training, q.dropProbability) = (true, 0)
        #expect(maxAbsDifference(q(x), hard) == 0)
        q.dropProbability = 0.5
        #expect(maxAbsDifference(q(x), hard) > 0)
    }

    /// The dataflow rule gives BRECQ's units on the zoo: residual blocks, MobileNetV2's inverted residuals with or
    /// without a residual connection, and every layer outside them.
    @Test func unitsFollowTheReferenceOrder() {
        func units(_ spec: ModelSpec) -> [String] {
            reconstructionUnits(of: spec.build(), input: Tensor(repeating: 0.5, shape: [1, spec.inChannels, spec.imageSize, spec.imageSize]))
        }
        func blocks(_ counts: [Int]) -> [String] {
            counts.enumerated().flatMap { s, n in (0..<n).map { "layer\(s + 1).\($0)" } }
        }
        let imageNet = { (arch: String) in ModelSpec(arch: arch, inChannels: 3, imageSize: 64, mean: [0, 0, 0], std: [1, 1, 1]) }
        #expect(units(ModelSpec(arch: "resnet20")) == ["conv1"] + blocks([3, 3, 3]) + ["fc"])
        #expect(units(imageNet("resnet18")) == ["conv1"] + blocks([2, 2, 2, 2]) + ["fc"])
        #expect(units(imageNet("resnet50")) == ["conv1"] + blocks([3, 4, 6, 3]) + ["fc"])
        #expect(units(ModelSpec(arch: "mobilenet_v2")) == ["features.0.0"] + (1...17).map { "features.\($0)" } + ["features.18.0", "classifier.1"])
    }
}
