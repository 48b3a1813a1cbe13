import NN
import Tensors

/// How calibration images are made. Each method's settings are one row of `DistillConfig(method:)`.
public enum DistillMethod: String, CaseIterable, Sendable {
    /// GENIE-D with genie's default settings: the paper's, except that maps smaller than 14x14 do not swing and each
    /// image's own statistics are left free (no per-image term).
    case genie
    /// GENIE-D exactly as the paper and its reference code set it up (swing on every strided convolution); kept as
    /// it is when genie's defaults change.
    case geniePaper = "genie-paper"
    /// ZeroQ: the pixels themselves optimized so that each image's statistics match the batch norms', no swing.
    case pixels
    /// No distillation: standard-normal images.
    case noise
}

/// Settings of a distillation run (docs/METHOD.md, "Latents, optimizers and schedules" and "Method settings").
public struct DistillConfig: Sendable {
    public private(set) var method: DistillMethod
    public var batchSize = 128
    public var iterations = 4000
    public var seed: UInt64 = 0
    /// Swing convolution in every strided convolution of the distillation copy.
    public var swing: Bool
    /// Whose statistics the loss matches: the batch's (GENIE) or each image's (ZeroQ).
    public var statistics: BNSLoss.Statistics
    /// Swing only inputs whose height and width are at least this (0: every strided convolution's, as GENIE does).
    public var swingMinimumSide: Int
    /// Weight of a cross-entropy term that aims image `j` of batch `b` at class `(b · batchSize + j) mod classes`, so
    /// that every class gets its share of images (0: off, as GENIE; a label term as in GDFQ and its successors).
    public var labelWeight: Float = 0
    /// The label weight that files and checkpoints record: nil when the term is off (GENIE's runs stay as they were).
    var recordedLabelWeight: Float? { labelWeight > 0 ? labelWeight : nil }
    /// Weight of the BNS loss's per-image term, each image's channel mean and deviation against 0 and 1 (GENIE's 1;
    /// `genie` sets 0).
    public var imageTermWeight: Float = 1
    /// The image-term weight that files and checkpoints record: nil at GENIE's 1 (so such runs' settings stay as
    /// they were).
    var recordedImageTermWeight: Float? { imageTermWeight != 1 ? imageTermWeight : nil }
    /// The minimum side that files and checkpoints record: nil when every strided convolution swings (GENIE's rule,
    /// so such runs' settings stay as they were) or none does.
    var recordedSwingMinimumSide: Int? { swing && swingMinimumSide > 0 ? swingMinimumSide : nil }
    public var latentDimension = 256
    /// Adam lr of the latents (and of the pixels for `.pixels`), with ReduceLROnPlateau.
    public var latentLearningRate: Float
    /// Adam lr of the generator, decayed x0.95 every 100 iterations.
    public var generatorLearningRate: Float

    /// GENIE-D with genie's default settings.
    public init() { self.init(method: .genie) }

    /// `method`'s settings, one row per method: the one place each method's defaults are set.
    public init(method: DistillMethod) {
        switch method {
        case .geniePaper:  // GENIE's reference code, its effective learning rates (latents 0.1, generator 0.01)
            (swing, swingMinimumSide, statistics, latentLearningRate, generatorLearningRate) = (true, 0, .batch, 0.1, 0.01)
        case .genie:  // the paper's, but maps below 14x14 (the smallest the paper's ImageNet networks swing) keep still:
            // on MobileNetV2 at 28x28, +1.58 points at W2A4 over three seeds (BENCHMARKS.md, "MobileNetV2 over seeds");
            // and no per-image term: on ResNet-20, +0.25 points at W2A4 over three seeds
            // (BENCHMARKS.md, "The images' own statistics")
            self = DistillConfig(method: .geniePaper)
            swingMinimumSide = 14
            imageTermWeight = 0
        case .pixels:  // ZeroQ's code (distill_data.py): Adam 0.5 on the pixels, per-image statistics, no swing
            (swing, swingMinimumSide, statistics, latentLearningRate, generatorLearningRate) = (false, 0, .perImage, 0.5, 0)
        case .noise:  // nothing is optimized; the loss of the images is only recorded
            (swing, swingMinimumSide, statistics, latentLearningRate, generatorLearningRate) = (false, 0, .batch, 0, 0)
        }
        self.method = method
    }
}

/// The result of distilling one batch.
public struct DistilledBatch {
    public var images: Tensor
    public var initialLoss: Float
    public var finalLoss: Float
}

/// GENIE-D (docs/METHOD.md, "One distillation batch, step by step") and its baselines, one independent batch at a time:
/// batch `i` depends only on `(seed, i)`, so batches can be distilled in any order, in shards, and resumed.
public final class Distiller {
    public let config: DistillConfig
    let model: Module
    let loss: BNSLoss
    let swingLayers: [SwingConv2d]
    let imageShape: [Int]

