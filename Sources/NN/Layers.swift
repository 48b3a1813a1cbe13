import Tensors

extension Module {
    /// Re-initializes every module, pre-order, from one seeded generator (PyTorch's `reset_parameters`).
    public func initializeParameters(seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        for (_, m) in namedModules() { (m as? Initializable)?.resetParameters(using: &rng) }
    }
}

/// A module with PyTorch's default parameter initialization.
public protocol Initializable: Module {
    func resetParameters(using rng: inout SeededGenerator)
}

/// PyTorch's default for conv and linear layers: kaiming-uniform with a = sqrt(5), i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
/// for the weight and the bias alike.
func resetUniform(_ weight: Parameter, _ bias: Parameter?, fanIn: Int, using rng: inout SeededGenerator) {
    let bound = 1 / Float(fanIn).squareRoot()
    weight.value = Tensor.randomUniform(weight.value.shape, lower: -bound, upper: bound, using: &rng)
    if let bias { bias.value = Tensor.randomUniform(bias.value.shape, lower: -bound, upper: bound, using: &rng) }
}

/// 2-D convolution (PyTorch's `nn.Conv2d`, square kernels, zero padding).
public final class Conv2d: Module, Initializable {
    public let inChannels: Int, outChannels: Int, kernelSize: Int, stride: Int, padding: Int, groups: Int
    public let weight: Parameter
    public let bias: Parameter?

    public init(_ inChannels: Int, _ outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
                groups: Int = 1, bias: Bool = true) {
        precondition(inChannels % groups == 0 && outChannels % groups == 0,
                     "Conv2d: channels \(inChannels)->\(outChannels) not divisible by groups \(groups)")
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernelSize = kernelSize
        self.stride = stride
        self.padding = padding
        self.groups = groups
        let w = Tensor.zeros([outChannels, inChannels / groups, kernelSize, kernelSize])
        let weight = Parameter(w), biasParameter = bias ? Parameter(Tensor.zeros([outChannels])) : nil
        self.weight = weight
        self.bias = biasParameter
        super.init()
        register(parameter: "weight", weight)
        if let biasParameter { register(parameter: "bias", biasParameter) }
    }

    public func resetParameters(using rng: inout SeededGenerator) {
        resetUniform(weight, bias, fanIn: inChannels / groups * kernelSize * kernelSize, using: &rng)
    }

    override public func forward(_ input: Tensor) -> Tensor {
        input.conv2d(weight.value, bias: bias?.value, stride: stride, padding: padding, groups: groups)
    }

    override public func copy() -> Module {
        Conv2d(inChannels, outChannels, kernelSize: kernelSize, stride: stride, padding: padding, groups: groups,
               bias: bias != nil).adopting(self)
    }
}

/// Batch normalization over channels of 4-D (or `[N, C]`) input (PyTorch's `nn.BatchNorm2d`): batch
/// statistics and a running-statistics update in training mode, running statistics in eval mode.
public final class BatchNorm2d: Module, Initializable {
    public let numFeatures: Int, epsilon: Float, momentum: Float
    public let weight: Parameter?, bias: Parameter?
    public let runningMean: Buffer?, runningVar: Buffer?, numBatchesTracked: Buffer?

    public init(_ numFeatures: Int, epsilon: Float = 1e-5, momentum: Float = 0.1, affine: Bool = true,
                trackRunningStats: Bool = true) {
        self.numFeatures = numFeatures
        self.epsilon = epsilon
        self.momentum = momentum
        weight = affine ? Parameter(Tensor.ones([numFeatures])) : nil
        bias = affine ? Parameter(Tensor.zeros([numFeatures])) : nil
        runningMean = trackRunningStats ? Buffer(Tensor.zeros([numFeatures])) : nil
        runningVar = trackRunningStats ? Buffer(Tensor.ones([numFeatures])) : nil
        numBatchesTracked = trackRunningStats ? Buffer(Tensor.zeros([]), isInteger: true) : nil
        super.init()
        if let weight, let bias { register(parameter: "weight", weight); register(parameter: "bias", bias) }
        if let runningMean, let runningVar, let numBatchesTracked {
            register(buffer: "running_mean", runningMean)
            register(buffer: "running_var", runningVar)
            register(buffer: "num_batches_tracked", numBatchesTracked)
        }
    }

