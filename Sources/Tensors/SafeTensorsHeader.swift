import Foundation

/// The JSON header of a safetensors file: each tensor's record by name, and the free-form strings under
/// `__metadata__`, with the spec's key names.
struct SafeTensorsHeader: Decodable {
    /// One tensor's entry: its dtype's name, its shape and its byte range `[begin, end]` in the data section.
    struct Record: Codable {
        var dtype: String
        var shape: [Int]
        var dataOffsets: [Int]

        enum CodingKeys: String, CodingKey { case dtype, shape, dataOffsets = "data_offsets" }
    }

    /// A header that is JSON but not a safetensors header; the reason names the tensor.
    struct Problem: Error { let reason: String }

    static let metadataKey = "__metadata__"
    var records: [String: Record]
    var metadata: [String: String]

    init(records: [String: Record], metadata: [String: String]) {
        self.records = records
        self.metadata = metadata
    }

    /// A key of the header's top-level object: a tensor's name or `__metadata__`.
    private struct Key: CodingKey {
        let stringValue: String
        init(stringValue: String) { self.stringValue = stringValue }
        var intValue: Int? { nil }
        init?(intValue: Int) { nil }
    }

    init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        var records: [String: Record] = [:], metadata: [String: String] = [:]
        for key in container.allKeys {
            if key.stringValue == Self.metadataKey {
                do { metadata = try container.decode([String: String].self, forKey: key) } catch {
                    throw Problem(reason: "has __metadata__ that is not a map of strings")
                }
            } else {
                do { records[key.stringValue] = try container.decode(Record.self, forKey: key) } catch {
                    // A number that is no integer fails inside the parser, before it becomes a `DecodingError`.
                    let reason = (error as? DecodingError).map(Self.explain) ?? "shape and data_offsets must hold integers"
                    throw Problem(reason: "tensor '\(key.stringValue)': \(reason)")
                }
            }
        }
        self.init(records: records, metadata: metadata)
    }

    /// What is wrong with a tensor's entry, from the decoding error of its record.
    private static func explain(_ error: DecodingError) -> String {
        let context: DecodingError.Context
        switch error {
        case let .keyNotFound(key, _): return "missing \(key.stringValue)"
        case let .typeMismatch(_, c), let .valueNotFound(_, c), let .dataCorrupted(c): context = c
        @unknown default: return "entry is not readable"
        }
        switch context.codingPath.dropFirst().first?.stringValue {
        case "dtype": return "dtype is not a string"
        case "shape": return "shape is not a list of non-negative integers"
        case "data_offsets": return "data_offsets is not a pair [begin, end] with begin <= end"
        default: return "entry is not an object"
        }
    }

    /// The header as JSON, without white space. The two maps' keys are ordered as Foundation's `.sortedKeys`
    /// orders them in `JSONSerialization` (numeric, case-insensitive: `features.2` before `features.10`), which
    /// wrote genie's files before this type did, so files stay byte for byte the same; `JSONEncoder`'s
    /// `.sortedKeys` orders by code points instead. Values are encoded by `JSONEncoder` (the same escaping).
    func json() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        func object(_ members: [String: [UInt8]]) throws -> [UInt8] {
            var out: [UInt8] = [UInt8(ascii: "{")]
            for (i, key) in members.keys.sorted(by: Self.precedes).enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                out += try encoder.encode(key) + [UInt8(ascii: ":")] + members[key]!
            }
            return out + [UInt8(ascii: "}")]
        }
        var members = try records.mapValues { [UInt8](try encoder.encode($0)) }
        if !metadata.isEmpty { members[Self.metadataKey] = try object(metadata.mapValues { [UInt8](try encoder.encode($0)) }) }
        return try object(members)
    }

    /// Foundation's `.sortedKeys` order of JSON keys.
    private static func precedes(_ a: String, _ b: String) -> Bool {
        a.compare(b, options: [.numeric, .caseInsensitive, .forcedOrdering], range: a.startIndex..<a.endIndex,
                  locale: NSLocale.system as Locale) == .orderedAscending
    }
}