    /// `model` is the user's full-precision model; it is never modified: a copy in eval mode is distilled through.
    public init(model original: Module, imageShape: [Int], config: DistillConfig) throws {
        let copy = original.copy()
        copy.setTraining(false)
        for p in copy.namedParameters() { p.parameter.requiresGradient = false }
        let swung = config.swing ? SwingConv2d.install(in: copy, seed: config.seed, minimumSide: config.swingMinimumSide) : []
        self.swingLayers = swung.map { copy.module(at: $0) as! SwingConv2d }
        self.model = copy
        self.loss = try BNSLoss(model: copy, statistics: config.statistics, imageTermWeight: config.imageTermWeight)
        self.imageShape = imageShape
        self.config = config
    }

    /// Distills batch `index` (`count` images), reporting each iteration to `progress`.
    public func distill(batch index: Int, count: Int, progress: ((Int, Float) -> Void)? = nil) throws -> DistilledBatch {
        var rng = SeededGenerator(seed: config.seed, stream: UInt64(index))
        for (i, layer) in swingLayers.enumerated() { layer.reseed(rng.next() &+ UInt64(i)) }
        let shape = [count] + imageShape
        switch config.method {
        case .noise:
            let images = Tensor.randomNormal(shape, using: &rng)
            let l = withoutGradients { loss(images: images, model: model).item }
            return DistilledBatch(images: images, initialLoss: l, finalLoss: l)
        case .pixels:
            // ZeroQ's code starts from (U{0..254} - 127.5) / 5418.75: uniform noise within ±0.024, not N(0, 1).
            return try distill(pixels: (Tensor.randomUniform(shape, upper: 255, using: &rng).floored() - 127.5) / 5418.75,
                               progress: progress)
        case .genie, .geniePaper:
            let generator = Generator(latentDimension: config.latentDimension, imageSize: imageShape[1],
                                      channels: imageShape[0], seed: rng.next())
            return try distill(latents: Tensor.randomNormal([count, config.latentDimension], using: &rng),
                               generator: generator, firstLabel: index * config.batchSize, progress: progress)
        }
    }

    /// GENIE-D from a given starting point: `generator` (trained in place) and one latent row per image, optimized
    /// together for `config.iterations` iterations. Swing offsets follow the layers' current streams; with a label
    /// term, image `j` aims at class `firstLabel + j` (modulo the classes).
    public func distill(latents: Tensor, generator: Generator, firstLabel: Int = 0,
                        progress: ((Int, Float) -> Void)? = nil) throws -> DistilledBatch {
        let z = Parameter(latents)
        return try optimize(latents: z, generator: generator, firstLabel: firstLabel, progress: progress) { generator(z.value) }
    }

    /// ZeroQ from given starting images: the pixels themselves optimized for `config.iterations` iterations.
    public func distill(pixels: Tensor, progress: ((Int, Float) -> Void)? = nil) throws -> DistilledBatch {
        let x = Parameter(pixels)
        return try optimize(latents: x, generator: nil, progress: progress) { x.value }
    }

    /// The loss of `images`: the BNS loss, plus the label term when `config.labelWeight` is set.
    private func loss(of images: Tensor, firstLabel: Int) -> Tensor {
        let (statistics, logits) = loss.evaluate(images: images, model: model)
        guard config.labelWeight > 0 else { return statistics }
        let classes = logits.shape[1]
        let labels = (0..<images.shape[0]).map { (firstLabel + $0) % classes }
        return statistics + crossEntropy(logits: logits, labels: labels) * config.labelWeight
    }

    private func optimize(latents: Parameter, generator: Generator?, firstLabel: Int = 0, progress: ((Int, Float) -> Void)?,
                          images: () -> Tensor) throws -> DistilledBatch {
        let latentOptimizer = Adam([latents], learningRate: config.latentLearningRate)
        var plateau = PlateauSchedule(latentOptimizer, factor: 0.1, patience: 100, minimum: 1e-4)
        let generatorParameters = generator?.trainableParameters() ?? []
        let generatorOptimizer = Adam(generatorParameters, learningRate: config.generatorLearningRate)
        let decay = ExponentialSchedule(generatorOptimizer, gamma: 0.95)
        let all = [latents] + generatorParameters
        var initial = Float.nan, last = Float.nan
        var kept: Tensor?
        for t in 1...config.iterations {
            var x: Tensor?
            let (value, grads) = valueAndGradients(of: all) {
                let out = images()
                x = out
                return loss(of: out, firstLabel: firstLabel)
            }
            last = value.item
            guard last.isFinite else {
                throw GenieError("the distillation loss became \(last) at iteration \(t)")
            }
            if t == 1 { initial = last }
            // GENIE's reference code (docs/METHOD.md) keeps the images of the last forward pass, before the last update;
            // ZeroQ's keeps its pixels after their last update (below the loop).
            if t == config.iterations && generator != nil { kept = x!.detached().converted(to: .plain); progress?(t, last); break }
            latentOptimizer.step([grads[0]])
            if generator != nil { generatorOptimizer.step(Array(grads.dropFirst())) }
            plateau.step(metric: last)
            if t % 100 == 0 { decay.step() }
            progress?(t, last)
        }
        return DistilledBatch(images: kept ?? images().detached().converted(to: .plain), initialLoss: initial, finalLoss: last)
    }
}
