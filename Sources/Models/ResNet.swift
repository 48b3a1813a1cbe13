import NN
import Tensors

/// torchvision's `BasicBlock`: two 3x3 conv+BN, ReLU, and a shortcut (1x1 conv+BN when the shape changes).
public final class BasicBlock: DataflowModule {
    public static let expansion = 1

    public init(_ inPlanes: Int, _ planes: Int, stride: Int = 1) {
        super.init()
        register("conv1", Conv2d(inPlanes, planes, kernelSize: 3, stride: stride, padding: 1, bias: false))
        register("bn1", BatchNorm2d(planes))
        register("relu", Function.relu())
        register("conv2", Conv2d(planes, planes, kernelSize: 3, padding: 1, bias: false))
        register("bn2", BatchNorm2d(planes))
        registerShortcut(inPlanes, planes, stride: stride)
    }

    private init(copying original: BasicBlock) { super.init(copying: original) }

    override public func copy() -> Module { BasicBlock(copying: self) }

    override public func flow<W: Dataflow>(_ x: W.Value, _ w: W) throws(W.Failure) -> W.Value {
        let out = try w.call("conv2", w.batchNormReLU("bn1", "relu", w.call("conv1", x), adding: nil))
        return try w.batchNormReLU("bn2", "relu", out, adding: w.call(shortcut, x))
    }
}

/// torchvision's `Bottleneck` (ResNet-50): 1x1, 3x3 (strided), 1x1 x4 expansion, with a projection shortcut.
public final class Bottleneck: DataflowModule {
    public static let expansion = 4

    public init(_ inPlanes: Int, _ planes: Int, stride: Int = 1) {
        super.init()
        let out = planes * Bottleneck.expansion
        register("conv1", Conv2d(inPlanes, planes, kernelSize: 1, bias: false))
        register("bn1", BatchNorm2d(planes))
        register("conv2", Conv2d(planes, planes, kernelSize: 3, stride: stride, padding: 1, bias: false))
        register("bn2", BatchNorm2d(planes))
        register("conv3", Conv2d(planes, out, kernelSize: 1, bias: false))
        register("bn3", BatchNorm2d(out))
        register("relu", Function.relu())
        registerShortcut(inPlanes, out, stride: stride)
    }

    private init(copying original: Bottleneck) { super.init(copying: original) }

    override public func copy() -> Module { Bottleneck(copying: self) }

    override public func flow<W: Dataflow>(_ x: W.Value, _ w: W) throws(W.Failure) -> W.Value {
        var out = try w.batchNormReLU("bn1", "relu", w.call("conv1", x), adding: nil)
        out = try w.call("conv3", w.batchNormReLU("bn2", "relu", w.call("conv2", out), adding: nil))
        return try w.batchNormReLU("bn3", "relu", out, adding: w.call(shortcut, x))
    }
}

extension Module {
    /// Registers a block's shortcut from `inPlanes` to `out` channels: torchvision's `downsample` (1x1 conv + BN)
    /// when the shape changes, else an identity (as GENIE's models: lets quantization see the shortcut).
    fileprivate func registerShortcut(_ inPlanes: Int, _ out: Int, stride: Int) {
        if stride != 1 || inPlanes != out {
            register("downsample", Sequential([Conv2d(inPlanes, out, kernelSize: 1, stride: stride, bias: false), BatchNorm2d(out)]))
        } else {
            register("identity", Function.identity())
        }
    }

    /// The child that computes the block's shortcut.
    fileprivate var shortcut: String { childNames.contains("downsample") ? "downsample" : "identity" }
}

/// ResNets with torchvision's module names: `resnet18`/`resnet50` (ImageNet stem: 7x7/2 conv and max
/// pool, four stages) and the CIFAR-style `resnet20` (3x3 stem, three stages of 16/32/64 channels).
public final class ResNet: DataflowModule {
    /// torchvision's ResNet-18: BasicBlock x [2, 2, 2, 2].
    public static func resnet18(numClasses: Int = 1000, inChannels: Int = 3, seed: UInt64 = 0) -> ResNet {
        ResNet(basic: true, layers: [2, 2, 2, 2], widths: [64, 128, 256, 512], imagenetStem: true,
               numClasses: numClasses, inChannels: inChannels, seed: seed)
    }

