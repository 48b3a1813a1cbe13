import Foundation
import NN

/// Per-layer bit widths that override GENIE's allocation (docs/FORMAT.md, "Bit allocation"): entries `NAME=W`
/// (weight bits) or `NAME=W/A` (weight and input-activation bits), separated by commas or new lines, `#` starting
/// a comment. `NAME` is a layer or unit path of the full-precision model (`layer3.2`, `features.0.0`, `fc`) and
/// covers every quantized layer at or under it; when several entries cover a layer, the longest name wins.
/// A tensor read by several layers (a block input and its shortcut) is quantized once, at the most bits any of
/// its readers asks for.
public struct BitWidthPlan: Sendable, Equatable, CustomStringConvertible {
    /// One entry: the layers at or under `name` get `weightBits`, and `activationBits` for their input when given.
    public struct Entry: Sendable, Equatable {
        public var name: String
        public var weightBits: Int
        public var activationBits: Int?

        public init(name: String, weightBits: Int, activationBits: Int? = nil) {
            self.name = name
            self.weightBits = weightBits
            self.activationBits = activationBits
        }
    }

    public private(set) var entries: [Entry]

    /// No overrides: GENIE's allocation everywhere.
    public init() { entries = [] }

    /// Parses `features.0=8,classifier=8/8`; an empty text is the empty plan. Errors quote the entry.
    public init(parsing text: String) throws {
        entries = []
        let lines = text.split(whereSeparator: \.isNewline).map { $0.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)[0] }
        for item in lines.flatMap({ $0.split(separator: ",") }) {
            let entry = item.trimmingCharacters(in: .whitespaces)
            if entry.isEmpty { continue }
            let parts = entry.split(separator: "=", omittingEmptySubsequences: false)
            let name = parts[0].trimmingCharacters(in: .whitespaces)
            let bits = parts.count == 2 ? parts[1].split(separator: "/", omittingEmptySubsequences: false)
                .map { Int($0.trimmingCharacters(in: .whitespaces)) } : []
            guard parts.count == 2, !name.isEmpty, (1...2).contains(bits.count), let weightBits = bits[0],
                  bits.count == 1 || bits[1] != nil else {
                throw BitWidthPlanError("'\(entry)' is not NAME=W or NAME=W/A (a layer name, weight bits, optional activation bits)")
            }
            let activationBits = bits.count == 2 ? bits[1] : nil
            for b in [weightBits] + (activationBits.map { [$0] } ?? []) where !(2...8).contains(b) {
                throw BitWidthPlanError("'\(entry)': \(b) bits is outside 2...8")
            }
            guard !entries.contains(where: { $0.name == name }) else { throw BitWidthPlanError("'\(name)' is given twice") }
            entries.append(Entry(name: name, weightBits: weightBits, activationBits: activationBits))
        }
    }

    /// Parses `text`, or with a leading `@` the file it names (the same syntax, one entry a line allowed).
    public init(argument text: String) throws {
        guard text.hasPrefix("@") else { try self.init(parsing: text); return }
        let path = String(text.dropFirst())
        guard let contents = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw BitWidthPlanError("cannot read the file '\(path)'")
        }
        do { try self.init(parsing: contents) } catch let error as BitWidthPlanError { throw BitWidthPlanError("'\(path)': \(error.reason)") }
    }

    public var isEmpty: Bool { entries.isEmpty }

    /// The canonical text (`name=W[/A]` joined by commas), which `init(parsing:)` reads back.
    public var description: String {
        entries.map(\.description).joined(separator: ",")
    }

    /// The entry that covers layer `path`: the longest name at or above it.
    func entry(for path: String) -> Entry? {
        entries.filter { path == $0.name || path.hasPrefix($0.name + ".") }.max { $0.name.count < $1.name.count }
    }

    /// Checks every entry against the full-precision `model`: each must cover at least one quantizable
    /// layer, and activation bits need a layer whose input is quantized (the first layer reads the image).
    /// Errors name the entry and list where the model's layers are.
    public func validate(against model: Module, arch: String) throws {
        let layers = model.namedModules().filter { isQuantizable($0.module) }.map(\.path)
        for entry in entries {
            let covered = layers.filter { self.entry(for: $0) == entry }
            guard !covered.isEmpty else {
                let known = layers.contains { $0 == entry.name || $0.hasPrefix(entry.name + ".") }
                var scopes: [String] = []  // the layers' paths down to two names: the blocks of the zoo's models
                for path in layers.map({ $0.split(separator: ".").prefix(2).joined(separator: ".") }) where !scopes.contains(path) {
                    scopes.append(path)
                }
                throw BitWidthPlanError(known
                    ? "'\(entry.name)' is overridden everywhere by longer names"
                    : "\(arch) has no layer named '\(entry.name)' (its layers are in \(scopes.joined(separator: ", ")))")
            }
            if entry.activationBits != nil, covered == [layers.first] {
                throw BitWidthPlanError("'\(entry)': the input of \(entry.name) is the image, which is not quantized; give weight bits only")
            }
        }
    }
}

extension BitWidthPlan.Entry: CustomStringConvertible {
    public var description: String { "\(name)=\(weightBits)" + (activationBits.map { "/\($0)" } ?? "") }
}

/// Why a bit-width plan cannot be read or does not fit its model.
public struct BitWidthPlanError: Error, CustomStringConvertible {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { "bit widths: \(reason)" }
}
