import Foundation

/// A safetensors file (the format of Hugging Face's `safetensors`): an 8-byte little-endian header
/// length, a JSON header naming each tensor's dtype, shape and byte range, then the raw data.
public struct SafeTensors: Sendable {
    /// The element types this reader understands.
    public enum DType: String, Sendable {
        case f32 = "F32", f16 = "F16", bf16 = "BF16", i64 = "I64", i32 = "I32", u8 = "U8", i8 = "I8"

        /// Bytes per element.
        public var size: Int {
            switch self {
            case .f32, .i32: return 4
            case .f16, .bf16: return 2
            case .i64: return 8
            case .u8, .i8: return 1
            }
        }
    }

    /// One stored tensor: its type, shape and raw little-endian bytes.
    public struct Entry: Sendable {
        public var dtype: DType
        public var shape: [Int]
        public var bytes: [UInt8]

        public init(dtype: DType, shape: [Int], bytes: [UInt8]) {
            self.dtype = dtype
            self.shape = shape
            self.bytes = bytes
        }
    }

    /// The tensors by name.
    public var entries: [String: Entry]
    /// The free-form string metadata (`__metadata__`).
    public var metadata: [String: String]

    /// An empty file, to be filled and written.
    public init(entries: [String: Entry] = [:], metadata: [String: String] = [:]) {
        self.entries = entries
        self.metadata = metadata
    }

    /// Reads and validates the file at `url`.
    public init(contentsOf url: URL) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw SafeTensorsError(path: url.path, reason: "does not exist")
        }
        guard !isDirectory.boolValue else { throw SafeTensorsError(path: url.path, reason: "is a folder, not a file") }
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw SafeTensorsError(path: url.path, reason: "cannot be read (\(error.localizedDescription))")
        }
        try self.init(bytes: [UInt8](data), path: url.path)
    }

    /// Parses and validates `bytes`; `path` names the source in error messages.
    public init(bytes: [UInt8], path: String = "<memory>") throws {
        func fail(_ reason: String) -> SafeTensorsError { SafeTensorsError(path: path, reason: reason) }
        guard bytes.count >= 8 else { throw fail("is truncated: \(bytes.count) bytes, shorter than the 8-byte header length") }
        let headerLength = (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[$1]) << (8 * UInt64($1)) }
        guard headerLength <= UInt64(bytes.count - 8) else {
            throw fail("is truncated: header length \(headerLength) runs past the end of the \(bytes.count)-byte file")
        }
        let headerEnd = 8 + Int(headerLength)
        let header: SafeTensorsHeader
        do { header = try JSONDecoder().decode(SafeTensorsHeader.self, from: Data(bytes[8..<headerEnd])) }
        catch let problem as SafeTensorsHeader.Problem { throw fail(problem.reason) }
        catch DecodingError.typeMismatch(_, let context) where context.codingPath.isEmpty { throw fail("has a header that is not a JSON object") }
        catch { throw fail("has a header that is not valid JSON") }
        var entries: [String: Entry] = [:]
        var ranges: [(Int, Int, String)] = []
        let dataCount = bytes.count - headerEnd
        for (name, record) in header.records {
            guard let dtype = DType(rawValue: record.dtype) else {
                throw fail("tensor '\(name)': unsupported dtype \(record.dtype) (supported: F32, F16, BF16, I64, I32, U8, I8)")
            }
            let shape = record.shape, offsets = record.dataOffsets
            guard shape.allSatisfy({ $0 >= 0 }) else { throw fail("tensor '\(name)': shape is not a list of non-negative integers") }
            guard offsets.count == 2, offsets[0] >= 0, offsets[0] <= offsets[1] else {
                throw fail("tensor '\(name)': data_offsets is not a pair [begin, end] with begin <= end")
            }
            guard offsets[1] <= dataCount else {
                throw fail("tensor '\(name)': data_offsets \(offsets) run past the end of the \(dataCount)-byte data section")
            }
            let elements = shape.reduce(1) { $0.multipliedReportingOverflow(by: $1).overflow ? Int.max : $0 * $1 }
            let (byteCount, overflow) = elements.multipliedReportingOverflow(by: dtype.size)
            guard elements != Int.max, !overflow, byteCount == offsets[1] - offsets[0] else {
                throw fail("tensor '\(name)': shape \(shape) of \(record.dtype) needs \(elements == Int.max || overflow ? "too many" : String(byteCount)) bytes but data_offsets \(offsets) hold \(offsets[1] - offsets[0])")
            }
            ranges.append((offsets[0], offsets[1], name))
            entries[name] = Entry(dtype: dtype, shape: shape,
                                  bytes: Array(bytes[(headerEnd + offsets[0])..<(headerEnd + offsets[1])]))
        }
        ranges.sort { ($0.0, $0.1) < ($1.0, $1.1) }
        for (a, b) in zip(ranges, ranges.dropFirst()) where b.0 < a.1 {
            throw fail("tensors '\(a.2)' and '\(b.2)' have overlapping data_offsets")
        }
        self.init(entries: entries, metadata: header.metadata)
    }

    /// The named tensor as float32 (F32, F16, BF16 and integer types are converted).
    public func tensor(_ name: String) throws -> Tensor {
        guard let e = entries[name] else { throw SafeTensorsError(path: "", reason: "has no tensor '\(name)'") }
        return Tensor(shape: e.shape, scalars: e.floats)
    }

    /// All tensors as float32, by name.
    public func tensors() -> [String: Tensor] {
        entries.mapValues { Tensor(shape: $0.shape, scalars: $0.floats) }
    }

    /// Reads every tensor of the file at `url` as float32 (convenient for fixtures).
    public static func read(_ url: URL) throws -> [String: Tensor] { try SafeTensors(contentsOf: url).tensors() }

    /// Stores `tensor` as F32 under `name`.
    public mutating func set(_ name: String, _ tensor: Tensor) {
        let values = tensor.scalars
        entries[name] = Entry(dtype: .f32, shape: tensor.shape, bytes: [UInt8](littleEndianOf: values))
    }

    /// The serialized file: header sorted by name, data in the same order, header padded to 8 bytes.
    public func serialized() -> [UInt8] {
        var records: [String: SafeTensorsHeader.Record] = [:]
        var offset = 0
        let names = entries.keys.sorted()
        for name in names {
            let e = entries[name]!
            records[name] = .init(dtype: e.dtype.rawValue, shape: e.shape, dataOffsets: [offset, offset + e.bytes.count])
            offset += e.bytes.count
        }
        // Strings and integers only: encoding cannot fail.
        var json = try! SafeTensorsHeader(records: records, metadata: metadata).json()
        json += Array(repeating: UInt8(ascii: " "), count: (8 - json.count % 8) % 8)
        var out = (0..<8).map { UInt8(truncatingIfNeeded: UInt64(json.count) >> (8 * UInt64($0))) }
        out.reserveCapacity(8 + json.count + offset)
        out += json
        for name in names { out += entries[name]!.bytes }
        return out
    }

    /// Writes the file atomically (`AtomicFile`): a run killed meanwhile leaves the old file or the new one.
    public func write(to url: URL) throws {
        do { try AtomicFile.write(serialized(), to: url) } catch let error as AtomicFileError {
            throw SafeTensorsError(path: url.path, reason: error.reason)
        }
    }
}