    public func resetParameters(using rng: inout SeededGenerator) {
        weight?.value = Tensor.ones([numFeatures])
        bias?.value = Tensor.zeros([numFeatures])
        runningMean?.value = Tensor.zeros([numFeatures])
        runningVar?.value = Tensor.ones([numFeatures])
        numBatchesTracked?.value = Tensor.zeros([])
    }

    override public func forward(_ input: Tensor) -> Tensor { forward(input, adding: nil, activation: nil) }

    override public func copy() -> Module {
        BatchNorm2d(numFeatures, epsilon: epsilon, momentum: momentum, affine: weight != nil,
                    trackRunningStats: runningMean != nil).adopting(self)
    }

    /// `activation(bn(input) + residual)` (each part optional) in one pass over memory; see `batchNormActivation`.
    /// In eval mode outside gradient recording, an input nothing else holds is overwritten (`Tensor.batchNorm(mean:...)`).
    public func forward(_ input: consuming Tensor, adding residual: Tensor?, activation: Rectifier?) -> Tensor {
        precondition(input.rank >= 2 && input.shape[1] == numFeatures,
                     "BatchNorm2d(\(numFeatures)) got input of shape \(input.shape)")
        if !isTraining, let runningMean, let runningVar {
            return (consume input).batchNorm(mean: runningMean.value, variance: runningVar.value, weight: weight?.value,
                                   bias: bias?.value, epsilon: epsilon, adding: residual, activation: activation)
        }
        let (output, mean, variance) = input.batchNormTraining(weight: weight?.value, bias: bias?.value, epsilon: epsilon,
                                                               adding: residual, activation: activation)
        if isTraining, let runningMean, let runningVar, let numBatchesTracked {
            let n = Float(input.count / numFeatures)
            runningMean.value = runningMean.value * (1 - momentum) + mean.detached() * momentum
            runningVar.value = runningVar.value * (1 - momentum) + variance.detached() * (momentum * n / max(n - 1, 1))
            numBatchesTracked.value = numBatchesTracked.value + 1
        }
        return output
    }
}

/// `activation(bn(x) + residual)` (`residual` optional): one fused pass when `bn` is a `BatchNorm2d` and
/// `activation` a ReLU or ReLU6, neither with hooks; otherwise module by module, so that hooks and swapped-in
/// modules (folded BN, quantizers) see every step.
public func batchNormActivation(_ bn: Module, _ activation: Module, _ x: consuming Tensor, adding residual: Tensor? = nil) -> Tensor {
    if let bn = bn as? BatchNorm2d, let rectifier = fusableRectifier(after: bn, activation) {
        return bn.forward(consume x, adding: residual, activation: rectifier)
    }
    let y = bn(x)
    return activation(residual.map { y + $0 } ?? y)
}

/// The rectifier a batch norm's pass can apply for `activation` (a ReLU or ReLU6 `Function`), when neither module
/// has hooks that must see the steps apart.
func fusableRectifier(after bn: BatchNorm2d, _ activation: Module) -> Rectifier? {
    guard !bn.hasHooks, !activation.hasHooks, let name = (activation as? Function)?.name else { return nil }
    switch name {
    case "ReLU": return .relu
    case "ReLU6": return .relu6
    default: return nil
    }
}