    /// torchvision's ResNet-50: Bottleneck x [3, 4, 6, 3].
    public static func resnet50(numClasses: Int = 1000, inChannels: Int = 3, seed: UInt64 = 0) -> ResNet {
        ResNet(basic: false, layers: [3, 4, 6, 3], widths: [64, 128, 256, 512], imagenetStem: true,
               numClasses: numClasses, inChannels: inChannels, seed: seed)
    }

    /// CIFAR-style ResNet-20 (He et al. 2016) with 1x1-conv+BN projection shortcuts and torchvision names.
    public static func resnet20(numClasses: Int = 10, inChannels: Int = 1, widths: [Int] = [16, 32, 64],
                                seed: UInt64 = 0) -> ResNet {
        ResNet(basic: true, layers: [3, 3, 3], widths: widths, imagenetStem: false,
               numClasses: numClasses, inChannels: inChannels, seed: seed)
    }

    init(basic: Bool, layers: [Int], widths: [Int], imagenetStem: Bool, numClasses: Int, inChannels: Int, seed: UInt64) {
        super.init()
        var inPlanes = widths[0]
        if imagenetStem {
            register("conv1", Conv2d(inChannels, inPlanes, kernelSize: 7, stride: 2, padding: 3, bias: false))
        } else {
            register("conv1", Conv2d(inChannels, inPlanes, kernelSize: 3, padding: 1, bias: false))
        }
        register("bn1", BatchNorm2d(inPlanes))
        register("relu", Function.relu())
        if imagenetStem { register("maxpool", MaxPool2d(kernelSize: 3, stride: 2, padding: 1)) }
        let expansion = basic ? BasicBlock.expansion : Bottleneck.expansion
        for (i, (count, width)) in zip(layers, widths).enumerated() {
            let blocks: [Module] = (0..<count).map { b in
                let stride = b == 0 && i > 0 ? 2 : 1
                let block: Module = basic ? BasicBlock(inPlanes, width, stride: stride)
                    : Bottleneck(inPlanes, width, stride: stride)
                inPlanes = width * expansion
                return block
            }
            register("layer\(i + 1)", Sequential(blocks))
        }
        register("avgpool", Function.globalAveragePool())
        register("fc", Linear(inPlanes, numClasses))
        // torchvision's init: convs kaiming-normal (fan_out, ReLU gain), BN weight 1 and bias 0, linear default.
        initializeParameters(seed: seed)
        var rng = SeededGenerator(seed: seed, stream: 1)
        for (_, m) in namedModules() {
            if let conv = m as? Conv2d { kaimingNormalFanOut(conv, using: &rng) }
        }
    }

    private init(copying original: ResNet) { super.init(copying: original) }

    override public func copy() -> Module { ResNet(copying: self) }

    override public func flow<W: Dataflow>(_ x: W.Value, _ w: W) throws(W.Failure) -> W.Value {
        var y = try w.batchNormReLU("bn1", "relu", w.call("conv1", x), adding: nil)
        if childNames.contains("maxpool") { y = try w.call("maxpool", y) }
        for name in childNames where name.hasPrefix("layer") { y = try w.call(name, y) }
        return try w.call("fc", w.flatten(w.call("avgpool", y)))
    }
}

/// `kaiming_normal_(mode="fan_out")` with ReLU gain: N(0, 2 / (out * kh * kw)), bias zero, as torchvision.
func kaimingNormalFanOut(_ conv: Conv2d, using rng: inout SeededGenerator) {
    let fanOut = conv.outChannels * conv.kernelSize * conv.kernelSize
    conv.weight.value = Tensor.randomNormal(conv.weight.value.shape, std: (2 / Float(fanOut)).squareRoot(), using: &rng)
    if let bias = conv.bias { bias.value = Tensor.zeros(bias.value.shape) }
}
