import Foundation
import Tensors

/// A state dict that does not fit a model or holds unusable values; the description names the keys and shapes.
public struct StateDictError: Error, CustomStringConvertible {
    public let source: String
    public let problems: [String]
    public var description: String {
        "weights \(source) cannot be loaded into the model:\n" + problems.prefix(12).map { "  - " + $0 }.joined(separator: "\n")
            + (problems.count > 12 ? "\n  - ... and \(problems.count - 12) more" : "")
    }
}

extension Module {
    /// The state dict in PyTorch's order (per module in pre-order: its parameters, then its buffers).
    public func stateDict() -> [(key: String, value: Tensor, isInteger: Bool)] {
        namedModules().flatMap { path, m -> [(key: String, value: Tensor, isInteger: Bool)] in
            let key = { (name: String) in path.isEmpty ? name : path + "." + name }
            return m.parameterNames.map { (key($0), m.parameter($0)!.value, false) }
                + m.bufferNames.map { (key($0), m.buffer($0)!.value, m.buffer($0)!.isInteger) }
        }
    }

    /// Loads `tensors` into the parameters and buffers (strict, as PyTorch's default): every key must be
    /// present with the right shape, no key may be unexpected, every value must be finite and no running
    /// variance negative.
    public func loadStateDict(_ tensors: [String: Tensor], source: String = "state dict") throws {
        var problems: [String] = []
        var slots: [String: (shape: [Int], set: (Tensor) -> Void)] = [:]
        for (key, p) in namedParameters() { slots[key] = (p.value.shape, { p.value = $0 }) }
        for (key, b) in namedBuffers() { slots[key] = (b.value.shape, { b.value = $0 }) }
        let expected = stateDict().map(\.key)
        for key in expected where tensors[key] == nil { problems.append("missing key '\(key)'") }
        for key in tensors.keys.sorted() where slots[key] == nil { problems.append("unexpected key '\(key)'") }
        for key in expected {
            guard let t = tensors[key], let slot = slots[key] else { continue }
            // PyTorch stores num_batches_tracked as a 0-d tensor; accept any one-element shape for scalars.
            if t.shape != slot.shape && !(t.count == 1 && slot.shape.reduce(1, *) == 1) {
                problems.append("'\(key)' has shape \(t.shape) but the model expects \(slot.shape)")
            } else if t.scalars.contains(where: { !$0.isFinite }) {
                problems.append("'\(key)' contains NaN or infinite values")
            } else if key.hasSuffix("running_var") && t.scalars.contains(where: { $0 < 0 }) {
                problems.append("'\(key)' has negative values (a variance cannot be negative)")
            }
        }
        guard problems.isEmpty else { throw StateDictError(source: source, problems: problems) }
        for key in expected {
            let t = tensors[key]!, slot = slots[key]!
            slot.set(t.shape == slot.shape ? t.converted(to: .plain) : t.reshaped(to: slot.shape))
        }
    }

    /// The state dict as a safetensors file (F32; integer buffers as I64) with `metadata`.
    public func safeTensors(metadata: [String: String] = [:]) -> SafeTensors {
        var file = SafeTensors(metadata: metadata)
        for (key, value, isInteger) in stateDict() {
            if isInteger {
                file.entries[key] = .init(int64: value.scalars.map { Int64($0) }, shape: value.shape)
            } else {
                file.set(key, value)
            }
        }
        return file
    }

    /// Loads the weights of a safetensors file; errors name the file and the keys.
    public func load(_ file: SafeTensors, source: String) throws {
        try loadStateDict(file.tensors(), source: source)
    }
}
