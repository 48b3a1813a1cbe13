import NN
import Tensors

/// How calibration images are made.
public enum DistillMethod: String, CaseIterable, Sendable {
    /// GENIE-D: a generator and per-image latents optimized together on the BNS loss.
    case genie
    /// ZeroQ-style baseline: the pixels themselves optimized on the same loss.
    case pixels
    /// No distillation: standard-normal images.
    case noise
}

/// Settings of a distillation run (defaults: GENIE's; docs/METHOD.md, "Latents, optimizers and schedules").
public struct DistillConfig: Sendable {
    public var method: DistillMethod = .genie
    public var batchSize = 128
    public var iterations = 4000
    public var seed: UInt64 = 0
    public var swing = true
    /// Swing only inputs whose height and width are at least this (0: every strided convolution's, as GENIE does).
    public var swingMinimumSide = 0
    public var latentDimension = 256
    /// Adam lr of the latents (and of the pixels for `.pixels`), with ReduceLROnPlateau.
    public var latentLearningRate: Float = 0.1
    /// Adam lr of the generator, decayed x0.95 every 100 iterations.
    public var generatorLearningRate: Float = 0.01

    public init() {}
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
        self.loss = try BNSLoss(model: copy)
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
            let pixels = Parameter(Tensor.randomNormal(shape, using: &rng))
            return try optimize(latents: pixels, generator: nil, progress: progress) { pixels.value }
        case .genie:
            let generator = Generator(latentDimension: config.latentDimension, imageSize: imageShape[1],
                                      channels: imageShape[0], seed: rng.next())
            return try distill(latents: Tensor.randomNormal([count, config.latentDimension], using: &rng),
                               generator: generator, progress: progress)
        }
    }

    /// GENIE-D from a given starting point: `generator` (trained in place) and one latent row per image, optimized
    /// together for `config.iterations` iterations. Swing offsets follow the layers' current streams.
    public func distill(latents: Tensor, generator: Generator, progress: ((Int, Float) -> Void)? = nil) throws -> DistilledBatch {
        let z = Parameter(latents)
        return try optimize(latents: z, generator: generator, progress: progress) { generator(z.value) }
    }

    private func optimize(latents: Parameter, generator: Generator?, progress: ((Int, Float) -> Void)?,
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
                return loss(images: out, model: model)
            }
            last = value.item
            guard last.isFinite else {
                throw GenieError("the distillation loss became \(last) at iteration \(t)")
            }
            if t == 1 { initial = last }
            // GENIE's reference code (docs/METHOD.md) keeps the images of the last forward pass, before the last update.
            if t == config.iterations { kept = x!.detached().converted(to: .plain); progress?(t, last); break }
            latentOptimizer.step([grads[0]])
            if generator != nil { generatorOptimizer.step(Array(grads.dropFirst())) }
            plateau.step(metric: last)
            if t % 100 == 0 { decay.step() }
            progress?(t, last)
        }
        return DistilledBatch(images: kept!, initialLoss: initial, finalLoss: last)
    }
}
