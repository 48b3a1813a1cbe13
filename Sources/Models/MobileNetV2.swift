import NN
import Tensors

/// torchvision's `_make_divisible`: round to the nearest multiple of `divisor`, not below 90% of `value`.
func makeDivisible(_ value: Double, _ divisor: Int = 8) -> Int {
    var v = max(divisor, Int(value + Double(divisor) / 2) / divisor * divisor)
    if Double(v) < 0.9 * value { v += divisor }
    return v
}

/// torchvision's `Conv2dNormActivation`: conv (no bias), BN, ReLU6, as a Sequential named 0, 1, 2.
func convBNReLU6(_ inp: Int, _ out: Int, kernelSize: Int = 3, stride: Int = 1, groups: Int = 1) -> Sequential {
    Sequential([Conv2d(inp, out, kernelSize: kernelSize, stride: stride, padding: (kernelSize - 1) / 2,
                       groups: groups, bias: false),
                BatchNorm2d(out), Function.relu6()])
}

/// torchvision's MobileNetV2 `InvertedResidual`: 1x1 expand (unless t = 1), 3x3 depthwise, 1x1 linear projection,
/// with a residual connection when the stride is 1 and the channel count is kept.
public final class InvertedResidual: DataflowModule {
    public let useResidual: Bool

    public init(_ inp: Int, _ oup: Int, stride: Int, expandRatio: Int) {
        let hidden = inp * expandRatio
        useResidual = stride == 1 && inp == oup
        super.init()
        var layers: [Module] = []
        if expandRatio != 1 { layers.append(convBNReLU6(inp, hidden, kernelSize: 1)) }
        layers.append(convBNReLU6(hidden, hidden, stride: stride, groups: hidden))
        layers.append(Conv2d(hidden, oup, kernelSize: 1, bias: false))
        layers.append(BatchNorm2d(oup))
        register("conv", Sequential(layers))
        if useResidual { register("identity", Function.identity()) }  // as GENIE's models: a visible shortcut
    }

    private init(copying original: InvertedResidual) {
        useResidual = original.useResidual
        super.init(copying: original)
    }

    override public func copy() -> Module { InvertedResidual(copying: self) }

    override public func flow<W: Dataflow>(_ x: W.Value, _ w: W) throws(W.Failure) -> W.Value {
        let y = try w.call("conv", x)
        return useResidual ? try w.add(w.call("identity", x), y) : y
    }
}

/// torchvision's MobileNetV2 (`features`, `classifier` = Dropout(0.2) + Linear), with `widthMult` and, for
/// small images, the stem conv's stride (2 as torchvision; 1 keeps 28x28 inputs large enough; keys unchanged).
public final class MobileNetV2: DataflowModule {
    public init(numClasses: Int = 1000, inChannels: Int = 3, widthMult: Double = 1.0, stemStride: Int = 2,
                dropout: Float = 0.2, seed: UInt64 = 0) {
        super.init()
        let settings = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]
        var input = makeDivisible(32 * widthMult)
        let last = makeDivisible(1280 * max(1.0, widthMult))
        var features: [Module] = [convBNReLU6(inChannels, input, stride: stemStride)]
        for (t, c, n, s) in settings {
            let output = makeDivisible(Double(c) * widthMult)
            for i in 0..<n {
                features.append(InvertedResidual(input, output, stride: i == 0 ? s : 1, expandRatio: t))
                input = output
            }
        }
        features.append(convBNReLU6(input, last, kernelSize: 1))
        register("features", Sequential(features))
        register("classifier", Sequential([Dropout(dropout, seed: seed), Linear(last, numClasses)]))
        // torchvision's init: convs kaiming-normal fan_out, BN 1/0, linear N(0, 0.01) with zero bias.
        var rng = SeededGenerator(seed: seed, stream: 1)
        for (_, m) in namedModules() {
            if let conv = m as? Conv2d { kaimingNormalFanOut(conv, using: &rng) }
            if let linear = m as? Linear {
                linear.weight.value = Tensor.randomNormal(linear.weight.value.shape, std: 0.01, using: &rng)
                linear.bias?.value = Tensor.zeros([numClasses])
            }
        }
    }

    private init(copying original: MobileNetV2) { super.init(copying: original) }

    override public func copy() -> Module { MobileNetV2(copying: self) }

    override public func flow<W: Dataflow>(_ x: W.Value, _ w: W) throws(W.Failure) -> W.Value {
        try w.call("classifier", w.flatten(w.globalAveragePool(w.call("features", x))))
    }
}
