import Tensors

/// A trainable tensor of a module (PyTorch's `nn.Parameter`). Optimizers replace `value` in place.
public final class Parameter {
    /// The current value (plain layout, no graph node outside of a gradient computation).
    public var value: Tensor
    /// Whether optimizers and `valueAndGradients` treat it as trainable (`requires_grad`).
    public var requiresGradient: Bool

    public init(_ value: Tensor, requiresGradient: Bool = true) {
        self.value = value
        self.requiresGradient = requiresGradient
    }
}

/// A non-trainable state tensor of a module (PyTorch's buffers: `running_mean`, `num_batches_tracked`).
public final class Buffer {
    public var value: Tensor
    /// Stored as I64 in state dicts (PyTorch's `num_batches_tracked`), as F32 otherwise.
    public let isInteger: Bool

    public init(_ value: Tensor, isInteger: Bool = false) {
        self.value = value
        self.isInteger = isInteger
    }
}

/// The base of every layer and model, with PyTorch's structure: ordered, named children, parameters and
/// buffers, so that state-dict keys are PyTorch's (`layer1.0.conv1.weight`), any submodule can be found and
/// replaced by its dotted path, and hooks can observe any submodule's input and output.
open class Module {
    public private(set) var childNames: [String] = []
    private var children: [String: Module] = [:]
    public private(set) var parameterNames: [String] = []
    private var parameterSlots: [String: Parameter] = [:]
    public private(set) var bufferNames: [String] = []
    private var bufferSlots: [String: Buffer] = [:]
    private var hooks: [(id: Int, body: (Module, Tensor, Tensor) -> Void)] = []
    private var nextHookID = 0

    /// Whether the module is in training mode (batch statistics in BN, dropout on).
    public private(set) var isTraining = true

    public init() {}

    /// The computation of this module. Subclasses override it; call the module itself to run hooks too.
    open func forward(_ input: Tensor) -> Tensor {
        fatalError("\(type(of: self)) does not implement forward(_:)")
    }

    /// Runs `forward`, then the forward hooks with the input and output.
    public final func callAsFunction(_ input: Tensor) -> Tensor {
        let output = forward(input)
        for hook in hooks { hook.body(self, input, output) }
        return output
    }

    // MARK: Registration

    /// Adds (or replaces) a child module under `name`.
    public func register(_ name: String, _ module: Module) {
        if children[name] == nil { childNames.append(name) }
        children[name] = module
    }

    /// Adds (or replaces) a parameter under `name`.
    public func register(parameter name: String, _ parameter: Parameter) {
        if parameterSlots[name] == nil { parameterNames.append(name) }
        parameterSlots[name] = parameter
    }

    /// Adds (or replaces) a buffer under `name`.
    public func register(buffer name: String, _ buffer: Buffer) {
        if bufferSlots[name] == nil { bufferNames.append(name) }
        bufferSlots[name] = buffer
    }

    /// The direct child named `name`.
    public func child(_ name: String) -> Module {
        guard let m = children[name] else { fatalError("\(type(of: self)) has no child '\(name)'") }
        return m
    }

    /// The parameter named `name` of this module (not of its children).
    public func parameter(_ name: String) -> Parameter? { parameterSlots[name] }
    /// The buffer named `name` of this module (not of its children).
    public func buffer(_ name: String) -> Buffer? { bufferSlots[name] }

    // MARK: Traversal

    /// This module and all descendants in pre-order with their dotted paths ("" for self).
    public func namedModules(prefix: String = "") -> [(path: String, module: Module)] {
        var out: [(String, Module)] = [(prefix, self)]
        for name in childNames {
            out += children[name]!.namedModules(prefix: prefix.isEmpty ? name : prefix + "." + name)
        }
        return out
    }

    /// All parameters with their state-dict keys, in PyTorch's order.
    public func namedParameters() -> [(key: String, parameter: Parameter)] {
        namedModules().flatMap { path, m in
            m.parameterNames.map { (path.isEmpty ? $0 : path + "." + $0, m.parameterSlots[$0]!) }
        }
    }

