import Tensors

/// A minimal protocol-buffers encoder (wire format only: varints, 32-bit floats, length-delimited fields), enough
/// to write an ONNX `ModelProto`. Hand-written on purpose: swift-protobuf's code-generation plugin takes far too
/// long to build here for the handful of messages the exporter needs.
public struct ProtobufWriter {
    /// The message written so far.
    public private(set) var bytes: [UInt8] = []

    public init() {}

    private enum WireType: UInt64 { case varint = 0, fixed32 = 5, lengthDelimited = 2 }

    private mutating func tag(_ field: Int, _ type: WireType) { varint((UInt64(field) << 3) | type.rawValue) }

    private mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    /// An `int32`/`int64`/`enum` field (negative values take ten bytes, as protobuf's two's complement).
    public mutating func int(_ field: Int, _ value: Int) {
        tag(field, .varint)
        varint(UInt64(bitPattern: Int64(value)))
    }

    /// A `float` field.
    public mutating func float(_ field: Int, _ value: Float) {
        tag(field, .fixed32)
        bytes.append(contentsOf: value.bitPattern.littleEndianBytes)
    }

    /// A `bytes` field.
    public mutating func bytes(_ field: Int, _ value: [UInt8]) {
        tag(field, .lengthDelimited)
        varint(UInt64(value.count))
        bytes.append(contentsOf: value)
    }

    /// A `string` field (UTF-8).
    public mutating func string(_ field: Int, _ value: String) { bytes(field, Array(value.utf8)) }

    /// An embedded message field, written by `body`.
    public mutating func message(_ field: Int, _ body: (inout ProtobufWriter) -> Void) {
        var inner = ProtobufWriter()
        body(&inner)
        bytes(field, inner.bytes)
    }
}
