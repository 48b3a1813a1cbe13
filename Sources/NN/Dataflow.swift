import Tensors

/// A writer of a module's dataflow: the operations a composite module's forward is made of, on values of some
/// kind. `TensorDataflow` computes them on tensors (the forward pass); the ONNX exporter writes them as graph nodes.
/// A module that states its forward once against this protocol (`DataflowModule`) runs and exports the same way.
public protocol Dataflow {
    /// What flows between operations: a tensor, or the name of a value in a graph being written.
    associatedtype Value
    /// The error an operation can throw (`Never` for tensors).
    associatedtype Failure: Error

    /// The output of the flowing module's child `name` on `x`. The child runs as a module, so its hooks see the
    /// call, and a module that replaced it (a quantized layer, a swing convolution) runs in its place.
    func call(_ name: String, _ x: Value) throws(Failure) -> Value
    /// `a + b`, elementwise.
    func add(_ a: Value, _ b: Value) throws(Failure) -> Value
    /// `[N, ...]` flattened to `[N, features]` (PyTorch's `torch.flatten(x, 1)`).
    func flatten(_ x: Value) throws(Failure) -> Value
    /// The mean over each channel's spatial positions, `[N, C, 1, 1]` (PyTorch's `adaptive_avg_pool2d(x, 1)`).
    func globalAveragePool(_ x: Value) throws(Failure) -> Value
    /// Max pooling with square windows and zero padding (PyTorch's `max_pool2d`).
    func maxPool(_ x: Value, kernelSize: Int, stride: Int, padding: Int) throws(Failure) -> Value
    /// `relu(bn(x) + residual)` with children `bn` and `relu` (`residual` optional; no default, so that a call
    /// always reaches the writer's own version). The default is the three steps; `TensorDataflow` fuses them
    /// (`batchNormActivation`) when nothing observes the steps, over `x` when nothing else holds it.
    func batchNormReLU(_ bn: String, _ relu: String, _ x: consuming Value, adding residual: Value?) throws(Failure) -> Value
}

extension Dataflow {
    public func batchNormReLU(_ bn: String, _ relu: String, _ x: consuming Value, adding residual: Value?) throws(Failure) -> Value {
        let y = try call(bn, x)
        guard let residual else { return try call(relu, y) }
        return try call(relu, add(y, residual))
    }
}

/// A module whose forward is its `flow`, run on tensors: the zoo's composite modules state their dataflow once,
/// so that their forward pass and their export (any other `Dataflow`) cannot differ. Subclasses override `flow`.
open class DataflowModule: Module {
    /// The module's computation on `x`, written with `w`'s operations and calls of its children by name.
    open func flow<W: Dataflow>(_ x: W.Value, _ w: W) throws(W.Failure) -> W.Value {
        fatalError("\(type(of: self)) does not implement flow(_:_:)")
    }

    override public final func forward(_ input: Tensor) -> Tensor { flow(input, TensorDataflow(self)) }
}

/// The dataflow computed on tensors: a `DataflowModule`'s forward pass.
public struct TensorDataflow: Dataflow {
    /// The module whose children `call` runs.
    public let module: Module

    public init(_ module: Module) { self.module = module }

    public func call(_ name: String, _ x: Tensor) -> Tensor { module.child(name)(x) }
    public func add(_ a: Tensor, _ b: Tensor) -> Tensor { a + b }
    public func flatten(_ x: Tensor) -> Tensor { x.flattened() }
    public func globalAveragePool(_ x: Tensor) -> Tensor { x.adaptiveAvgPool2d(outputSize: 1) }
    public func maxPool(_ x: Tensor, kernelSize: Int, stride: Int, padding: Int) -> Tensor {
        x.maxPool2d(kernelSize: kernelSize, stride: stride, padding: padding)
    }
    public func batchNormReLU(_ bn: String, _ relu: String, _ x: consuming Tensor, adding residual: Tensor?) -> Tensor {
        batchNormActivation(module.child(bn), module.child(relu), consume x, adding: residual)
    }
}

/// Max pooling as a module (PyTorch's `nn.MaxPool2d`, square windows).
public final class MaxPool2d: DataflowModule {
    public let kernelSize: Int, stride: Int, padding: Int

    public init(kernelSize: Int, stride: Int, padding: Int = 0) {
        (self.kernelSize, self.stride, self.padding) = (kernelSize, stride, padding)
        super.init()
    }

    override public func flow<W: Dataflow>(_ x: W.Value, _ w: W) throws(W.Failure) -> W.Value {
        try w.maxPool(x, kernelSize: kernelSize, stride: stride, padding: padding)
    }

    override public func copy() -> Module { MaxPool2d(kernelSize: kernelSize, stride: stride, padding: padding).adopting(self) }
}