    /// All buffers with their state-dict keys, in PyTorch's order.
    public func namedBuffers() -> [(key: String, buffer: Buffer)] {
        namedModules().flatMap { path, m in
            m.bufferNames.map { (path.isEmpty ? $0 : path + "." + $0, m.bufferSlots[$0]!) }
        }
    }

    /// The parameters that require gradients, in state-dict order.
    public func trainableParameters() -> [Parameter] {
        namedParameters().map(\.parameter).filter(\.requiresGradient)
    }

    /// The descendant at a dotted path (`"layer1.0.conv1"`), or nil.
    public func module(at path: String) -> Module? {
        if path.isEmpty { return self }
        var m: Module = self
        for part in path.split(separator: ".") {
            guard let c = m.children[String(part)] else { return nil }
            m = c
        }
        return m
    }

    /// Replaces the descendant at a dotted path (swing convolutions, quantized wrappers).
    public func replace(_ path: String, with module: Module) {
        let parts = path.split(separator: ".").map(String.init)
        precondition(!parts.isEmpty, "replace needs a non-empty path")
        guard let parent = self.module(at: parts.dropLast().joined(separator: ".")),
              parent.children[parts.last!] != nil else {
            fatalError("\(type(of: self)) has no submodule '\(path)'")
        }
        parent.register(parts.last!, module)
    }

    // MARK: Copies

    /// A deep copy: a module of the same type, names and hyper-parameters, with parameters and buffers of its own
    /// (equal values and `requiresGradient`) and children copied likewise, in the same training mode, without hooks.
    /// Changing the copy (an optimizer step, `loadStateDict`, `replace`, `setTraining`) leaves this module unchanged.
    /// Every subclass overrides it: a new instance (made by its own init, or by `init(copying:)` when the registry
    /// holds all its structure) that `adopting(self)` fills.
    open func copy() -> Module {
        fatalError("\(type(of: self)) does not implement copy()")
    }

    /// A module whose registry is a copy of `original`'s (`adopting`): the copy of a module whose structure lies all
    /// in its children, parameters and buffers, for subclasses' `copy()`.
    public init(copying original: Module) {
        adopting(original)
    }

    /// Makes this new module a copy of `original`: the children, parameters and buffers it already has (made by its
    /// init, held by its stored properties) take `original`'s values, the ones it lacks are copied in, and it takes
    /// `original`'s training mode. Tensors are immutable, so a value is shared, never written. Returns `self`.
    @discardableResult
    public func adopting(_ original: Module) -> Self {
        for name in original.childNames {
            let child = original.children[name]!
            if let own = children[name] { own.adopting(child) } else { register(name, child.copy()) }
        }
        for name in original.parameterNames {
            let source = original.parameterSlots[name]!
            let own = parameterSlots[name] ?? Parameter(source.value)
            (own.value, own.requiresGradient) = (source.value, source.requiresGradient)
            register(parameter: name, own)
        }
        for name in original.bufferNames {
            let source = original.bufferSlots[name]!
            if let own = bufferSlots[name] { own.value = source.value } else {
                register(buffer: name, Buffer(source.value, isInteger: source.isInteger))
            }
        }
        isTraining = original.isTraining
        return self
    }

    // MARK: Modes and hooks

    /// Sets training mode on this module and all descendants (PyTorch's `train()` / `eval()`).
    public func setTraining(_ training: Bool) {
        for (_, m) in namedModules() { m.isTraining = training }
    }

    /// Calls `body(module, input, output)` after every forward of this module; returns an id for `removeHook`.
    @discardableResult
    public func addForwardHook(_ body: @escaping (Module, Tensor, Tensor) -> Void) -> Int {
        nextHookID += 1
        hooks.append((nextHookID, body))
        return nextHookID
    }

    /// Removes a hook added by `addForwardHook`.
    public func removeHook(_ id: Int) { hooks.removeAll { $0.id == id } }

    /// Whether any forward hook is attached (fused paths then run module by module).
    public var hasHooks: Bool { !hooks.isEmpty }
}
