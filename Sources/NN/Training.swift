import Tensors

/// Evaluates `loss` with `parameters` tracked and returns the loss and the gradient of each parameter
/// (in order). Parameter values are restored to graph-free tensors afterwards.
public func valueAndGradients(of parameters: [Parameter], _ loss: () -> Tensor) -> (loss: Tensor, gradients: [Tensor]) {
    let originals = parameters.map(\.value)
    for p in parameters { p.value = p.value.requiringGradient() }
    defer { for (p, v) in zip(parameters, originals) { p.value = v } }
    let value = loss()
    let grads = gradients(of: value, wrt: parameters.map(\.value))
    return (value.detached(), grads)
}