/// Fully connected layer `x W^T + b` (PyTorch's `nn.Linear`).
public final class Linear: Module, Initializable {
    public let inFeatures: Int, outFeatures: Int
    public let weight: Parameter, bias: Parameter?

    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true) {
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        weight = Parameter(Tensor.zeros([outFeatures, inFeatures]))
        self.bias = bias ? Parameter(Tensor.zeros([outFeatures])) : nil
        super.init()
        register(parameter: "weight", weight)
        if let b = self.bias { register(parameter: "bias", b) }
    }

    public func resetParameters(using rng: inout SeededGenerator) {
        resetUniform(weight, bias, fanIn: inFeatures, using: &rng)
    }

    override public func forward(_ input: Tensor) -> Tensor { input.linear(weight.value, bias: bias?.value) }

    override public func copy() -> Module { Linear(inFeatures, outFeatures, bias: bias != nil).adopting(self) }
}

/// Modules applied in order, named "0", "1", ... (PyTorch's `nn.Sequential`).
public final class Sequential: Module {
    public init(_ modules: [Module]) {
        super.init()
        for (i, m) in modules.enumerated() { register(String(i), m) }
    }

    /// The children in order; a `BatchNorm2d` without hooks and the ReLU or ReLU6 after it run as one pass
    /// (`batchNormActivation`), as torchvision's `Conv2dNormActivation` blocks are laid out, over the output of the
    /// module before it when nothing else holds that.
    override public func forward(_ input: Tensor) -> Tensor {
        let modules = childNames.map { child($0) }
        var x = input, i = 0
        while i < modules.count {
            if let bn = modules[i] as? BatchNorm2d, !bn.hasHooks {
                let rectifier = i + 1 < modules.count ? fusableRectifier(after: bn, modules[i + 1]) : nil
                x = bn.forward(consume x, adding: nil, activation: rectifier)
                i += rectifier == nil ? 1 : 2
            } else {
                x = modules[i](x)
                i += 1
            }
        }
        return x
    }

    override public func copy() -> Module { Sequential([]).adopting(self) }
}

/// A parameter-free module defined by a function of its input (ReLU, pooling, flatten, ...).
public final class Function: Module {
    /// The PyTorch class this stands for, e.g. "ReLU".
    public let name: String
    private let body: (Tensor) -> Tensor

    public init(_ name: String, _ body: @escaping (Tensor) -> Tensor) {
        self.name = name
        self.body = body
        super.init()
    }

    override public func forward(_ input: Tensor) -> Tensor { body(input) }

    override public func copy() -> Module { Function(name, body).adopting(self) }

    public static func relu() -> Function { Function("ReLU") { $0.relu() } }
    public static func relu6() -> Function { Function("ReLU6") { $0.relu6() } }
    public static func leakyRelu(_ slope: Float) -> Function { Function("LeakyReLU") { $0.leakyRelu(slope: slope) } }
    public static func tanh() -> Function { Function("Tanh") { $0.tanh() } }
    public static func identity() -> Function { Function("Identity") { $0 } }
    public static func flatten() -> Function { Function("Flatten") { $0.flattened() } }
    public static func globalAveragePool() -> Function { Function("AdaptiveAvgPool2d") { $0.adaptiveAvgPool2d(outputSize: 1) } }
    public static func upsampleNearest(scale: Int = 2) -> Function {
        Function("Upsample") { $0.upsampledNearest(scale: scale) }
    }
}

/// Dropout with a seeded mask in training mode, identity in eval mode (PyTorch's `nn.Dropout`).
public final class Dropout: Module {
    public let probability: Float
    private var rng: SeededGenerator

    public init(_ probability: Float, seed: UInt64 = 0) {
        self.probability = probability
        rng = SeededGenerator(seed: seed)
        super.init()
    }

    /// A copy that goes on with the same mask stream.
    override public func copy() -> Module {
        let copy = Dropout(probability).adopting(self)
        copy.rng = rng
        return copy
    }

    override public func forward(_ input: Tensor) -> Tensor {
        guard isTraining, probability > 0 else { return input }
        let keep = Tensor.bernoulli(input.shape, probability: 1 - probability, layout: input.layout, using: &rng)
        return input * (keep * (1 / (1 - probability)))
    }
}
