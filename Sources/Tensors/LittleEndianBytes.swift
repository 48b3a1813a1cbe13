import Kernels

/// The one little-endian codec of the file formats (safetensors, ONNX, protobuf) for the targets above Tensors,
/// which do not see Kernels: decoding copies memory through Kernels' `LittleEndian`, encoding computes bytes.
extension Array where Element == UInt8 {
    /// The first `count` values of type `T` stored little-endian in these bytes (at any alignment); the bytes must
    /// hold at least `count` values.
    @inlinable
    public func littleEndianValues<T: BitwiseCopyable>(_: T.Type, count: Int) -> [T] {
        LittleEndian.values(self, count: count, as: T.self) { $0 }
    }

    /// The little-endian bytes of `values`, in order.
    public init<T: BitwiseCopyable>(littleEndianOf values: [T]) { self = LittleEndian.bytes(of: values) }
}

extension FixedWidthInteger {
    /// The value's bytes, least significant first (the little-endian encoding of safetensors, ONNX and protobuf),
    /// computed from the value, not read from memory.
    public var littleEndianBytes: [UInt8] { (0..<(Self.bitWidth / 8)).map { UInt8(truncatingIfNeeded: self >> ($0 * 8)) } }
}
