import NN
import Tensors

/// A convolution, linear layer or shortcut identity with GENIE-M's quantizers (docs/METHOD.md, "What is quantized"): an
/// optional activation quantizer on its *input*, then the quantized weight, then the original operation. Bias and the
/// batch norm after it stay in full precision.
public final class QuantizedLayer: Module {
    /// The wrapped `Conv2d`, `Linear` or identity `Function`.
    public let layer: Module
    /// The weight quantizer (nil for the identity); reconstruction replaces it by its canonical hard form.
    public internal(set) var weightQuantizer: WeightQuantizer?
    /// The input quantizer (nil for the first layer, whose input is the image); may be shared with other
    /// consumers of the same tensor.
    public var inputQuantizer: ActivationQuantizer?
    /// Whether the input quantizer is applied (switched on when the layer's unit is reconstructed).
    public var quantizesInput = false

    public init(_ layer: Module, weightQuantizer: WeightQuantizer?, inputQuantizer: ActivationQuantizer?) {
        self.layer = layer
        self.weightQuantizer = weightQuantizer
        self.inputQuantizer = inputQuantizer
        super.init()
        register("layer", layer)
    }

    /// Wraps `layer` with a weight quantizer initialized from its weight (none for the identity).
    public convenience init(_ layer: Module, weightBits: Int, inputQuantizer: ActivationQuantizer?) {
        let weight = (layer as? Conv2d)?.weight.value ?? (layer as? Linear)?.weight.value
        self.init(layer, weightQuantizer: weight.map { WeightQuantizer(weight: $0, bits: weightBits) },
                  inputQuantizer: inputQuantizer)
    }

    override public func forward(_ input: Tensor) -> Tensor {
        let x = quantizesInput ? inputQuantizer.map { $0(input) } ?? input : input
        switch layer {
        case let conv as Conv2d:
            return x.conv2d(weightQuantizer!(), bias: conv.bias?.value, stride: conv.stride, padding: conv.padding,
                            groups: conv.groups)
        case let linear as Linear:
            return x.linear(weightQuantizer!(), bias: linear.bias?.value)
        default:
            return layer(x)
        }
    }
}

/// Which modules GENIE-M quantizes: convolutions, linear layers and shortcut identities.
func isQuantizable(_ m: Module) -> Bool {
    m is Conv2d || m is Linear || (m as? Function)?.name == "Identity"
}

extension Module {
    /// The quantized layers in registration order, with their paths.
    public var quantizedLayers: [(path: String, layer: QuantizedLayer)] {
        namedModules().compactMap { path, m in (m as? QuantizedLayer).map { (path, $0) } }
    }
}

/// Replaces every quantizable module of `model` by a `QuantizedLayer` with GENIE's bit allocation: the first
/// layer w8 with an unquantized input, the second with an 8-bit input, the last w8a8, all others
/// `weightBits`/`activationBits`, except where `plan` names other bits. Then traces one forward pass on `sample`
/// so that layers fed by the same tensor share one activation quantizer (the first consumer's, or the one with
/// the most bits), as GENIE's reference does.
public func quantize(_ model: Module, weightBits: Int, activationBits: Int, sample: Tensor, seed: UInt64,
                     plan: BitWidthPlan = BitWidthPlan()) throws {
    guard (2...8).contains(weightBits) else { throw GenieError("weight bits must be in 2...8, got \(weightBits)") }
    guard (2...8).contains(activationBits) else { throw GenieError("activation bits must be in 2...8, got \(activationBits)") }
    let targets = model.namedModules().filter { isQuantizable($0.module) }
    guard targets.count >= 2 else { throw GenieError("the model has fewer than two layers to quantize") }
    for (i, (path, m)) in targets.enumerated() {
        let first = i == 0, last = i == targets.count - 1
        let entry = plan.entry(for: path)
        let wbits = entry?.weightBits ?? (first || last ? 8 : weightBits)
        let abits = entry?.activationBits ?? (i == 1 || last ? 8 : activationBits)
        let inputQuantizer = first ? nil : ActivationQuantizer(bits: abits, seed: seed &+ UInt64(i))
        model.replace(path, with: QuantizedLayer(m, weightBits: wbits, inputQuantizer: inputQuantizer))
    }
    // Trace: the first layer to consume a tensor owns the quantizer; later consumers of the same tensor share it.
    var owners: [(input: Tensor, quantizer: ActivationQuantizer)] = []
    var hooks: [(Module, Int)] = []
    for (_, layer) in model.quantizedLayers {
        let id = layer.addForwardHook { module, input, _ in
            let layer = module as! QuantizedLayer
            guard let mine = layer.inputQuantizer else { return }
            if let k = owners.firstIndex(where: { $0.input.sharesStorage(with: input) }) {
                let owner = owners[k].quantizer
                guard mine.bits > owner.bits else { layer.inputQuantizer = owner; return }
                // A reader asking for more bits (a bit-width plan) gives them to every reader of the tensor.
                for (_, other) in model.quantizedLayers where other.inputQuantizer === owner { other.inputQuantizer = mine }
                owners[k].quantizer = mine
            } else {
                owners.append((input, mine))
            }
        }
        hooks.append((layer, id))
    }
    model.setTraining(false)
    _ = withoutGradients { model(sample) }
    for (m, id) in hooks { m.removeHook(id) }
}
