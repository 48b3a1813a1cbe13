import NN
import Tensors

/// One batch norm folded into the quantized convolution before it.
public struct FoldedBatchNorm: Sendable, Equatable {
    public var convolution: String
    public var batchNorm: String
    /// Output channels whose batch-norm scale was negative (codes and zero point mirrored).
    public var mirroredChannels: Int
}

/// Folds every eval-mode batch norm into the quantized convolution that feeds it, in place, exactly: with the
/// batch norm as `y = a·x + c` per channel (`a = γ/√(σ² + ε)`, `c = β − a·μ`) and the weight `W = s·(q − z)`,
/// the folded layer has step size `|a|·s`, bias `a·b + c`, and the same integer codes, except that a channel
/// with `a < 0` mirrors them, `q → 2^b − 1 − q` and `z → 2^b − 1 − z`, so that every step size stays positive.
/// The batch norm becomes an identity. The model still runs (and `QuantizedLayer` evaluates the folded
/// weights); its logits equal the unfolded model's up to float rounding.
///
/// Which batch norm follows which convolution is traced on one forward pass of `sample` (the batch norm reads
/// the convolution's output tensor); a convolution whose output is read by any other module is left alone.
@discardableResult
public func foldBatchNorms(_ model: Module, sample: Tensor) -> [FoldedBatchNorm] {
    // Trace the modules that read each tensor (leaves and quantized layers, not their containers).
    var calls: [(path: String, module: Module, input: Tensor, output: Tensor)] = []
    var hooks: [(Module, Int)] = []
    for (path, m) in model.namedModules() where m.childNames.isEmpty || m is QuantizedLayer {
        hooks.append((m, m.addForwardHook { module, input, output in calls.append((path, module, input, output)) }))
    }
    model.setTraining(false)
    _ = withoutGradients { model(sample) }
    for (m, id) in hooks { m.removeHook(id) }

    var folded: [FoldedBatchNorm] = []
    for call in calls {
        guard let layer = call.module as? QuantizedLayer, layer.layer is Conv2d else { continue }
        let readers = calls.filter { $0.input.sharesStorage(with: call.output) }
        guard readers.count == 1, let bn = readers[0].module as? BatchNorm2d else { continue }
        guard let mean = bn.runningMean?.value.scalars, let variance = bn.runningVar?.value.scalars else { continue }
        let n = bn.numFeatures
        let gamma = bn.weight?.value.scalars ?? [Float](repeating: 1, count: n)
        let beta = bn.bias?.value.scalars ?? [Float](repeating: 0, count: n)
        let a = (0..<n).map { Double(gamma[$0]) / (Double(variance[$0]) + Double(bn.epsilon)).squareRoot() }
        let c = (0..<n).map { Double(beta[$0]) - a[$0] * Double(mean[$0]) }
        model.replace(call.path, with: folding(layer, scale: a, shift: c))
        model.replace(readers[0].path, with: Function.identity())
        folded.append(FoldedBatchNorm(convolution: call.path, batchNorm: readers[0].path,
                                      mirroredChannels: a.filter { $0 < 0 }.count))
    }
    return folded
}

/// The quantized convolution `layer` followed by the per-channel affine map `y = scale·x + shift`.
func folding(_ layer: QuantizedLayer, scale a: [Double], shift c: [Double]) -> QuantizedLayer {
    let conv = layer.layer as! Conv2d, channels = conv.outChannels
    let bias = conv.bias?.value.scalars ?? [Float](repeating: 0, count: channels)
    let folded = layer.weightQuantizer!.scaled(by: a)
    let newConv = Conv2d(conv.inChannels, channels, kernelSize: conv.kernelSize, stride: conv.stride, padding: conv.padding,
                         groups: conv.groups, bias: true)
    newConv.weight.value = withoutGradients { folded() }
    newConv.bias!.value = Tensor(shape: [channels], scalars: (0..<channels).map { Float(a[$0] * Double(bias[$0]) + c[$0]) })
    let result = QuantizedLayer(newConv, weightQuantizer: folded, inputQuantizer: layer.inputQuantizer)
    result.quantizesInput = layer.quantizesInput
    return result
}