extension SafeTensors.Entry {
    /// The values converted to Float.
    public var floats: [Float] {
        let n = shape.reduce(1, *)
        switch dtype {
        case .f32: return bytes.littleEndianValues(Float.self, count: n)
        case .f16: return bytes.littleEndianValues(UInt16.self, count: n).map { Float(Float16(bitPattern: $0)) }
        case .bf16: return bytes.littleEndianValues(UInt16.self, count: n).map { Float(bitPattern: UInt32($0) << 16) }
        case .i64: return bytes.littleEndianValues(Int64.self, count: n).map { Float($0) }
        case .i32: return bytes.littleEndianValues(Int32.self, count: n).map { Float($0) }
        case .u8: return bytes.prefix(n).map { Float($0) }
        case .i8: return bytes.prefix(n).map { Float(Int8(bitPattern: $0)) }
        }
    }
}

/// A safetensors file that cannot be read or written; the message names the file and the tensor.
public struct SafeTensorsError: Error, CustomStringConvertible {
    public let path: String
    public let reason: String
    public var description: String { "safetensors file \(path.isEmpty ? "" : "'\(path)' ")\(reason)" }
}

extension SafeTensors.Entry {
    /// Integers stored as I64.
    public init(int64 values: [Int64], shape: [Int]) { self.init(dtype: .i64, shape: shape, bytes: [UInt8](littleEndianOf: values)) }

    /// Integers stored as I32.
    public init(int32 values: [Int32], shape: [Int]) { self.init(dtype: .i32, shape: shape, bytes: [UInt8](littleEndianOf: values)) }
}
